"""A domain's resource tuning, read from its XML (no I/O).

``<memtune>`` hard_limit / soft_limit / swap_hard_limit (KiB after units),
``<cputune>`` shares and the period/quota pairs (per vCPU, global, emulator),
``<blkiotune>`` weight. A domain has one cgroup here (libvirt makes one per
vCPU thread as well), so the group's CFS bandwidth is the global limit, else
the per-vCPU quota times the vCPU count. Values libvirt
treats as unlimited (``VIR_DOMAIN_MEMORY_PARAM_UNLIMITED``) become None.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyvirt.errors import VIR_ERR_XML_ERROR, VIR_FROM_DOMAIN, error

#: VIR_DOMAIN_MEMORY_PARAM_UNLIMITED, in KiB
MEMORY_UNLIMITED = 9007199254740991
#: libvirt's largest CFS quota (µs)
QUOTA_MAX = 17592186044415
_UNITS = {"b": 1, "bytes": 1, "k": 1024, "kib": 1024, "kb": 1000, "m": 1024 ** 2,
          "mib": 1024 ** 2, "mb": 1000 ** 2, "g": 1024 ** 3, "gib": 1024 ** 3,
          "gb": 1000 ** 3, "t": 1024 ** 4, "tib": 1024 ** 4, "tb": 1000 ** 4}


@dataclass(frozen=True)
class Tuning:
    """What the domain's cgroup should be given; None leaves the kernel's default."""

    memory_hard_kib: int | None = None
    memory_soft_kib: int | None = None
    swap_hard_kib: int | None = None
    cpu_shares: int | None = None
    cpu_period_us: int | None = None      # the whole group's CFS period and quota
    cpu_quota_us: int | None = None
    blkio_weight: int | None = None
    vcpu_period_us: int | None = None     # as written: <period>/<quota> are per vCPU,
    vcpu_quota_us: int | None = None      # <global_*> for the whole domain,
    global_period_us: int | None = None   # <emulator_*> for QEMU's own threads
    global_quota_us: int | None = None
    emulator_period_us: int | None = None
    emulator_quota_us: int | None = None

    def is_empty(self) -> bool:
        return all(v is None for v in vars(self).values())


def group_bandwidth(vcpus: int, vcpu_period: int | None, vcpu_quota: int | None,
                    global_period: int | None, global_quota: int | None
                    ) -> tuple[int | None, int | None]:
    """One cgroup for the whole domain: (period, quota) it should get. A global
    limit wins; per-vCPU quota scales by the vCPU count (vCPUs share one group)."""
    if global_quota is not None or global_period is not None:
        return global_period, global_quota
    if vcpu_quota is None:
        return vcpu_period, None
    period = vcpu_period or 100000
    return period, min(QUOTA_MAX, vcpu_quota * max(1, vcpus))


def _root(domain: Any) -> Any:
    return getattr(domain, "node", domain)


def _kib(el: Any) -> int | None:
    if el is None or not (el.text or "").strip():
        return None
    unit = (el.get("unit") or "KiB").lower()
    if unit not in _UNITS:
        raise error(VIR_ERR_XML_ERROR, f"unknown unit '{el.get('unit')}' in <{el.tag}>",
                    domain=VIR_FROM_DOMAIN)
    try:
        value = int(el.text.strip())
    except ValueError as err:
        raise error(VIR_ERR_XML_ERROR, f"invalid value '{el.text.strip()}' in <{el.tag}>",
                    domain=VIR_FROM_DOMAIN) from err
    kib = value * _UNITS[unit] // 1024
    return None if kib >= MEMORY_UNLIMITED else kib


def _int(el: Any, low: int, high: int) -> int | None:
    if el is None or not (el.text or "").strip():
        return None
    text = el.text.strip()
    try:
        value = int(text)
    except ValueError as err:
        raise error(VIR_ERR_XML_ERROR, f"invalid value '{text}' in <{el.tag}>",
                    domain=VIR_FROM_DOMAIN) from err
    if not low <= value <= high:
        raise error(VIR_ERR_XML_ERROR, f"value of <{el.tag}> must be in range "
                    f"[{low}, {high}]", domain=VIR_FROM_DOMAIN)
    return value


def tuning_of(domain: Any) -> Tuning:
    """The :class:`Tuning` of a DomainDef (or its ``<domain>`` lxml element)."""
    root = _root(domain)

    def period(tag: str) -> int | None:
        return _int(root.find(f"cputune/{tag}"), 1000, 1000000)

    def quota(tag: str) -> int | None:
        value = _int(root.find(f"cputune/{tag}"), -1, QUOTA_MAX)
        if value is not None and 0 <= value < 1000:
            raise error(VIR_ERR_XML_ERROR, f"Value of cputune '{tag}' must be in range "
                        f"[1000, {QUOTA_MAX}]", domain=VIR_FROM_DOMAIN)
        return None if value is not None and value < 0 else value

    vcpus = _int(root.find("vcpu"), 1, 16384) or 1
    raw = {"vcpu_period_us": period("period"), "vcpu_quota_us": quota("quota"),
           "global_period_us": period("global_period"), "global_quota_us": quota("global_quota"),
           "emulator_period_us": period("emulator_period"),
           "emulator_quota_us": quota("emulator_quota")}
    group_period, group_quota = group_bandwidth(
        vcpus, raw["vcpu_period_us"], raw["vcpu_quota_us"], raw["global_period_us"],
        raw["global_quota_us"])
    return Tuning(
        memory_hard_kib=_kib(root.find("memtune/hard_limit")),
        memory_soft_kib=_kib(root.find("memtune/soft_limit")),
        swap_hard_kib=_kib(root.find("memtune/swap_hard_limit")),
        cpu_shares=_int(root.find("cputune/shares"), 2, 262144),
        cpu_period_us=group_period, cpu_quota_us=group_quota,
        blkio_weight=_int(root.find("blkiotune/weight"), 100, 1000),
        **raw,
    )
