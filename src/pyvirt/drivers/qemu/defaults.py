"""What libvirt's QEMU driver adds to a definition when it is defined or created
(its post-parse), on top of the generic normalization in ``conf``:

* the CPU model a TCG x86 guest gets (``qemu64``, ``check='none'``);
* ``<driver name='qemu'>`` on disks, ``type='raw'`` when no format is given;
* the machine's implicit devices on i440fx: the PIIX3 USB controller at
  00:01.2, ``pci-root``, the PS/2 mouse and keyboard; ``lsilogic`` as the
  default SCSI controller model; ``isa-serial`` serial targets;
* PCI addresses on bus 0 for every PCI device without one, in libvirt's order
  (primary video at slot 2, then NICs, controllers, virtio disks, balloon, RNG,
  watchdog, other videos, virtio inputs), so they stay stable across restarts;
  USB ports for USB inputs.

Checked against ``virsh -c 'qemu:///embed?root=DIR' define/dumpxml`` (libvirt 9.0).
Operates on the definition's element tree; no I/O.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from lxml import etree

from pyvirt.conf.domain import DomainDef
from pyvirt.drivers.qemu import host
from pyvirt.errors import VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_DOMAIN, VIR_FROM_QEMU, error

log = logging.getLogger(__name__)

#: slots QEMU's i440fx machine owns: the host bridge and the PIIX3 (ISA/IDE/USB)
_I440FX_RESERVED = {0, 1}
_PCI_NIC_MODELS = {"virtio", "e1000", "e1000e", "rtl8139", "ne2k_pci", "vmxnet3", None}


def _is_i440fx(node: Any) -> bool:
    machine = node.find("os/type")
    name = (machine.get("machine") if machine is not None else None) or "pc"
    return name == "pc" or name.startswith("pc-i440fx") or name.startswith("pc-")\
        and "q35" not in name


def declared_controllers(ddef: Any) -> list[Any]:
    """The controllers the document itself has (call before normalizing)."""
    return list(ddef.node.iterfind("devices/controller"))


def apply(ddef: Any, declared: list[Any] | None = None) -> None:
    """Fill in the QEMU driver's defaults on ``ddef`` (a normalized DomainDef);
    ``declared`` is :func:`declared_controllers` taken before normalizing."""
    node = ddef.node
    devices = node.find("devices")
    if devices is None:
        return
    _default_cpu(node)
    for disk in devices.iterfind("disk"):
        _disk_driver(disk)
    for ctl in devices.iterfind("controller"):
        if ctl.get("type") == "scsi" and ctl.get("model") is None:
            ctl.set("model", "lsilogic")
    for serial in devices.iterfind("serial"):
        _serial_target(serial)
    if _is_i440fx(node):
        _implicit_i440fx(devices, declared if declared is not None else [])
        _assign_pci(devices)
        _assign_usb_ports(devices)
    _implicit_audio(devices)


#: the device kinds <audio> follows (libvirt's order under <devices>)
_BEFORE_AUDIO = ("sound", "graphics", "tpm", "input", "channel", "console", "serial",
                 "smartcard", "interface", "filesystem", "controller", "disk", "emulator")


def _implicit_audio(devices: Any) -> None:
    """libvirt 9.0's qemu driver gives every domain an audio backend: ``<audio
    id='1' type='none'/>`` when the document has none."""
    if devices.find("audio") is None:
        _insert_after_last(devices, "audio", etree.Element("audio", id="1", type="none"),
                           _BEFORE_AUDIO)


def _default_cpu(node: Any) -> None:
    if node.get("type") != "qemu" or node.find("cpu") is not None:
        return
    arch = node.find("os/type")
    if arch is not None and arch.get("arch") not in (None, "x86_64", "i686"):
        return
    cpu = etree.Element("cpu", mode="custom", match="exact", check="none")
    etree.SubElement(cpu, "model", fallback="forbid").text = "qemu64"
    anchor = node.find("clock")
    if anchor is not None:
        anchor.addprevious(cpu)
    else:
        node.find("devices").addprevious(cpu)


def _disk_driver(disk: Any) -> None:
    if disk.get("type", "file") not in ("file", "block"):
        return
    driver = disk.find("driver")
    if driver is None:
        driver = etree.Element("driver")
        disk.insert(0, driver)
    if driver.get("name") is None:
        attrs = dict(driver.attrib)
        driver.attrib.clear()
        driver.set("name", "qemu")
        for key, value in attrs.items():
            driver.set(key, value)
    if driver.get("type") is None and disk.find("source") is not None:
        driver.set("type", "raw")


def _serial_target(serial: Any) -> None:
    target = serial.find("target")
    if target is None:
        target = etree.SubElement(serial, "target", port="0")
    if target.get("type") is None:
        port = target.get("port")
        target.attrib.clear()
        target.set("type", "isa-serial")
        if port is not None:
            target.set("port", port)
    if target.get("type") == "isa-serial" and target.find("model") is None:
        etree.SubElement(target, "model", name="isa-serial")


def _insert_after_last(devices: Any, tag: str, element: Any, after: tuple[str, ...]) -> None:
    same = devices.findall(tag)
    if same:
        same[-1].addnext(element)
        return
    for previous in after:
        found = devices.findall(previous)
        if found:
            found[-1].addnext(element)
            return
    devices.insert(0, element)


def _implicit_i440fx(devices: Any, declared: list[Any]) -> None:
    """Add the PIIX3 USB controller, pci-root and PS/2 inputs where libvirt puts them:
    the controllers right after those the document declared (before the ones the
    generic normalization added for disks), the inputs after the declared inputs."""
    controllers = devices.findall("controller")
    mine = [c for c in controllers if any(c is d for d in declared)]
    anchor = mine[-1] if mine else None
    added = []
    if not any(c.get("type") == "usb" and c.get("index", "0") == "0" for c in controllers):
        added.append(etree.Element("controller", type="usb", index="0", model="piix3-uhci"))
    if not any(c.get("type") == "pci" for c in controllers):
        added.append(etree.Element("controller", type="pci", index="0", model="pci-root"))
    for ctl in added:
        if anchor is not None:
            anchor.addnext(ctl)
        elif controllers:
            controllers[0].addprevious(ctl)
        else:
            _insert_after_last(devices, "controller", ctl, ("disk", "emulator"))
        anchor = ctl
    for ctl in devices.iterfind("controller"):
        if ctl.get("type") == "usb" and ctl.get("model") in (None, "piix3-uhci") \
                and ctl.find("address") is None:
            ctl.set("model", "piix3-uhci")
            _pci_address(ctl, 1, 2)
    inputs = devices.findall("input")
    for kind in ("mouse", "keyboard"):
        if not any(i.get("type") == kind and i.get("bus", "ps2") == "ps2" for i in inputs):
            new = etree.Element("input", type=kind, bus="ps2")
            _insert_after_last(devices, "input", new,
                               ("channel", "console", "serial", "interface", "controller"))
            inputs.append(new)


def _pci_address(dev: Any, slot: int, function: int = 0) -> None:
    address = etree.SubElement(dev, "address", type="pci", domain="0x0000", bus="0x00",
                               slot=f"0x{slot:02x}", function=f"0x{function:x}")
    _move_address_last(dev, address)


def _move_address_last(dev: Any, address: Any) -> None:
    """<address> goes after the device's other children (before <boot>? no: libvirt
    prints it last among what we model)."""
    dev.remove(address)
    dev.append(address)


def _needs_pci(dev: Any) -> bool:
    tag = dev.tag
    if tag == "interface":
        model = dev.find("model")
        return (model.get("type") if model is not None else None) in _PCI_NIC_MODELS
    if tag == "controller":
        kind, model = dev.get("type"), dev.get("model")
        if kind in ("scsi", "virtio-serial", "sata"):
            return True
        return kind == "usb" and model not in (None, "piix3-uhci", "none")
    if tag == "disk":
        target = dev.find("target")
        return target is not None and target.get("bus") == "virtio"
    if tag == "memballoon":
        return dev.get("model") == "virtio"
    if tag == "rng":
        return dev.get("model") == "virtio"
    if tag == "watchdog":
        return dev.get("model") == "i6300esb"
    if tag == "video":
        model = dev.find("model")
        return model is None or model.get("type") != "none"
    if tag == "input":
        return dev.get("bus") == "virtio"
    return False


def _used_slots(devices: Any) -> set[int]:
    used = set(_I440FX_RESERVED)
    for address in devices.iterfind("*/address"):
        if address.get("type") == "pci" and int(address.get("bus", "0"), 0) == 0:
            used.add(int(address.get("slot", "0"), 0))
    return used


def _assign_pci(devices: Any) -> None:
    """libvirt's slot order for devices that have no address yet."""
    used = _used_slots(devices)

    def give(dev: Any) -> None:
        if dev.find("address") is not None or not _needs_pci(dev):
            return
        slot = next(s for s in range(2, 32) if s not in used)
        used.add(slot)
        _pci_address(dev, slot)

    videos = devices.findall("video")
    if videos and videos[0].find("address") is None and _needs_pci(videos[0]):
        if 2 not in used:
            used.add(2)
            _pci_address(videos[0], 2)
    for tag in ("interface", "controller", "disk", "memballoon", "rng", "watchdog",
                "video", "input"):
        for dev in devices.findall(tag):
            give(dev)


