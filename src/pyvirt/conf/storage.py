"""Storage pool (``<pool>``) and volume (``<volume>``) XML, as libvirt's storage_conf does.

:class:`StoragePoolDef` and :class:`StorageVolDef` are views over the parsed
document; XML no class declares survives ``to_xml()``. ``from_xml`` checks the
document with libvirt's codes and messages; ``normalize()`` rewrites it into
the form ``virsh pool-dumpxml`` / ``vol-dumpxml`` print (sizes in bytes with
``unit='bytes'``, libvirt's order, defaults filled in).

:func:`parse_scaled_size` is libvirt's ``virScaleInteger`` unit table, shared
with the shell (``vol-create-as vol 10M``) and the drivers.
"""

from __future__ import annotations

import re
import uuid as uuidlib
from typing import Any

from lxml import etree

from pyvirt.conf.network import (
    OPAQUE, Shape, ShapedBuilder, insert_by_shape, parse_root, parse_uuid,
    shape_normalize_order,
)
from pyvirt.conf.xmlbuilder import XMLProperty
from pyvirt.errors import (
    VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_INVALID_ARG, VIR_ERR_OVERFLOW, VIR_ERR_XML_ERROR,
    VIR_FROM_NONE, VIR_FROM_STORAGE, VIR_FROM_XML, error, libvirtError,
)

# ================================================================================
# Sizes with units (virScaleInteger)
# ================================================================================
#: Largest size libvirt accepts for a volume or pool size (LLONG_MAX).
SIZE_LIMIT = 2**63 - 1

_POWERS = {"k": 1, "m": 2, "g": 3, "t": 4, "p": 5, "e": 6}


def unit_scale(unit: str | None, default: int = 1) -> int:
    """Bytes in one ``unit`` by libvirt's table; ``None``/'' is ``default``.

    'b'/'byte'/'bytes' = 1; 'k', 'KiB' = 1024; 'KB' = 1000; likewise M, G, T,
    P, E, case-insensitive. Raises libvirt's ``unknown suffix`` error.
    """
    if not unit:
        return default
    low = unit.lower()
    if low in ("b", "byte", "bytes"):
        return 1
    if len(low) == 1:
        base = 1024
    elif low[1:] == "ib":
        base = 1024
    elif low[1:] == "b":
        base = 1000
    else:
        raise error(VIR_ERR_INVALID_ARG, f"unknown suffix '{unit}'", domain=VIR_FROM_NONE)
    power = _POWERS.get(low[0])
    if power is None:
        raise error(VIR_ERR_INVALID_ARG, f"unknown suffix '{unit}'", domain=VIR_FROM_NONE)
    return base ** power


def scale_size(value: int, unit: str | None, default: int = 1,
               limit: int = SIZE_LIMIT) -> int:
    """``value`` ``unit``s in bytes, with libvirt's overflow error past ``limit``."""
    scale = unit_scale(unit, default)
    if value > limit // scale:
        raise error(VIR_ERR_OVERFLOW, f"value too large: {value}{unit or ''}",
                    domain=VIR_FROM_NONE)
    return value * scale


def split_size(text: str) -> tuple[int, str] | None:
    """``" 10M"`` → ``(10, "M")``, as C's strtoull reads a number then leaves the rest.

    None when no unsigned number starts the text (or it exceeds 2**64-1): virsh
    then says only ``Malformed size TEXT``.
    """
    match = re.match(r"[ \t\n\v\f\r]*\+?(\d+)", text)
    if match is None or int(match.group(1)) > 2**64 - 1:
        return None
    return int(match.group(1)), text[match.end():]


def parse_scaled_size(value: str, unit: str | None = None, default: int = 1,
                      limit: int = SIZE_LIMIT) -> int:
    """A size such as ``"10"`` with ``unit="M"``, or ``"10M"`` as virsh takes it.

    With no unit in either place, ``default`` bytes make one (1 for XML and for
    virsh's ``vol-create-as``). Raises libvirt's errors: ``unknown suffix``
    (also for decimals: ``'.5G'``), ``numerical overflow`` past ``limit``
    (virsh parses its arguments with ``limit=2**64-1``), and ``invalid
    argument: malformed size`` when no number starts the text — virsh prints
    only ``Malformed size TEXT`` then; use :func:`split_size` to tell.
    """
    split = split_size(value)
    if split is None or (split[1] and unit):
        raise error(VIR_ERR_INVALID_ARG, f"malformed size '{value}'", domain=VIR_FROM_NONE)
    number, suffix = split
    return scale_size(number, suffix or unit, default, limit)


