"""The few domain-definition facts the test driver acts on, read from a DomainDef.

Parsing, normalizing and the unknown-XML report belong to
``pyvirt.conf.domain.DomainDef``; this module reads and edits the handful of
fields the driver needs (name, uuid, memory, vcpus, devices read-only) on the def's
element tree, so it works with whichever fields DomainDef declares. Until
DomainDef lands, a plain XMLBuilder with libvirt's basic defaults stands in.
"""

from __future__ import annotations

import os
import uuid as uuidlib
from typing import Any

from lxml import etree

from pyvirt.conf.xmlbuilder import XMLBuilder, parse_xml
from pyvirt.errors import (
    VIR_ERR_INTERNAL_ERROR, VIR_ERR_NO_NAME, VIR_ERR_XML_ERROR, VIR_FROM_DOMAIN, error,
)

try:  # the conf engineer's model, when present
    from pyvirt.conf.domain import DomainDef as _DomainDef
except ImportError:  # pragma: no cover - depends on the tree's progress
    _DomainDef = None

_UNITS = {
    "b": 1, "bytes": 1, "k": 1024, "kib": 1024, "kb": 1000, "m": 1024 ** 2, "mib": 1024 ** 2,
    "mb": 1000 ** 2, "g": 1024 ** 3, "gib": 1024 ** 3, "gb": 1000 ** 3, "t": 1024 ** 4,
    "tib": 1024 ** 4, "tb": 1000 ** 4, "p": 1024 ** 5, "pib": 1024 ** 5, "pb": 1000 ** 5,
    "e": 1024 ** 6, "eib": 1024 ** 6, "eb": 1000 ** 6,
}


def scaled_bytes(value: str, unit: str | None, default_unit: str = "b") -> int:
    """A libvirt scaled integer (``<capacity unit='M'>5</capacity>``) in bytes."""
    factor = _UNITS.get((unit or default_unit).lower())
    if factor is None:
        raise error(VIR_ERR_XML_ERROR, f"unknown unit '{unit}'", domain=VIR_FROM_DOMAIN)
    try:
        return int(value.strip()) * factor
    except ValueError as err:
        raise error(VIR_ERR_XML_ERROR, f"invalid scaled value '{value}'",
                    domain=VIR_FROM_DOMAIN) from err


class PlainDomainDef(XMLBuilder):
    """Stand-in for DomainDef: parse/format plus libvirt's basic defaults."""

    _root_name = "domain"
    _doc_label = "(domain_definition)"

    def unknown_parts(self) -> list[str]:
        return []

    def strip_unknown(self) -> list[str]:
        return []

    def normalize(self) -> None:
        node = self.node
        _ensure(node, "currentMemory", after="memory", text=node.findtext("memory"),
                attrs=dict(node.find("memory").attrib) if node.find("memory") is not None
                else {})
        vcpu = _ensure(node, "vcpu", after="currentMemory", text="1")
        vcpu.set("placement", vcpu.get("placement", "static"))
        os_el = _ensure(node, "os", after="vcpu")
        os_type = _ensure(os_el, "type", text="hvm")
        if os_type.get("arch") is None:
            os_type.set("arch", "i686")
        if os_el.find("boot") is None and os_el.find("kernel") is None:
            etree.SubElement(os_el, "boot", dev="hd")
        _ensure(node, "clock", after="os", attrs={"offset": "utc"})
        _ensure(node, "on_poweroff", after="clock", text="destroy")
        _ensure(node, "on_reboot", after="on_poweroff", text="restart")
        _ensure(node, "on_crash", after="on_reboot", text="destroy")
        devices = _ensure(node, "devices")
        for disk in devices.findall("disk"):
            disk.set("device", disk.get("device", "disk"))
            target = disk.find("target")
            if target is not None and target.get("bus") is None:
                dev = target.get("dev", "")
                bus = {"vd": "virtio", "sd": "scsi", "hd": "ide", "xv": "xen"}.get(dev[:2])
                if bus:
                    target.set("bus", bus)
        for mem in (node.find("memory"), node.find("currentMemory")):
            if mem is not None and mem.get("unit", "KiB") != "KiB":
                kib = scaled_bytes(mem.text or "0", mem.get("unit")) // 1024
                mem.text, mem.attrib["unit"] = str(kib), "KiB"
            elif mem is not None:
                mem.set("unit", "KiB")


