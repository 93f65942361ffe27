"""Pool and volume XML as ``pool-dumpxml`` / ``vol-dumpxml`` print them on a real host.

A volume's document is made from what the host shows (:class:`VolumeFacts`):
libvirt rebuilds volumes from disk on every refresh, so nothing of the XML
given at creation survives except what the file itself records.
"""

from __future__ import annotations

from lxml import etree

from pyvirt.conf.storage import StoragePoolDef, StorageVolDef
from pyvirt.storage.backend import FoundVolume, PoolSizes
from pyvirt.storage.volfile import FileFacts


def _sub(parent: etree._Element, tag: str, text: str | None = None,
         **attrs: str) -> etree._Element:
    node = etree.SubElement(parent, tag, attrs)
    if text is not None:
        node.text = text
    return node


def _size(parent: etree._Element, tag: str, value: int) -> None:
    _sub(parent, tag, str(value), unit="bytes")


def _permissions(parent: etree._Element, facts: FileFacts) -> None:
    perms = _sub(parent, "permissions")
    _sub(perms, "mode", f"0{facts.mode:o}")
    _sub(perms, "owner", str(facts.uid))
    _sub(perms, "group", str(facts.gid))


def _timestamps(parent: etree._Element, facts: FileFacts) -> None:
    stamps = _sub(parent, "timestamps")
    _sub(stamps, "atime", facts.atime)
    _sub(stamps, "mtime", facts.mtime)
    _sub(stamps, "ctime", facts.ctime)
    _sub(stamps, "btime", "0")


def _extents(root: etree._Element, extents: tuple[tuple[str, int, int], ...]) -> None:
    """``<source><device path=…><extent start= end=/></device></source>`` (LVs)."""
    source = _sub(root, "source")
    devices: dict[str, etree._Element] = {}
    for device, start, end in extents:
        node = devices.get(device)
        if node is None:
            node = devices[device] = _sub(source, "device", path=device)
        _sub(node, "extent", start=str(start), end=str(end))


def volume_xml(vol: FoundVolume) -> str:
    """The ``<volume>`` document of a volume found on the host."""
    facts = vol.facts
    root = etree.Element("volume", type=facts.vol_type)
    _sub(root, "name", vol.name)
    _sub(root, "key", vol.key)
    if facts.extents:
        _extents(root, facts.extents)
    _size(root, "capacity", facts.capacity)
    _size(root, "allocation", facts.allocation)
    if facts.physical:
        _size(root, "physical", facts.physical)
    target = _sub(root, "target")
    _sub(target, "path", facts.path)
    if facts.format != "none":
        _sub(target, "format", type=facts.format)
    if facts.file is not None:
        _permissions(target, facts.file)
        _timestamps(target, facts.file)
    if facts.cluster_size:
        _sub(target, "clusterSize", str(facts.cluster_size), unit="B")
    if facts.backing_path:
        backing = _sub(root, "backingStore")
        _sub(backing, "path", facts.backing_path)
        _sub(backing, "format", type=facts.backing_format or "raw")
        if facts.backing_file is not None:
            _permissions(backing, facts.backing_file)
            _timestamps(backing, facts.backing_file)
    return StorageVolDef(node=root).to_xml()


def pool_xml(pdef: StoragePoolDef, sizes: PoolSizes | None,
             target_facts: FileFacts | None = None) -> str:
    """A pool's document with its live sizes (zeros when inactive) and, for an active
    pool on a directory, the directory's real permissions (as libvirt refreshes them)."""
    shown = pdef.copy()
    sizes = sizes or PoolSizes(0, 0, 0)
    shown.capacity, shown.allocation, shown.available = (sizes.capacity, sizes.allocation,
                                                         sizes.available)
    if target_facts is not None and shown.node.find("target") is not None:
        shown.target_mode = f"0{target_facts.mode:o}"
        shown.target_owner = target_facts.uid
        shown.target_group = target_facts.gid
    return shown.to_xml()
