"""XML the manager writes: new domains (the wizard), networks, volumes, snapshots.

Pure functions: form values in, libvirt XML text out (no I/O, no API calls).
Values are placed with lxml, so odd characters in names are escaped, never
interpreted.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from lxml import etree


def _text(parent: etree._Element, tag: str, text: str, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, tag, **attrs)
    element.text = text
    return element


def _format(root: etree._Element) -> str:
    return etree.tostring(root, pretty_print=True, encoding="unicode")


@dataclass
class GuestPlan:
    """What the create-VM wizard asked for."""

    name: str
    memory_mib: int
    vcpus: int
    domain_type: str = "qemu"
    arch: str = "x86_64"
    os_type: str = "hvm"
    boot: str = "volume"              # "volume", "kernel" or "iso"
    iso: str = ""                     # the install image for boot="iso"
    kernel: str = ""
    initrd: str = ""
    cmdline: str = ""
    disk_path: str = ""               # an existing or new volume's path
    disk_format: str = "raw"
    network: str = ""                 # a libvirt network name, "" for none
    serial_console: bool = True
    vnc: bool = False                 # a VGA display with an autoport VNC server


def domain_xml(plan: GuestPlan) -> str:
    root = etree.Element("domain", type=plan.domain_type)
    _text(root, "name", plan.name)
    _text(root, "memory", str(plan.memory_mib), unit="MiB")
    _text(root, "currentMemory", str(plan.memory_mib), unit="MiB")
    _text(root, "vcpu", str(plan.vcpus))
    os_el = etree.SubElement(root, "os")
    _text(os_el, "type", plan.os_type, arch=plan.arch)
    if plan.boot == "kernel":
        _text(os_el, "kernel", plan.kernel)
        if plan.initrd:
            _text(os_el, "initrd", plan.initrd)
        if plan.cmdline:
            _text(os_el, "cmdline", plan.cmdline)
    elif plan.boot == "iso":
        etree.SubElement(os_el, "boot", dev="cdrom")
        etree.SubElement(os_el, "boot", dev="hd")
    else:
        etree.SubElement(os_el, "boot", dev="hd")
    features = etree.SubElement(root, "features")
    etree.SubElement(features, "acpi")
    _text(root, "on_poweroff", "destroy")
    _text(root, "on_reboot", "restart")
    _text(root, "on_crash", "destroy")
    devices = etree.SubElement(root, "devices")
    if plan.disk_path:
        disk = etree.SubElement(devices, "disk", type="file", device="disk")
        etree.SubElement(disk, "driver", name="qemu", type=plan.disk_format)
        etree.SubElement(disk, "source", file=plan.disk_path)
        etree.SubElement(disk, "target", dev="vda", bus="virtio")
    if plan.boot == "iso":
        cdrom = etree.SubElement(devices, "disk", type="file", device="cdrom")
        etree.SubElement(cdrom, "driver", name="qemu", type="raw")
        etree.SubElement(cdrom, "source", file=plan.iso)
        etree.SubElement(cdrom, "target", dev="sda", bus="sata")
        etree.SubElement(cdrom, "readonly")
    if plan.network:
        nic = etree.SubElement(devices, "interface", type="network")
        etree.SubElement(nic, "source", network=plan.network)
        etree.SubElement(nic, "model", type="virtio")
    if plan.serial_console:
        serial = etree.SubElement(devices, "serial", type="pty")
        etree.SubElement(serial, "target", port="0")
        console = etree.SubElement(devices, "console", type="pty")
        etree.SubElement(console, "target", type="serial", port="0")
    if plan.vnc:
        etree.SubElement(devices, "graphics", type="vnc", autoport="yes")
        video = etree.SubElement(devices, "video")
        etree.SubElement(video, "model", type="vga")
    return _format(root)


def network_xml(name: str, mode: str, cidr: str, dhcp: bool = True) -> str:
    """A NAT (``mode='nat'``) or isolated (``mode='isolated'``) IPv4 network."""
    if mode not in ("nat", "isolated"):
        raise ValueError(f"unknown network mode '{mode}' (expected nat or isolated)")
    try:
        net = ipaddress.IPv4Network(cidr, strict=False)
    except ValueError as err:
        raise ValueError(f"invalid IPv4 network '{cidr}': {err}") from None
    if net.num_addresses < 8:
        raise ValueError(f"network {cidr} is too small (need at least a /29)")
    hosts = list(net.hosts()) if net.num_addresses <= 65536 else None
    gateway = hosts[0] if hosts else net.network_address + 1
    root = etree.Element("network")
    _text(root, "name", name)
    if mode == "nat":
        etree.SubElement(root, "forward", mode="nat")
    ip = etree.SubElement(root, "ip", address=str(gateway), netmask=str(net.netmask))
    if dhcp:
        first = gateway + 1
        last = hosts[-1] if hosts else net.broadcast_address - 1
        dhcp_el = etree.SubElement(ip, "dhcp")
        etree.SubElement(dhcp_el, "range", start=str(first), end=str(last))
    return _format(root)


def volume_xml(name: str, capacity_bytes: int, fmt: str = "raw") -> str:
    root = etree.Element("volume")
    _text(root, "name", name)
    _text(root, "capacity", str(capacity_bytes), unit="bytes")
    target = etree.SubElement(root, "target")
    etree.SubElement(target, "format", type=fmt)
    return _format(root)


def snapshot_xml(name: str, description: str = "") -> str:
    root = etree.Element("domainsnapshot")
    if name:
        _text(root, "name", name)
    if description:
        _text(root, "description", description)
    return _format(root)


def disk_device_xml(path: str, target: str, fmt: str = "raw", bus: str = "virtio") -> str:
    """A ``<disk>`` for hot-plug: a file-backed disk at ``target``."""
    disk = etree.Element("disk", type="file", device="disk")
    etree.SubElement(disk, "driver", name="qemu", type=fmt)
    etree.SubElement(disk, "source", file=path)
    etree.SubElement(disk, "target", dev=target, bus=bus)
    return _format(disk)


def nic_device_xml(network: str, model: str = "virtio", mac: str = "") -> str:
    """An ``<interface type='network'>`` for hot-plug."""
    nic = etree.Element("interface", type="network")
    if mac:
        etree.SubElement(nic, "mac", address=mac)
    etree.SubElement(nic, "source", network=network)
    etree.SubElement(nic, "model", type=model)
    return _format(nic)


def next_disk_target(used: list[str], prefix: str = "vd") -> str:
    """The first free ``vda``, ``vdb``... name (then ``vdaa``), as virt-manager picks."""
    taken = set(used)
    letters = "abcdefghijklmnopqrstuvwxyz"
    names = [prefix + a for a in letters] + [prefix + a + b for a in letters for b in letters]
    for name in names:
        if name not in taken:
            return name
    raise ValueError("no free disk target name left")
