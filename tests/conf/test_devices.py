"""Device models: parse_device, fields, checks, defaults, add/find/remove."""

from __future__ import annotations

import pathlib
import random

import pytest

from pyvirt.conf.devices import (
    DEVICE_CLASSES, Disk, Graphics, Hostdev, Interface, disk_name_to_index, generate_mac,
    parse_device, parse_mac,
)
from pyvirt.conf.domain import DomainDef
from pyvirt.errors import (
    VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_NO_TARGET, VIR_ERR_XML_DETAIL, VIR_ERR_XML_ERROR,
    libvirtError,
)

DATA = pathlib.Path(__file__).resolve().parent.parent / "data" / "conf" / "domain"
FULL = (DATA / "full-vm.xml").read_text()


def full() -> DomainDef:
    return DomainDef.from_xml(FULL)


def test_every_kind_is_listed_in_document_order() -> None:
    devices = full().devices
    assert [len(getattr(devices, cls._list_name)) for cls in DEVICE_CLASSES] == [
        5, 3, 1, 4, 2, 0, 1, 1, 3, 2, 1, 1, 1, 1, 1, 1]
    tags = [d.tag for d in devices.all()]
    assert tags.index("hostdev") < tags.index("serial")  # as written, not libvirt's order
    assert devices.emulator == "/usr/bin/qemu-system-x86_64"


def test_disk_fields() -> None:
    disks = full().devices.disks
    d = disks[0]
    assert (d.type, d.device, d.driver_name, d.driver_type, d.driver_cache,
            d.driver_discard) == ("file", "disk", "qemu", "qcow2", "none", "unmap")
    assert (d.source_file, d.target_dev, d.target_bus, d.serial, d.boot_order) == (
        "/var/lib/libvirt/images/full.qcow2", "vda", "virtio", "DISK0001", 1)
    assert d.backing_store.format == "raw"
    assert d.backing_store.source_file == "/var/lib/libvirt/images/base.img"
    assert (d.address.type, d.address.slot) == ("pci", "0x04")
    assert disks[1].source_dev == "/dev/sdb" and disks[1].shareable
    assert (disks[2].source_pool, disks[2].source_volume) == ("default", "data.img")
    net = disks[3]
    assert (net.source_protocol, net.source_name) == ("nbd", "export")
    assert [(h.name, h.port) for h in net.source_hosts] == [("nbd.example.org", 10809)]
    assert disks[4].readonly and not disks[0].readonly
    assert disks[4].address.controller == "0"


def test_interface_fields() -> None:
    nets = full().devices.interfaces
    assert nets[0].mac == "52:54:00:aa:bb:cc"  # read lower-case
    assert (nets[0].type, nets[0].source_network, nets[0].model, nets[0].target_dev,
            nets[0].link_state, nets[0].boot_order) == (
        "network", "default", "virtio", "vnet0", "up", 2)
    assert (nets[1].source_bridge, nets[1].mac) == ("br0", None)
    assert nets[2].type == "user"
    assert (nets[3].source_dev, nets[3].source_mode, nets[3].link_state) == (
        "eth0", "bridge", "down")


