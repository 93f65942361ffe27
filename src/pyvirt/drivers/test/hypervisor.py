"""The test driver's HypervisorConnection: domains, lifecycle, snapshots, stats, events.

Every entry point resolves refs under the domain list's lock, acts on the
:class:`DomainObj` through the lifecycle state machine, queues events, and
delivers them once the lock is released. Memory/vcpus/devices, snapshots and
stats live in their own mixins (domain_config, domain_snapshots, domain_stats).
"""

from __future__ import annotations

import time
from typing import Any, Callable

from pyvirt.drivers.base import DomainRef
from pyvirt.drivers.common.connection import LocalConnectionEntries
from pyvirt.drivers.common.domains import check_duplicates, check_undefine
from pyvirt.drivers.common.facts import DomainFactEntries
from pyvirt.drivers.test import defaults, domxml
from pyvirt.drivers.test.checks import check_flags, delivers_events as _events
from pyvirt.drivers.test.domain_config import DomainConfigMixin
from pyvirt.drivers.test.domain_extras import DomainExtrasMixin
from pyvirt.drivers.test.domain_snapshots import DomainSnapshotMixin
from pyvirt.drivers.test.domain_stats import DomainStatsMixin
from pyvirt.drivers.test.domain_tuning import DomainTuningMixin
from pyvirt.drivers.test.domain_vcpus import DomainVcpusMixin
from pyvirt.drivers.test.saveimage import read_save_image, write_save_image
from pyvirt.errors import (
    VIR_FROM_NONE,
    VIR_ERR_ARGUMENT_UNSUPPORTED, VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_INVALID_ARG,
    VIR_ERR_NO_DOMAIN, VIR_ERR_OPERATION_INVALID,
    VIR_ERR_SYSTEM_ERROR, VIR_FROM_DOMAIN, VIR_FROM_TEST, error,
)
from pyvirt.objects import lifecycle, numbers as n
from pyvirt.objects.domain_obj import DomainObj
from pyvirt.objects.lifecycle import Action
from pyvirt.objects.numbers import DomainEvent



def _log_warning(message: str, *args: Any) -> None:
    """Warn through this module's logger (logging loads only when something is said)."""
    import logging
    logging.getLogger(__name__).warning(message, *args)

#: every virConnectListAllDomains filter bit libvirt 9.0 knows (ACTIVE .. NO_CHECKPOINT)
_LIST_FILTERS = (n.LIST_DOMAINS_NO_CHECKPOINT << 1) - 1


