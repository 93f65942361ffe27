"""The test driver's memory and blkio tunables (``virsh memtune`` / ``blkiotune``).

Like libvirt's test driver, values only live in the domain XML (``<memtune>``,
``<blkiotune>``); there is no cgroup behind them. One definition is chosen per
call (libvirt's virDomainObjGetOneDef): the live one of a running domain, else the
persistent one.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from pyvirt.drivers.base import DomainRef
from pyvirt.drivers.test.checks import bare_error, check_flags
from pyvirt.drivers.test.domain_base import DomainTableBase
from pyvirt.errors import (VIR_ERR_ARGUMENT_UNSUPPORTED, VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN,
                           VIR_FROM_TEST, error)
from pyvirt.objects import numbers as n

#: VIR_DOMAIN_MEMORY_PARAM_UNLIMITED: what an unset memory limit reads as
UNLIMITED = 9007199254740991
MEMORY_FIELDS = ("hard_limit", "soft_limit", "swap_hard_limit")
#: typed parameter -> element inside <blkiotune><device>
DEVICE_FIELDS = {"device_weight": "weight", "device_read_iops_sec": "read_iops_sec",
                 "device_write_iops_sec": "write_iops_sec",
                 "device_read_bytes_sec": "read_bytes_sec",
                 "device_write_bytes_sec": "write_bytes_sec"}
_DEVICE_ORDER = ("path", *DEVICE_FIELDS.values())
#: children of <domain> that come before <blkiotune>/<memtune>, in libvirt's order
_BEFORE = ("name", "uuid", "genid", "title", "description", "metadata", "maxMemory",
           "memory", "currentMemory")
_STRING_OKAY = 1 << 2          # VIR_TYPED_PARAM_STRING_OKAY (libvirt-python adds it)


def _blkio_error(detail: str) -> Exception:
    return error(VIR_ERR_INVALID_ARG, detail, domain=VIR_FROM_DOMAIN)


def parse_device_string(name: str, text: str) -> list[tuple[str, int]]:
    """``"/dev/sda,100,/dev/sdb,200"`` -> [(path, value)], libvirt's messages on error."""
    parts = text.split(",")
    if len(parts) % 2:
        raise _blkio_error(f"unable to parse blkio device '{name}' '{text}'")
    pairs = []
    for path, value in zip(parts[::2], parts[1::2]):
        if not value.isdigit():
            raise _blkio_error(f"invalid value '{value}' for parameter '{name}' of device "
                               f"'{path}'")
        pairs.append((path, int(value)))
    return pairs


def _place(root: etree._Element, tag: str) -> etree._Element:
    """``root``'s <tag>, created after the children libvirt writes before it."""
    found = root.find(tag)
    if found is not None:
        return found
    el = etree.SubElement(root, tag)
    before = _BEFORE + (("blkiotune",) if tag == "memtune" else ())
    anchors = [c for c in root if c.tag in before and c is not el]
    if anchors:
        anchors[-1].addnext(el)
    else:
        root.insert(0, el)
    return el


def _drop_if_empty(el: etree._Element) -> None:
    if len(el) == 0 and el.getparent() is not None:
        el.getparent().remove(el)