def _parse_xml_size(node: etree._Element, what: str) -> int:
    """An XML size element (text + ``unit``) in bytes, with libvirt's errors.

    libvirt reports a bad number in any size element as "malformed capacity
    element" for volumes (a quirk kept here); ``what`` names it otherwise.
    """
    text = node.text or ""
    if not re.fullmatch(r"[ \t\n]*\+?\d+", text) or int(text) > 2**64 - 1:
        raise error(VIR_ERR_XML_ERROR, f"malformed {what} element", domain=VIR_FROM_STORAGE)
    return scale_size(int(text), node.get("unit"))


class ScaledSizeProperty(XMLProperty):
    """A size element (``<capacity unit='G'>10</capacity>``) read and written in bytes.

    Writing sets the text to the byte count and ``unit='bytes'``, as libvirt prints.
    """

    def __init__(self, xpath: str, doc: str = "") -> None:
        super().__init__(xpath, kind=int, doc=doc)

    def covered(self) -> list[tuple[tuple[str, ...], str | None]]:
        return [(tuple(self.elements), None), (tuple(self.elements), "unit")]

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        node = obj.find_path(self.elements)
        if node is None or node.text is None:
            return None
        return _parse_xml_size(node, self.elements[-1])

    def __set__(self, obj: Any, value: int | None) -> None:
        if value is None:
            obj.remove_path(self.elements)
            return
        node = obj.make_path(self.elements)
        node.text = str(int(value))
        node.set("unit", "bytes")


def _format_xml_size(node: etree._Element | None, what: str) -> None:
    if node is not None:
        node.text = str(_parse_xml_size(node, what))
        node.attrib.clear()
        node.set("unit", "bytes")


# ================================================================================
# Shared pieces: permissions, paths
# ================================================================================
_PERMS_SHAPE = Shape(children={"mode": Shape(), "owner": Shape(), "group": Shape(),
                               "label": Shape()})


def _check_permissions(perms: etree._Element | None) -> None:
    if perms is None:
        return
    mode = perms.findtext("mode")
    if mode is not None and not re.fullmatch(r"[0-7]+", mode.strip()):
        raise error(VIR_ERR_XML_ERROR, "malformed octal mode", domain=VIR_FROM_STORAGE)
    if mode is not None and int(mode, 8) > 0o777:
        raise error(VIR_ERR_XML_ERROR, "malformed octal mode", domain=VIR_FROM_STORAGE)
    for what in ("owner", "group"):
        value = perms.findtext(what)
        if value is not None and not re.fullmatch(r"[-+]?\d+", value.strip()):
            raise error(VIR_ERR_XML_ERROR, f"malformed {what} element",
                        domain=VIR_FROM_STORAGE)


def _normalize_permissions(perms: etree._Element | None) -> None:
    if perms is None:
        return
    mode = perms.find("mode")
    if mode is not None and mode.text:
        mode.text = f"0{int(mode.text, 8):o}"  # libvirt prints "0%o": 0755, 00
    label = perms.find("label")
    if label is not None and not label.text:
        perms.remove(label)
    for tag in ("owner", "group"):
        elem = perms.find(tag)
        if elem is not None and elem.text:
            if int(elem.text) == -1:
                perms.remove(elem)  # libvirt's "unset"
            else:
                elem.text = str(int(elem.text))
    if not len(perms):
        perms.getparent().remove(perms)


def sanitize_path(path: str) -> str:
    """libvirt's virFileSanitizePath: collapse '//' runs, drop a trailing '/'."""
    keep_double = path.startswith("//") and not path.startswith("///")
    cleaned = re.sub(r"/{2,}", "/", path)
    if keep_double:
        cleaned = "/" + cleaned
    if len(cleaned) > 1 and cleaned.endswith("/"):
        cleaned = cleaned[:-1]
    return cleaned