class TestHypervisor(DomainSnapshotMixin, DomainStatsMixin, DomainConfigMixin,
                     DomainExtrasMixin, DomainVcpusMixin, DomainTuningMixin, DomainFactEntries,
                     LocalConnectionEntries):
    """The full hypervisor table of the test driver."""

    #: every call works on memory only, so pyvirtd may run it on its event loop...
    calls_never_block = True
    #: ...but these, which read or write a save image file
    calls_that_block = frozenset({"domain_save", "domain_save_flags", "domain_restore",
                                  "domain_restore_flags"})

    # --- connection -------------------------------------------------------------------
    def connect_close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for broker in (self.state.domain_events, self.state.network_events,
                       self.state.pool_events):
            broker.deregister_owner(self)
        if self._on_close is not None:
            self._on_close()

    def connect_get_type(self) -> str:
        return defaults.HYPERVISOR_TYPE

    def connect_get_version(self) -> int:
        return defaults.HYPERVISOR_VERSION

    def connect_get_capabilities(self) -> str:
        from pyvirt.conf import capabilities  # the conf engineer's builder
        caps = capabilities.test_driver_capabilities()
        return caps if isinstance(caps, str) else caps.to_xml()

    def connect_get_max_vcpus(self, hv_type: str | None = None) -> int:
        return defaults.MAX_VCPUS

    def connect_get_sysinfo(self, flags: int = 0) -> str:
        check_flags(flags, 0, "testConnectGetSysinfo")
        return defaults.SYSINFO_XML

    def node_get_info(self) -> list:
        return self.state.node.info()

    def node_get_free_memory(self) -> int:
        """virNodeGetFreeMemory: libvirt's test driver answers the node's memory figure
        as is (3145728 for test:///default)."""
        return self.state.node.memory_kib

    def node_get_cells_free_memory(self, start_cell: int, max_cells: int) -> list[int]:
        cells = self.state.node.cells_kib
        if start_cell < 0 or (cells and start_cell >= len(cells)):
            raise error(VIR_ERR_INVALID_ARG,
                        f"Range exceeds available cells: {start_cell}", domain=VIR_FROM_TEST)
        return list(cells[start_cell:start_cell + max_cells])

    # --- lookup and listing -----------------------------------------------------------
    def domain_lookup_by_name(self, name: str) -> DomainRef:
        dom = self._domains.find_by_name(name)
        if dom is None:
            raise error(VIR_ERR_NO_DOMAIN, None, domain=VIR_FROM_TEST)
        return self._ref(dom)

    def domain_lookup_by_uuid(self, uuid: bytes) -> DomainRef:
        dom = self._domains.find_by_uuid(bytes(uuid))
        if dom is None:
            raise error(VIR_ERR_NO_DOMAIN, None, domain=VIR_FROM_TEST)
        return self._ref(dom)

    def domain_lookup_by_id(self, dom_id: int) -> DomainRef:
        dom = self._domains.find_by_id(dom_id)
        if dom is None:
            raise error(VIR_ERR_NO_DOMAIN, None, domain=VIR_FROM_TEST)
        return self._ref(dom)

    def connect_list_all_domains(self, flags: int = 0) -> list[DomainRef]:
        check_flags(flags, _LIST_FILTERS, "testConnectListAllDomains")
        return [self._ref(d) for d in self._domains.list(flags)]

    def connect_num_of_domains(self) -> int:
        return len(self._domains.list(n.LIST_DOMAINS_ACTIVE))

    def connect_list_domains(self, maxids: int = -1) -> list[int]:
        ids = [d.id for d in self._domains.list(n.LIST_DOMAINS_ACTIVE)]
        return ids if maxids < 0 else ids[:maxids]

    def connect_num_of_defined_domains(self) -> int:
        return len(self._domains.list(n.LIST_DOMAINS_INACTIVE))

    def connect_list_defined_domains(self, maxnames: int = -1) -> list[str]:
        names = [d.name for d in self._domains.list(n.LIST_DOMAINS_INACTIVE)]
        return names if maxnames < 0 else names[:maxnames]

    def domain_get_id(self, ref: DomainRef) -> int:
        dom = self._dom(ref)
        return dom.id if dom.active else -1

    # --- definition -------------------------------------------------------------------
    def _parse_checked(self, xml: str, validate: bool) -> tuple[Any, list[str]]:
        """Parse and normalize; refuse (validate) or strip unknown XML, returning warnings."""
        ddef = domxml.parse_domain(xml)
        unknown = list(ddef.unknown_parts())
        if unknown and validate:
            raise error(VIR_ERR_CONFIG_UNSUPPORTED,
                        "unsupported XML in domain definition: " + ", ".join(unknown),
                        domain=VIR_FROM_DOMAIN)
        if unknown:
            ddef.strip_unknown()
        domxml.normalize(ddef)
        warnings = [f"unsupported configuration ignored: {part}" for part in unknown]
        for text in warnings:
            _log_warning("domain '%s': %s", domxml.name_of(ddef), text)
        return ddef, warnings

    def _check_duplicates(self, name: str, uuid: bytes, live: bool) -> DomainObj | None:
        return check_duplicates(self._domains, name, uuid, live)

    @_events
    def domain_define_xml_flags(self, xml: str, flags: int = 0) -> DomainRef:
        check_flags(flags, n.DEFINE_VALIDATE, "testDomainDefineXMLFlags")
        ddef, warnings = self._parse_checked(xml, bool(flags & n.DEFINE_VALIDATE))
        name, uuid = domxml.name_of(ddef), domxml.uuid_of(ddef)
        with self._domains.lock:
            dom = self._check_duplicates(name, uuid, live=False)
            if dom is None:
                dom = self._domains.add(DomainObj(name=name, uuid=uuid, persistent_def=ddef))
                detail = n.DEFINED_ADDED
            else:   # UPDATED only when it had a persistent config before
                detail = n.DEFINED_UPDATED if dom.persistent else n.DEFINED_ADDED
                dom.persistent_def = ddef
            dom.messages = warnings
            self._lifecycle(dom, DomainEvent.DEFINED, detail)
            return self._ref(dom)

    @_events
    def domain_create_xml(self, xml: str, flags: int = 0) -> DomainRef:
        check_flags(flags, n.START_PAUSED | n.START_VALIDATE, "testDomainCreateXML")
        ddef, warnings = self._parse_checked(xml, bool(flags & n.START_VALIDATE))
        name, uuid = domxml.name_of(ddef), domxml.uuid_of(ddef)
        with self._domains.lock:
            dom = self._check_duplicates(name, uuid, live=True)
            if dom is None:
                dom = self._domains.add(DomainObj(name=name, uuid=uuid))
            dom.messages = warnings
            self._start(dom, Action.START, live_def=ddef)
            if flags & n.START_PAUSED:
                self._step(dom, Action.SUSPEND)
            return self._ref(dom)

    @_events
    def domain_undefine_flags(self, ref: DomainRef, flags: int = 0) -> None:
        check_flags(flags, n.UNDEFINE_MANAGED_SAVE | n.UNDEFINE_SNAPSHOTS_METADATA,
                    "testDomainUndefineFlags")
        with self._domains.lock:
            dom = self._dom(ref)
            drop_save, drop_snapshots = check_undefine(dom, flags, VIR_FROM_TEST)
            if drop_save:
                dom.managed_save = None
            if drop_snapshots:
                dom.snapshots.clear()
            self._lifecycle(dom, DomainEvent.UNDEFINED, n.UNDEFINED_REMOVED)
            dom.persistent_def = None
            dom.autostart = False
            if not dom.active:
                self._domains.remove(dom)

    def domain_undefine(self, ref: DomainRef) -> None:
        self.domain_undefine_flags(ref, 0)

    def domain_get_xml_desc(self, ref: DomainRef, flags: int = 0) -> str:
        check_flags(flags, n.XML_SECURE | n.XML_INACTIVE | n.XML_MIGRATABLE,
                    "testDomainGetXMLDesc")
        with self._domains.lock:
            dom = self._dom(ref)
            secure = bool(flags & n.XML_SECURE)
            if flags & n.XML_INACTIVE and dom.persistent:
                return domxml.format_domain(dom.persistent_def, secure=secure)
            return domxml.format_domain(dom.current_def, dom.id if dom.active else -1,
                                        secure=secure)

    # --- lifecycle --------------------------------------------------------------------
    @_events
    def domain_create_with_flags(self, ref: DomainRef, flags: int = 0) -> DomainRef:
        check_flags(flags, 0, "testDomainCreateWithFlags")
        with self._domains.lock:
            dom = self._dom(ref)
            self._start(dom)
            dom.managed_save = None
            return self._ref(dom)

    def domain_create(self, ref: DomainRef) -> DomainRef:
        return self.domain_create_with_flags(ref, 0)

    @_events
    def domain_destroy_flags(self, ref: DomainRef, flags: int = 0) -> None:
        check_flags(flags, 1, "testDomainDestroyFlags")  # VIR_DOMAIN_DESTROY_GRACEFUL
        with self._domains.lock:
            self._stop(self._dom(ref), Action.DESTROY)

    def domain_destroy(self, ref: DomainRef) -> None:
        self.domain_destroy_flags(ref, 0)

    @_events
    def domain_shutdown_flags(self, ref: DomainRef, flags: int = 0) -> None:
        check_flags(flags, 0, "testDomainShutdownFlags")
        with self._domains.lock:
            self._stop(self._dom(ref), Action.SHUTDOWN)

    def domain_shutdown(self, ref: DomainRef) -> None:
        self.domain_shutdown_flags(ref, 0)

    @_events
    def domain_reboot(self, ref: DomainRef, flags: int = 0) -> None:
        """Reboot as libvirt's test driver does: no reboot event; with
        ``<on_reboot>destroy</on_reboot>`` the domain shuts off instead."""
        with self._domains.lock:
            dom = self._dom(ref)
            lifecycle.check(dom, Action.REBOOT)
            action = (dom.live_def.node.findtext("on_reboot") or "restart").strip()
            if action == "destroy":
                self._stop(dom, Action.SHUTDOWN)
            else:
                self._step(dom, Action.REBOOT)

    @_events
    def domain_reset(self, ref: DomainRef, flags: int = 0) -> None:
        check_flags(flags, 0, "testDomainReset")
        with self._domains.lock:
            self._step(self._dom(ref), Action.RESET)

    @_events
    def domain_suspend(self, ref: DomainRef) -> None:
        with self._domains.lock:
            self._step(self._dom(ref), Action.SUSPEND)

    @_events
    def domain_resume(self, ref: DomainRef) -> None:
        with self._domains.lock:
            self._step(self._dom(ref), Action.RESUME)

    # --- save / restore ---------------------------------------------------------------
    @_events
    def domain_managed_save(self, ref: DomainRef, flags: int = 0) -> None:
        check_flags(flags, n.SAVE_BYPASS_CACHE | n.SAVE_RUNNING | n.SAVE_PAUSED,
                    "testDomainManagedSave")
        with self._domains.lock:
            dom = self._dom(ref)
            if not dom.persistent:
                lifecycle.check(dom, Action.MANAGED_SAVE)
                raise error(VIR_ERR_OPERATION_INVALID,
                            "cannot do managed save for transient domain", domain=VIR_FROM_TEST)
            image = domxml.format_domain(dom.current_def)
            self._stop(dom, Action.MANAGED_SAVE)
            dom.managed_save = image

    def domain_has_managed_save_image(self, ref: DomainRef, flags: int = 0) -> bool:
        check_flags(flags, 0, "testDomainHasManagedSaveImage")
        return self._dom(ref).managed_save is not None

    def domain_managed_save_remove(self, ref: DomainRef, flags: int = 0) -> None:
        check_flags(flags, 0, "testDomainManagedSaveRemove")
        with self._domains.lock:
            self._dom(ref).managed_save = None

    @_events
    def domain_save_flags(self, ref: DomainRef, to: str, dxml: str | None = None,
                          flags: int = 0) -> None:
        check_flags(flags, n.SAVE_BYPASS_CACHE | n.SAVE_RUNNING | n.SAVE_PAUSED,
                    "testDomainSaveFlags")
        if dxml:
            raise error(VIR_ERR_ARGUMENT_UNSUPPORTED,
                        "xml modification unsupported", domain=VIR_FROM_TEST)
        with self._domains.lock:
            dom = self._dom(ref)
            lifecycle.check(dom, Action.SAVE)
            xml = domxml.format_domain(dom.current_def, dom.id)
            try:
                write_save_image(to, xml)
            except OSError as err:
                raise error(VIR_ERR_SYSTEM_ERROR,
                            f"saving domain '{dom.name}' failed: {err.strerror}",
                            domain=VIR_FROM_TEST) from err
            self._stop(dom, Action.SAVE)

    def domain_save(self, ref: DomainRef, to: str) -> None:
        self.domain_save_flags(ref, to, None, 0)

    @_events
    def domain_restore_flags(self, frm: str, dxml: str | None = None, flags: int = 0) -> None:
        check_flags(flags, n.SAVE_BYPASS_CACHE | n.SAVE_RUNNING | n.SAVE_PAUSED,
                    "testDomainRestoreFlags")
        if dxml:
            raise error(VIR_ERR_ARGUMENT_UNSUPPORTED,
                        "xml modification unsupported", domain=VIR_FROM_TEST)
        xml = read_save_image(frm)
        ddef = domxml.normalize(domxml.parse_domain(xml))
        name, uuid = domxml.name_of(ddef), domxml.uuid_of(ddef)
        with self._domains.lock:
            dom = self._check_duplicates(name, uuid, live=True)
            if dom is None:
                dom = self._domains.add(DomainObj(name=name, uuid=uuid))
            self._start(dom, Action.RESTORE, live_def=ddef)
            if flags & n.SAVE_PAUSED:
                self._step(dom, Action.SUSPEND)

    def domain_restore(self, frm: str) -> None:
        self.domain_restore_flags(frm, None, 0)

    # --- info -------------------------------------------------------------------------
    def domain_get_info(self, ref: DomainRef) -> list[int]:
        with self._domains.lock:
            dom = self._dom(ref)
            ddef = dom.current_def
            return [int(dom.state), domxml.max_memory_kib(ddef), domxml.memory_kib(ddef),
                    domxml.vcpus(ddef), time.time_ns()]

    def domain_get_state(self, ref: DomainRef, flags: int = 0) -> list[int]:
        check_flags(flags, 0, "testDomainGetState")
        dom = self._dom(ref)
        return [int(dom.state), dom.reason]

    def domain_set_autostart(self, ref: DomainRef, autostart: bool) -> None:
        with self._domains.lock:
            self._dom(ref).autostart = bool(autostart)   # libvirt's test driver allows
                                                         # it on a transient domain too

    def domain_get_os_type(self, ref: DomainRef) -> str:
        self._dom(ref)
        return "linux"

    def domain_get_max_memory(self, ref: DomainRef) -> int:
        return domxml.max_memory_kib(self._dom(ref).current_def)

    def domain_get_hostname(self, ref: DomainRef, flags: int = 0) -> str:
        check_flags(flags, 0, "testDomainGetHostname")
        self._require_active(self._dom(ref))
        return "testhost"

    def domain_get_security_label(self, ref: DomainRef) -> list:
        """[label, enforcing] as libvirt-python returns it: libvirt's test driver
        labels only a running domain; an inactive one has an empty label."""
        if not self._dom(ref).active:
            return ["", 0]
        return [defaults.SECURITY_LABEL, 1]

    def node_get_security_model(self) -> list[str]:
        return [defaults.SECURITY_MODEL, defaults.SECURITY_DOI]

    # --- events -----------------------------------------------------------------------
    def connect_domain_event_register_any(self, event_id: int, ref: DomainRef | None,
                                          sink: Callable[..., None]) -> int:
        uuid = None if ref is None else self._dom(ref).uuid
        return self.state.domain_events.register(event_id, uuid, sink, self)

    def connect_domain_event_deregister_any(self, callback_id: int) -> None:
        if not self.state.domain_events.deregister(callback_id, self):
            raise error(VIR_ERR_INVALID_ARG,
                        f"could not find event callback {callback_id} for deletion",
                        domain=VIR_FROM_NONE)
