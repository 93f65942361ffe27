"""Snapshot definitions as the test driver reads and prints them.

Uses ``pyvirt.conf.snapshot.DomainSnapshotDef`` for parsing when present;
only the element tree is touched, so any model with ``.node`` works.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from lxml import etree

from pyvirt.conf.xmlbuilder import XMLBuilder, format_element, parse_xml
from pyvirt.errors import (
    VIR_ERR_INTERNAL_ERROR, VIR_ERR_XML_ERROR, VIR_FROM_DOMAIN_SNAPSHOT, error,
)

try:
    from pyvirt.conf.snapshot import DomainSnapshotDef as _SnapshotDef
except ImportError:  # pragma: no cover - depends on the tree's progress
    _SnapshotDef = None


class PlainSnapshotDef(XMLBuilder):
    _root_name = "domainsnapshot"
    _doc_label = "(domain_snapshot)"


def parse_snapshot(xml: str, redefine: bool = False) -> Any:
    """Parse ``<domainsnapshot>``; a missing name becomes the creation time, as libvirt.
    A redefinition must carry the creationTime it was made with."""
    if _SnapshotDef is not None:
        snap = _SnapshotDef.from_xml(xml)
        root = snap.node
    else:
        root = parse_xml(xml, "(domain_snapshot)")
        if root.tag != "domainsnapshot":
            raise error(VIR_ERR_XML_ERROR,
                        f"unexpected root element <{root.tag}>, expecting <domainsnapshot>",
                        domain=VIR_FROM_DOMAIN_SNAPSHOT)
        snap = PlainSnapshotDef(node=root)
    if not redefine:                       # libvirt ignores a given creationTime then
        for given in root.findall("creationTime"):
            root.remove(given)
    elif not _is_integer(root.findtext("creationTime")):
        raise error(VIR_ERR_INTERNAL_ERROR, "missing creationTime from existing snapshot",
                    domain=VIR_FROM_DOMAIN_SNAPSHOT)
    now = int(time.time())
    if not (root.findtext("name") or "").strip():
        name = root.find("name")
        if name is None:
            name = etree.Element("name")
            root.insert(0, name)
        name.text = str(now)
    if root.find("creationTime") is None:
        etree.SubElement(root, "creationTime").text = str(now)
    return snap


def name_of(snap: Any) -> str:
    return snap.node.findtext("name").strip()


def _is_integer(text: str | None) -> bool:
    try:
        int((text or "").strip())
    except ValueError:
        return False
    return True


def creation_time(snap: Any) -> int:
    return int((snap.node.findtext("creationTime") or "0").strip())


def complete(snap: Any, state: str, parent: str | None, domain_def: Any,
             disk_targets: list[str]) -> None:
    """Fill what libvirt records at creation: state, parent, memory, disks, domain."""
    if _SnapshotDef is not None and isinstance(snap, _SnapshotDef):
        snap.normalize(creation_time(snap), domain=domain_def, state=state, parent=parent)
        return
    domain_node = domain_def.node
    root = snap.node
    for tag in ("state", "parent", "memory", "disks", "domain", "active"):
        for old in root.findall(tag):
            root.remove(old)
    anchor = root.find("description")
    if anchor is None:
        anchor = root.find("name")
    state_el = etree.Element("state")
    state_el.text = state
    anchor.addnext(state_el)
    anchor = state_el
    if parent is not None:
        parent_el = etree.Element("parent")
        etree.SubElement(parent_el, "name").text = parent
        anchor.addnext(parent_el)
    created = root.find("creationTime")
    root.remove(created)
    root.find("parent" if parent is not None else "state").addnext(created)
    memory = etree.Element("memory", snapshot="internal" if state != "shutoff" else "no")
    created.addnext(memory)
    disks = etree.Element("disks")
    for target in disk_targets:
        etree.SubElement(disks, "disk", name=target, snapshot="internal")
    memory.addnext(disks)
    dom = copy.deepcopy(domain_node)
    dom.attrib.pop("id", None)
    disks.addnext(dom)


def set_parent(snap: Any, parent: str | None) -> None:
    root = snap.node
    for old in root.findall("parent"):
        root.remove(old)
    if parent is not None:
        el = etree.Element("parent")
        etree.SubElement(el, "name").text = parent
        root.find("state").addnext(el)


def state_of(snap: Any) -> str:
    return (snap.node.findtext("state") or "shutoff").strip()


def domain_xml(snap: Any) -> str | None:
    dom = snap.node.find("domain")
    return format_element(dom) if dom is not None else None


def format_snapshot(snap: Any, *, secure: bool = True) -> str:
    if _SnapshotDef is not None and isinstance(snap, _SnapshotDef):
        return snap.to_xml(secure=secure)
    return snap.to_xml()
