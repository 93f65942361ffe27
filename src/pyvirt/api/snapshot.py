"""``virDomainSnapshot``: a handle on one snapshot of a domain."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyvirt.api._lasterror import recorded
from pyvirt.errors import VIR_FROM_DOMAIN_SNAPSHOT

if TYPE_CHECKING:
    from pyvirt.api.connect import virConnect
    from pyvirt.api.domain import virDomain

_FROM = VIR_FROM_DOMAIN_SNAPSHOT


@recorded
class virDomainSnapshot:  # noqa: N801 - libvirt-python's name
    """libvirt-python's virDomainSnapshot over a driver ``SnapshotRef``."""

    def __init__(self, dom: "virDomain", _obj: Any = None) -> None:
        self._dom = dom
        self._ref = _obj

    def _call(self, entry: str, func: str, *args: Any) -> Any:
        return self._dom._conn._handle_entry("hypervisor", entry, func, _FROM)(*args)

    def _writable(self, func: str) -> None:
        self._dom._conn._check_writable(func, _FROM)

    def c_pointer(self) -> int:
        return id(self)

    def getName(self) -> str:  # noqa: N802
        return self._ref.name

    def getDomain(self) -> "virDomain":  # noqa: N802
        return self._dom

    def domain(self) -> "virDomain":
        return self._dom

    def getConnect(self) -> "virConnect":  # noqa: N802
        return self._dom._conn

    def connect(self) -> "virConnect":
        return self._dom._conn

    def getXMLDesc(self, flags=0) -> str:  # noqa: N802
        return self._call("domain_snapshot_get_xml_desc", "virDomainSnapshotGetXMLDesc",
                          self._ref, flags)

    def getParent(self, flags=0) -> "virDomainSnapshot":  # noqa: N802
        ref = self._call("domain_snapshot_get_parent", "virDomainSnapshotGetParent",
                         self._ref, flags)
        return virDomainSnapshot(self._dom, ref)

    def isCurrent(self, flags=0) -> int:  # noqa: N802
        return int(self._call("domain_snapshot_is_current", "virDomainSnapshotIsCurrent",
                              self._ref, flags))

    def hasMetadata(self, flags=0) -> int:  # noqa: N802
        return int(self._call("domain_snapshot_has_metadata",
                              "virDomainSnapshotHasMetadata", self._ref, flags))

    def listAllChildren(self, flags: int = 0) -> list["virDomainSnapshot"]:  # noqa: N802
        refs = self._call("domain_snapshot_list_all_children",
                          "virDomainSnapshotListAllChildren", self._ref, flags)
        return [virDomainSnapshot(self._dom, ref) for ref in refs]

    def listChildrenNames(self, flags=0) -> list[str]:  # noqa: N802
        return [snap.getName() for snap in self.listAllChildren(flags)]

    def numChildren(self, flags=0) -> int:  # noqa: N802
        if self._dom._conn._has("hypervisor", "domain_snapshot_num_children"):
            return self._call("domain_snapshot_num_children", "virDomainSnapshotNumChildren",
                              self._ref, flags)
        return len(self.listAllChildren(flags))

    def delete(self, flags=0) -> int:
        self._writable("virDomainSnapshotDelete")
        self._call("domain_snapshot_delete", "virDomainSnapshotDelete", self._ref, flags)
        return 0