# ================================================================================
# Pools
# ================================================================================
#: virStoragePoolType names, in libvirt's order.
POOL_TYPES = ("dir", "fs", "netfs", "logical", "disk", "iscsi", "iscsi-direct", "scsi",
              "mpath", "rbd", "sheepdog", "gluster", "zfs", "vstorage")
#: Source formats each pool type accepts; a type not listed takes none.
POOL_FORMATS = {
    "fs": ("auto", "ext2", "ext3", "ext4", "ufs", "iso9660", "udf", "gfs", "gfs2",
           "vfat", "hfs+", "xfs", "ocfs2", "vmfs"),
    "netfs": ("auto", "nfs", "glusterfs", "cifs"),
    "disk": ("unknown", "dos", "dvh", "gpt", "mac", "bsd", "pc98", "sun", "lvm2"),
    "logical": ("unknown", "lvm2"),
}
#: Default source format per pool type (printed by libvirt when none is given).
_POOL_DEFAULT_FORMAT = {"fs": "auto", "netfs": "auto", "disk": "unknown", "logical": "lvm2"}
#: Pool types without a local <target> (network-only storage).
_POOLS_WITHOUT_TARGET = ("rbd", "sheepdog", "gluster", "iscsi-direct")
#: Pool types whose target path libvirt derives from the source name.
_TARGET_FROM_SOURCE_NAME = {"logical": "/dev/", "zfs": "/dev/zvol/"}
#: The <source> parts each pool type uses (libvirt's poolTypeInfo flags); the
#: formatter prints only these, with format/auth/protocol/vendor/product.
_POOL_SOURCE_PARTS = {
    "dir": (), "mpath": (),
    "fs": ("device",), "disk": ("device",),
    "netfs": ("host", "dir"),
    "logical": ("name", "device"), "zfs": ("name", "device"),
    "iscsi": ("host", "device", "initiator"),
    "iscsi-direct": ("host", "device", "initiator"),
    "scsi": ("adapter",),
    "rbd": ("host", "name"), "sheepdog": ("host", "name"),
    "gluster": ("host", "name", "dir"),
    "vstorage": ("name",),
}
_SOURCE_TYPED_PARTS = ("host", "device", "dir", "adapter", "name", "initiator")

_POOL_SOURCE_SHAPE = Shape(
    children={
        "host": Shape(attrs=("name", "port")),
        "device": Shape(attrs=("path", "part_separator"),
                        children={"freeExtent": Shape(attrs=("start", "end"))}),
        "dir": Shape(attrs=("path",)),
        "adapter": OPAQUE,
        "name": Shape(),
        "initiator": Shape(children={"iqn": Shape(attrs=("name",))}),
        "format": Shape(attrs=("type",)),
        "auth": OPAQUE,
        "protocol": Shape(attrs=("ver",)),
        "vendor": Shape(attrs=("name",)),
        "product": Shape(attrs=("name",)),
    },
)

POOL_SHAPE = Shape(
    attrs=("type",),
    children={
        "name": Shape(),
        "uuid": Shape(),
        "capacity": Shape(attrs=("unit",)),
        "allocation": Shape(attrs=("unit",)),
        "available": Shape(attrs=("unit",)),
        "source": _POOL_SOURCE_SHAPE,
        "target": Shape(children={"path": Shape(), "permissions": _PERMS_SHAPE}),
        "refresh": OPAQUE,
    },
)


