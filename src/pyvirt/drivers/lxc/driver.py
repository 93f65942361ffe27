"""The LXC hypervisor driver: ``lxc:///`` (``lxc:///system``) and ``lxc:///embed?root=DIR``.

:class:`LxcHypervisor` is the ``HypervisorConnection`` table one connection
sees; every connection to one root shares one
:class:`~pyvirt.drivers.lxc.state.LxcDriverState`. Entry points take the
state's lock for the whole operation and deliver the events they queued once
it is released. :func:`register` adds :class:`LxcDriver` to pyvirt's registry.
"""

from __future__ import annotations

import os
import uuid as uuidlib
from pathlib import Path
from typing import Any

from pyvirt.drivers.common import entries
from pyvirt.drivers.common.connection import LocalConnectionEntries
from pyvirt.drivers.common.entries import DomainEntries
from pyvirt.drivers.base import DomainRef, DriverConnection, HypervisorConnection, register_driver
from pyvirt.drivers.lxc import console, definition, lifecycle, state_dir, stats
from pyvirt.drivers.lxc.state import LxcDriverState, forget_state_for_tests, state_for
from pyvirt.errors import VIR_ERR_INVALID_ARG, VIR_ERR_OPERATION_INVALID, VIR_FROM_LXC, error
from pyvirt.objects import numbers as n

SHUTDOWN_INITCTL, SHUTDOWN_SIGNAL = 4, 8
REBOOT_INITCTL, REBOOT_SIGNAL = 4, 8
TYPED_PARAM_STRING_OKAY = 4


def check_flags(flags: int, allowed: int, function: str) -> None:
    entries.check_flags(flags, allowed, function, VIR_FROM_LXC)


_events = entries.deliver_events


def kernel_version() -> int:
    """The running kernel as libvirt's LXC driver reports its version (6.18.0 -> 6018000)."""
    release = os.uname().release.split("-")[0].split(".")
    parts = [int(p) if p.isdigit() else 0 for p in (release + ["0", "0"])[:3]]
    return parts[0] * 1_000_000 + parts[1] * 1000 + parts[2]


