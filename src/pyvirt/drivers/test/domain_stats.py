"""Statistics the test driver makes up the way libvirt's does (clock-based counters,
fixed CPU and memory figures) and the ``state`` group of GetAllDomainStats."""

from __future__ import annotations

import os
import time

from pyvirt.drivers.base import DomainRef
from pyvirt.drivers.test import defaults, domxml
from pyvirt.drivers.test.checks import check_flags
from pyvirt.drivers.test.domain_base import DomainTableBase
from pyvirt.errors import (
    VIR_ERR_ARGUMENT_UNSUPPORTED, VIR_ERR_INVALID_ARG, VIR_ERR_OPERATION_UNSUPPORTED,
    VIR_FROM_DOMAIN, VIR_FROM_TEST, error,
)
from pyvirt.objects import numbers as n


def host_cpu_count() -> int:
    """How many CPUs this host has (the highest present CPU + 1, as libvirt counts)."""
    try:
        with open("/sys/devices/system/cpu/present", encoding="ascii") as f:
            last = f.read().strip().replace("-", ",").split(",")[-1]
        return int(last) + 1
    except (OSError, ValueError):
        return os.cpu_count() or 1


def _now_us() -> int:
    return time.time_ns() // 1000


class DomainStatsMixin(DomainTableBase):
    """CPU, block, interface and memory stats, and GetAllDomainStats."""

    def domain_get_cpu_stats(self, ref: DomainRef, start_cpu: int, ncpus: int,
                             flags: int = 0) -> list[dict]:
        check_flags(flags, 0, "testDomainGetCPUStats")
        with self._domains.lock:
            dom = self._dom(ref)
            self._require_active(dom)
            if start_cpu == -1:
                return [dict(defaults.CPU_TOTAL)]
            count = host_cpu_count()    # libvirt's test driver reports the real host's CPUs
            return [{"cpu_time": defaults.CPU_PER_CPU_TIME + cpu,
                     "vcpu_time": defaults.CPU_PER_VCPU_TIME + cpu}
                    for cpu in range(start_cpu, min(start_cpu + ncpus, count))]

    def domain_block_stats(self, ref: DomainRef, path: str) -> list[int]:
        if not path:
            raise error(VIR_ERR_OPERATION_UNSUPPORTED, "summary statistics are not supported yet",
                        domain=VIR_FROM_TEST)
        with self._domains.lock:
            dom = self._dom(ref)
            self._require_active(dom)
            sources = [s.get("file") or s.get("dev") for s in
                       dom.live_def.node.iterfind("devices/disk/source")]
            if path not in domxml.disk_targets(dom.live_def) and path not in sources:
                raise error(VIR_ERR_INVALID_ARG, f"invalid path: {path}", domain=VIR_FROM_TEST)
        now = _now_us()
        return [now // 10, now // 20, now // 30, now // 40, now // 1_000_000 // 2]

    def domain_interface_stats(self, ref: DomainRef, path: str) -> list[int]:
        with self._domains.lock:
            dom = self._dom(ref)
            self._require_active(dom)
            known = [name for pair in domxml.interface_names(dom.live_def) for name in pair if name]
            if path not in known:
                raise error(VIR_ERR_INVALID_ARG, f"'{path}' is not a known interface",
                            domain=VIR_FROM_DOMAIN)
        now = _now_us()
        sec = now // 1_000_000
        return [now // 10, now // 100, sec, sec // 2, now // 20, now // 110, sec // 3, sec // 4]

    def domain_memory_stats(self, ref: DomainRef, max_stats: int = 13,
                            flags: int = 0) -> dict:
        check_flags(flags, 0, "testDomainMemoryStats")
        with self._domains.lock:
            dom = self._dom(ref)
            self._require_active(dom)
            stats = {"actual": domxml.memory_kib(dom.live_def)}
        stats.update(defaults.MEMORY_STATS_KIB)
        return stats

    _STATE_FILTERS = 0xFF

    def connect_get_all_domain_stats(self, doms: list[DomainRef] | None, stats: int,
                                     flags: int = 0) -> list[tuple[DomainRef, dict]]:
        check_flags(flags, self._STATE_FILTERS | n.GET_ALL_STATS_NOWAIT
                    | n.GET_ALL_STATS_BACKING | n.GET_ALL_STATS_ENFORCE_STATS,
                    "testConnectGetAllDomainStats")
        if flags & n.GET_ALL_STATS_ENFORCE_STATS and stats & ~n.STATS_STATE:
            raise error(VIR_ERR_ARGUMENT_UNSUPPORTED,
                        f"Stats types bits 0x{stats & ~n.STATS_STATE:x} are not supported by "
                        "this daemon", domain=VIR_FROM_TEST)
        with self._domains.lock:
            if doms:
                objs = [self._dom(r) for r in doms]
            else:
                objs = self._domains.list(flags & self._STATE_FILTERS)
            result = []
            for dom in objs:
                record: dict[str, int] = {}
                if not stats or stats & n.STATS_STATE:
                    record = {"state.state": int(dom.state), "state.reason": dom.reason}
                result.append((self._ref(dom), record))
            return result