class StoragePoolDef(ShapedBuilder):
    """A ``<pool>`` definition."""

    _root_name = "pool"
    _doc_label = "(storage_pool_definition)"
    _error_domain = VIR_FROM_STORAGE
    _shape = POOL_SHAPE
    _expand_empty = frozenset({"source"})

    type = XMLProperty("./@type")
    name = XMLProperty("./name")
    uuid = XMLProperty("./uuid")
    capacity = ScaledSizeProperty("./capacity")
    allocation = ScaledSizeProperty("./allocation")
    available = ScaledSizeProperty("./available")
    source_dir = XMLProperty("./source/dir/@path")
    source_host_name = XMLProperty("./source/host/@name")
    source_host_port = XMLProperty("./source/host/@port", kind=int)
    source_name = XMLProperty("./source/name")
    source_format = XMLProperty("./source/format/@type")
    source_initiator_iqn = XMLProperty("./source/initiator/iqn/@name")
    source_protocol_ver = XMLProperty("./source/protocol/@ver")
    source_vendor = XMLProperty("./source/vendor/@name")
    source_product = XMLProperty("./source/product/@name")
    target_path = XMLProperty("./target/path")
    target_mode = XMLProperty("./target/permissions/mode")
    target_owner = XMLProperty("./target/permissions/owner", kind=int)
    target_group = XMLProperty("./target/permissions/group", kind=int)
    target_label = XMLProperty("./target/permissions/label")

    source_devices = XMLProperty("./source/device/@path", multi=True)

    # --- source lists -----------------------------------------------------------
    @property
    def source_hosts(self) -> list[tuple[str, int | None]]:
        """(name, port) of every ``<source><host>``."""
        source = self.node.find("source")
        if source is None:
            return []
        return [(h.get("name", ""), int(h.get("port")) if h.get("port") else None)
                for h in source.findall("host")]

    # --- parsing -------------------------------------------------------------------
    @classmethod
    def from_xml(cls, text: str | bytes, *, validate: bool = True) -> "StoragePoolDef":
        """Parse and (by default) check the document as libvirt's parser does."""
        root = parse_root(cls, text, label=cls._doc_label, domain=VIR_FROM_STORAGE)
        pool = cls(node=root)
        if validate:
            pool.validate()
        return pool

    def validate(self) -> None:
        """Raise libvirt's error for the first problem its parser would report."""
        _check_pool(self)

    # --- canonical form --------------------------------------------------------------
    def normalize(self) -> "StoragePoolDef":
        """Rewrite into the form ``pool-dumpxml`` prints after ``pool-define``."""
        canonical = parse_uuid(self.uuid) if self.uuid is not None else None
        self.uuid = canonical or str(uuidlib.uuid4())
        for tag in ("capacity", "allocation", "available"):
            try:  # libvirt's parser ignores these; keep a readable value, else 0
                value = getattr(self, tag) or 0
            except libvirtError:
                value = 0
            setattr(self, tag, value)
        self._normalize_source()
        if self.type in _POOLS_WITHOUT_TARGET:
            target = self.node.find("target")
            if target is not None and target.find("path") is None:
                self.node.remove(target)
        else:
            path = self.target_path
            if path:
                self.target_path = sanitize_path(path)
            _normalize_permissions(self.node.find("target/permissions"))
        shape_normalize_order(self.node, POOL_SHAPE)
        return self

    def _normalize_source(self) -> None:
        kind = self.type or "dir"
        source = self.make_path(["source"])
        parts = _POOL_SOURCE_PARTS.get(kind, _SOURCE_TYPED_PARTS)
        for child in list(source):
            if child.tag in _SOURCE_TYPED_PARTS and child.tag not in parts:
                source.remove(child)
        for host in source.findall("host"):
            if host.get("port") is not None:
                host.set("port", str(int(host.get("port"))))
        if kind in ("logical", "vstorage", "zfs", "gluster") and not source.findtext("name"):
            insert_by_shape(source, _text_element("name", self.name), _POOL_SOURCE_SHAPE)
        if kind == "gluster" and source.find("dir") is None:
            insert_by_shape(source, etree.Element("dir", path="/"), _POOL_SOURCE_SHAPE)
        if kind in _TARGET_FROM_SOURCE_NAME:
            self.target_path = _TARGET_FROM_SOURCE_NAME[kind] + source.findtext("name")
        adapter = source.find("adapter")
        if adapter is not None and adapter.get("type") is None:
            rest = dict(adapter.attrib)
            adapter.attrib.clear()
            adapter.set("type", "scsi_host")
            for key, value in rest.items():
                adapter.set(key, value)
        default_format = _POOL_DEFAULT_FORMAT.get(kind)
        fmt = source.find("format")
        if default_format and fmt is None:
            fmt = etree.Element("format")
            insert_by_shape(source, fmt, _POOL_SOURCE_SHAPE)
        if default_format and not fmt.get("type"):
            fmt.set("type", default_format)
        if not default_format and fmt is not None:
            source.remove(fmt)


