"""What a kill -9 during an atomic write leaves (a ``.NAME.XXXX.new`` temp file
beside the old file) is swept when the QEMU driver next loads its state."""

from __future__ import annotations

from pathlib import Path

from pyvirt.drivers.qemu import state_dir


def _interrupted_write(path: Path, text: str) -> Path:
    """The temp file atomic_write makes, as a kill before its rename leaves it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.parent / f".{path.name}.abc123.new"
    temp.write_text(text[: len(text) // 2])
    return temp


def test_load_configs_sweeps_temp_files_of_interrupted_writes(tmp_path: Path) -> None:
    dirs = state_dir.dirs_for_root(tmp_path)
    dirs.create()
    state_dir.save_config(dirs, "vm", "<domain><name>vm</name></domain>\n")
    temps = [_interrupted_write(dirs.config_path("vm"), "<domain>new</domain>\n"),
             _interrupted_write(dirs.status_path("vm"), "<domstatus/>\n"),
             _interrupted_write(dirs.snapshot_dir("vm") / "s1.xml", "<domainsnapshot/>\n")]
    keep = dirs.snapshot_dir("vm") / "s2.xml"
    keep.write_text("<domainsnapshot><name>s2</name></domainsnapshot>\n")

    assert state_dir.load_configs(dirs) == [("vm", "<domain><name>vm</name></domain>\n")]
    assert not any(t.exists() for t in temps)
    assert keep.exists() and dirs.config_path("vm").exists()


def test_a_completed_atomic_write_leaves_no_temp_file(tmp_path: Path) -> None:
    dirs = state_dir.dirs_for_root(tmp_path)
    dirs.create()
    state_dir.save_config(dirs, "vm", "<domain/>\n")
    assert state_dir.sweep_interrupted_writes(dirs) == []
    assert sorted(p.name for p in dirs.config.iterdir() if p.is_file()) == ["vm.xml"]
