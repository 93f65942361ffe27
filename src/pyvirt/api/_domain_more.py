"""More of ``virDomain``: vCPUs and pinning, metadata, guest facts, scheduler, keys.

A mixin of :class:`pyvirt.api.domain.virDomain`; each method checks what
libvirt checks, dispatches to the hypervisor table and returns what
libvirt-python returns (tuples of booleans for CPU maps, dicts for typed
parameters). A driver without the entry point answers VIR_ERR_NO_SUPPORT.
"""

from __future__ import annotations

from typing import Any

from pyvirt.api._checks import check_not_none
from pyvirt.errors import VIR_FROM_DOMAIN

_FROM = VIR_FROM_DOMAIN
_TYPED_PARAM_STRING_OKAY = 1 << 2     # what libvirt-python adds to its typed-param calls


def cpumap_to_bools(cpumap: bytes, ncpus: int) -> tuple[bool, ...]:
    """libvirt's CPU bitmap (byte i, bit j = CPU 8i+j) as libvirt-python's tuple."""
    return tuple(bool(cpumap[cpu // 8] >> (cpu % 8) & 1) if cpu // 8 < len(cpumap) else False
                 for cpu in range(ncpus))


def bools_to_cpumap(cpus: Any, ncpus: int | None = None) -> bytes:
    """A sequence of truth values (one per CPU) as libvirt's CPU bitmap."""
    flags = list(cpus)
    size = max(len(flags), ncpus or 0)
    packed = bytearray((size + 7) // 8)
    for cpu, on in enumerate(flags):
        if on:
            packed[cpu // 8] |= 1 << (cpu % 8)
    return bytes(packed)


class DomainMore:
    """The virDomain methods beyond lifecycle, config and stats."""

    # (provided by virDomain)
    _call: Any
    _change: Any
    _conn: Any
    _ref: Any

    def _host_cpu_count(self) -> int:
        """virNodeGetCPUMap's CPU count, which sizes libvirt-python's CPU maps."""
        return self._conn._hv("node_get_cpu_map", "virNodeGetCPUMap")(False, False, 0)[2]

    # --- vCPUs ---------------------------------------------------------------
    def vcpus(self) -> tuple[list[tuple[int, int, int, int]], list[tuple[bool, ...]]]:
        """([(number, state, cpu time, cpu)], [cpu map per vCPU])."""
        nvcpus = self._call("domain_get_info", "virDomainGetInfo")[3]
        ncpus = self._host_cpu_count()
        info, maps = self._call("domain_get_vcpus", "virDomainGetVcpus", nvcpus,
                                (ncpus + 7) // 8)
        return ([tuple(i) for i in info], [cpumap_to_bools(m, ncpus) for m in maps])

    def pinVcpu(self, vcpu, cpumap) -> int:  # noqa: N802
        self._change("domain_pin_vcpu", "virDomainPinVcpu", vcpu,
                     bools_to_cpumap(cpumap, self._host_cpu_count()))
        return 0

    def pinVcpuFlags(self, vcpu, cpumap, flags=0) -> int:  # noqa: N802
        self._change("domain_pin_vcpu_flags", "virDomainPinVcpuFlags", vcpu,
                     bools_to_cpumap(cpumap, self._host_cpu_count()), flags)
        return 0

    def vcpuPinInfo(self, flags=0) -> list[tuple[bool, ...]]:  # noqa: N802
        nvcpus = self._call("domain_get_info", "virDomainGetInfo")[3]
        ncpus = self._host_cpu_count()
        maps = self._call("domain_get_vcpu_pin_info", "virDomainGetVcpuPinInfo", nvcpus,
                          (ncpus + 7) // 8, flags)
        return [cpumap_to_bools(m, ncpus) for m in maps]

    # --- metadata and name ---------------------------------------------------------
    def setMetadata(self, type, metadata, key, uri, flags=0) -> int:  # noqa: N802,A002
        self._change("domain_set_metadata", "virDomainSetMetadata", type, metadata, key, uri,
                     flags)
        return 0

    def metadata(self, type, uri, flags=0) -> str:  # noqa: A002
        return self._call("domain_get_metadata", "virDomainGetMetadata", type, uri, flags)

    def rename(self, new_name, flags=0) -> int:
        """Rename; this handle keeps the old name, as libvirt's virDomainPtr does."""
        check_not_none(new_name, "new_name", "virDomainRename", _FROM)
        self._change("domain_rename", "virDomainRename", new_name, flags)
        return 0

    # --- guest facts ----------------------------------------------------------------
    def hostname(self, flags=0) -> str:
        return self._call("domain_get_hostname", "virDomainGetHostname", flags)

    def getTime(self, flags=0) -> dict[str, int]:  # noqa: N802
        seconds, nseconds = self._call("domain_get_time", "virDomainGetTime", flags)
        return {"seconds": seconds, "nseconds": nseconds}

    def blockInfo(self, path, flags=0) -> list[int]:  # noqa: N802
        check_not_none(path, "disk", "virDomainGetBlockInfo", _FROM)
        return list(self._call("domain_get_block_info", "virDomainGetBlockInfo", path, flags))

    def interfaceAddresses(self, source, flags=0) -> dict[str, Any]:  # noqa: N802
        return dict(self._call("domain_interface_addresses", "virDomainInterfaceAddresses",
                               source, flags))

    def fsInfo(self, flags=0) -> list[Any]:  # noqa: N802
        return list(self._call("domain_get_fsinfo", "virDomainGetFSInfo", flags))

    def controlInfo(self, flags=0) -> list[int]:  # noqa: N802
        return list(self._call("domain_get_control_info", "virDomainGetControlInfo", flags))

    def diskErrors(self, flags=0) -> dict[str, int]:  # noqa: N802
        return dict(self._call("domain_get_disk_errors", "virDomainGetDiskErrors", -1, flags))

    # --- scheduler ------------------------------------------------------------------
    def schedulerType(self) -> tuple[str, int]:  # noqa: N802
        return tuple(self._call("domain_get_scheduler_type", "virDomainGetSchedulerType"))

    def schedulerParameters(self) -> dict[str, Any]:  # noqa: N802
        return dict(self._call("domain_get_scheduler_parameters",
                               "virDomainGetSchedulerParameters"))

    def schedulerParametersFlags(self, flags=0) -> dict[str, Any]:  # noqa: N802
        """libvirt-python asks with VIR_TYPED_PARAM_STRING_OKAY added to ``flags``."""
        return dict(self._call("domain_get_scheduler_parameters_flags",
                               "virDomainGetSchedulerParametersFlags", 1,
                               flags | _TYPED_PARAM_STRING_OKAY))

    def setSchedulerParameters(self, params) -> int:  # noqa: N802
        self.schedulerParameters()        # libvirt-python reads them first, as libvirt does
        self._change("domain_set_scheduler_parameters", "virDomainSetSchedulerParameters",
                     dict(params))
        return 0

    def setSchedulerParametersFlags(self, params, flags=0) -> int:  # noqa: N802
        """libvirt-python reads the current parameters first (same ``flags``)."""
        self.schedulerParametersFlags(flags)
        self._change("domain_set_scheduler_parameters_flags",
                     "virDomainSetSchedulerParametersFlags", dict(params), flags)
        return 0

    # --- input ----------------------------------------------------------------------
    def injectNMI(self, flags=0) -> int:  # noqa: N802
        self._change("domain_inject_nmi", "virDomainInjectNMI", flags)
        return 0

    def sendKey(self, codeset, holdtime, keycodes, nkeycodes, flags=0) -> int:  # noqa: N802
        self._change("domain_send_key", "virDomainSendKey", codeset, holdtime,
                     list(keycodes)[:nkeycodes], flags)
        return 0

    # --- devices by alias -------------------------------------------------------------
    def detachDeviceAlias(self, alias, flags=0) -> int:  # noqa: N802
        check_not_none(alias, "alias", "virDomainDetachDeviceAlias", _FROM)
        self._change("domain_detach_device_alias", "virDomainDetachDeviceAlias", alias, flags)
        return 0
