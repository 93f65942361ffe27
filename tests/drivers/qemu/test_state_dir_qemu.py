"""state_dir: the layout per URI, atomic files, configs, autostart links, status files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pyvirt.drivers.qemu import state_dir
from pyvirt.drivers.qemu.state_dir import StatusRecord
from pyvirt.errors import (
    VIR_ERR_INTERNAL_ERROR, VIR_ERR_INVALID_ARG, VIR_FROM_QEMU, libvirtError,
)

LIVE = "<domain type='qemu'>\n  <name>vm1</name>\n  <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>\n</domain>\n"


def record(name: str = "vm1", **changes) -> StatusRecord:
    fields = dict(name=name, state="running", reason="booted", pid=4242, pid_start=777,
                  monitor=f"/run/x/{name}.monitor", dom_id=3, live_xml=LIVE.replace("vm1", name))
    fields.update(changes)
    return StatusRecord(**fields)


# --- layout -------------------------------------------------------------------------
def test_embed_layout_keeps_everything_under_root(tmp_path: Path) -> None:
    dirs = state_dir.dirs_for_uri("/embed", str(tmp_path))
    assert dirs.config == tmp_path / "etc" / "qemu"
    assert dirs.run == tmp_path / "run" / "qemu"
    assert dirs.config_path("vm") == tmp_path / "etc/qemu/vm.xml"
    assert dirs.status_path("vm") == tmp_path / "run/qemu/vm.xml"
    assert dirs.autostart_path("vm") == tmp_path / "etc/qemu/autostart/vm.xml"
    assert dirs.managed_save_path("vm") == tmp_path / "lib/qemu/save/vm.save"
    assert all(str(p).startswith(str(tmp_path)) for p in dirs.all() + (dirs.log, dirs.cache))


def test_system_layout_is_not_libvirts() -> None:
    dirs = state_dir.dirs_for_uri("/system", None)
    assert dirs.config == Path("/etc/pyvirt/qemu")
    assert dirs.run == Path("/run/pyvirt/qemu")
    assert str(dirs.lib).startswith("/var/lib/pyvirt")
    assert str(dirs.log).startswith("/var/log/pyvirt")


def test_session_layout_follows_xdg() -> None:
    dirs = state_dir.dirs_for_session({"HOME": "/home/u", "XDG_RUNTIME_DIR": "/run/user/7"})
    assert dirs.config == Path("/home/u/.config/pyvirt/qemu")
    assert dirs.run == Path("/run/user/7/pyvirt/qemu/run")
    assert dirs.cache == Path("/home/u/.cache/pyvirt/qemu")


@pytest.mark.parametrize("path, root, code, text", [
    ("/embed", None, VIR_ERR_INVALID_ARG, "Missing URI parameter 'root'"),
    ("/embed", "rel/dir", VIR_ERR_INVALID_ARG, "must be an absolute path"),
    ("/bogus", None, VIR_ERR_INTERNAL_ERROR, "unexpected QEMU URI path '/bogus'"),
    ("/system", "/x", VIR_ERR_INTERNAL_ERROR, "only valid for embedded"),
])
def test_bad_uris_fail_like_libvirt(path: str, root: str | None, code: int, text: str) -> None:
    with pytest.raises(libvirtError) as info:
        state_dir.dirs_for_uri(path, root)
    assert info.value.get_error_code() == code
    assert text in info.value.get_error_message()


def test_create_makes_private_run_dir(tmp_path: Path) -> None:
    dirs = state_dir.dirs_for_root(tmp_path)
    dirs.create()
    assert all(p.is_dir() for p in dirs.all())
    assert (dirs.run.stat().st_mode & 0o777) == 0o700


# --- atomic writes ----------------------------------------------------------------------
def test_atomic_write_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "f.xml"
    state_dir.atomic_write(target, "one")
    state_dir.atomic_write(target, "two")
    assert target.read_text() == "two"
    assert sorted(p.name for p in target.parent.iterdir()) == ["f.xml"]
    assert (target.stat().st_mode & 0o777) == 0o600


def test_atomic_write_failure_keeps_old_file(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "f.xml"
    state_dir.atomic_write(target, "old")

    def broken(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(libvirtError) as info:
        state_dir.atomic_write(target, "new")
    assert "No space left" in info.value.get_error_message()
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.xml"]


# --- configs and autostart ----------------------------------------------------------------
def test_configs_round_trip_and_autostart_link(tmp_path: Path) -> None:
    dirs = state_dir.dirs_for_root(tmp_path)
    state_dir.save_config(dirs, "b", "<domain>b</domain>")
    state_dir.save_config(dirs, "a", "<domain>a</domain>")
    assert state_dir.load_configs(dirs) == [("a", "<domain>a</domain>"),
                                            ("b", "<domain>b</domain>")]
    state_dir.set_autostart(dirs, "a", True)
    state_dir.set_autostart(dirs, "a", True)          # idempotent
    assert state_dir.is_autostart(dirs, "a")
    assert os.readlink(dirs.autostart_path("a")) == str(dirs.config_path("a"))
    state_dir.delete_config(dirs, "a")
    assert not state_dir.is_autostart(dirs, "a")
    assert [name for name, _ in state_dir.load_configs(dirs)] == ["b"]


# --- status files -----------------------------------------------------------------------------
def test_status_round_trip() -> None:
    rec = record(state="paused", reason="user", persistent=False)
    text = state_dir.format_status(rec)
    assert text.startswith("<domstatus state='paused' reason='user' pid='4242'>")
    assert "<domain type='qemu' id='3'>" in text
    back = state_dir.parse_status(text, "vm1")
    assert back == rec


@pytest.mark.parametrize("text", [
    "",
    "<domstatus state='running'",
    "<notstatus/>",
    "<domstatus state='running' reason='booted' pid='x'><monitor path='/m'/>"
    "<domain id='1'><name>v</name></domain></domstatus>",
    "<domstatus state='running' reason='booted' pid='5'><domain id='1'><name>v</name>"
    "</domain></domstatus>",
])
def test_corrupt_status_is_a_clear_error(text: str) -> None:
    with pytest.raises(libvirtError) as info:
        state_dir.parse_status(text, "vm9")
    assert info.value.get_error_domain() == VIR_FROM_QEMU
    assert "corrupt status of 'vm9'" in info.value.get_error_message()


def test_load_statuses_keeps_good_ones_beside_corrupt(tmp_path: Path) -> None:
    dirs = state_dir.dirs_for_root(tmp_path)
    dirs.create()
    state_dir.save_status(dirs, record("good1"))
    state_dir.save_status(dirs, record("good2"))
    dirs.status_path("bad").write_text("<domstatus garbage")
    good, bad = state_dir.load_statuses(dirs)
    assert [r.name for r in good] == ["good1", "good2"]
    assert [p.name for p, _ in bad] == ["bad.xml"]
    state_dir.delete_status(dirs, "good1")
    assert not dirs.status_path("good1").exists()


def test_process_start_time_of_self_and_of_nothing() -> None:
    assert state_dir.process_start_time(os.getpid()) > 0
    assert state_dir.process_start_time(2 ** 22 + 12345) is None
