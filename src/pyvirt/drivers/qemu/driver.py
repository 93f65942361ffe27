"""The QEMU hypervisor driver: ``qemu:///embed?root=DIR``, ``qemu:///system``,
``qemu:///session``.

Every connection of the process to one root shares one
:class:`~pyvirt.drivers.qemu.driver_state.QemuDriverState` (domains, running
QEMUs, events); :func:`register` adds :class:`QemuDriver` to pyvirt's registry.

:class:`QemuHypervisor` is the ``HypervisorConnection`` table one connection
sees. Entry points take the state's lock for the whole operation and deliver
the events they queued after releasing it. QMP events and process exits are
handled on the state's worker thread, under the same lock.
"""

from __future__ import annotations

import os
import shutil
import uuid as uuidlib
from typing import Any

from pyvirt.drivers.common import entries
from pyvirt.drivers.common.connection import LocalConnectionEntries
from pyvirt.drivers.common.domains import check_undefine
from pyvirt.drivers.common.entries import DomainEntries
from pyvirt.drivers.common.facts import SnapshotCountEntries
from pyvirt.drivers.base import (
    DomainRef, DriverConnection, HypervisorConnection, SnapshotRef, register_driver,
)
from pyvirt.drivers.qemu import (
    agent, console, host, hotplug, ifaddr, lifecycle, peers, save, snapshot, state_dir, stats,
    vcpus,
)
from pyvirt.drivers.qemu.iftune import InterfaceTuningEntries
from pyvirt.drivers.qemu.tuning import TuningEntries
from pyvirt.drivers.qemu.defaults import parse_definition
from pyvirt.drivers.qemu.driver_state import (
    QemuDriverState, forget_state_for_tests, start_domain, state_for,
)
from pyvirt.drivers.qemu.runtime import DomainRuntime
from pyvirt.errors import (
    VIR_ERR_ARGUMENT_UNSUPPORTED, VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_INVALID_ARG,
    VIR_ERR_NO_DOMAIN_SNAPSHOT,
    VIR_ERR_OPERATION_INVALID, VIR_ERR_SYSTEM_ERROR, VIR_FROM_QEMU,
    VIR_ERR_OPERATION_UNSUPPORTED, error, libvirtError,
)
from pyvirt.security.paths import check_name
from pyvirt.objects import numbers as n
from pyvirt.objects.domain_obj import DomainObj


def check_flags(flags: int, allowed: int, function: str) -> None:
    entries.check_flags(flags, allowed, function, VIR_FROM_QEMU)


_events = entries.deliver_events