def _ensure(parent: etree._Element, tag: str, *, after: str | None = None,
            text: str | None = None, attrs: dict[str, str] | None = None) -> etree._Element:
    found = parent.find(tag)
    if found is not None:
        return found
    el = etree.Element(tag, attrs or {})
    el.text = text
    anchor = parent.find(after) if after else None
    if anchor is not None:
        anchor.addnext(el)
    else:
        parent.append(el)
    return el


def domain_def_class() -> type:
    return _DomainDef if _DomainDef is not None else PlainDomainDef


def parse_domain(xml: str) -> Any:
    """Parse (and check) a domain definition; give it a uuid if it has none."""
    if _DomainDef is not None:
        ddef = _DomainDef.from_xml(xml)  # its check refused a blank name or a bad uuid
        _give_uuid(ddef.find_path(["name"]), ddef.find_path(["uuid"]))
        return ddef
    root = parse_xml(xml, "(domain_definition)")
    if root.tag != "domain":
        raise error(VIR_ERR_XML_ERROR, f"unexpected root element <{root.tag}>, "
                    "expecting <domain>", domain=VIR_FROM_DOMAIN)
    name = root.findtext("name")
    if not name or not name.strip():
        raise error(VIR_ERR_NO_NAME, None, domain=VIR_FROM_DOMAIN)
    _give_uuid(root.find("name"), root.find("uuid"))
    return PlainDomainDef(node=root)


def _give_uuid(name_el: etree._Element, uuid_el: etree._Element | None) -> None:
    """A new random uuid right after <name> (or in an empty <uuid/>, as libvirt
    fills it), or the given one in canonical form."""
    if uuid_el is None:
        uuid_el = etree.Element("uuid")
        name_el.addnext(uuid_el)
    if uuid_el.text is None:
        uuid_el.text = new_uuid()
        return
    canonical = str(parse_uuid(uuid_el.text or ""))
    if uuid_el.text != canonical:
        uuid_el.text = canonical


def new_uuid() -> str:
    """A random (version 4) uuid's text: uuid4's value, without its UUID object."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40   # version 4
    raw[8] = raw[8] & 0x3F | 0x80   # RFC 4122 variant
    digits = raw.hex()
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def parse_uuid(text: str) -> uuidlib.UUID:
    try:
        return uuidlib.UUID(text.strip())
    except ValueError as err:
        raise error(VIR_ERR_INTERNAL_ERROR, "malformed uuid element",
                    domain=VIR_FROM_DOMAIN) from err


def normalize(ddef: Any) -> Any:
    if hasattr(ddef, "normalize"):
        ddef.normalize()
    return ddef


def copy_def(ddef: Any) -> Any:
    return ddef.copy()


def name_of(ddef: Any) -> str:
    return ddef.find_path(["name"]).text.strip()


def uuid_of(ddef: Any) -> bytes:
    """The raw 16 bytes of the (canonical, parse_domain made it so) uuid."""
    return bytes.fromhex(ddef.find_path(["uuid"]).text.strip().replace("-", ""))


def format_domain(ddef: Any, dom_id: int = -1, *, secure: bool = True) -> str:
    """libvirt's text for ``ddef``, with ``id='N'`` when the domain runs;
    ``secure=False`` leaves out secrets (graphics passwords), as libvirt does
    without VIR_DOMAIN_XML_SECURE."""
    node = ddef.node
    hide = not secure and any(gfx.get("passwd") is not None
                              for gfx in node.iterfind("devices/graphics"))
    if "id" not in node.attrib and not hide:
        # format the definition itself, without a copy; a running domain's id goes
        # last among the root's attributes, as a copy given id='N' would print it
        text = ddef.to_xml()
        if dom_id > 0:
            head, newline, rest = text.partition("\n")
            if head.count("<") != 1 or head.endswith("/>") or "xmlns" in head:
                return _format_copy(ddef, dom_id, secure)
            text = f"{head[:-1]} id='{dom_id}'>{newline}{rest}"
        return text.replace("  <devices/>\n", "  <devices>\n  </devices>\n")
    return _format_copy(ddef, dom_id, secure)


def _format_copy(ddef: Any, dom_id: int, secure: bool) -> str:
    """format_domain's general case: edit a copy (id, secrets), then format it."""
    dup = copy_def(ddef)
    dup.node.attrib.pop("id", None)
    if dom_id > 0:
        dup.node.set("id", str(dom_id))
    if _DomainDef is not None and isinstance(dup, _DomainDef):
        text = dup.to_xml(secure=secure)
    else:
        if not secure:
            for gfx in dup.node.iterfind("devices/graphics"):
                gfx.attrib.pop("passwd", None)
        text = dup.to_xml()
    # libvirt prints <devices> open even when it holds nothing
    return text.replace("  <devices/>\n", "  <devices>\n  </devices>\n")