def assign_hotplug_slot(ddef: Any, dev: Any) -> int | None:
    """Give a device being hot-plugged into ``ddef`` the next free slot on bus 0
    (i440fx only; None elsewhere, where QEMU chooses)."""
    devices = ddef.node.find("devices")
    if devices is None or not _is_i440fx(ddef.node) or dev.find("address") is not None:
        return None
    used = _used_slots(devices)
    slot = next((s for s in range(2, 32) if s not in used), None)
    if slot is not None:
        _pci_address(dev, slot)
    return slot


def _assign_usb_ports(devices: Any) -> None:
    port = 0
    taken = {int(a.get("port", "0")) for a in devices.iterfind("*/address")
             if a.get("type") == "usb" and a.get("port", "").isdigit()}
    for dev in devices.findall("input"):
        if dev.get("bus") != "usb" or dev.find("address") is not None:
            continue
        port += 1
        while port in taken:
            port += 1
        address = etree.SubElement(dev, "address", type="usb", bus="0", port=str(port))
        _move_address_last(dev, address)


# --- parsing a definition for this driver ---------------------------------------------
#: what this driver reads itself (cgroup tuning, DAC labels), beyond the conf models
DRIVER_PARTS = ("memtune", "cputune", "blkiotune", "seclabel")
#: the same inside devices: a file's own label, a NIC's port isolation and filter values,
#: the pvpanic device (command.py's ``_panics``)
DEVICE_PARTS = (("devices/*/source", "seclabel"), ("devices/interface", "port"),
                ("devices/interface/filterref", "parameter"), ("devices", "panic"))


