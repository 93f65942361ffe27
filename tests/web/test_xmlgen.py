"""XML written by the wizard and the create forms."""

from __future__ import annotations

import pytest
from lxml import etree

from pyvirt.web.xmlgen import GuestPlan, domain_xml, network_xml, snapshot_xml, volume_xml


def test_domain_xml_with_disk_network_and_console():
    root = etree.fromstring(domain_xml(GuestPlan(
        name="web1", memory_mib=256, vcpus=2, domain_type="test", arch="i686",
        disk_path="/pool/web1.qcow2", disk_format="qcow2", network="default")))
    assert root.get("type") == "test"
    assert root.findtext("name") == "web1"
    assert root.find("memory").get("unit") == "MiB" and root.findtext("memory") == "256"
    assert root.findtext("vcpu") == "2"
    assert root.find("os/type").get("arch") == "i686"
    assert root.find("os/boot").get("dev") == "hd"
    assert root.find("devices/disk/source").get("file") == "/pool/web1.qcow2"
    assert root.find("devices/disk/driver").get("type") == "qcow2"
    assert root.find("devices/interface/source").get("network") == "default"
    assert root.find("devices/console/target").get("type") == "serial"


def test_domain_xml_kernel_boot_and_odd_name_are_escaped():
    xml = domain_xml(GuestPlan(name="a<b>&'c\"", memory_mib=128, vcpus=1, boot="kernel",
                               kernel="/k/vmlinuz", initrd="/k/initrd", cmdline="console=ttyS0"))
    root = etree.fromstring(xml)
    assert root.findtext("name") == "a<b>&'c\""
    assert root.findtext("os/kernel") == "/k/vmlinuz"
    assert root.findtext("os/initrd") == "/k/initrd"
    assert root.findtext("os/cmdline") == "console=ttyS0"
    assert root.find("os/boot") is None
    assert root.find("devices/disk") is None and root.find("devices/interface") is None


def test_network_xml_nat_and_isolated():
    nat = etree.fromstring(network_xml("lab", "nat", "10.9.0.0/24"))
    assert nat.find("forward").get("mode") == "nat"
    assert nat.find("ip").get("address") == "10.9.0.1"
    assert nat.find("ip").get("netmask") == "255.255.255.0"
    dhcp = nat.find("ip/dhcp/range")
    assert (dhcp.get("start"), dhcp.get("end")) == ("10.9.0.2", "10.9.0.254")
    isolated = etree.fromstring(network_xml("iso", "isolated", "10.10.0.5/28", dhcp=False))
    assert isolated.find("forward") is None
    assert isolated.find("ip").get("address") == "10.10.0.1"
    assert isolated.find("ip/dhcp") is None


@pytest.mark.parametrize("mode, cidr, message", [
    ("bridge", "10.0.0.0/24", "unknown network mode 'bridge'"),
    ("nat", "10.0.0.0/30", "too small"),
    ("nat", "not-an-address", "invalid IPv4 network .not-an-address."),
])
def test_network_xml_rejects_bad_input(mode, cidr, message):
    with pytest.raises(ValueError, match=message):
        network_xml("n", mode, cidr)


def test_volume_and_snapshot_xml():
    vol = etree.fromstring(volume_xml("disk.qcow2", 1 << 30, "qcow2"))
    assert vol.findtext("name") == "disk.qcow2"
    assert vol.findtext("capacity") == str(1 << 30) and vol.find("capacity").get("unit") == "bytes"
    assert vol.find("target/format").get("type") == "qcow2"
    snap = etree.fromstring(snapshot_xml("s1", "before upgrade"))
    assert snap.findtext("name") == "s1" and snap.findtext("description") == "before upgrade"
    assert etree.fromstring(snapshot_xml("", "")).find("name") is None


def test_domain_xml_iso_boot_adds_a_cdrom_first():
    root = etree.fromstring(domain_xml(GuestPlan(
        name="inst", memory_mib=512, vcpus=1, boot="iso", iso="/pool/debian.iso",
        disk_path="/pool/inst.qcow2", disk_format="qcow2")))
    assert [b.get("dev") for b in root.findall("os/boot")] == ["cdrom", "hd"]
    cdrom = root.find("devices/disk[@device='cdrom']")
    assert cdrom.find("source").get("file") == "/pool/debian.iso"
    assert cdrom.find("target").get("bus") == "sata" and cdrom.find("readonly") is not None
    assert root.find("devices/disk[@device='disk']/target").get("dev") == "vda"


def test_domain_xml_vnc_display_is_autoport_vga_and_off_by_default():
    plain = etree.fromstring(domain_xml(GuestPlan(name="a", memory_mib=64, vcpus=1)))
    assert plain.find("devices/graphics") is None and plain.find("devices/video") is None
    root = etree.fromstring(domain_xml(GuestPlan(name="a", memory_mib=64, vcpus=1, vnc=True)))
    graphics = root.find("devices/graphics")
    assert (graphics.get("type"), graphics.get("autoport"), graphics.get("port")) == \
        ("vnc", "yes", None)
    assert root.find("devices/video/model").get("type") == "vga"
