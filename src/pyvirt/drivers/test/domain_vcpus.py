"""vCPU placement as libvirt's test driver reports it: vcpuinfo, pinning, the node CPU map.

CPU maps cross the interface as bytes (bit N of byte N//8 = host CPU N), the
shape of remote_protocol's opaque ``cpumap``/``cpumaps``.
"""

from __future__ import annotations

import time

from pyvirt.drivers.base import DomainRef
from pyvirt.drivers.test import domxml
from pyvirt.drivers.test.checks import check_flags
from pyvirt.drivers.test.domain_base import DomainTableBase
from pyvirt.errors import VIR_ERR_INVALID_ARG, VIR_ERR_OPERATION_INVALID, VIR_FROM_TEST, error
from pyvirt.objects import numbers as n
from pyvirt.objects.domain_obj import DomainObj

#: virNodeGetCPUMap of libvirt's test driver: 8 CPUs, 0, 2 and 4 online.
NODE_CPU_MAP = (8, bytes([0b00010101]), 3)
VCPU_RUNNING = 1


def _bits(cpumap: bytes, ncpus: int) -> set[int]:
    return {cpu for cpu in range(min(ncpus, len(cpumap) * 8)) if cpumap[cpu // 8] >> (cpu % 8) & 1}


def _pack(cpus: set[int], maplen: int) -> bytes:
    raw = bytearray(maplen)
    for cpu in cpus:
        if cpu < maplen * 8:
            raw[cpu // 8] |= 1 << (cpu % 8)
    return bytes(raw)


class DomainVcpusMixin(DomainTableBase):
    """virDomainGetVcpus, PinVcpuFlags, GetVcpuPinInfo and virNodeGetCPUMap."""

    def _host_cpus(self) -> int:
        return self.state.node.cpus

    def _pins(self, dom: DomainObj) -> dict[int, set[int]]:
        return dom.live_extra.setdefault("vcpu_pins", {})

    def _pin_of(self, dom: DomainObj, vcpu: int) -> set[int]:
        return self._pins(dom).get(vcpu, set(range(self._host_cpus())))

    def node_get_cpu_map(self, need_map: bool = True, need_online: bool = True,
                         flags: int = 0) -> tuple[bytes | None, int | None, int]:
        """(cpumap, online count, cpu count) as REMOTE_PROC_NODE_GET_CPU_MAP returns."""
        check_flags(flags, 0, "testNodeGetCPUMap")
        total, cpumap, online = NODE_CPU_MAP
        return (cpumap if need_map else None, online if need_online else None, total)

    def domain_get_vcpus(self, ref: DomainRef, maxinfo: int, maplen: int
                         ) -> tuple[list[tuple[int, int, int, int]], list[bytes]]:
        """(number, state, cpu_time ns, cpu) per vCPU, and each vCPU's affinity map."""
        with self._domains.lock:
            dom = self._dom(ref)
            if not dom.active:
                raise error(VIR_ERR_OPERATION_INVALID,
                            "cannot list vcpus for an inactive domain", domain=VIR_FROM_TEST)
            count = min(domxml.vcpus(dom.live_def), maxinfo)
            cpu_time = time.time_ns() // 10_000
            info, maps = [], []
            for vcpu in range(count):
                pins = self._pin_of(dom, vcpu)
                info.append((vcpu, VCPU_RUNNING, cpu_time, max(pins) if pins else 0))
                maps.append(_pack(pins, maplen))
            return info, maps

    def domain_pin_vcpu_flags(self, ref: DomainRef, vcpu: int, cpumap: bytes,
                              flags: int = 0) -> None:
        check_flags(flags, 0, "testDomainPinVcpuFlags")   # libvirt's pins the live vCPU only
        with self._domains.lock:
            dom = self._dom(ref)
            self._require_active(dom)
            if vcpu < 0 or vcpu >= domxml.vcpus(dom.live_def):
                raise error(VIR_ERR_INVALID_ARG, f"requested vcpu '{vcpu}' is not present in "
                            "the domain", domain=VIR_FROM_TEST)
            self._pins(dom)[vcpu] = _bits(cpumap, self._host_cpus())

    def domain_pin_vcpu(self, ref: DomainRef, vcpu: int, cpumap: bytes) -> None:
        self.domain_pin_vcpu_flags(ref, vcpu, cpumap, 0)

    def domain_get_vcpu_pin_info(self, ref: DomainRef, ncpumaps: int, maplen: int,
                                 flags: int = 0) -> list[bytes]:
        check_flags(flags, n.AFFECT_LIVE | n.AFFECT_CONFIG, "testDomainGetVcpuPinInfo")
        with self._domains.lock:
            dom = self._dom(ref)
            live, config = self._defs_for(dom, flags)
            ddef = live if live is not None else config
            count = min(domxml.vcpus(ddef), ncpumaps)
            every = set(range(self._host_cpus()))
            return [_pack(self._pin_of(dom, vcpu) if live is not None else every, maplen)
                    for vcpu in range(count)]