def test_other_device_fields() -> None:
    dev = full().devices
    assert [(c.type, c.index, c.model) for c in dev.controllers] == [
        ("usb", 0, "qemu-xhci"), ("sata", 0, None), ("virtio-serial", 0, None)]
    assert [(s.type, s.source_path, s.target_port) for s in dev.serials] == [
        ("pty", None, 0), ("file", "/var/log/full-serial.log", 1)]
    assert (dev.consoles[0].target_type, dev.consoles[0].target_port) == ("serial", 0)
    chan = dev.channels[0]
    assert (chan.type, chan.source_mode, chan.target_type, chan.target_name) == (
        "unix", "bind", "virtio", "org.qemu.guest_agent.0")
    vnc, spice = dev.graphics
    assert (vnc.type, vnc.port, vnc.autoport, vnc.websocket, vnc.passwd) == (
        "vnc", -1, True, 5700, "secret")
    assert vnc.listen_address == "127.0.0.1" and spice.autoport is False
    assert [(i.type, i.bus) for i in dev.inputs] == [
        ("tablet", "usb"), ("mouse", "ps2"), ("keyboard", "ps2")]
    assert dev.sounds[0].model == "ich6"
    assert (dev.videos[0].model, dev.videos[0].vram, dev.videos[0].heads) == ("qxl", 65536, 1)
    assert (dev.watchdogs[0].model, dev.watchdogs[0].action) == ("i6300esb", "reset")
    assert dev.memballoons[0].model == "virtio"
    assert (dev.rngs[0].model, dev.rngs[0].backend_model, dev.rngs[0].backend) == (
        "virtio", "random", "/dev/urandom")
    fs = dev.filesystems[0]
    assert (fs.type, fs.source_dir, fs.target_dir, fs.readonly) == (
        "mount", "/srv/share", "share", True)
    hd = dev.hostdevs[0]
    assert (hd.mode, hd.type, hd.managed, hd.source_address.bus) == (
        "subsystem", "pci", True, "0x06")


def test_parse_device_picks_class_and_checks() -> None:
    dev = parse_device("<interface type='network'><mac address='52:54:00:AB:CD:EF'/>"
                       "<source network='default'/></interface>")
    assert isinstance(dev, Interface) and dev.mac == "52:54:00:ab:cd:ef"
    assert isinstance(parse_device("<graphics type='vnc'/>"), Graphics)
    with pytest.raises(libvirtError) as err:
        parse_device("<disk type='file'><source file='/a'/></disk>")
    assert err.value.get_error_code() == VIR_ERR_NO_TARGET
    with pytest.raises(libvirtError) as err:
        parse_device("<frobnicator/>")
    assert err.value.get_error_code() == VIR_ERR_XML_ERROR
    with pytest.raises(libvirtError) as err:
        parse_device("<disk")
    assert err.value.get_error_code() == VIR_ERR_XML_DETAIL
    with pytest.raises(libvirtError) as err:
        parse_device("<watchdog model='i6300esb' action='explode'/>")
    assert err.value.get_error_code() == VIR_ERR_CONFIG_UNSUPPORTED


def test_unknown_parts_of_a_lone_device_name_its_root() -> None:
    dev = parse_device("<disk type='file' x='1'><source file='/a'/><target dev='vda'/>"
                       "<sparkle/></disk>")
    assert dev.unknown_parts() == ["attribute 'x' of <disk>", "element <disk/sparkle>"]


@pytest.mark.parametrize("text, canonical", [
    ("52:54:00:AB:cd:0F", "52:54:00:ab:cd:0f"), ("2:0:0:0:0:1", "02:00:00:00:00:01"),
])
def test_parse_mac(text, canonical) -> None:
    assert parse_mac(text) == canonical


@pytest.mark.parametrize("text", ["zz:11", "52:54:00:00:00", "01:00:00:00:00:00",
                                  "52:54:00:00:00:0g"])
def test_bad_mac(text) -> None:
    with pytest.raises(libvirtError) as err:
        parse_mac(text)
    assert err.value.get_error_code() == VIR_ERR_XML_ERROR


def test_mac_setter_normalizes_and_refuses_bad() -> None:
    iface = Interface()
    iface.mac = "52:54:00:AA:BB:CC"
    assert "<mac address='52:54:00:aa:bb:cc'/>" in iface.to_xml()
    with pytest.raises(libvirtError):
        iface.mac = "nonsense"


def test_generate_mac_is_qemu_range() -> None:
    mac = generate_mac(random.Random(3))
    assert mac.startswith("52:54:00:") and parse_mac(mac) == mac


