"""The domain snapshot definition: ``<domainsnapshot>``.

``DomainSnapshotDef.from_xml(text)`` parses and checks what libvirt checks;
``normalize(now, domain=..., state=..., parent=...)`` fills in what libvirt's
snapshot creation fills in (the name from the creation time, the creation
time, the memory mode, one ``<disk>`` per domain disk, the embedded domain),
so the result formats as ``virsh snapshot-dumpxml`` prints it. The caller
passes the time: nothing here reads the clock.
"""

from __future__ import annotations

from lxml import etree

from pyvirt.conf.devices import invalid_enum
from pyvirt.conf.domain import DomainDef
from pyvirt.conf.xmlbuilder import XMLBuilder, XMLChildProperty, XMLProperty, parse_xml
from pyvirt.errors import (
    VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_INTERNAL_ERROR, VIR_ERR_XML_ERROR,
    VIR_FROM_DOMAIN_SNAPSHOT, VIR_FROM_XML, error,
)

MEMORY_SNAPSHOT_MODES = ("default", "no", "internal", "external")
DISK_SNAPSHOT_MODES = ("default", "no", "internal", "external", "manual")
SNAPSHOT_STATES = ("nostate", "running", "blocked", "paused", "shutdown", "shutoff",
                   "crashed", "pmsuspended", "disk-snapshot", "external")


class SnapshotDisk(XMLBuilder):
    """One ``<disk>`` of a snapshot: which domain disk, and how it is captured."""

    _root_name = "disk"
    _child_order = ("driver", "source")
    _attr_order = {"": ("name", "snapshot", "type")}

    name = XMLProperty("./@name")
    snapshot = XMLProperty("./@snapshot")
    type = XMLProperty("./@type")
    driver_type = XMLProperty("./driver/@type")
    source_file = XMLProperty("./source/@file")


class DomainSnapshotDef(XMLBuilder):
    _root_name = "domainsnapshot"
    _doc_label = "(domain_snapshot)"
    _error_domain = VIR_FROM_DOMAIN_SNAPSHOT
    _child_order = ("name", "description", "state", "parent", "creationTime", "memory",
                    "disks", "domain", "inactiveDomain", "cookie", "active")
    _expand_empty = frozenset({"devices", "disks", "parent"})
    _opaque_paths = ("./cookie", "./inactiveDomain")
    _verbatim_tags = frozenset({"metadata"})
    _report_with_root = False
    _ns_last = True

    name = XMLProperty("./name")
    description = XMLProperty("./description")
    state = XMLProperty("./state")
    parent_name = XMLProperty("./parent/name")
    creation_time = XMLProperty("./creationTime", int)
    memory_snapshot = XMLProperty("./memory/@snapshot")
    memory_file = XMLProperty("./memory/@file")
    disks = XMLChildProperty(SnapshotDisk, "./disks")
    domain = XMLChildProperty(DomainDef, is_single=True)

    @classmethod
    def from_xml(cls, text: str | bytes) -> "DomainSnapshotDef":  # type: ignore[override]
        root = parse_xml(text, cls._doc_label, domain=VIR_FROM_DOMAIN_SNAPSHOT)
        if root.tag != cls._root_name:
            raise error(VIR_ERR_XML_ERROR,
                        f"expecting root element of '{cls._root_name}', not "
                        f"'{etree.QName(root).localname}'", domain=VIR_FROM_XML)
        snap = cls(node=root)
        snap.check()
        return snap

    def check(self) -> None:
        memory = self.find_path(["memory"])
        if memory is not None and memory.get("snapshot") is not None \
                and memory.get("snapshot") not in MEMORY_SNAPSHOT_MODES:
            raise invalid_enum("snapshot", "memory", memory.get("snapshot"))
        for disk in self.disks:
            mode = disk.snapshot
            if mode is not None and mode not in DISK_SNAPSHOT_MODES:
                raise invalid_enum("snapshot", "disk", mode)
            if not disk.name:
                raise error(VIR_ERR_INTERNAL_ERROR, "missing name from disk snapshot element",
                            domain=VIR_FROM_DOMAIN_SNAPSHOT)

    def set_domain(self, domain: DomainDef | None) -> None:
        """Embed (a copy of) ``domain``'s definition, replacing any embedded one."""
        old = self.domain
        if old is not None:
            self.remove_child(old)
        if domain is not None:
            dup = domain.copy()
            dup.node.attrib.pop("id", None)
            self.add_child(dup)

    def normalize(self, now: int, *, domain: DomainDef | None = None,
                  state: str | None = None, parent: str | None = None,
                  default_disk_mode: str = "internal") -> "DomainSnapshotDef":
        """What libvirt fills in when it creates the snapshot (in place; returns self).

        ``now`` (epoch seconds) becomes the creation time and, when the document
        names none, the name; ``state`` is the domain's state word ("running",
        "shutoff"); ``parent`` the current snapshot's name; ``domain`` the
        definition to embed and to align the disks with (one ``<disk>`` per domain
        disk, in the domain's order; unlisted ones get ``default_disk_mode``).
        A snapshot disk naming no domain disk is libvirt's "no disk named" error.
        """
        if not self.name:
            self.name = str(now)
        self.creation_time = now
        if state is not None:
            self.state = state
        if parent is not None:
            self.parent_name = parent
        if self.memory_snapshot is None and state is not None:
            self.memory_snapshot = "internal" if state in ("running", "paused",
                                                            "blocked") else "no"
        if domain is not None:
            self._align_disks(domain, default_disk_mode)
            self.set_domain(domain)
        self.sort_children()
        return self

    def _align_disks(self, domain: DomainDef, default_mode: str) -> None:
        devices = domain.devices
        domain_disks = devices.disks if devices is not None else []
        by_name = {d.name: d for d in self.disks}
        targets = [d.target_dev for d in domain_disks]
        for name in by_name:
            if name not in targets:
                raise error(VIR_ERR_CONFIG_UNSUPPORTED, f"no disk named '{name}'",
                            domain=VIR_FROM_DOMAIN_SNAPSHOT)
        holder = self.make_path(["disks"])
        for child in list(holder):
            holder.remove(child)
        for target in targets:
            disk = by_name.get(target)
            if disk is None:
                disk = SnapshotDisk()
                disk.name = target
            if disk.snapshot is None:
                disk.snapshot = default_mode
            disk.sort_children()
            holder.append(disk.node)

    def to_xml(self, *, secure: bool = True) -> str:  # type: ignore[override]
        if secure:
            return super().to_xml()
        dup = self.copy()
        for gfx in dup.node.iterfind("./domain/devices/graphics"):
            gfx.attrib.pop("passwd", None)
        return XMLBuilder.to_xml(dup)
