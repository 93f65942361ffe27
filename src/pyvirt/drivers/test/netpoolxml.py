"""Network, pool and volume definition facts the test driver needs.

Uses ``pyvirt.conf.network.NetworkDef`` / ``conf.storage.StoragePoolDef`` /
``StorageVolDef`` when present (only their element tree is touched), else a
plain XMLBuilder view; this module adds uuids, sizes and volume paths the way
libvirt's test driver fills them in.
"""

from __future__ import annotations

import re
import uuid as uuidlib
from typing import Any

from lxml import etree

from pyvirt.conf.xmlbuilder import XMLBuilder, format_element, parse_xml
from pyvirt.drivers.test.domxml import parse_uuid, scaled_bytes
from pyvirt.errors import VIR_ERR_NO_NAME, VIR_ERR_XML_ERROR, VIR_FROM_NETWORK, \
    VIR_FROM_STORAGE, error


def _model(module: str, name: str) -> type | None:
    try:
        mod = __import__(f"pyvirt.conf.{module}", fromlist=[name])
        return getattr(mod, name)
    except (ImportError, AttributeError):
        return None


class _Plain(XMLBuilder):
    pass


def _parse(xml: str, root_name: str, label: str, model: type | None, where: int,
           **model_args: Any) -> Any:
    if model is not None:
        return model.from_xml(xml, **model_args)
    root = parse_xml(xml, label)
    if root.tag != root_name:
        raise error(VIR_ERR_XML_ERROR,
                    f"unexpected root element <{root.tag}>, expecting <{root_name}>", domain=where)
    name = root.findtext("name")
    if not name or not name.strip():
        raise error(VIR_ERR_NO_NAME, None, domain=where)
    return _Plain(node=root)


def _ensure_uuid(root: etree._Element) -> None:
    el = root.find("uuid")
    if el is None:
        el = etree.Element("uuid")
        root.find("name").addnext(el)
        el.text = str(uuidlib.uuid4())
    else:
        el.text = str(parse_uuid(el.text or ""))


def name_of(d: Any) -> str:
    return d.node.findtext("name").strip()


def uuid_of(d: Any) -> bytes:
    return uuidlib.UUID(d.node.findtext("uuid").strip()).bytes


# --- networks ---------------------------------------------------------------------
def parse_network(xml: str) -> Any:
    net = _parse(xml, "network", "(network_definition)", _model("network", "NetworkDef"),
                 VIR_FROM_NETWORK)
    _ensure_uuid(net.node)
    return net


def normalize_network(ndef: Any) -> Any:
    """libvirt's defaults for a network without a forward mode or with NAT/route:
    a bridge with STP on and no delay."""
    if hasattr(ndef, "normalize"):
        ndef.normalize()
        return ndef
    node = ndef.node
    forward = node.find("forward")
    if forward is None or forward.get("mode", "nat") in ("nat", "route", "open"):
        bridge = node.find("bridge")
        if bridge is None:
            bridge = etree.Element("bridge")
            anchor = forward if forward is not None else node.find("uuid")
            anchor.addnext(bridge)
        bridge.set("stp", bridge.get("stp", "on"))
        bridge.set("delay", bridge.get("delay", "0"))
    return ndef


def bridge_name(net: Any) -> str | None:
    bridge = net.node.find("bridge")
    return bridge.get("name") if bridge is not None else None


def format_network(net: Any) -> str:
    """The network's XML as ``net-dumpxml`` prints it (``<ip>`` and ``<portgroup>``
    always as an open/close pair, through NetworkDef's own formatter)."""
    if hasattr(net, "to_xml"):
        return net.to_xml()
    return format_element(net.node)


# --- pools ------------------------------------------------------------------------
def parse_pool(xml: str) -> Any:
    pool = _parse(xml, "pool", "(storage_pool_definition)", _model("storage", "StoragePoolDef"),
                  VIR_FROM_STORAGE)
    if hasattr(pool, "normalize"):
        pool.normalize()
    _ensure_uuid(pool.node)
    return pool


def pool_path(pool: Any) -> str:
    return (pool.node.findtext("target/path") or "").strip()


def format_pool(pool: Any, capacity: int, allocation: int, available: int) -> str:
    """The pool's XML with its live sizes, laid out as libvirt prints it."""
    node = etree.fromstring(etree.tostring(pool.node))
    for tag in ("capacity", "allocation", "available"):
        for old in node.findall(tag):
            node.remove(old)
    anchor = node.find("uuid")
    for tag, value in (("capacity", capacity), ("allocation", allocation),
                       ("available", available)):
        el = etree.Element(tag, unit="bytes")
        el.text = str(value)
        anchor.addnext(el)
        anchor = el
    if node.find("source") is None:
        anchor.addnext(etree.Element("source"))
    return _open_empty(format_element(node), ("source",))


def _open_empty(text: str, tags: tuple[str, ...]) -> str:
    """libvirt prints some always-present containers open even when empty."""
    for tag in tags:
        text = re.sub(rf"^( *)<{tag}/>$", rf"\1<{tag}>\n\1</{tag}>", text, flags=re.M)
    return text


# --- volumes ----------------------------------------------------------------------
def parse_volume(xml: str, pool: Any) -> Any:
    """Parse a volume and fill in what the test driver does: key, path, sizes, format."""
    model = _model("storage", "StorageVolDef")
    pool_type = pool.node.get("type", "dir")
    vol = _parse(xml, "volume", "(storage_volume_definition)", model, VIR_FROM_STORAGE,
                 **({"pool_type": pool_type} if model is not None else {}))
    if hasattr(vol, "normalize"):
        vol.normalize(pool_type)
    node = vol.node
    node.set("type", node.get("type", "file"))
    path = f"{pool_path(pool)}/{name_of(vol)}"
    for old in node.findall("key"):
        node.remove(old)
    key = etree.Element("key")
    key.text = path
    node.find("name").addnext(key)
    capacity = _size(node, "capacity", 0)
    allocation = _size(node, "allocation", capacity)
    _set_size(node, "capacity", capacity, key)
    _set_size(node, "allocation", allocation, node.find("capacity"))
    target = node.find("target")
    if target is None:
        target = etree.SubElement(node, "target")
    path_el = target.find("path")
    if path_el is None:
        path_el = etree.Element("path")
        target.insert(0, path_el)
    path_el.text = path
    if target.find("format") is None:
        etree.SubElement(target, "format", type="raw")
    return vol


def _size(node: etree._Element, tag: str, default: int) -> int:
    el = node.find(tag)
    if el is None or not (el.text or "").strip():
        return default
    return scaled_bytes(el.text, el.get("unit"), "b")


def _set_size(node: etree._Element, tag: str, value: int, after: etree._Element) -> None:
    el = node.find(tag)
    if el is None:
        el = etree.Element(tag)
        after.addnext(el)
    el.text, el.attrib["unit"] = str(value), "bytes"


def volume_sizes(vol: Any) -> tuple[int, int]:
    return _size(vol.node, "capacity", 0), _size(vol.node, "allocation", 0)


def volume_path(vol: Any) -> str:
    return (vol.node.findtext("target/path") or "").strip()


def set_volume_sizes(vol: Any, capacity: int, allocation: int) -> None:
    node = vol.node
    _set_size(node, "capacity", capacity, node.find("key"))
    _set_size(node, "allocation", allocation, node.find("capacity"))


def format_volume(vol: Any) -> str:
    return format_element(vol.node)
