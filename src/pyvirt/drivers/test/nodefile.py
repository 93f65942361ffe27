"""libvirt's test-driver node file (``test:///path/node.xml``), read into plain data.

Format::

    <node>
      <cpu><mhz/><model/><active/><nodes/><sockets/><cores/><threads/></cpu>
      <memory>KiB</memory>
      <domain file='rel.xml'/> | <domain type='test'>...</domain>   (any number)
      <network .../>  <pool ...><volume .../></pool>
    </node>

``file=`` paths are relative to the node file's folder. A domain may carry
test-namespace markers (``xmlns:test='http://libvirt.org/schemas/domain/test/1.0'``):
``<test:runstate>N</test:runstate>`` (start state, default running),
``<test:transient/>`` and ``<test:hasmanagedsave/>``; they are removed from the
definition.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field, replace

from lxml import etree

from pyvirt.conf.xmlbuilder import format_element, parse_xml
from pyvirt.drivers.test.defaults import DEFAULT_NODE, NodeSpec
from pyvirt.errors import VIR_ERR_XML_ERROR, VIR_FROM_TEST, error, libvirtError
from pyvirt.objects.numbers import DomainState

TEST_NS = "http://libvirt.org/schemas/domain/test/1.0"


@dataclass
class NodeDomain:
    xml: str
    runstate: DomainState = DomainState.RUNNING
    transient: bool = False
    has_managed_save: bool = False


@dataclass
class NodePool:
    xml: str
    volumes: list[str] = field(default_factory=list)


@dataclass
class NodeFile:
    node: NodeSpec
    domains: list[NodeDomain] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    pools: list[NodePool] = field(default_factory=list)


def _read(path: str) -> etree._Element:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as err:
        raise error(VIR_ERR_XML_ERROR, f"failed to parse xml document '{path}'",
                    domain=VIR_FROM_TEST) from err
    try:
        return parse_xml(data, path)
    except libvirtError as err:
        raise error(VIR_ERR_XML_ERROR, f"failed to parse xml document '{path}'",
                    domain=VIR_FROM_TEST) from err


def _resolve(el: etree._Element, base: str) -> etree._Element:
    """The element itself, or the document its ``file=`` attribute names."""
    ref = el.get("file")
    if ref is None:
        return el
    path = ref if os.path.isabs(ref) else os.path.join(base, ref)
    loaded = _read(path)
    if loaded.tag != el.tag:
        raise error(VIR_ERR_XML_ERROR,
                    f"unexpected root element <{loaded.tag}>, expecting <{el.tag}>",
                    domain=VIR_FROM_TEST)
    return loaded


def _int(root: etree._Element, path: str) -> int | None:
    text = root.findtext(path)
    if text is None or not text.strip():
        return None
    try:
        return int(text.strip())
    except ValueError as err:
        raise error(VIR_ERR_XML_ERROR, f"invalid node {path} value",
                    domain=VIR_FROM_TEST) from err


def _node_spec(root: etree._Element) -> NodeSpec:
    spec = replace(DEFAULT_NODE, cells_kib=())
    changes: dict[str, object] = {}
    for name in ("nodes", "sockets", "cores", "threads", "mhz"):
        value = _int(root, f"cpu/{name}")
        if value is not None:
            changes[name] = value
    model = root.findtext("cpu/model")
    if model:
        changes["model"] = model.strip()
    spec = replace(spec, **changes)
    active = _int(root, "cpu/active")
    cpus = active if active is not None else spec.nodes * spec.sockets * spec.cores * spec.threads
    memory = _int(root, "memory")
    return replace(spec, cpus=cpus, memory_kib=memory if memory is not None else spec.memory_kib)


def _domain(el: etree._Element) -> NodeDomain:
    el = copy.deepcopy(el)
    entry = NodeDomain(xml="")
    for marker in list(el):
        if not isinstance(marker.tag, str) or etree.QName(marker).namespace != TEST_NS:
            continue
        local = etree.QName(marker).localname
        if local == "runstate":
            entry.runstate = DomainState(int((marker.text or "1").strip()))
        elif local == "transient":
            entry.transient = True
        elif local == "hasmanagedsave":
            entry.has_managed_save = True
        el.remove(marker)
    etree.cleanup_namespaces(el, top_nsmap=None, keep_ns_prefixes=None)
    entry.xml = _clean_format(el)
    return entry


def _clean_format(el: etree._Element) -> str:
    """Format without the test namespace declaration once its markers are gone."""
    fresh = etree.fromstring(etree.tostring(el))
    etree.cleanup_namespaces(fresh)
    return format_element(fresh)


def load_node_file(path: str) -> NodeFile:
    """Read ``path`` (absolute) and the files it points to."""
    root = _read(path)
    if root.tag != "node":
        raise error(VIR_ERR_XML_ERROR, "Root element is not 'node'", domain=VIR_FROM_TEST)
    base = os.path.dirname(path)
    result = NodeFile(node=_node_spec(root))
    for el in root.iterfind("domain"):
        result.domains.append(_domain(_resolve(el, base)))
    for el in root.iterfind("network"):
        result.networks.append(format_element(_resolve(el, base)))
    for el in root.iterfind("pool"):
        pool_el = _resolve(el, base)
        volumes = [format_element(_resolve(v, base)) for v in el.iterfind("volume")]
        if pool_el is not el:
            volumes += [format_element(_resolve(v, base)) for v in pool_el.iterfind("volume")]
        pool_copy = copy.deepcopy(pool_el)
        for vol in pool_copy.findall("volume"):
            pool_copy.remove(vol)
        result.pools.append(NodePool(xml=format_element(pool_copy), volumes=volumes))
    return result