# --- the connection table -----------------------------------------------------------
class QemuHypervisor(DomainEntries, SnapshotCountEntries, LocalConnectionEntries,
                     TuningEntries, InterfaceTuningEntries, HypervisorConnection):
    """One connection's view of a :class:`QemuDriverState`."""

    _error_domain = VIR_FROM_QEMU
    _prefix = "qemu"
    _lifecycle = lifecycle
    _state_dir = state_dir
    _create_xml_flags = n.START_PAUSED | n.START_AUTODESTROY | n.START_VALIDATE
    _create_flags = (n.START_PAUSED | n.START_AUTODESTROY | n.START_BYPASS_CACHE
                     | n.START_FORCE_BOOT)
    _undefine_flags = (n.UNDEFINE_MANAGED_SAVE | n.UNDEFINE_SNAPSHOTS_METADATA
                       | n.UNDEFINE_NVRAM | n.UNDEFINE_KEEP_NVRAM
                       | n.UNDEFINE_CHECKPOINTS_METADATA | n.UNDEFINE_TPM | n.UNDEFINE_KEEP_TPM)
    _destroy_flags = 1                                   # GRACEFUL

    def __init__(self, drv: QemuDriverState, uri: str) -> None:
        self.drv = drv
        self.uri = uri
        self._closed = False
        #: domains started with VIR_DOMAIN_START_AUTODESTROY through this connection
        self._autodestroy: set[bytes] = set()

    _ref = staticmethod(QemuDriverState.ref)

    def _parse(self, xml: str, validate: bool) -> tuple[Any, bytes, list[str]]:
        ddef, warnings = self.drv.parse(xml, validate)
        return ddef, uuidlib.UUID(ddef.uuid).bytes, warnings

    def _start_defined(self, dom: DomainObj, flags: int) -> None:
        start_domain(self.drv, dom, flags)

    def _before_undefine(self, dom: DomainObj, flags: int) -> None:
        """Refuse, or with the flags drop, the managed save image and snapshots."""
        drop_save, drop_snapshots = check_undefine(dom, flags, VIR_FROM_QEMU)
        if drop_save:
            state_dir.remove_file(self.drv.dirs.managed_save_path(dom.name))
            dom.managed_save = None
        if drop_snapshots:
            shutil.rmtree(self.drv.dirs.snapshot_dir(dom.name), ignore_errors=True)
            dom.snapshots.clear()

    def _undefined_still_running(self, dom: DomainObj) -> None:
        lifecycle.save_status(self.drv, dom)

    # --- connection ---------------------------------------------------------------
    def connect_get_type(self) -> str:
        return "QEMU"

    def connect_get_version(self) -> int:
        return self.drv.qemu_version()

    def connect_get_capabilities(self) -> str:
        """This host and the QEMU guest it runs (kvm only where KVM really works)."""
        from pyvirt.drivers.qemu import probe

        qemu = self.drv.host()
        try:
            machines = probe.probe_capabilities(qemu.binary, str(self.drv.dirs.cache)).machines
        except (libvirtError, OSError):
            machines = []
        return host.capabilities_xml(qemu, machines)

    def connect_get_domain_capabilities(self, emulatorbin: str | None = None,
                                        arch: str | None = None, machine: str | None = None,
                                        virttype: str | None = None, flags: int = 0) -> str:
        check_flags(flags, 0, "qemuConnectGetDomainCapabilities")
        from pyvirt.drivers.qemu import probe

        qemu = self.drv.host()
        try:
            found = probe.probe_capabilities(qemu.binary, str(self.drv.dirs.cache))
        except (libvirtError, OSError):
            found = None
        return host.domain_capabilities_xml(qemu, found, emulatorbin, arch, machine, virttype)

    def connect_get_max_vcpus(self, hv_type: str | None = None) -> int:
        return 255

    def node_get_info(self) -> list:
        cpus = os.cpu_count() or 1
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        mhz = 0
        try:
            with open("/proc/cpuinfo") as handle:
                for line in handle:
                    if line.startswith("cpu MHz"):
                        mhz = int(float(line.split(":")[1]))
                        break
        except (OSError, ValueError):
            pass
        return ["x86_64", pages // 1024, cpus, mhz, 1, 1, cpus, 1]  # memory in KiB

    def node_get_free_memory(self) -> int:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")

    # --- lifecycle ----------------------------------------------------------------------
    @_events
    def domain_shutdown_flags(self, ref: DomainRef, flags: int = 0) -> None:
        check_flags(flags, 3, "qemuDomainShutdownFlags")   # ACPI_POWER_BTN, GUEST_AGENT
        with self.drv.lock:
            lifecycle.shutdown(self.drv, self._dom(ref), flags)

    @_events
    def domain_reboot(self, ref: DomainRef, flags: int = 0) -> None:
        check_flags(flags, 3, "qemuDomainReboot")          # ACPI_POWER_BTN, GUEST_AGENT
        with self.drv.lock:
            lifecycle.reboot(self.drv, self._dom(ref), flags)

    @_events
    def domain_reset(self, ref: DomainRef, flags: int = 0) -> None:
        check_flags(flags, 0, "qemuDomainReset")
        with self.drv.lock:
            lifecycle.reset(self.drv, self._dom(ref))

    # --- save / restore ---------------------------------------------------------------
    @_events
    def domain_save_flags(self, ref: DomainRef, to: str, dxml: str | None = None,
                          flags: int = 0) -> None:
        check_flags(flags, n.SAVE_BYPASS_CACHE | n.SAVE_RUNNING | n.SAVE_PAUSED,
                    "qemuDomainSaveFlags")
        if dxml:
            raise error(VIR_ERR_CONFIG_UNSUPPORTED, "an alternate XML for the save image is "
                        "not supported yet", domain=VIR_FROM_QEMU)
        with self.drv.lock:
            save.save(self.drv, self._dom(ref), os.path.abspath(to))

    def domain_save(self, ref: DomainRef, to: str) -> None:
        self.domain_save_flags(ref, to, None, 0)

    @_events
    def domain_restore_flags(self, frm: str, dxml: str | None = None, flags: int = 0) -> None:
        check_flags(flags, n.SAVE_BYPASS_CACHE | n.SAVE_RUNNING | n.SAVE_PAUSED,
                    "qemuDomainRestoreFlags")
        path = os.path.abspath(frm)
        xml, running, offset = save.read_save_header(path)
        live = self.drv.parse(dxml or xml)[0]
        name, uuid = live.name.strip(), uuidlib.UUID(live.uuid).bytes
        check_name("domain", name)
        with self.drv.lock:
            self._add_and_start(name, uuid, lambda dom: save.restore(
                self.drv, dom, path, live, running, offset, flags))

    def domain_restore(self, frm: str) -> None:
        self.domain_restore_flags(frm, None, 0)

    @_events
    def domain_managed_save(self, ref: DomainRef, flags: int = 0) -> None:
        check_flags(flags, n.SAVE_BYPASS_CACHE | n.SAVE_RUNNING | n.SAVE_PAUSED,
                    "qemuDomainManagedSave")
        with self.drv.lock:
            dom = self._dom(ref)
            if not dom.persistent:
                raise error(VIR_ERR_OPERATION_INVALID,
                            "cannot do managed save for transient domain", domain=VIR_FROM_QEMU)
            lifecycle.require_active(dom)
            path = self.drv.dirs.managed_save_path(dom.name)
            self.drv.dirs.create()
            save.save(self.drv, dom, str(path))
            dom.managed_save = str(path)

    def domain_has_managed_save_image(self, ref: DomainRef, flags: int = 0) -> bool:
        check_flags(flags, 0, "qemuDomainHasManagedSaveImage")
        return self._dom(ref).managed_save is not None

    def domain_managed_save_remove(self, ref: DomainRef, flags: int = 0) -> None:
        check_flags(flags, 0, "qemuDomainManagedSaveRemove")
        with self.drv.lock:
            dom = self._dom(ref)
            path = self.drv.dirs.managed_save_path(dom.name)
            if dom.managed_save is None or not path.exists():
                raise error(VIR_ERR_SYSTEM_ERROR, f"Failed to remove managed save file "
                            f"'{path}': No such file or directory", domain=VIR_FROM_QEMU)
            state_dir.remove_file(path)
            dom.managed_save = None

    # --- info ---------------------------------------------------------------------------
    def domain_get_info(self, ref: DomainRef) -> list[int]:
        with self.drv.lock:
            dom = self._dom(ref)
            ddef = dom.current_def
            rt = self.drv.runtimes.get(dom.uuid)
            cpu_time = sum(stats.process_times(rt.pid)) if rt is not None else 0
            return [int(dom.state), ddef.memory_kib or 0,
                    ddef.current_memory_kib or ddef.memory_kib or 0,
                    ddef.vcpus_current or ddef.vcpus or 1, cpu_time]

    def domain_get_max_vcpus(self, ref: DomainRef) -> int:
        dom = self._dom(ref)
        if not dom.active:
            raise lifecycle.not_running()
        return dom.live_def.vcpus or 1

    # --- devices ------------------------------------------------------------------------
    @_events
    def domain_attach_device_flags(self, ref: DomainRef, xml: str, flags: int = 0) -> None:
        check_flags(flags, n.AFFECT_LIVE | n.AFFECT_CONFIG, "qemuDomainAttachDeviceFlags")
        with self.drv.lock:
            hotplug.attach(self.drv, self._dom(ref), xml, flags)

    def domain_attach_device(self, ref: DomainRef, xml: str) -> None:
        self.domain_attach_device_flags(ref, xml, n.AFFECT_LIVE)

    @_events
    def domain_detach_device_flags(self, ref: DomainRef, xml: str, flags: int = 0) -> None:
        check_flags(flags, n.AFFECT_LIVE | n.AFFECT_CONFIG, "qemuDomainDetachDeviceFlags")
        with self.drv.lock:
            hotplug.detach(self.drv, self._dom(ref), xml, flags)

    def domain_detach_device(self, ref: DomainRef, xml: str) -> None:
        self.domain_detach_device_flags(ref, xml, n.AFFECT_LIVE)

    # --- snapshots ----------------------------------------------------------------------
    def _snap(self, snap_ref: SnapshotRef) -> tuple[DomainObj, Any]:
        dom = self._dom(snap_ref.domain)
        return dom, snapshot.find(dom, snap_ref.name)

    @_events
    def domain_snapshot_create_xml(self, ref: DomainRef, xml: str,
                                   flags: int = 0) -> SnapshotRef:
        check_flags(flags, snapshot.CREATE_FLAGS, "qemuDomainSnapshotCreateXML")
        with self.drv.lock:
            dom = self._dom(ref)
            snap = snapshot.create(self.drv, dom, xml, flags)
            return SnapshotRef(self._ref(dom), snap.name)

    def _snapshot_matches(self, dom: DomainObj, snap: Any, flags: int) -> bool:
        tree = dom.snapshots
        leaves = flags & (n.SNAPSHOT_LIST_LEAVES | n.SNAPSHOT_LIST_NO_LEAVES)
        if leaves == n.SNAPSHOT_LIST_LEAVES and not tree.is_leaf(snap.name):
            return False
        if leaves == n.SNAPSHOT_LIST_NO_LEAVES and tree.is_leaf(snap.name):
            return False
        meta = flags & (n.SNAPSHOT_LIST_METADATA | n.SNAPSHOT_LIST_NO_METADATA)
        if meta == n.SNAPSHOT_LIST_NO_METADATA:
            return False
        kinds = flags & (n.SNAPSHOT_LIST_INACTIVE | n.SNAPSHOT_LIST_ACTIVE
                         | n.SNAPSHOT_LIST_DISK_ONLY)
        if kinds:
            kind = (n.SNAPSHOT_LIST_DISK_ONLY if snap.disk_only else
                    n.SNAPSHOT_LIST_INACTIVE if snap.state == "shutoff" else
                    n.SNAPSHOT_LIST_ACTIVE)
            if not kinds & kind:
                return False
        where = flags & (n.SNAPSHOT_LIST_INTERNAL | n.SNAPSHOT_LIST_EXTERNAL)
        kind = n.SNAPSHOT_LIST_EXTERNAL if snapshot.is_external(snap) \
            else n.SNAPSHOT_LIST_INTERNAL
        return not where or bool(where & kind)

    def _snapshots(self, dom: DomainObj, pool: list, flags: int) -> list:
        found = [s for s in pool if self._snapshot_matches(dom, s, flags)]
        return sorted(found, key=lambda s: (s.creation_time, s.name))

    def domain_list_all_snapshots(self, ref: DomainRef, flags: int = 0) -> list[SnapshotRef]:
        check_flags(flags, 0x7FF, "qemuDomainListAllSnapshots")
        with self.drv.lock:
            dom = self._dom(ref)
            pool = dom.snapshots.roots() if flags & n.SNAPSHOT_LIST_ROOTS else list(dom.snapshots)
            return [SnapshotRef(self._ref(dom), s.name)
                    for s in self._snapshots(dom, pool, flags & ~n.SNAPSHOT_LIST_ROOTS)]

    def domain_snapshot_lookup_by_name(self, ref: DomainRef, name: str,
                                       flags: int = 0) -> SnapshotRef:
        check_flags(flags, 0, "qemuDomainSnapshotLookupByName")
        dom = self._dom(ref)
        return SnapshotRef(self._ref(dom), snapshot.find(dom, name).name)

    def domain_has_current_snapshot(self, ref: DomainRef, flags: int = 0) -> bool:
        check_flags(flags, 0, "qemuDomainHasCurrentSnapshot")
        return self._dom(ref).snapshots.current is not None

    def domain_snapshot_current(self, ref: DomainRef, flags: int = 0) -> SnapshotRef:
        check_flags(flags, 0, "qemuDomainSnapshotCurrent")
        dom = self._dom(ref)
        if dom.snapshots.current is None:
            raise error(VIR_ERR_NO_DOMAIN_SNAPSHOT, "the domain does not have a current "
                        "snapshot", domain=VIR_FROM_QEMU)
        return SnapshotRef(self._ref(dom), dom.snapshots.current)

    def domain_snapshot_get_xml_desc(self, snap_ref: SnapshotRef, flags: int = 0) -> str:
        check_flags(flags, n.XML_SECURE, "qemuDomainSnapshotGetXMLDesc")
        with self.drv.lock:
            return self._snap(snap_ref)[1].definition.to_xml(secure=bool(flags & n.XML_SECURE))

    def domain_snapshot_get_parent(self, snap_ref: SnapshotRef, flags: int = 0) -> SnapshotRef:
        check_flags(flags, 0, "qemuDomainSnapshotGetParent")
        dom, snap = self._snap(snap_ref)
        if snap.parent is None:
            raise error(VIR_ERR_NO_DOMAIN_SNAPSHOT,
                        f"snapshot '{snap.name}' does not have a parent", domain=VIR_FROM_QEMU)
        return SnapshotRef(self._ref(dom), snap.parent)

    def domain_snapshot_list_all_children(self, snap_ref: SnapshotRef,
                                          flags: int = 0) -> list[SnapshotRef]:
        check_flags(flags, 0x7FF, "qemuDomainSnapshotListAllChildren")
        with self.drv.lock:
            dom, snap = self._snap(snap_ref)
            pool = (dom.snapshots.descendants(snap.name) if flags & n.SNAPSHOT_LIST_DESCENDANTS
                    else dom.snapshots.children(snap.name))
            return [SnapshotRef(self._ref(dom), s.name)
                    for s in self._snapshots(dom, pool, flags & ~n.SNAPSHOT_LIST_DESCENDANTS)]

    def domain_snapshot_is_current(self, snap_ref: SnapshotRef, flags: int = 0) -> bool:
        check_flags(flags, 0, "qemuDomainSnapshotIsCurrent")
        dom, snap = self._snap(snap_ref)
        return dom.snapshots.current == snap.name

    def domain_snapshot_has_metadata(self, snap_ref: SnapshotRef, flags: int = 0) -> bool:
        check_flags(flags, 0, "qemuDomainSnapshotHasMetadata")
        self._snap(snap_ref)
        return True

    @_events
    def domain_revert_to_snapshot(self, snap_ref: SnapshotRef, flags: int = 0) -> None:
        check_flags(flags, n.SNAPSHOT_REVERT_RUNNING | n.SNAPSHOT_REVERT_PAUSED
                    | n.SNAPSHOT_REVERT_FORCE, "qemuDomainRevertToSnapshot")
        with self.drv.lock:
            dom, snap = self._snap(snap_ref)
            snapshot.revert(self.drv, dom, snap, flags)

    @_events
    def domain_snapshot_delete(self, snap_ref: SnapshotRef, flags: int = 0) -> None:
        check_flags(flags, n.SNAPSHOT_DELETE_CHILDREN | n.SNAPSHOT_DELETE_METADATA_ONLY
                    | n.SNAPSHOT_DELETE_CHILDREN_ONLY, "qemuDomainSnapshotDelete")
        with self.drv.lock:
            dom, snap = self._snap(snap_ref)
            snapshot.delete(self.drv, dom, snap, flags)

    # --- console ------------------------------------------------------------------------
    def domain_open_console(self, ref: DomainRef, dev_name: str | None, stream: Any,
                            flags: int = 0) -> None:
        check_flags(flags, console.CONSOLE_FORCE | console.CONSOLE_SAFE,
                    "qemuDomainOpenConsole")
        with self.drv.lock:
            console.open_console(self.drv, self._dom(ref), dev_name, stream, flags)

    # --- stats --------------------------------------------------------------------------
    def _running(self, ref: DomainRef) -> tuple[DomainObj, DomainRuntime]:
        dom = self._dom(ref)
        lifecycle.require_active(dom)
        return dom, lifecycle.runtime_of(self.drv, dom)

    def domain_interface_addresses(self, ref: DomainRef, source: int = 0,
                                   flags: int = 0) -> dict:
        check_flags(flags, 0, "qemuDomainInterfaceAddresses")
        with self.drv.lock:
            dom = self._dom(ref)
            lifecycle.require_active(dom)
            live = dom.live_def
        return ifaddr.interface_addresses(live, source, self.drv.network)

    def domain_get_cpu_stats(self, ref: DomainRef, start_cpu: int, ncpus: int,
                             flags: int = 0) -> list[dict]:
        check_flags(flags, 0, "qemuDomainGetCPUStats")
        with self.drv.lock:
            return stats.cpu_stats(self._running(ref)[1], start_cpu, ncpus)

    def domain_interface_stats(self, ref: DomainRef, path: str) -> list[int]:
        with self.drv.lock:
            dom, _rt = self._running(ref)
            return stats.interface_stats(dom, path)

    def domain_block_stats(self, ref: DomainRef, path: str) -> list[int]:
        with self.drv.lock:
            dom, rt = self._running(ref)
            return stats.block_stats(dom, rt, path)

    def domain_block_stats_flags(self, ref: DomainRef, path: str, nparams: int = 0,
                                 flags: int = 0) -> dict:
        rd_req, rd_bytes, wr_req, wr_bytes, _errs = self.domain_block_stats(ref, path)
        return {"rd_operations": rd_req, "rd_bytes": rd_bytes, "wr_operations": wr_req,
                "wr_bytes": wr_bytes}

    def domain_memory_stats(self, ref: DomainRef, max_stats: int = 13,
                            flags: int = 0) -> dict:
        check_flags(flags, 0, "qemuDomainMemoryStats")
        with self.drv.lock:
            return stats.memory_stats(*self._running(ref))

    _LIST_FILTERS = 0xFF

    def connect_get_all_domain_stats(self, doms: list[DomainRef] | None, stats_bits: int,
                                     flags: int = 0) -> list[tuple[DomainRef, dict]]:
        check_flags(flags, self._LIST_FILTERS | n.GET_ALL_STATS_NOWAIT
                    | n.GET_ALL_STATS_BACKING | n.GET_ALL_STATS_ENFORCE_STATS,
                    "qemuConnectGetAllDomainStats")
        if flags & n.GET_ALL_STATS_ENFORCE_STATS and stats_bits & ~stats.SUPPORTED:
            raise error(VIR_ERR_ARGUMENT_UNSUPPORTED,
                        f"Stats types bits 0x{stats_bits & ~stats.SUPPORTED:x} are not "
                        "supported by this daemon", domain=VIR_FROM_QEMU)
        with self.drv.lock:
            objs = [self._dom(r) for r in doms] if doms else \
                self.drv.domains.list(flags & self._LIST_FILTERS)
            return [(self._ref(dom), stats.domain_record(self.drv, dom, stats_bits))
                    for dom in objs]

    # --- memory and vcpus --------------------------------------------------------------
    @_events
    def domain_set_memory_flags(self, ref: DomainRef, kib: int, flags: int = 0) -> None:
        """Balloon the running guest and/or change the saved configuration."""
        check_flags(flags, n.AFFECT_LIVE | n.AFFECT_CONFIG | n.MEM_MAXIMUM,
                    "qemuDomainSetMemoryFlags")
        with self.drv.lock:
            dom = self._dom(ref)
            live, config = hotplug.selected_defs(dom, flags & ~n.MEM_MAXIMUM)
            if flags & n.MEM_MAXIMUM:
                if live:
                    raise error(VIR_ERR_OPERATION_INVALID, "cannot resize the maximum memory "
                                "on an active domain", domain=VIR_FROM_QEMU)
                dom.persistent_def.memory_kib = kib
                if (dom.persistent_def.current_memory_kib or 0) > kib:
                    dom.persistent_def.current_memory_kib = kib
                self.drv.save_config(dom)
                return
            for ddef in ([dom.live_def] if live else []) + ([dom.persistent_def] if config else []):
                if kib > (ddef.memory_kib or 0):
                    raise error(VIR_ERR_INVALID_ARG,
                                "cannot set memory higher than max memory", domain=VIR_FROM_QEMU)
            if live:
                balloon = dom.live_def.node.find("devices/memballoon")
                if balloon is None or balloon.get("model") != "virtio":
                    raise error(VIR_ERR_OPERATION_INVALID,
                                "Unable to change memory of active domain without the balloon "
                                "device and guest OS balloon driver", domain=VIR_FROM_QEMU)
                lifecycle.runtime_of(self.drv, dom).monitor.execute(
                    "balloon", {"value": kib * 1024})
                dom.live_def.current_memory_kib = kib
                lifecycle.save_status(self.drv, dom)
            if config:
                dom.persistent_def.current_memory_kib = kib
                self.drv.save_config(dom)

    def domain_set_memory(self, ref: DomainRef, kib: int) -> None:
        self.domain_set_memory_flags(ref, kib, n.AFFECT_LIVE)

    @_events
    def domain_set_vcpus_flags(self, ref: DomainRef, count: int, flags: int = 0) -> None:
        """CPUs hot-plugged into / unplugged from the running guest and/or the config."""
        check_flags(flags, n.AFFECT_LIVE | n.AFFECT_CONFIG | n.VCPU_MAXIMUM | n.VCPU_GUEST
                    | n.VCPU_HOTPLUGGABLE, "qemuDomainSetVcpusFlags")
        vcpus.check_request(count, flags)
        with self.drv.lock:
            dom = self._dom(ref)
            if flags & n.VCPU_GUEST:
                lifecycle.require_active(dom)
                if agent.channel_path(dom.live_def, "") is None:
                    raise agent.not_configured()
                raise error(VIR_ERR_OPERATION_UNSUPPORTED, "setting guest vCPUs through the "
                            "guest agent is not supported by this driver",
                            domain=VIR_FROM_QEMU)
            selected = hotplug.selected_defs(dom, flags & (n.AFFECT_LIVE | n.AFFECT_CONFIG))
            vcpus.set_vcpus(self.drv, dom, count, flags, selected)

    def domain_set_vcpus(self, ref: DomainRef, count: int) -> None:
        self.domain_set_vcpus_flags(ref, count, n.AFFECT_LIVE)

    def domain_get_vcpus_flags(self, ref: DomainRef, flags: int = 0) -> int:
        check_flags(flags, n.AFFECT_LIVE | n.AFFECT_CONFIG | n.VCPU_MAXIMUM | n.VCPU_GUEST,
                    "qemuDomainGetVcpusFlags")
        dom = self._dom(ref)
        live, _config = hotplug.selected_defs(dom, flags & (n.AFFECT_LIVE | n.AFFECT_CONFIG))
        ddef = dom.live_def if live else dom.persistent_def
        if flags & n.VCPU_MAXIMUM:
            return ddef.vcpus or 1
        return ddef.vcpus_current or ddef.vcpus or 1

# --- opening ---------------------------------------------------------------------------
class QemuDriver:
    """Accepts local ``qemu://`` URIs (a host or transport means the remote driver)."""

    name = "QEMU"

    def open(self, uri: Any, flags: int, readonly: bool) -> DriverConnection | None:
        if getattr(uri, "driver", None) != "qemu" or uri.host or uri.transport:
            return None
        path, root = uri.path or "/system", uri.param("root")
        dirs = state_dir.dirs_for_uri(path, root)
        drv = state_for(dirs, privileged=path != "/session",
                        open_peers=lambda: peers.open_peers(path, root, readonly=False))
        table = QemuHypervisor(drv, str(uri))
        network, storage = peers.open_peers(path, root, readonly)
        return DriverConnection(uri=str(uri), hypervisor=table, network=network,
                                storage=storage, readonly=readonly)


def register() -> None:
    register_driver(QemuDriver())


#: what other modules and tests import from here
__all__ = ["QemuDriver", "QemuHypervisor", "QemuDriverState", "forget_state_for_tests",
           "parse_definition", "register", "state_for"]