# --- memory and vcpus -------------------------------------------------------------
def _kib(node: etree._Element | None) -> int:
    if node is None or not (node.text or "").strip():
        return 0
    return scaled_bytes(node.text, node.get("unit"), "KiB") // 1024


def max_memory_kib(ddef: Any) -> int:
    return _kib(ddef.node.find("memory"))


def memory_kib(ddef: Any) -> int:
    cur = ddef.node.find("currentMemory")
    return _kib(cur) if cur is not None else max_memory_kib(ddef)


def _set_kib(ddef: Any, tag: str, kib: int, after: str | None) -> None:
    el = _ensure(ddef.node, tag, after=after)
    el.text, el.attrib["unit"] = str(kib), "KiB"


def set_memory_kib(ddef: Any, kib: int) -> None:
    _set_kib(ddef, "currentMemory", kib, "memory")


def set_max_memory_kib(ddef: Any, kib: int) -> None:
    _set_kib(ddef, "memory", kib, "uuid")
    if memory_kib(ddef) > kib:
        set_memory_kib(ddef, kib)


def max_vcpus(ddef: Any) -> int:
    vcpu = ddef.node.find("vcpu")
    return int(vcpu.text) if vcpu is not None and vcpu.text else 1


def vcpus(ddef: Any) -> int:
    vcpu = ddef.node.find("vcpu")
    if vcpu is not None and vcpu.get("current"):
        return int(vcpu.get("current"))
    return max_vcpus(ddef)


def set_vcpus(ddef: Any, count: int) -> None:
    vcpu = _ensure(ddef.node, "vcpu", after="currentMemory", text="1")
    if count == max_vcpus(ddef):
        vcpu.attrib.pop("current", None)
    else:
        vcpu.set("current", str(count))


def set_max_vcpus(ddef: Any, count: int) -> None:
    vcpu = _ensure(ddef.node, "vcpu", after="currentMemory", text="1")
    current = vcpus(ddef)
    vcpu.text = str(count)
    set_vcpus(ddef, min(current, count))


def os_type(ddef: Any) -> str:
    return (ddef.node.findtext("os/type") or "hvm").strip()


# --- devices (read only: libvirt's test driver cannot attach or detach) ------------
def devices(ddef: Any) -> etree._Element:
    return _ensure(ddef.node, "devices")


def disk_targets(ddef: Any) -> list[str]:
    return [t.get("dev") for t in ddef.node.iterfind("devices/disk/target") if t.get("dev")]


def interface_names(ddef: Any) -> list[tuple[str | None, str | None]]:
    """(target dev, mac) of each interface."""
    return [(i.find("target").get("dev") if i.find("target") is not None else None,
             i.find("mac").get("address") if i.find("mac") is not None else None)
            for i in ddef.node.iterfind("devices/interface")]