class DomainTuningMixin(DomainTableBase):
    """virDomain{Get,Set}{Memory,Blkio}Parameters of libvirt's test driver."""

    def _one_def(self, ref: DomainRef, flags: int) -> Any:
        if flags & n.AFFECT_LIVE and flags & n.AFFECT_CONFIG:
            raise bare_error(VIR_ERR_INVALID_ARG, "Flags 'VIR_DOMAIN_AFFECT_LIVE' and "
                             "'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive", VIR_FROM_DOMAIN)
        dom = self._dom(ref)
        live, config = self._defs_for(dom, flags)
        return live if live is not None else config

    # --- memory -------------------------------------------------------------------------
    def domain_get_memory_parameters(self, ref: DomainRef, flags: int = 0) -> dict[str, int]:
        check_flags(flags, n.AFFECT_LIVE | n.AFFECT_CONFIG | _STRING_OKAY,
                    "testDomainGetMemoryParameters")
        with self._domains.lock:
            memtune = self._one_def(ref, flags & ~_STRING_OKAY).node.find("memtune")
            values = {}
            for name in MEMORY_FIELDS:
                el = memtune.find(name) if memtune is not None else None
                values[name] = int(el.text) if el is not None and el.text else UNLIMITED
            return values

    def domain_set_memory_parameters(self, ref: DomainRef, params: dict[str, Any],
                                     flags: int = 0) -> None:
        check_flags(flags, n.AFFECT_LIVE | n.AFFECT_CONFIG, "testDomainSetMemoryParameters")
        for name, value in params.items():
            if name not in MEMORY_FIELDS:
                raise error(VIR_ERR_ARGUMENT_UNSUPPORTED, f"parameter '{name}' not supported",
                            domain=VIR_FROM_TEST)
            if not isinstance(value, int) or value < 0:
                raise error(VIR_ERR_INVALID_ARG, f"invalid value for parameter '{name}'",
                            domain=VIR_FROM_TEST)
        with self._domains.lock:
            ddef = self._one_def(ref, flags)
            current = self.domain_get_memory_parameters(ref, flags)
            hard = params.get("hard_limit", current["hard_limit"])
            swap = params.get("swap_hard_limit", current["swap_hard_limit"])
            if hard > swap:
                raise error(VIR_ERR_INVALID_ARG, "memory hard_limit tunable value must be "
                            "lower than or equal to swap_hard_limit", domain=VIR_FROM_TEST)
            memtune = _place(ddef.node, "memtune")
            for name in MEMORY_FIELDS:            # rewritten in libvirt's order
                if name not in params:
                    continue
                el = memtune.find(name)
                if params[name] >= UNLIMITED:
                    if el is not None:
                        memtune.remove(el)
                    continue
                if el is None:
                    el = etree.SubElement(memtune, name)
                el.set("unit", "KiB")
                el.text = str(params[name])
            memtune[:] = sorted(memtune, key=lambda c: MEMORY_FIELDS.index(c.tag)
                                if c.tag in MEMORY_FIELDS else len(MEMORY_FIELDS))
            _drop_if_empty(memtune)

    # --- blkio --------------------------------------------------------------------------
    def domain_get_blkio_parameters(self, ref: DomainRef, flags: int = 0) -> dict[str, Any]:
        check_flags(flags, n.AFFECT_LIVE | n.AFFECT_CONFIG | _STRING_OKAY,
                    "testDomainGetBlkioParameters")
        with self._domains.lock:
            blkio = self._one_def(ref, flags & ~_STRING_OKAY).node.find("blkiotune")
            weight = blkio.findtext("weight") if blkio is not None else None
            values: dict[str, Any] = {"weight": int(weight) if weight else 0}
            devices = blkio.findall("device") if blkio is not None else []
            for name, tag in DEVICE_FIELDS.items():
                values[name] = ",".join(f"{d.findtext('path')},{d.findtext(tag)}"
                                        for d in devices if d.find(tag) is not None)
            return values

    def domain_set_blkio_parameters(self, ref: DomainRef, params: dict[str, Any],
                                    flags: int = 0) -> None:
        check_flags(flags, n.AFFECT_LIVE | n.AFFECT_CONFIG, "testDomainSetBlkioParameters")
        for name in params:
            if name != "weight" and name not in DEVICE_FIELDS:
                raise error(VIR_ERR_ARGUMENT_UNSUPPORTED, f"parameter '{name}' not supported",
                            domain=VIR_FROM_TEST)
        changes = {name: parse_device_string(name, text) for name, text in params.items()
                   if name in DEVICE_FIELDS and text}
        with self._domains.lock:
            ddef = self._one_def(ref, flags)
            blkio = _place(ddef.node, "blkiotune")
            if "weight" in params:
                el = blkio.find("weight")
                if params["weight"]:
                    if el is None:
                        el = etree.Element("weight")
                        blkio.insert(0, el)
                    el.text = str(params["weight"])
                elif el is not None:
                    blkio.remove(el)
            for name, pairs in changes.items():
                for path, value in pairs:
                    _set_device_value(blkio, path, DEVICE_FIELDS[name], value)
            _drop_if_empty(blkio)


def _set_device_value(blkio: etree._Element, path: str, tag: str, value: int) -> None:
    device = next((d for d in blkio.findall("device") if d.findtext("path") == path), None)
    if device is None:
        device = etree.SubElement(blkio, "device")
        etree.SubElement(device, "path").text = path
    el = device.find(tag)
    if el is None:
        el = etree.SubElement(device, tag)
    el.text = str(value)
    device[:] = sorted(device, key=lambda c: _DEVICE_ORDER.index(c.tag)
                       if c.tag in _DEVICE_ORDER else len(_DEVICE_ORDER))
