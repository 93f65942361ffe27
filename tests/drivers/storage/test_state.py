"""Persistence (config and run dirs), sharing between connections, autostart, events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyvirt as libvirt
from storage_helpers import needs_qemu_img, pool_xml, vol_xml
from pyvirt.drivers.storage import open_storage, shared_state
from pyvirt.drivers.storage.persist import write_atomic

pytestmark = needs_qemu_img


def dirs(root: Path) -> tuple[Path, Path]:
    return root / "etc" / "storage", root / "run" / "storage"


def test_define_writes_the_config_and_start_the_status(conn: Any, root: Path) -> None:
    config, run = dirs(root)
    pool = conn.storagePoolDefineXML(pool_xml("p", root / "pool"))
    assert (config / "p.xml").read_text().startswith("<pool type='dir'>")
    assert pool.UUIDString() in (config / "p.xml").read_text()
    pool.build()
    pool.create()
    assert (run / "p.xml").exists()
    pool.setAutostart(1)
    assert (config / "autostart" / "p.xml").is_symlink() and pool.autostart()
    pool.setAutostart(0)
    assert not (config / "autostart" / "p.xml").exists()
    pool.destroy()
    assert not (run / "p.xml").exists()
    pool.undefine()
    assert not (config / "p.xml").exists()


def test_connections_share_one_state(conn: Any, root: Path) -> None:
    config, run = dirs(root)
    other = open_storage(config, run)
    try:
        conn.storagePoolDefineXML(pool_xml("p", root / "pool"))
        assert other.storage_pool_lookup_by_name("p").name == "p"
        assert shared_state(config, run) is other.state
    finally:
        other.connect_close()


def test_a_new_process_takes_back_active_pools_and_autostarts(root: Path) -> None:
    config, run = dirs(root)
    drv = open_storage(config, run)
    ref = drv.storage_pool_define_xml(pool_xml("live", root / "live"))
    drv.storage_pool_build(ref)
    drv.storage_pool_create(ref)
    drv.storage_pool_create_xml(pool_xml("tr", root / "tr"), 1)
    auto = drv.storage_pool_define_xml(pool_xml("auto", root / "auto"))
    drv.storage_pool_build(auto)
    drv.storage_pool_set_autostart(auto, 1)
    drv.storage_vol_create_xml(ref, vol_xml("a.img", 4096))
    drv.connect_close()
    assert shared_state(config, run) is None         # last connection gone: state dropped

    again = open_storage(config, run)                 # as after a daemon restart
    try:
        refs = {r.name: r for r in again.connect_list_all_storage_pools(0)}
        assert set(refs) == {"auto", "live", "tr"}
        assert all(again.storage_pool_is_active(r) for r in refs.values())
        assert not again.storage_pool_is_persistent(refs["tr"])
        vols = again.storage_pool_list_all_volumes(refs["live"])
        assert [v.name for v in vols] == ["a.img"]
    finally:
        again.connect_close()


def test_a_pool_gone_from_the_host_comes_back_inactive(root: Path) -> None:
    config, run = dirs(root)
    drv = open_storage(config, run)
    ref = drv.storage_pool_define_xml(pool_xml("p", root / "p"))
    drv.storage_pool_build(ref)
    drv.storage_pool_create(ref)
    drv.connect_close()
    (root / "p").rmdir()
    again = open_storage(config, run)
    try:
        assert not again.storage_pool_is_active(again.storage_pool_lookup_by_name("p"))
        assert not (run / "p.xml").exists()
    finally:
        again.connect_close()


def test_redefining_an_active_pool_waits_for_its_restart(conn: Any, pool: Any,
                                                       root: Path) -> None:
    new = pool_xml("p", root / "pool").replace("<name>p</name>",
                                                 f"<name>p</name><uuid>{pool.UUIDString()}</uuid>")
    new = new.replace("</target>", "<permissions><mode>0755</mode></permissions></target>")
    conn.storagePoolDefineXML(new)
    assert "0755" in pool.XMLDesc(libvirt.VIR_STORAGE_XML_INACTIVE)
    assert "<mode>0711</mode>" in pool.XMLDesc()
    pool.destroy()
    assert "0755" in pool.XMLDesc()


def test_bad_config_files_are_skipped(root: Path) -> None:
    config, run = dirs(root)
    write_atomic(config / "broken.xml", "<pool type='dir'><name>broken</name></pool>")
    write_atomic(config / "renamed.xml", pool_xml("other", root / "x"))
    drv = open_storage(config, run)
    try:
        assert drv.connect_list_all_storage_pools(0) == []
    finally:
        drv.connect_close()


def test_lifecycle_and_refresh_events(conn: Any, root: Path) -> None:
    seen: list[tuple[str, Any]] = []
    drv = conn._drv.storage
    drv.connect_storage_pool_event_register_any(
        libvirt.VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE, None,
        lambda _id, ref, event, detail: seen.append((ref.name, event)))
    drv.connect_storage_pool_event_register_any(
        libvirt.VIR_STORAGE_POOL_EVENT_ID_REFRESH, None,
        lambda _id, ref: seen.append((ref.name, "refresh")))
    pool = conn.storagePoolDefineXML(pool_xml("p", root / "pool"))
    pool.build()
    pool.create()
    pool.refresh()
    pool.destroy()
    pool.delete()
    pool.undefine()
    assert seen == [("p", libvirt.VIR_STORAGE_POOL_EVENT_DEFINED),
                    ("p", libvirt.VIR_STORAGE_POOL_EVENT_CREATED),
                    ("p", libvirt.VIR_STORAGE_POOL_EVENT_STARTED),
                    ("p", "refresh"),
                    ("p", libvirt.VIR_STORAGE_POOL_EVENT_STOPPED),
                    ("p", libvirt.VIR_STORAGE_POOL_EVENT_DELETED),
                    ("p", libvirt.VIR_STORAGE_POOL_EVENT_UNDEFINED)]


def test_create_xml_of_a_defined_pool_starts_it_with_that_xml(conn: Any, root: Path) -> None:
    pool = conn.storagePoolDefineXML(pool_xml("p", root / "a"))
    live = pool_xml("p", root / "b").replace(
        "<name>p</name>", f"<name>p</name><uuid>{pool.UUIDString()}</uuid>")
    started = conn.storagePoolCreateXML(live, libvirt.VIR_STORAGE_POOL_CREATE_WITH_BUILD)
    assert started.UUIDString() == pool.UUIDString() and pool.isActive()
    assert str(root / "b") in pool.XMLDesc()
    assert str(root / "a") in pool.XMLDesc(libvirt.VIR_STORAGE_XML_INACTIVE)
    pool.destroy()
    assert str(root / "a") in pool.XMLDesc() and pool.isPersistent()


def test_a_thread_started_while_the_state_loads_may_close_connections(root: Path,
                                                                      monkeypatch) -> None:
    """A GC finalizer closing another connection can run in a thread the load starts
    (the volume probe pool): the load must not hold the lock that close takes."""
    import threading

    from pyvirt.drivers import storage
    from pyvirt.drivers.storage.state import StorageState

    config, run = dirs(root)
    other = open_storage(config, run / "other")
    finished = []
    real_load = StorageState.load

    def load_with_a_closing_thread(state):
        closer = threading.Thread(target=lambda: (other.connect_close(), finished.append(1)))
        closer.start()
        closer.join(10)
        real_load(state)

    monkeypatch.setattr(StorageState, "load", load_with_a_closing_thread)
    conn = open_storage(config, run)
    assert finished == [1]              # the other close got the lock: no deadlock
    assert shared_state(config, run / "other") is None
    conn.connect_close()
    assert not storage._lock._is_owned()
