"""Snapshot metadata files of the QEMU driver survive a crash in the middle of a delete:
children are rewritten before their parent's file goes, and an orphan whose parent file
is missing is kept as a root instead of being dropped."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from pyvirt.drivers.qemu import snapshot
from pyvirt.objects.snapshot_tree import SnapshotTree


def _snap_xml(name: str, parent: str | None, created: int) -> str:
    parent_el = f"<parent><name>{parent}</name></parent>" if parent else ""
    return (f"<domainsnapshot><name>{name}</name><state>shutoff</state>{parent_el}"
            f"<creationTime>{created}</creationTime></domainsnapshot>\n")


def _world(tmp_path: Path):
    drv = SimpleNamespace(dirs=SimpleNamespace(snapshot_dir=lambda name: tmp_path / name))
    dom = SimpleNamespace(name="vm", snapshots=SnapshotTree(), active=False)
    (tmp_path / "vm").mkdir()
    return drv, dom


def test_an_orphan_is_kept_as_a_root(tmp_path):
    drv, dom = _world(tmp_path)
    (tmp_path / "vm" / "child.xml").write_text(_snap_xml("child", "gone", 2))
    (tmp_path / "vm" / "grandchild.xml").write_text(_snap_xml("grandchild", "child", 3))
    snapshot.load_metadata(drv, dom)
    assert sorted(s.name for s in dom.snapshots) == ["child", "grandchild"]
    assert dom.snapshots.get("child").parent is None
    assert dom.snapshots.get("grandchild").parent == "child"


def test_delete_rewrites_children_before_removing_the_parent(tmp_path, monkeypatch):
    drv, dom = _world(tmp_path)
    for name, parent, created in (("a", None, 1), ("b", "a", 2), ("c", "b", 3)):
        (tmp_path / "vm" / f"{name}.xml").write_text(_snap_xml(name, parent, created))
    snapshot.load_metadata(drv, dom)
    events = []
    real_write, real_remove = snapshot.state_dir.atomic_write, snapshot.state_dir.remove_file
    monkeypatch.setattr(snapshot.state_dir, "atomic_write",
                        lambda path, text: (events.append(("write", path.name)),
                                            real_write(path, text)))
    monkeypatch.setattr(snapshot.state_dir, "remove_file",
                        lambda path: (events.append(("remove", path.name)), real_remove(path)))
    snapshot.delete(drv, dom, dom.snapshots.get("b"), snapshot.n.SNAPSHOT_DELETE_METADATA_ONLY)
    assert events.index(("write", "c.xml")) < events.index(("remove", "b.xml"))
    assert "<name>a</name>" in (tmp_path / "vm" / "c.xml").read_text()
    assert not (tmp_path / "vm" / "b.xml").exists()