def _text_element(tag: str, text: str | None) -> etree._Element:
    elem = etree.Element(tag)
    elem.text = text
    return elem


def _pool_fail(detail: str, code: int = VIR_ERR_XML_ERROR) -> None:
    raise error(code, detail, domain=VIR_FROM_STORAGE)


def _check_pool(pool: StoragePoolDef) -> None:
    root = pool.node
    kind = root.get("type")
    if kind is None:
        raise error(VIR_ERR_XML_ERROR, "Missing required attribute 'type' in element 'pool'",
                    domain=VIR_FROM_XML)
    if kind not in POOL_TYPES:
        raise error(VIR_ERR_XML_ERROR, f"Invalid value for attribute 'type' in element "
                                       f"'pool': '{kind}'.", domain=VIR_FROM_XML)
    source = root.find("source")
    fmt = source.find("format") if source is not None else None
    if fmt is not None and kind in POOL_FORMATS:
        value = fmt.get("type")
        if value is not None and value not in POOL_FORMATS[kind]:
            _pool_fail(f"unknown pool format type {value}", VIR_ERR_CONFIG_UNSUPPORTED)
    name = pool.name
    if not name and kind == "logical" and source is not None and source.findtext("name"):
        name = source.findtext("name")
        pool.name = name  # libvirt names a logical pool after its volume group
    if not name:
        _pool_fail("missing pool source name element")
    if "/" in name:
        _pool_fail(f"name {name} cannot contain '/'")
    if pool.uuid is not None and parse_uuid(pool.uuid) is None:
        _pool_fail("malformed uuid element")
    _check_pool_source(kind, source, pool)
    refresh = root.find("refresh/volume")
    if refresh is not None and refresh.get("allocation") not in ("default", "capacity"):
        _pool_fail("unknown storage pool volume refresh allocation type "
                   f"{refresh.get('allocation')}", VIR_ERR_CONFIG_UNSUPPORTED)
    if kind not in _POOLS_WITHOUT_TARGET and kind not in _TARGET_FROM_SOURCE_NAME:
        if not pool.target_path:
            _pool_fail("missing storage pool target path")
        _check_permissions(root.find("target/permissions"))


def _yes_no_attr(node: etree._Element, attr: str) -> None:
    value = node.get(attr)
    if value is not None and value not in ("yes", "no"):
        raise error(VIR_ERR_XML_ERROR, f"Invalid value for attribute '{attr}' in element "
                                       f"'{node.tag}': '{value}'.", domain=VIR_FROM_XML)


def _check_auth(auth: etree._Element) -> None:
    kind = auth.get("type")
    if kind not in ("chap", "ceph"):
        _pool_fail(f"unknown auth type '{kind}'", VIR_ERR_CONFIG_UNSUPPORTED)
    if not auth.get("username"):
        _pool_fail("missing username for auth")
    if auth.find("secret") is None:
        _pool_fail("Missing <secret> element in auth")