def _set_aside_driver_parts(root: Any) -> list[tuple[Any, Any]]:
    """Take out the elements the driver handles itself (so the unknown-XML report
    does not strip them); (parent, element) pairs to put back."""
    kept = [(root, el) for tag in DRIVER_PARTS for el in root.findall(tag)]
    for parents, tag in DEVICE_PARTS:
        kept += [(parent, el) for parent in root.iterfind(parents) for el in parent.findall(tag)]
    for parent, el in kept:
        parent.remove(el)
    return kept


def _put_back_driver_parts(root: Any, kept: list[tuple[Any, Any]]) -> None:
    """Re-insert what :func:`_set_aside_driver_parts` took, in libvirt's order."""
    from pyvirt.conf.domain import DOMAIN_ORDER

    for parent, el in kept:
        if parent is not root:
            parent.append(el)
            continue
        rank = DOMAIN_ORDER.index(el.tag)
        after = next((child for child in root if isinstance(child.tag, str)
                      and child.tag in DOMAIN_ORDER and DOMAIN_ORDER.index(child.tag) > rank),
                     None)
        if after is not None:
            after.addprevious(el)
        else:
            root.append(el)


def _check_driver_parts(ddef: DomainDef) -> None:
    """libvirt's parse errors for the tuning values and the seclabel."""
    from pyvirt.cgroups import tuning_of
    from pyvirt.security.seclabel import dac_seclabel

    tuning_of(ddef)
    dac_seclabel(ddef)


def parse_definition(xml: str, validate: bool = False,
                     canonical_machine: Callable[[str | None], str] | None = None,
                     ours: bool = False) -> tuple[DomainDef, list[str]]:
    """Parse, check and normalize a QEMU domain; refuse (validate) or strip unknown XML.
    ``ours``: a document this driver wrote (config or status file), kept whole: what
    it holds beyond the conf models (a console's pty path, a serial target's model)
    was put there by us."""
    ddef = DomainDef.from_xml(xml)
    if ddef.type == "lxc" or (ddef.os is not None and ddef.os.type == "exe"):
        raise error(VIR_ERR_CONFIG_UNSUPPORTED,
                    "the QEMU driver runs virtual machines: use lxc:/// for "
                    "<domain type='lxc'> and <os><type>exe</type>", domain=VIR_FROM_QEMU)
    kept = [] if ours else _set_aside_driver_parts(ddef.node)
    unknown = [] if ours else list(ddef.unknown_parts())
    if unknown and validate:
        raise error(VIR_ERR_CONFIG_UNSUPPORTED,
                    "unsupported XML in domain definition: " + ", ".join(unknown),
                    domain=VIR_FROM_DOMAIN)
    if unknown:
        ddef.strip_unknown()
    _put_back_driver_parts(ddef.node, kept)
    if kept:
        _check_driver_parts(ddef)
    declared = declared_controllers(ddef)
    ddef.normalize(ifname_prefix=None, default_arch="x86_64")
    apply_qemu_defaults(ddef, canonical_machine)
    apply(ddef, declared)
    warnings = [f"unsupported configuration ignored: {part}" for part in unknown]
    for text in warnings:
        log.warning("domain '%s': %s", ddef.name, text)
    return ddef, warnings


def apply_qemu_defaults(ddef: DomainDef,
                        canonical_machine: Callable[[str | None], str] | None = None) -> None:
    """What libvirt's qemu driver fills in: machine, emulator."""
    from lxml import etree

    node = ddef.node
    virt = node.get("type")
    if virt not in ("qemu", "kvm"):
        raise error(VIR_ERR_CONFIG_UNSUPPORTED,
                    f"Emulator '{host.DEFAULT_EMULATOR}' does not support virt type '{virt}'",
                    domain=VIR_FROM_QEMU)
    os_type = node.find("os/type")
    if os_type is not None:
        machine = os_type.get("machine") or "pc"
        if canonical_machine is not None:
            machine = canonical_machine(machine)
        else:
            machine = host.FALLBACK_MACHINES.get(machine, machine)
        os_type.set("machine", machine)
    devices = node.find("devices")
    if devices is not None and devices.find("emulator") is None:
        emu = etree.Element("emulator")
        emu.text = host.DEFAULT_EMULATOR
        devices.insert(0, emu)
        emu.tail = devices.text
