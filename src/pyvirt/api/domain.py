"""``virDomain``: a handle on one domain, dispatching to the hypervisor table.

The handle caches the driver's ``DomainRef`` (name, uuid, id) as libvirt
caches them in ``virDomainPtr``; calls made through this handle that start or
stop the domain refresh the cached id, as libvirt's drivers do.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from pyvirt.api._checks import check_nonzero, check_not_none
from pyvirt.api._domain_more import DomainMore
from pyvirt.api._domain_tuning import DomainTuning
from pyvirt.api._handle import NamedHandle
from pyvirt.api._lasterror import recorded
from pyvirt.api.snapshot import virDomainSnapshot
from pyvirt.constants import VIR_DOMAIN_AFFECT_LIVE, VIR_DOMAIN_XML_SECURE
from pyvirt.errors import (VIR_ERR_INVALID_DOMAIN_SNAPSHOT, VIR_ERR_OPERATION_DENIED,
                           VIR_FROM_DOMAIN, VIR_FROM_DOMAIN_SNAPSHOT, error, libvirtError)

if TYPE_CHECKING:
    from pyvirt.api.connect import virConnect

_FROM = VIR_FROM_DOMAIN


@recorded
class virDomain(NamedHandle, DomainMore, DomainTuning):  # noqa: N801 - libvirt-python's name
    """libvirt-python's virDomain over a driver ``DomainRef``."""

    def __init__(self, conn: "virConnect", _obj: Any = None) -> None:
        self._conn = conn
        self._ref = _obj
        conn._adopt(self)

    # --- plumbing ------------------------------------------------------------
    # libvirt checks read-only access before the arguments, except in the device
    # calls, snapshotCreateXML and the create-from-XML calls (NULL check first).
    def _call(self, entry: str, func: str, *args: Any) -> Any:
        return self._conn._handle_entry("hypervisor", entry, func, _FROM)(self._ref, *args)

    def _change(self, entry: str, func: str, *args: Any) -> Any:
        self._conn._check_writable(func, _FROM)
        return self._call(entry, func, *args)

    def _set_id(self, dom_id: int) -> None:
        if dataclasses.is_dataclass(self._ref):
            self._ref = dataclasses.replace(self._ref, id=dom_id)

    def _refresh(self, result: Any = None) -> None:
        """Take the id from a returned ref, else look the domain up again."""
        if result is not None and hasattr(result, "uuid") and hasattr(result, "id"):
            self._ref = result
            return
        if self._conn._has("hypervisor", "domain_lookup_by_uuid"):
            try:
                self._ref = self._conn._drv.hypervisor.domain_lookup_by_uuid(self._ref.uuid)
            except libvirtError:      # gone meanwhile: the cached ref stays usable
                pass


    # --- identity ------------------------------------------------------------

    def ID(self) -> int:  # noqa: N802
        return self._ref.id

    def OSType(self) -> str:  # noqa: N802
        return self._call("domain_get_os_type", "virDomainGetOSType")

    # --- state ---------------------------------------------------------------
    def info(self) -> list[int]:
        return list(self._call("domain_get_info", "virDomainGetInfo"))

    def state(self, flags=0) -> list[int]:
        return list(self._call("domain_get_state", "virDomainGetState", flags))

    def XMLDesc(self, flags=0) -> str:  # noqa: N802
        if flags & VIR_DOMAIN_XML_SECURE and self._conn._readonly():
            raise error(VIR_ERR_OPERATION_DENIED, "virDomainGetXMLDesc with secure flag",
                        domain=_FROM)
        return self._call("domain_get_xml_desc", "virDomainGetXMLDesc", flags)

    def isActive(self) -> int:  # noqa: N802
        return int(self._call("domain_is_active", "virDomainIsActive"))

    def isPersistent(self) -> int:  # noqa: N802
        return int(self._call("domain_is_persistent", "virDomainIsPersistent"))

    def isUpdated(self) -> int:  # noqa: N802
        return int(self._call("domain_is_updated", "virDomainIsUpdated"))

    def autostart(self) -> int:
        return int(self._call("domain_get_autostart", "virDomainGetAutostart"))

    def setAutostart(self, autostart) -> int:  # noqa: N802
        self._change("domain_set_autostart", "virDomainSetAutostart", 1 if autostart else 0)
        return 0

    def securityLabel(self) -> list[Any]:  # noqa: N802
        """[label, enforcing (bool)], as libvirt-python returns it."""
        label, enforcing = self._call("domain_get_security_label", "virDomainGetSecurityLabel")
        return [label, bool(enforcing)]

    def messages(self, flags=0) -> list[str]:
        return list(self._call("domain_get_messages", "virDomainGetMessages", flags))

    # --- lifecycle -----------------------------------------------------------
    def create(self) -> int:
        self._refresh(self._change("domain_create_with_flags", "virDomainCreate", 0))
        return 0

    def createWithFlags(self, flags=0) -> int:  # noqa: N802
        self._refresh(self._change("domain_create_with_flags", "virDomainCreateWithFlags",
                                   flags))
        return 0

    def shutdown(self) -> int:
        self._change("domain_shutdown_flags", "virDomainShutdown", 0)
        return 0

    def shutdownFlags(self, flags=0) -> int:  # noqa: N802
        self._change("domain_shutdown_flags", "virDomainShutdownFlags", flags)
        return 0

    def destroy(self) -> int:
        self._change("domain_destroy_flags", "virDomainDestroy", 0)
        self._set_id(-1)
        return 0

    def destroyFlags(self, flags=0) -> int:  # noqa: N802
        self._change("domain_destroy_flags", "virDomainDestroyFlags", flags)
        self._set_id(-1)
        return 0

    def reboot(self, flags=0) -> int:
        self._change("domain_reboot", "virDomainReboot", flags)
        return 0

    def reset(self, flags=0) -> int:
        self._change("domain_reset", "virDomainReset", flags)
        return 0

    def suspend(self) -> int:
        self._change("domain_suspend", "virDomainSuspend")
        return 0

    def resume(self) -> int:
        self._change("domain_resume", "virDomainResume")
        return 0

    def undefine(self) -> int:
        self._change("domain_undefine_flags", "virDomainUndefine", 0)
        return 0

    def undefineFlags(self, flags=0) -> int:  # noqa: N802
        self._change("domain_undefine_flags", "virDomainUndefineFlags", flags)
        return 0

    def managedSave(self, flags=0) -> int:  # noqa: N802
        self._change("domain_managed_save", "virDomainManagedSave", flags)
        self._set_id(-1)
        return 0

    def hasManagedSaveImage(self, flags=0) -> int:  # noqa: N802
        return int(self._call("domain_has_managed_save_image",
                              "virDomainHasManagedSaveImage", flags))

    def managedSaveRemove(self, flags=0) -> int:  # noqa: N802
        self._change("domain_managed_save_remove", "virDomainManagedSaveRemove", flags)
        return 0

    def save(self, to) -> int:
        self._conn._check_writable("virDomainSave", _FROM)
        check_not_none(to, "to", "virDomainSave", _FROM)
        self._change("domain_save_flags", "virDomainSave", to, None, 0)
        self._set_id(-1)
        return 0

    def saveFlags(self, to, dxml=None, flags=0) -> int:  # noqa: N802
        self._conn._check_writable("virDomainSaveFlags", _FROM)
        check_not_none(to, "to", "virDomainSaveFlags", _FROM)
        self._change("domain_save_flags", "virDomainSaveFlags", to, dxml, flags)
        self._set_id(-1)
        return 0

    # --- resources -----------------------------------------------------------
    def maxMemory(self) -> int:  # noqa: N802
        return self._call("domain_get_max_memory", "virDomainGetMaxMemory")

    def setMemory(self, memory) -> int:  # noqa: N802
        self._conn._check_writable("virDomainSetMemory", _FROM)
        check_nonzero(memory, "memory", "virDomainSetMemory", _FROM)
        self._change("domain_set_memory_flags", "virDomainSetMemory", memory,
                     VIR_DOMAIN_AFFECT_LIVE)
        return 0

    def setMemoryFlags(self, memory, flags=0) -> int:  # noqa: N802
        self._conn._check_writable("virDomainSetMemoryFlags", _FROM)
        check_nonzero(memory, "memory", "virDomainSetMemoryFlags", _FROM)
        self._change("domain_set_memory_flags", "virDomainSetMemoryFlags", memory, flags)
        return 0

    def setMaxMemory(self, memory) -> int:  # noqa: N802
        self._conn._check_writable("virDomainSetMaxMemory", _FROM)
        check_nonzero(memory, "memory", "virDomainSetMaxMemory", _FROM)
        self._change("domain_set_max_memory", "virDomainSetMaxMemory", memory)
        return 0

    def maxVcpus(self) -> int:  # noqa: N802
        return self._call("domain_get_max_vcpus", "virDomainGetMaxVcpus")

    def vcpusFlags(self, flags=0) -> int:  # noqa: N802
        return self._call("domain_get_vcpus_flags", "virDomainGetVcpusFlags", flags)

    def setVcpus(self, nvcpus) -> int:  # noqa: N802
        self._conn._check_writable("virDomainSetVcpus", _FROM)
        check_nonzero(nvcpus, "nvcpus", "virDomainSetVcpus", _FROM)
        self._change("domain_set_vcpus_flags", "virDomainSetVcpus", nvcpus,
                     VIR_DOMAIN_AFFECT_LIVE)
        return 0

    def setVcpusFlags(self, nvcpus, flags=0) -> int:  # noqa: N802
        self._conn._check_writable("virDomainSetVcpusFlags", _FROM)
        check_nonzero(nvcpus, "nvcpus", "virDomainSetVcpusFlags", _FROM)
        self._change("domain_set_vcpus_flags", "virDomainSetVcpusFlags", nvcpus, flags)
        return 0

    # --- devices -------------------------------------------------------------
    def attachDevice(self, xml) -> int:  # noqa: N802
        check_not_none(xml, "xml", "virDomainAttachDevice", _FROM)
        self._change("domain_attach_device_flags", "virDomainAttachDevice", xml,
                     VIR_DOMAIN_AFFECT_LIVE)
        return 0

    def attachDeviceFlags(self, xml, flags=0) -> int:  # noqa: N802
        check_not_none(xml, "xml", "virDomainAttachDeviceFlags", _FROM)
        self._change("domain_attach_device_flags", "virDomainAttachDeviceFlags", xml, flags)
        return 0

    def detachDevice(self, xml) -> int:  # noqa: N802
        check_not_none(xml, "xml", "virDomainDetachDevice", _FROM)
        self._change("domain_detach_device_flags", "virDomainDetachDevice", xml,
                     VIR_DOMAIN_AFFECT_LIVE)
        return 0

    def detachDeviceFlags(self, xml, flags=0) -> int:  # noqa: N802
        check_not_none(xml, "xml", "virDomainDetachDeviceFlags", _FROM)
        self._change("domain_detach_device_flags", "virDomainDetachDeviceFlags", xml, flags)
        return 0

    def updateDeviceFlags(self, xml, flags=0) -> int:  # noqa: N802
        check_not_none(xml, "xml", "virDomainUpdateDeviceFlags", _FROM)
        self._change("domain_update_device_flags", "virDomainUpdateDeviceFlags", xml, flags)
        return 0

    def openConsole(self, dev_name, st, flags=0) -> int:  # noqa: N802
        """Connect stream ``st`` to the console ``dev_name`` (None: the first one)."""
        st._bind(lambda end: self._change("domain_open_console", "virDomainOpenConsole",
                                          dev_name, end, flags))
        return 0

    # --- snapshots -----------------------------------------------------------
    def _snap_call(self, entry: str, func: str, *args: Any) -> Any:
        return self._conn._handle_entry("hypervisor", entry, func,
                                        VIR_FROM_DOMAIN_SNAPSHOT)(self._ref, *args)

    def snapshotCreateXML(self, xmlDesc, flags=0) -> virDomainSnapshot:  # noqa: N802,N803
        check_not_none(xmlDesc, "xmlDesc", "virDomainSnapshotCreateXML",
                       VIR_FROM_DOMAIN_SNAPSHOT)
        self._conn._check_writable("virDomainSnapshotCreateXML", VIR_FROM_DOMAIN_SNAPSHOT)
        ref = self._snap_call("domain_snapshot_create_xml", "virDomainSnapshotCreateXML",
                              xmlDesc, flags)
        return virDomainSnapshot(self, ref)

    def listAllSnapshots(self, flags: int = 0) -> list[virDomainSnapshot]:  # noqa: N802
        refs = self._snap_call("domain_list_all_snapshots", "virDomainListAllSnapshots",
                               flags)
        return [virDomainSnapshot(self, ref) for ref in refs]

    def snapshotListNames(self, flags=0) -> list[str]:  # noqa: N802
        return [snap.getName() for snap in self.listAllSnapshots(flags)]

    def snapshotNum(self, flags=0) -> int:  # noqa: N802
        if self._conn._has("hypervisor", "domain_snapshot_num"):
            return self._snap_call("domain_snapshot_num", "virDomainSnapshotNum", flags)
        return len(self.listAllSnapshots(flags))

    def snapshotLookupByName(self, name, flags=0) -> virDomainSnapshot:  # noqa: N802
        check_not_none(name, "name", "virDomainSnapshotLookupByName",
                       VIR_FROM_DOMAIN_SNAPSHOT)
        ref = self._snap_call("domain_snapshot_lookup_by_name",
                              "virDomainSnapshotLookupByName", name, flags)
        return virDomainSnapshot(self, ref)

    def snapshotCurrent(self, flags=0) -> virDomainSnapshot:  # noqa: N802
        ref = self._snap_call("domain_snapshot_current", "virDomainSnapshotCurrent", flags)
        return virDomainSnapshot(self, ref)

    def hasCurrentSnapshot(self, flags=0) -> int:  # noqa: N802
        return int(self._snap_call("domain_has_current_snapshot",
                                   "virDomainHasCurrentSnapshot", flags))

    def revertToSnapshot(self, snap, flags=0) -> int:  # noqa: N802
        if snap is None:
            raise error(VIR_ERR_INVALID_DOMAIN_SNAPSHOT, "virDomainRevertToSnapshot",
                        domain=VIR_FROM_DOMAIN_SNAPSHOT)
        self._conn._check_writable("virDomainRevertToSnapshot", VIR_FROM_DOMAIN_SNAPSHOT)
        self._conn._handle_entry("hypervisor", "domain_revert_to_snapshot",
                                 "virDomainRevertToSnapshot",
                                 VIR_FROM_DOMAIN_SNAPSHOT)(snap._ref, flags)
        self._refresh()
        return 0

    # --- statistics ----------------------------------------------------------
    def getCPUStats(self, total, flags=0) -> list[dict[str, Any]]:  # noqa: N802
        if total:
            return list(self._call("domain_get_cpu_stats", "virDomainGetCPUStats",
                                   -1, 1, flags))
        ncpus = 0
        if self._conn._has("hypervisor", "node_get_info"):
            ncpus = self._conn._drv.hypervisor.node_get_info()[2]
        return list(self._call("domain_get_cpu_stats", "virDomainGetCPUStats",
                               0, ncpus, flags))

    def blockStats(self, path) -> tuple[int, int, int, int, int]:  # noqa: N802
        check_not_none(path, "disk", "virDomainBlockStats", _FROM)
        return tuple(self._call("domain_block_stats", "virDomainBlockStats", path))

    def interfaceStats(self, path) -> tuple[int, ...]:  # noqa: N802
        check_not_none(path, "device", "virDomainInterfaceStats", _FROM)
        return tuple(self._call("domain_interface_stats", "virDomainInterfaceStats", path))

    def memoryStats(self) -> dict[str, int]:  # noqa: N802
        return dict(self._call("domain_memory_stats", "virDomainMemoryStats", 0))