def _check_pool_source(kind: str, source: etree._Element | None,
                       pool: StoragePoolDef) -> None:
    hosts = source.findall("host") if source is not None else []
    for host in hosts:
        if not host.get("name"):
            _pool_fail("missing storage pool host name")
        port = host.get("port")
        if port is not None and not re.fullmatch(r"[ \t]*[-+]?\d+", port):
            raise error(VIR_ERR_XML_ERROR, "Invalid value for attribute 'port' in element "
                                           f"'host': '{port}'. Expected integer value",
                        domain=VIR_FROM_XML)
    devices = source.findall("device") if source is not None else []
    for device in devices:
        _yes_no_attr(device, "part_separator")
    if kind in ("fs", "disk") and not devices:
        _pool_fail("missing storage pool source device name")
    adapter = source.find("adapter") if source is not None else None
    if adapter is not None and adapter.get("type") not in (None, "scsi_host", "fc_host"):
        raise error(VIR_ERR_XML_ERROR, "Invalid value for attribute 'type' in element "
                                       f"'adapter': '{adapter.get('type')}'.",
                    domain=VIR_FROM_XML)
    if kind == "scsi" and adapter is None:
        _pool_fail("missing storage pool source adapter")
    auth = source.find("auth") if source is not None else None
    if auth is not None:
        _check_auth(auth)
    if kind in ("netfs", "iscsi", "rbd", "sheepdog", "gluster", "iscsi-direct") \
            and not hosts:
        _pool_fail("missing storage pool source host name")
    if kind == "netfs" and (source is None or source.find("dir") is None):
        _pool_fail("missing storage pool source path")
    if kind == "rbd" and (source is None or not source.findtext("name")):
        _pool_fail("element 'name' is mandatory for RBD pool")
    if kind == "iscsi-direct" and not pool.source_initiator_iqn:
        _pool_fail("missing initiator IQN", VIR_ERR_CONFIG_UNSUPPORTED)
    protocol = source.find("protocol") if source is not None else None
    if protocol is not None and kind == "netfs" and pool.source_format != "nfs":
        _pool_fail(f"storage pool protocol ver unsupported for pool type "
                   f"'{pool.source_format}'", VIR_ERR_CONFIG_UNSUPPORTED)


# ================================================================================
# Volumes
# ================================================================================
#: virStorageVolType names.
VOL_TYPES = ("file", "block", "dir", "network", "netdir", "ploop")
#: virStorageFileFormat names accepted for volumes in file-based pools.
VOL_FILE_FORMATS = ("raw", "dir", "bochs", "cloop", "dmg", "iso", "vpc", "vdi",
                    "fat", "vhd", "ploop", "cow", "qcow", "qcow2", "qed", "vmdk")
#: Volume format default per pool type (file-based pools default to raw).
_VOL_DEFAULT_FORMAT = {"dir": "raw", "fs": "raw", "netfs": "raw", "gluster": "raw",
                       "vstorage": "raw"}
_VOL_FEATURES = ("lazy_refcounts", "extended_l2")

_VOL_TARGET_SHAPE = Shape(
    children={
        "path": Shape(),
        "format": Shape(attrs=("type",)),
        "permissions": _PERMS_SHAPE,
        "timestamps": OPAQUE,
        "encryption": Shape(attrs=("format",), children={
            "secret": Shape(attrs=("type", "uuid", "usage")),
            "cipher": OPAQUE, "ivgen": OPAQUE,
        }),
        "compat": Shape(),
        "clusterSize": Shape(attrs=("unit",)),
        "features": OPAQUE,
    },
)

VOLUME_SHAPE = Shape(
    attrs=("type",),
    children={
        "name": Shape(),
        "key": Shape(),
        "source": OPAQUE,
        "capacity": Shape(attrs=("unit",)),
        "allocation": Shape(attrs=("unit",)),
        "physical": Shape(attrs=("unit",)),
        "target": _VOL_TARGET_SHAPE,
        "backingStore": Shape(children={"path": Shape(), "format": Shape(attrs=("type",)),
                                        "permissions": _PERMS_SHAPE}),
    },
)