class LxcHypervisor(DomainEntries, LocalConnectionEntries, HypervisorConnection):
    """One connection's view of an :class:`LxcDriverState`."""

    _error_domain = VIR_FROM_LXC
    _prefix = "lxc"
    _lifecycle = lifecycle
    _state_dir = state_dir
    _create_xml_function = "DomainCreateXMLWithFiles"
    _create_function = "DomainCreateWithFiles"
    _msg_undefine_transient = "Cannot undefine transient domain"
    _msg_autostart_transient = "Cannot set autostart for transient domain"
    _default_os_type = "exe"

    def __init__(self, drv: LxcDriverState, uri: str) -> None:
        self.drv = drv
        self.uri = uri
        self._closed = False
        self._autodestroy: set[bytes] = set()

    _ref = staticmethod(LxcDriverState.ref)

    def _parse(self, xml: str, validate: bool) -> tuple[Any, bytes, list[str]]:
        ddef = definition.parse_definition(xml)
        return ddef, definition.uuid_bytes(ddef), []

    # --- connection -------------------------------------------------------------------
    def connect_get_type(self) -> str:
        return "LXC"

    def connect_get_version(self) -> int:
        return kernel_version()

    def connect_get_capabilities(self) -> str:
        return definition.capabilities_xml(_host_uuid())

    def connect_get_max_vcpus(self, hv_type: str | None = None) -> int:
        return os.cpu_count() or 1

    def node_get_info(self) -> list:
        cpus = os.cpu_count() or 1
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        return [definition.host_arch(), memory // (1024 * 1024), cpus, _cpu_mhz(), 1, 1,
                cpus, 1]

    def node_get_free_memory(self) -> int:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")

    # --- lifecycle ------------------------------------------------------------------------
    @_events
    def domain_shutdown_flags(self, ref: DomainRef, flags: int = 0) -> None:
        check_flags(flags, SHUTDOWN_INITCTL | SHUTDOWN_SIGNAL, "lxcDomainShutdownFlags")
        with self.drv.lock:
            lifecycle.shutdown(self.drv, self._dom(ref))

    @_events
    def domain_reboot(self, ref: DomainRef, flags: int = 0) -> None:
        check_flags(flags, REBOOT_INITCTL | REBOOT_SIGNAL, "lxcDomainReboot")
        with self.drv.lock:
            lifecycle.reboot(self.drv, self._dom(ref))

    # --- info ----------------------------------------------------------------------------
    def domain_get_info(self, ref: DomainRef) -> list[int]:
        with self.drv.lock:
            dom = self._dom(ref)
            return stats.domain_info(dom, self.drv.containers.get(dom.uuid))

    def domain_get_max_vcpus(self, ref: DomainRef) -> int:
        return self._dom(ref).current_def.vcpus or 1

    def domain_get_vcpus_flags(self, ref: DomainRef, flags: int = 0) -> int:
        ddef = self._dom(ref).current_def
        return ddef.vcpus_current or ddef.vcpus or 1

    @_events
    def domain_set_memory_flags(self, ref: DomainRef, kib: int, flags: int = 0) -> None:
        """Change the memory cgroup limit of a running container and/or the config."""
        check_flags(flags, n.AFFECT_LIVE | n.AFFECT_CONFIG | n.MEM_MAXIMUM,
                    "lxcDomainSetMemoryFlags")
        with self.drv.lock:
            dom = self._dom(ref)
            live = bool(flags & n.AFFECT_LIVE) or (not flags & n.AFFECT_CONFIG and dom.active)
            config = bool(flags & n.AFFECT_CONFIG)
            if live and not dom.active:
                raise lifecycle.not_running()
            if config and not dom.persistent:
                raise error(VIR_ERR_OPERATION_INVALID, "cannot change persistent config of a "
                            "transient domain", domain=VIR_FROM_LXC)
            targets = ([dom.live_def] if live else []) + ([dom.persistent_def] if config else [])
            for ddef in targets:
                if flags & n.MEM_MAXIMUM:
                    ddef.memory_kib = kib
                elif kib > (ddef.memory_kib or 0):
                    raise error(VIR_ERR_INVALID_ARG, "Cannot set memory higher than max memory",
                                domain=VIR_FROM_LXC)
                if (ddef.current_memory_kib or 0) != kib and not flags & n.MEM_MAXIMUM:
                    ddef.current_memory_kib = kib
            if live:
                lifecycle.container_of(self.drv, dom).cgroup.set_memory_limit(kib)
                lifecycle.save_status(self.drv, dom)
            if config:
                self.drv.save_config(dom)

    def domain_set_memory(self, ref: DomainRef, kib: int) -> None:
        self.domain_set_memory_flags(ref, kib, n.AFFECT_LIVE)

    def domain_set_max_memory(self, ref: DomainRef, kib: int) -> None:
        self.domain_set_memory_flags(ref, kib, n.AFFECT_CONFIG | n.MEM_MAXIMUM)

    # --- scheduler (cpu cgroup) ---------------------------------------------------------------
    def domain_get_scheduler_type(self, ref: DomainRef) -> tuple[str, int]:
        self._dom(ref)
        return ("posix", 3)

    def domain_get_scheduler_parameters_flags(self, ref: DomainRef, nparams: int = 3,
                                              flags: int = 0) -> dict:
        check_flags(flags, n.AFFECT_LIVE | n.AFFECT_CONFIG | TYPED_PARAM_STRING_OKAY,
                    "lxcDomainGetSchedulerParametersFlags")
        with self.drv.lock:
            dom = self._dom(ref)
            live = dom.active and not flags & n.AFFECT_CONFIG
            if live:
                cg = lifecycle.container_of(self.drv, dom).cgroup
                period, quota = cg.cpu_bandwidth()
                return {"cpu_shares": cg.cpu_shares(), "vcpu_period": period,
                        "vcpu_quota": quota}
            shares, period, quota = definition.cputune(dom.persistent_def or dom.current_def)
            return {"cpu_shares": shares or 0, "vcpu_period": period or 0,
                    "vcpu_quota": quota or 0}

    def domain_get_scheduler_parameters(self, ref: DomainRef, nparams: int = 3) -> dict:
        return self.domain_get_scheduler_parameters_flags(ref, nparams, 0)

    @_events
    def domain_set_scheduler_parameters_flags(self, ref: DomainRef, params: dict[str, Any],
                                              flags: int = 0) -> None:
        check_flags(flags, n.AFFECT_LIVE | n.AFFECT_CONFIG, "lxcDomainSetSchedulerParametersFlags")
        unknown = [k for k in params if k not in ("cpu_shares", "vcpu_period", "vcpu_quota")]
        if unknown:
            raise error(VIR_ERR_INVALID_ARG, f"parameter '{unknown[0]}' not supported",
                        domain=VIR_FROM_LXC)
        with self.drv.lock:
            dom = self._dom(ref)
            live = bool(flags & n.AFFECT_LIVE) or (not flags & n.AFFECT_CONFIG and dom.active)
            config = bool(flags & n.AFFECT_CONFIG) or (not flags & n.AFFECT_LIVE
                                                       and not dom.active)
            if live:
                cg = lifecycle.container_of(self.drv, dom).cgroup
                if "cpu_shares" in params:
                    cg.set_cpu_shares(int(params["cpu_shares"]))
                if "vcpu_period" in params or "vcpu_quota" in params:
                    cg.set_cpu_quota(params.get("vcpu_period"), params.get("vcpu_quota"))
            targets = ([dom.live_def] if live else []) + \
                ([dom.persistent_def] if config and dom.persistent else [])
            for ddef in targets:
                definition.set_cputune(ddef, params.get("cpu_shares"),
                                       params.get("vcpu_period"), params.get("vcpu_quota"))
            if live:
                lifecycle.save_status(self.drv, dom)
            if config and dom.persistent:
                self.drv.save_config(dom)

    def domain_set_scheduler_parameters(self, ref: DomainRef, params: dict[str, Any]) -> None:
        self.domain_set_scheduler_parameters_flags(ref, params, 0)

    # --- console -----------------------------------------------------------------------------
    def domain_open_console(self, ref: DomainRef, dev_name: str | None, stream: Any,
                            flags: int = 0) -> None:
        check_flags(flags, console.CONSOLE_FORCE | console.CONSOLE_SAFE,
                    "lxcDomainOpenConsole")
        with self.drv.lock:
            dom = self._dom(ref)
            if not dom.active:
                raise error(VIR_ERR_OPERATION_INVALID, "domain is not running",
                            domain=VIR_FROM_LXC)
            console.check_device(dom.live_def, dev_name)
            ct = lifecycle.container_of(self.drv, dom)
            console.open_console(self.drv.consoles, dom.uuid, ct.console_socket, stream, flags)

    # --- stats -------------------------------------------------------------------------------
    def domain_memory_stats(self, ref: DomainRef, flags: int = 0) -> dict:
        with self.drv.lock:
            dom = self._dom(ref)
            lifecycle.require_active(dom)
            return stats.memory_stats(dom, lifecycle.container_of(self.drv, dom))

    def domain_interface_stats(self, ref: DomainRef, path: str) -> list[int]:
        with self.drv.lock:
            dom = self._dom(ref)
            lifecycle.require_active(dom)
            return stats.interface_stats(dom, path)

    _LIST_FILTERS = 0xFF

    def connect_get_all_domain_stats(self, doms: list[DomainRef] | None, stats_bits: int,
                                     flags: int = 0) -> list[tuple[DomainRef, dict]]:
        check_flags(flags, self._LIST_FILTERS | n.GET_ALL_STATS_NOWAIT
                    | n.GET_ALL_STATS_BACKING | n.GET_ALL_STATS_ENFORCE_STATS,
                    "lxcConnectGetAllDomainStats")
        with self.drv.lock:
            objs = [self._dom(r) for r in doms] if doms else \
                self.drv.domains.list(flags & self._LIST_FILTERS)
            return [(self._ref(dom),
                     stats.domain_record(dom, self.drv.containers.get(dom.uuid), stats_bits))
                    for dom in objs]

def _host_uuid() -> str:
    for path in ("/sys/class/dmi/id/product_uuid", "/etc/machine-id"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        try:
            return str(uuidlib.UUID(text))
        except ValueError:
            continue
    return str(uuidlib.UUID(int=0))


def _cpu_mhz() -> int:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("cpu MHz"):
                    return int(float(line.split(":")[1]))
    except (OSError, ValueError):
        pass
    return 0


# --- opening ---------------------------------------------------------------------------------
class LxcDriver:
    """Accepts local ``lxc://`` URIs (a host or transport means the remote driver)."""

    name = "LXC"

    def open(self, uri: Any, flags: int, readonly: bool) -> DriverConnection | None:
        if getattr(uri, "driver", None) != "lxc" or uri.host or uri.transport:
            return None
        dirs = state_dir.dirs_for_uri(uri.path or "/", uri.param("root"))
        table = LxcHypervisor(state_for(dirs), str(uri))
        return DriverConnection(uri=str(uri), hypervisor=table, readonly=readonly)


def register() -> None:
    register_driver(LxcDriver())


__all__ = ["LxcDriver", "LxcHypervisor", "LxcDriverState", "forget_state_for_tests",
           "register", "state_for"]
