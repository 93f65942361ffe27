"""A domain's ``<seclabel>`` elements, read from its XML (no I/O).

libvirt's forms::

    <seclabel type='dynamic' model='dac' relabel='yes'/>         pick the driver's user
    <seclabel type='static' model='dac' relabel='yes'>
      <label>+107:+107</label>                                   this uid:gid
    </seclabel>
    <seclabel type='static' model='dac' relabel='no'><label>…</label></seclabel>
    <seclabel type='none'/>                                       no confinement at all

and per disk (or chardev source) ``<source><seclabel model='dac' relabel='no'/>``,
which keeps that one file as it is.
"""

from __future__ import annotations

import grp
import pwd
from dataclasses import dataclass
from typing import Any

from pyvirt.errors import (
    VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_INVALID_ARG, VIR_ERR_XML_ERROR, VIR_FROM_SECURITY,
    error,
)

MODEL = "dac"


@dataclass(frozen=True)
class Owner:
    """A uid:gid pair."""

    uid: int
    gid: int

    def label(self) -> str:
        """libvirt's ``+UID:+GID`` text."""
        return f"+{self.uid}:+{self.gid}"


@dataclass(frozen=True)
class DacSeclabel:
    """What the domain asks of the DAC driver."""

    type: str = "dynamic"            # dynamic, static, none
    relabel: bool = True
    label: Owner | None = None       # the static label, or the one assigned at start

    @property
    def confined(self) -> bool:
        return self.type != "none"


def parse_owner(text: str) -> Owner:
    """``+107:+107``, ``qemu:kvm`` or a mix, as numbers (names looked up locally)."""
    user, sep, group = (text or "").strip().partition(":")
    if not sep or not user or not group:
        raise error(VIR_ERR_INVALID_ARG, f"Failed to parse user and group from '{text}'",
                    domain=VIR_FROM_SECURITY)
    return Owner(_number(user, pwd.getpwnam, "user"), _number(group, grp.getgrnam, "group"))


def _number(text: str, lookup: Any, what: str) -> int:
    if text.startswith("+") or text.isdigit():
        digits = text.lstrip("+")
        if not digits.isdigit():
            raise error(VIR_ERR_INVALID_ARG, f"Failed to parse {what} '{text}'",
                        domain=VIR_FROM_SECURITY)
        return int(digits)
    try:
        entry = lookup(text)
    except KeyError as err:
        raise error(VIR_ERR_INVALID_ARG, f"Failed to find {what} record for name '{text}'",
                    domain=VIR_FROM_SECURITY) from err
    return entry.pw_uid if what == "user" else entry.gr_gid


def _root(domain: Any) -> Any:
    return getattr(domain, "node", domain)


def dac_seclabel(domain: Any) -> DacSeclabel:
    """The DAC seclabel of a DomainDef (or its ``<domain>`` element); the default
    (dynamic, relabel) when the domain names none."""
    root = _root(domain)
    for el in root.findall("seclabel"):
        model = el.get("model")
        kind = el.get("type", "dynamic")
        if kind == "none" and model in (None, MODEL):
            return DacSeclabel(type="none", relabel=False)
        if model not in (None, MODEL):
            continue                 # selinux/apparmor labels: not ours
        if kind not in ("dynamic", "static"):
            raise error(VIR_ERR_XML_ERROR, f"invalid security type '{kind}'",
                        domain=VIR_FROM_SECURITY)
        relabel_text = el.get("relabel")
        if relabel_text not in (None, "yes", "no"):
            raise error(VIR_ERR_XML_ERROR, f"invalid security relabel value '{relabel_text}'",
                        domain=VIR_FROM_SECURITY)
        relabel = relabel_text != "no"
        label_el = el.find("label")
        label = parse_owner(label_el.text) if label_el is not None and label_el.text else None
        if kind == "static" and label is None:
            raise error(VIR_ERR_XML_ERROR, "security label is missing",
                        domain=VIR_FROM_SECURITY)
        if kind == "dynamic" and relabel_text == "no":
            raise error(VIR_ERR_CONFIG_UNSUPPORTED, "dynamic label type must use resource "
                        "relabeling", domain=VIR_FROM_SECURITY)
        return DacSeclabel(type=kind, relabel=relabel, label=label)
    return DacSeclabel()


def source_relabel(source: Any) -> bool:
    """False when a ``<source>`` carries ``<seclabel model='dac' relabel='no'/>``."""
    if source is None:
        return True
    for el in source.findall("seclabel"):
        if el.get("model") in (None, MODEL) and el.get("relabel") == "no":
            return False
    return True


def set_live_label(domain: Any, owner: Owner) -> None:
    """Write the label in use into the live XML, as libvirt shows it
    (``<seclabel type='dynamic' model='dac' relabel='yes'><label>…``)."""
    from lxml import etree

    root = _root(domain)
    el = next((e for e in root.findall("seclabel") if e.get("model") in (None, MODEL)
               and e.get("type") != "none"), None)
    if el is None:
        el = etree.SubElement(root, "seclabel", type="dynamic", model=MODEL, relabel="yes")
    el.set("model", MODEL)
    for old in el.findall("label") + el.findall("imagelabel"):
        if el.get("type") == "dynamic" or old.tag == "imagelabel":
            el.remove(old)
    if el.find("label") is None:
        etree.SubElement(el, "label").text = owner.label()
    etree.SubElement(el, "imagelabel").text = owner.label()


def security_model() -> list[str]:
    """``virConnect.getSecurityModel()`` of a driver using DAC: ``['dac', '0']``."""
    return [MODEL, "0"]


def security_label(domain: Any, active: bool) -> list[Any]:
    """``virDomain.securityLabel()``: ``['+UID:+GID', True]`` for a running confined
    domain (its live label), ``['', False]`` otherwise — what virsh dominfo
    prints as ``Security label: +107:+107 (enforcing)``."""
    if not active:
        return ["", False]
    root = _root(domain)
    for el in root.findall("seclabel"):
        if el.get("model") in (None, MODEL) and el.get("type") != "none":
            text = el.findtext("label")
            if text:
                return [text, True]
    return ["", False]