class StorageVolDef(ShapedBuilder):
    """A ``<volume>`` definition."""

    _root_name = "volume"
    _doc_label = "(storage_volume_definition)"
    _error_domain = VIR_FROM_STORAGE
    _shape = VOLUME_SHAPE
    _expand_empty = frozenset({"encryption"})

    type = XMLProperty("./@type")
    name = XMLProperty("./name")
    key = XMLProperty("./key")
    capacity = ScaledSizeProperty("./capacity")
    allocation = ScaledSizeProperty("./allocation")
    physical = ScaledSizeProperty("./physical")
    target_path = XMLProperty("./target/path")
    target_format = XMLProperty("./target/format/@type")
    target_mode = XMLProperty("./target/permissions/mode")
    target_owner = XMLProperty("./target/permissions/owner", kind=int)
    target_group = XMLProperty("./target/permissions/group", kind=int)
    target_label = XMLProperty("./target/permissions/label")
    target_compat = XMLProperty("./target/compat")
    target_cluster_size = ScaledSizeProperty("./target/clusterSize")
    encryption_format = XMLProperty("./target/encryption/@format")
    encryption_secret_type = XMLProperty("./target/encryption/secret/@type")
    encryption_secret_uuid = XMLProperty("./target/encryption/secret/@uuid")
    backing_path = XMLProperty("./backingStore/path")
    backing_format = XMLProperty("./backingStore/format/@type")
    backing_mode = XMLProperty("./backingStore/permissions/mode")
    backing_owner = XMLProperty("./backingStore/permissions/owner", kind=int)
    backing_group = XMLProperty("./backingStore/permissions/group", kind=int)
    backing_label = XMLProperty("./backingStore/permissions/label")

    @property
    def target_features(self) -> list[str]:
        """Names under ``<target><features>`` (``lazy_refcounts``)."""
        features = self.node.find("target/features")
        return [] if features is None else [f.tag for f in features if isinstance(f.tag, str)]

    @property
    def encryption_xml(self) -> str | None:
        """The ``<encryption>`` element as text, kept as libvirt keeps it."""
        enc = self.node.find("target/encryption")
        return None if enc is None else etree.tostring(enc, encoding="unicode")

    # --- parsing -------------------------------------------------------------------
    @classmethod
    def from_xml(cls, text: str | bytes, *, validate: bool = True,
                 pool_type: str = "dir", need_capacity: bool = True) -> "StorageVolDef":
        """Parse and check as libvirt does for a volume in a ``pool_type`` pool.

        ``need_capacity=False`` is libvirt's VIR_VOL_XML_PARSE_NO_CAPACITY
        (volume upload/clone paths).
        """
        root = parse_root(cls, text, label=cls._doc_label, domain=VIR_FROM_STORAGE)
        vol = cls(node=root)
        if validate:
            vol.validate(pool_type=pool_type, need_capacity=need_capacity)
        return vol

    def validate(self, pool_type: str = "dir", need_capacity: bool = True) -> None:
        _check_volume(self, pool_type, need_capacity)

    # --- canonical form -----------------------------------------------------------------
    def normalize(self, pool_type: str = "dir") -> "StorageVolDef":
        """Rewrite into the form ``vol-dumpxml`` prints (before the driver's key/path).

        Type defaults to ``file``, allocation to capacity, format to the pool's
        default (``raw`` in file-based pools); sizes become bytes; fields
        libvirt only reports (``physical``, ``timestamps``, ``source``,
        ``nocow``) are dropped, as its parser ignores them.
        """
        root = self.node
        if root.get("type") is None:
            root.set("type", "file")
        for tag in ("physical", "source"):
            node = root.find(tag)
            if node is not None:
                root.remove(node)
        capacity = root.find("capacity")
        _format_xml_size(capacity, "capacity")
        allocation = root.find("allocation")
        if allocation is None and capacity is not None:
            self.allocation = int(capacity.text)
        else:
            _format_xml_size(allocation, "capacity")
        target = self.make_path(["target"])
        for tag in ("timestamps", "nocow"):
            node = target.find(tag)
            if node is not None:
                target.remove(node)
        default_format = _VOL_DEFAULT_FORMAT.get(pool_type)
        if target.find("format") is None and default_format:
            self.target_format = default_format
        if target.find("features") is not None and target.find("compat") is None \
                and self.target_format == "qcow2":
            self.target_compat = "1.1"  # libvirt's default once features are asked for
        secret = target.find("encryption/secret")
        if secret is not None and secret.get("uuid"):
            secret.set("uuid", parse_uuid(secret.get("uuid")) or secret.get("uuid"))
        cluster = target.find("clusterSize")
        if cluster is not None:
            _format_xml_size(cluster, "capacity")
            cluster.set("unit", "B")
        _normalize_permissions(target.find("permissions"))
        backing = root.find("backingStore")
        if backing is not None:
            if backing.findtext("path") is None:
                root.remove(backing)
            else:
                if backing.find("format") is None and default_format:
                    self.backing_format = default_format
                _normalize_permissions(backing.find("permissions"))
        shape_normalize_order(root, VOLUME_SHAPE)
        return self


