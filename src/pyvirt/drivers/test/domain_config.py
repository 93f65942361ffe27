"""Memory and vcpus changes (with libvirt's --live/--config/--current rules).

libvirt 9.0's test driver has no device attach/detach/update: those entry points
are left out, so the API answers VIR_ERR_NO_SUPPORT as libvirt does.
"""

from __future__ import annotations

from pyvirt.drivers.base import DomainRef
from pyvirt.drivers.test import defaults, domxml
from pyvirt.drivers.test.checks import bare_error, check_flags
from pyvirt.drivers.test.domain_base import DomainTableBase
from pyvirt.errors import (
    VIR_ERR_INVALID_ARG, VIR_ERR_OPERATION_INVALID, VIR_FROM_DOMAIN, VIR_FROM_TEST, error,
)
from pyvirt.objects import numbers as n


class DomainConfigMixin(DomainTableBase):
    """setMemory/setVcpus (flags semantics)."""

    def domain_set_memory_flags(self, ref: DomainRef, kib: int, flags: int = 0) -> None:
        check_flags(flags, n.AFFECT_LIVE | n.AFFECT_CONFIG | n.MEM_MAXIMUM,
                    "testDomainSetMemoryFlags")
        with self._domains.lock:
            dom = self._dom(ref)
            live, config = self._defs_for(dom, flags)
            if flags & n.MEM_MAXIMUM:
                if live is not None:
                    raise error(VIR_ERR_OPERATION_INVALID,
                                "cannot resize the maximum memory on an active domain",
                                domain=VIR_FROM_TEST)
                domxml.set_max_memory_kib(config, kib)
                return
            for ddef in (live, config):
                if ddef is not None and kib > domxml.max_memory_kib(ddef):
                    raise error(VIR_ERR_INVALID_ARG,
                                "cannot set memory higher than max memory", domain=VIR_FROM_TEST)
            for ddef in (live, config):
                if ddef is not None:
                    domxml.set_memory_kib(ddef, kib)

    def domain_set_memory(self, ref: DomainRef, kib: int) -> None:
        self.domain_set_memory_flags(ref, kib, n.AFFECT_LIVE)

    def domain_set_max_memory(self, ref: DomainRef, kib: int) -> None:
        self.domain_set_memory_flags(ref, kib, n.MEM_MAXIMUM)

    def domain_set_vcpus_flags(self, ref: DomainRef, count: int, flags: int = 0) -> None:
        check_flags(flags, n.AFFECT_LIVE | n.AFFECT_CONFIG | n.VCPU_MAXIMUM,
                    "testDomainSetVcpusFlags")
        if count == 0:
            raise bare_error(VIR_ERR_INVALID_ARG,
                             "nvcpus in virDomainSetVcpusFlags must not be zero", VIR_FROM_DOMAIN)
        if flags & n.VCPU_MAXIMUM and flags & n.AFFECT_LIVE:
            raise bare_error(VIR_ERR_INVALID_ARG, "Flag 'VIR_DOMAIN_AFFECT_CONFIG' is required "
                             "by flag 'VIR_DOMAIN_VCPU_MAXIMUM'", VIR_FROM_DOMAIN)
        if count > defaults.MAX_VCPUS:
            raise error(VIR_ERR_INVALID_ARG, "requested cpu amount exceeds maximum supported "
                        f"amount ({count} > {defaults.MAX_VCPUS})", domain=VIR_FROM_TEST)
        with self._domains.lock:
            dom = self._dom(ref)
            live, config = self._defs_for(dom, flags)
            if flags & n.VCPU_MAXIMUM:
                if live is not None:
                    raise error(VIR_ERR_OPERATION_INVALID,
                                "cannot change maximum vCPUs of a running domain",
                                domain=VIR_FROM_TEST)
                domxml.set_max_vcpus(config, count)
                return
            for ddef in (live, config):
                if ddef is not None and count > domxml.max_vcpus(ddef):
                    raise error(VIR_ERR_INVALID_ARG, "requested cpu amount exceeds maximum "
                                f"({count} > {domxml.max_vcpus(ddef)})", domain=VIR_FROM_TEST)
            for ddef in (live, config):
                if ddef is not None:
                    domxml.set_vcpus(ddef, count)

    def domain_set_vcpus(self, ref: DomainRef, count: int) -> None:
        self.domain_set_vcpus_flags(ref, count, n.AFFECT_LIVE)

    def domain_get_vcpus_flags(self, ref: DomainRef, flags: int = 0) -> int:
        check_flags(flags, n.AFFECT_LIVE | n.AFFECT_CONFIG | n.VCPU_MAXIMUM,
                    "testDomainGetVcpusFlags")
        if flags & n.AFFECT_LIVE and flags & n.AFFECT_CONFIG:
            raise bare_error(VIR_ERR_INVALID_ARG, "Flags 'VIR_DOMAIN_AFFECT_LIVE' and "
                             "'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive", VIR_FROM_DOMAIN)
        with self._domains.lock:
            dom = self._dom(ref)
            live, config = self._defs_for(dom, flags & ~n.VCPU_MAXIMUM)
            ddef = live if live is not None else config
            return domxml.max_vcpus(ddef) if flags & n.VCPU_MAXIMUM else domxml.vcpus(ddef)

    def domain_get_max_vcpus(self, ref: DomainRef) -> int:
        return self.domain_get_vcpus_flags(ref, n.AFFECT_LIVE | n.VCPU_MAXIMUM)