@pytest.mark.parametrize("name, index", [("vda", 0), ("sdb", 1), ("hdz", 25), ("vdaa", 26),
                                         ("xvdc", 2), ("nvme0n1", None), ("vd1", None)])
def test_disk_name_to_index(name, index) -> None:
    assert disk_name_to_index(name) == index


# --- add / find / remove, as attach-device and detach-device use them ----------------
def test_find_disk_by_target() -> None:
    dom = full()
    found = dom.find_device(parse_device("<disk type='file'><source file='/other'/>"
                                         "<target dev='vdc'/></disk>"))
    assert isinstance(found, Disk) and found.source_volume == "data.img"
    assert dom.find_device(parse_device("<disk type='file'><source file='/a'/>"
                                        "<target dev='vdz'/></disk>")) is None


def test_find_interface_by_mac_case_insensitive() -> None:
    dom = full()
    req = parse_device("<interface type='network'><mac address='52:54:00:12:34:57'/>"
                       "<source network='x'/></interface>")
    assert dom.find_device(req).source_dev == "eth0"
    req.mac = "52:54:00:00:00:99"
    assert dom.find_device(req) is None


def test_find_by_address_or_equality() -> None:
    dom = full()
    assert dom.find_device(parse_device("<watchdog model='i6300esb' action='reset'/>"))
    assert dom.find_device(parse_device("<watchdog model='ib700' action='reset'/>")) is None
    assert dom.find_device(parse_device(
        "<hostdev mode='subsystem' type='pci' managed='yes'><source>"
        "<address domain='0' bus='6' slot='2' function='0'/></source></hostdev>"))
    assert dom.find_device(parse_device(
        "<disk type='file' device='disk'><source file='/x'/><target dev='vda'/>"
        "<address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/>"
        "</disk>")) is not None
    assert dom.find_device(parse_device("<controller type='sata' index='0'/>"))
    assert dom.find_device(parse_device("<controller type='sata' index='1'/>")) is None


def test_add_and_remove_device_keep_libvirt_order() -> None:
    dom = DomainDef.from_xml((DATA / "minimal.out.xml").read_text())
    iface = parse_device("<interface type='network'><source network='default'/></interface>")
    dom.normalize_device(iface, ifname_prefix="testnet")
    dom.add_device(iface)
    disk = parse_device("<disk type='file'><source file='/x.img'/><target dev='sdc'/></disk>")
    dom.normalize_device(disk)
    dom.add_device(disk)
    tags = [d.tag for d in dom.devices.all()]
    assert tags == ["disk", "interface"]
    assert disk.target_bus == "scsi" and disk.address.unit == "2"
    assert iface.mac.startswith("52:54:00:") and iface.target_dev == "testnet0"
    assert dom.remove_device(parse_device(
        f"<interface type='network'><mac address='{iface.mac}'/>"
        "<source network='default'/></interface>")) is not None
    assert [d.tag for d in dom.devices.all()] == ["disk"]
    assert dom.remove_device(iface) is None


def test_set_address_replaces() -> None:
    dev = parse_device("<rng model='virtio'><backend model='random'/></rng>")
    dev.set_address("pci", domain="0x0000", bus="0x00", slot="0x07", function="0x0")
    dev.set_address("pci", domain="0x0000", bus="0x00", slot="0x08", function="0x0")
    assert dev.to_xml().count("<address") == 1 and dev.address.slot == "0x08"
    dev.set_address(None)
    assert dev.address is None


def test_hostdev_usb_round_trip() -> None:
    text = ("<hostdev mode='subsystem' type='usb' managed='no'>\n  <source>\n"
            "    <vendor id='0x1234'/>\n    <product id='0xbeef'/>\n  </source>\n</hostdev>\n")
    dev = parse_device(text)
    assert isinstance(dev, Hostdev) and dev.to_xml() == text
    assert (dev.vendor_id, dev.product_id, dev.managed) == ("0x1234", "0xbeef", False)
    assert dev.unknown_parts() == []
