"""The issue's bad inputs through the public API, each checked for a clear error
and for nothing left behind (no definition, no container, no run file, no cgroup):
a missing root directory, an init that exits at once, an idmap onto the host's
own ids, a container asking for a host device."""

from __future__ import annotations

import pytest

import pyvirt
from pyvirt.drivers.lxc.cgroup import ContainerCgroup, group_name
from pyvirt.drivers.lxc.state import state_for
from pyvirt.drivers.lxc.state_dir import dirs_for_root
from pyvirt.errors import (
    VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_OPERATION_FAILED, VIR_ERR_SYSTEM_ERROR, VIR_FROM_LXC,
)

from lxc_helpers import container_xml

HOSTDEV = ("<hostdev mode='capabilities' type='misc'><source><char>/dev/sda</char>"
           "</source></hostdev>")
HOSTDEV_BLOCK = ("<hostdev mode='capabilities' type='storage'><source><block>/dev/sda</block>"
                 "</source></hostdev>")
IDMAP_ROOT_UID = ("<idmap><uid start='0' target='0' count='65536'/>"
                  "<gid start='0' target='100000' count='65536'/></idmap>")
IDMAP_ROOT_GID = ("<idmap><uid start='0' target='100000' count='65536'/>"
                  "<gid start='0' target='0' count='10'/></idmap>")


def _nothing_left(conn, lxc_root, name: str) -> None:
    dirs = dirs_for_root(lxc_root)
    assert state_for(dirs).containers == {}
    assert conn.numOfDomains() == 0
    assert not dirs.run.exists() or not list(dirs.run.glob(f"{name}*"))
    assert not ContainerCgroup(group_name(name, dirs.key)).exists()


def _xml_without_idmap(name: str, rootfs, *, idmap: str = "", devices: str = "") -> str:
    return container_xml(name, rootfs, idmap=False, extra=idmap, extra_devices=devices)


@pytest.mark.parametrize("devices, idmap, what", [
    (HOSTDEV, "", "host device"),
    (HOSTDEV_BLOCK, "", "host device"),
    ("", IDMAP_ROOT_UID, "overlaps the host's own uid 0"),
    ("", IDMAP_ROOT_GID, "overlaps the host's own gid 0"),
])
def test_refused_at_define_and_at_create_nothing_left(conn, rootfs, lxc_root, devices, idmap,
                                                      what):
    xml = _xml_without_idmap("ct-bad", rootfs, idmap=idmap, devices=devices)
    for call in (lambda: conn.defineXML(xml), lambda: conn.createXML(xml, 0)):
        with pytest.raises(pyvirt.libvirtError) as info:
            call()
        assert info.value.get_error_code() == VIR_ERR_CONFIG_UNSUPPORTED
        assert info.value.get_error_domain() == VIR_FROM_LXC
        assert what in str(info.value)
    assert conn.listDefinedDomains() == []
    assert not (dirs_for_root(lxc_root).config_path("ct-bad")).exists()
    _nothing_left(conn, lxc_root, "ct-bad")


def test_missing_root_directory_nothing_left(conn, rootfs, lxc_root, tmp_path):
    dom = conn.defineXML(container_xml("ct-noroot", tmp_path / "nowhere"))
    with pytest.raises(pyvirt.libvirtError) as info:
        dom.create()
    assert info.value.get_error_code() == VIR_ERR_SYSTEM_ERROR
    assert str(tmp_path / "nowhere") in str(info.value)
    assert dom.isActive() == 0 and dom.state() == [5, 0]
    _nothing_left(conn, lxc_root, "ct-noroot")
    with pytest.raises(pyvirt.libvirtError):          # transient: not even defined after
        conn.createXML(container_xml("ct-noroot2", tmp_path / "nowhere"), 0)
    with pytest.raises(pyvirt.libvirtError):
        conn.lookupByName("ct-noroot2")
    _nothing_left(conn, lxc_root, "ct-noroot2")


def test_init_exiting_at_once_nothing_left_and_it_can_be_fixed(conn, rootfs, lxc_root):
    dom = conn.defineXML(container_xml("ct-quick", rootfs, init="/sbin/ct-exit"))
    with pytest.raises(pyvirt.libvirtError) as info:
        dom.create()
    assert info.value.get_error_code() == VIR_ERR_OPERATION_FAILED
    assert "exited at once" in str(info.value)
    _nothing_left(conn, lxc_root, "ct-quick")
    fixed = conn.defineXML(container_xml("ct-quick", rootfs,        # redefined with a good init
                                         extra=f"<uuid>{dom.UUIDString()}</uuid>"))
    fixed.create()
    assert fixed.isActive() == 1
    fixed.destroy()
    _nothing_left(conn, lxc_root, "ct-quick")