#: virStorageEncryptionFormat names (the first, "default", is what no format means).
ENCRYPTION_FORMATS = ("default", "qcow", "luks", "luks2", "luks-any")


def _check_encryption(encryption: etree._Element) -> None:
    """virStorageEncryptionParseNode's checks."""
    fmt = encryption.get("format")
    if fmt is None:
        _pool_fail("unknown volume encryption format")
    if fmt not in ENCRYPTION_FORMATS:
        _pool_fail(f"unknown volume encryption format type {fmt}", VIR_ERR_CONFIG_UNSUPPORTED)
    for secret in encryption.findall("secret"):
        if secret.get("type") != "passphrase":
            _pool_fail(f"unknown volume encryption secret type {secret.get('type')}",
                       VIR_ERR_CONFIG_UNSUPPORTED)
        uuid, usage = secret.get("uuid"), secret.get("usage")
        if uuid is None and usage is None:
            raise error(VIR_ERR_XML_ERROR, "missing secret uuid or usage attribute",
                        domain=VIR_FROM_NONE)
        if uuid is not None and parse_uuid(uuid) is None:
            raise error(VIR_ERR_XML_ERROR, f"invalid secret uuid '{uuid}'",
                        domain=VIR_FROM_NONE)


def _check_volume(vol: StorageVolDef, pool_type: str, need_capacity: bool) -> None:
    root = vol.node
    if not vol.name:
        _pool_fail("missing volume name element")
    kind = root.get("type")
    if kind is not None and kind not in VOL_TYPES:
        _pool_fail(f"unknown volume type '{kind}'", VIR_ERR_CONFIG_UNSUPPORTED)
    capacity = root.find("capacity")
    if capacity is None:
        if need_capacity:
            _pool_fail("missing capacity element")
    else:
        _parse_xml_size(capacity, "capacity")
    allocation = root.find("allocation")
    if allocation is not None:
        _parse_xml_size(allocation, "capacity")
    target = root.find("target")
    if target is not None:
        fmt = target.find("format")
        if fmt is not None and pool_type in _VOL_DEFAULT_FORMAT:
            value = fmt.get("type")
            if value not in VOL_FILE_FORMATS:
                _pool_fail(f"unknown volume format type {value}", VIR_ERR_CONFIG_UNSUPPORTED)
        _check_permissions(target.find("permissions"))
        cluster = target.find("clusterSize")
        if cluster is not None and not re.fullmatch(r"[ \t\n]*\+?\d+", cluster.text or ""):
            raise error(VIR_ERR_XML_ERROR, f"Invalid value '{cluster.text}' for element or "
                                           "attribute './target/clusterSize'",
                        domain=VIR_FROM_XML)
        encryption = target.find("encryption")
        if encryption is not None:
            _check_encryption(encryption)
        compat = target.findtext("compat")
        if compat is not None and not re.fullmatch(r"\d+\.\d+", compat):
            _pool_fail("forbidden characters in 'compat' attribute")
        features = target.find("features")
        if features is not None:
            for feature in features:
                if isinstance(feature.tag, str) and feature.tag not in _VOL_FEATURES:
                    _pool_fail(f"unsupported feature {feature.tag}",
                               VIR_ERR_CONFIG_UNSUPPORTED)
    backing = root.find("backingStore")
    if backing is not None:
        fmt = backing.find("format")
        if fmt is not None and fmt.get("type") not in VOL_FILE_FORMATS:
            _pool_fail(f"unknown volume format type {fmt.get('type')}",
                       VIR_ERR_CONFIG_UNSUPPORTED)
        _check_permissions(backing.find("permissions"))


__all__ = ["StoragePoolDef", "StorageVolDef", "parse_scaled_size", "split_size", "scale_size",
           "unit_scale", "sanitize_path", "POOL_TYPES", "POOL_FORMATS", "VOL_TYPES",
           "VOL_FILE_FORMATS", "SIZE_LIMIT"]
