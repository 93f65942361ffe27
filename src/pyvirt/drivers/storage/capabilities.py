"""``virConnectGetStoragePoolCapabilities``: which pool types this driver serves.

Laid out as libvirt 9.0 prints it (every pool type, in libvirt's order, with
its source and volume format options); ``supported='yes'`` only for the
backends we have.
"""

from __future__ import annotations

from lxml import etree

from pyvirt.conf.storage import POOL_FORMATS, POOL_TYPES
from pyvirt.conf.xmlbuilder import format_element

SUPPORTED = ("dir", "fs", "netfs", "logical")
#: virStorageFileFormat names as libvirt lists them for file volumes.
FILE_VOL_FORMATS = ("none", "raw", "dir", "bochs", "cloop", "dmg", "iso", "vpc", "vdi", "fat",
                    "vhd", "ploop", "cow", "qcow", "qcow2", "qed", "vmdk")
DISK_VOL_FORMATS = ("none", "linux", "fat16", "fat32", "linux-swap", "linux-lvm",
                    "linux-raid", "extended")
_POOL_DEFAULT = {"fs": "auto", "netfs": "auto", "logical": "lvm2", "disk": "unknown"}
#: (default volume format, formats listed) per pool type that has volume options.
_VOL_OPTIONS = {"dir": ("raw", FILE_VOL_FORMATS), "fs": ("raw", FILE_VOL_FORMATS),
                "netfs": ("raw", FILE_VOL_FORMATS), "disk": ("none", DISK_VOL_FORMATS),
                "rbd": ("raw", ()), "gluster": ("raw", FILE_VOL_FORMATS),
                "vstorage": ("raw", FILE_VOL_FORMATS)}


def _enum(parent: etree._Element, name: str, values: tuple[str, ...]) -> None:
    node = etree.SubElement(parent, "enum", name=name)
    for value in values:
        etree.SubElement(node, "value").text = value


def pool_capabilities_xml(supported: tuple[str, ...] = SUPPORTED) -> str:
    root = etree.Element("storagepoolCapabilities")
    for kind in POOL_TYPES:
        pool = etree.SubElement(root, "pool", type=kind,
                                supported="yes" if kind in supported else "no")
        if kind in POOL_FORMATS:
            options = etree.SubElement(pool, "poolOptions")
            etree.SubElement(options, "defaultFormat", type=_POOL_DEFAULT[kind])
            _enum(options, "sourceFormatType", POOL_FORMATS[kind])
        if kind in _VOL_OPTIONS:
            default, formats = _VOL_OPTIONS[kind]
            options = etree.SubElement(pool, "volOptions")
            etree.SubElement(options, "defaultFormat", type=default)
            _enum(options, "targetFormatType", formats)
    return format_element(root, expand_empty=("pool", "enum"))
