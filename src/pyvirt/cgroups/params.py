"""libvirt's typed parameters for ``virsh memtune``/``schedinfo``/``blkiotune``.

Getters build the dicts libvirt-python returns (``memoryParameters()``,
``schedulerParameters()``, ``blkioParameters()``) from a :class:`Tuning` (the
configuration) or from a live :class:`DomainCgroup`. Setters check a dict's
names and values, apply it to a live group, and return the new :class:`Tuning`
(the driver writes it into the XML with :func:`write_tuning`, a tree edit).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from lxml import etree

from pyvirt.cgroups.group import DomainCgroup
from pyvirt.conf.domain import DOMAIN_ORDER
from pyvirt.cgroups.threads import thread_bandwidth
from pyvirt.cgroups.tuning import MEMORY_UNLIMITED, QUOTA_MAX, Tuning, group_bandwidth
from pyvirt.errors import (
    VIR_ERR_ARGUMENT_UNSUPPORTED, VIR_ERR_INVALID_ARG, VIR_FROM_QEMU, error,
)

SCHEDULER_TYPE = "posix"
MEMORY_FIELDS = {"hard_limit": "memory_hard_kib", "soft_limit": "memory_soft_kib",
                 "swap_hard_limit": "swap_hard_kib"}
SCHED_FIELDS = {"cpu_shares": "cpu_shares",
                "global_period": "global_period_us", "global_quota": "global_quota_us",
                "vcpu_period": "vcpu_period_us", "vcpu_quota": "vcpu_quota_us",
                "emulator_period": "emulator_period_us", "emulator_quota": "emulator_quota_us",
                "iothread_period": None, "iothread_quota": None}
BLKIO_STRINGS = ("device_weight", "device_read_iops_sec", "device_write_iops_sec",
                 "device_read_bytes_sec", "device_write_bytes_sec")


def _unlimited(kib: int | None) -> int:
    return MEMORY_UNLIMITED if kib is None else kib


# --- getters -----------------------------------------------------------------------
def memory_parameters(tuning: Tuning, group: DomainCgroup | None = None) -> dict[str, int]:
    """``{'hard_limit': KiB, 'soft_limit': KiB, 'swap_hard_limit': KiB}`` (unlimited =
    9007199254740991); live values from ``group`` when given."""
    if group is not None:
        return {"hard_limit": _unlimited(group.memory_hard_limit_kib()),
                "soft_limit": _unlimited(group.memory_soft_limit_kib()),
                "swap_hard_limit": _unlimited(tuning.swap_hard_kib)}
    return {name: _unlimited(getattr(tuning, attr)) for name, attr in MEMORY_FIELDS.items()}


def scheduler_parameters(tuning: Tuning, group: DomainCgroup | None = None) -> dict[str, int]:
    """libvirt's nine QEMU scheduler parameters; unset ones are 0 in the config,
    and a live domain shows its group's shares and bandwidth as the global pair, and
    its ``vcpuN``/``emulator`` groups' bandwidth (when it has them) as those pairs."""
    out = {}
    for name, attr in SCHED_FIELDS.items():
        value = getattr(tuning, attr) if attr else None
        out[name] = 0 if value is None else value
    if group is not None:
        shares = group.cpu_shares()
        period, quota = group.cpu_bandwidth()
        out["cpu_shares"] = shares if shares is not None else out["cpu_shares"]
        out["global_period"], out["global_quota"] = period, quota
        for kind, (k_period, k_quota) in thread_bandwidth(group).items():
            out[f"{kind}_period"], out[f"{kind}_quota"] = k_period, k_quota
        for kind in ("vcpu", "emulator", "iothread"):
            if not out[f"{kind}_period"]:
                out[f"{kind}_period"] = period
            if not out[f"{kind}_quota"]:
                out[f"{kind}_quota"] = -1
    return out


def blkio_parameters(tuning: Tuning, group: DomainCgroup | None = None) -> dict[str, Any]:
    weight = group.blkio_weight() if group is not None else None
    if weight is None:
        weight = tuning.blkio_weight or 0
    return {"weight": weight, **{name: "" for name in BLKIO_STRINGS}}


# --- setters -----------------------------------------------------------------------
def _check_names(params: dict[str, Any], allowed: Any) -> None:
    for name in params:
        if name not in allowed:
            raise error(VIR_ERR_ARGUMENT_UNSUPPORTED, f"parameter '{name}' not supported",
                        domain=VIR_FROM_QEMU)


def _in_range(name: str, value: Any, low: int, high: int) -> int:
    if not isinstance(value, int) or not low <= value <= high:
        raise error(VIR_ERR_INVALID_ARG, f"value of '{name}' is out of range [{low}, {high}]",
                    domain=VIR_FROM_QEMU)
    return value


def with_memory_parameters(tuning: Tuning, params: dict[str, Any]) -> Tuning:
    """The tuning after ``setMemoryParameters(params)`` (KiB; unlimited allowed)."""
    _check_names(params, MEMORY_FIELDS)
    changes = {}
    for name, value in params.items():
        value = _in_range(name, value, 0, MEMORY_UNLIMITED)
        changes[MEMORY_FIELDS[name]] = None if value >= MEMORY_UNLIMITED else value
    new = dataclasses.replace(tuning, **changes)
    if new.swap_hard_kib is not None and new.memory_hard_kib is not None and \
            new.memory_hard_kib > new.swap_hard_kib:
        raise error(VIR_ERR_INVALID_ARG, "memory hard_limit tunable value must be lower "
                    "than or equal to swap_hard_limit", domain=VIR_FROM_QEMU)
    return new


def with_scheduler_parameters(tuning: Tuning, params: dict[str, Any], vcpus: int = 1) -> Tuning:
    """The tuning after ``setSchedulerParameters(params)``."""
    _check_names(params, SCHED_FIELDS)
    changes: dict[str, Any] = {}
    for name, value in params.items():
        attr = SCHED_FIELDS[name]
        if name == "cpu_shares":
            changes[attr] = _in_range(name, value, 2, 262144)
        elif name.endswith("_period"):
            value = _in_range(name, value, 0, 1000000)
            if 0 < value < 1000:
                _in_range(name, value, 1000, 1000000)
            if attr:
                changes[attr] = value or None
        else:
            value = _in_range(name, value, -1, QUOTA_MAX)
            if 0 <= value < 1000:
                _in_range(name, value, 1000, QUOTA_MAX)
            if attr:
                changes[attr] = None if value < 0 else value
    new = dataclasses.replace(tuning, **changes)
    period, quota = group_bandwidth(vcpus, new.vcpu_period_us, new.vcpu_quota_us,
                                    new.global_period_us, new.global_quota_us)
    return dataclasses.replace(new, cpu_period_us=period, cpu_quota_us=quota)


def with_blkio_parameters(tuning: Tuning, params: dict[str, Any]) -> Tuning:
    _check_names(params, ("weight", *BLKIO_STRINGS))
    for name in BLKIO_STRINGS:
        if params.get(name):
            raise error(VIR_ERR_ARGUMENT_UNSUPPORTED, f"parameter '{name}' not supported",
                        domain=VIR_FROM_QEMU)
    if "weight" not in params:
        return tuning
    return dataclasses.replace(tuning, blkio_weight=_in_range("weight", params["weight"],
                                                              100, 1000))


# --- the XML (config) ------------------------------------------------------------------
_XML = (("memtune", (("hard_limit", "memory_hard_kib"), ("soft_limit", "memory_soft_kib"),
                     ("swap_hard_limit", "swap_hard_kib"))),
        ("cputune", (("shares", "cpu_shares"), ("period", "vcpu_period_us"),
                     ("quota", "vcpu_quota_us"), ("global_period", "global_period_us"),
                     ("global_quota", "global_quota_us"),
                     ("emulator_period", "emulator_period_us"),
                     ("emulator_quota", "emulator_quota_us"))),
        ("blkiotune", (("weight", "blkio_weight"),)))


#: libvirt's child order of each element (and of <domain> from conf)
_ORDER = {"memtune": ("hard_limit", "soft_limit", "min_guarantee", "swap_hard_limit"),
          "cputune": ("shares", "period", "quota", "global_period", "global_quota",
                      "emulator_period", "emulator_quota", "iothread_period",
                      "iothread_quota"),
          "blkiotune": ("weight", "device")}


def _insert_ordered(parent: Any, tag: str, order: tuple[str, ...]) -> Any:
    """A new ``<tag>`` under ``parent``, before the first child libvirt puts after it
    (children ``order`` does not name, such as ``<vcpupin>``, come after all it names)."""
    el = etree.Element(tag)
    rank = order.index(tag)
    for child in parent:
        if not isinstance(child.tag, str):
            continue
        child_rank = order.index(child.tag) if child.tag in order else len(order)
        if child_rank > rank:
            child.addprevious(el)
            return el
    parent.append(el)
    return el


def write_tuning(domain: Any, tuning: Tuning) -> None:
    """Set ``<memtune>``/``<cputune>``/``<blkiotune>`` children of a domain's tree to
    ``tuning`` (a tree edit; other children of those elements are kept)."""
    root = getattr(domain, "node", domain)
    for parent_tag, fields in _XML:
        parent = root.find(parent_tag)
        for tag, attr in fields:
            value = getattr(tuning, attr)
            el = parent.find(tag) if parent is not None else None
            if value is None:
                if el is not None:
                    parent.remove(el)
                continue
            if parent is None:
                parent = _insert_ordered(root, parent_tag, DOMAIN_ORDER)
            if el is None:
                el = _insert_ordered(parent, tag, _ORDER[parent_tag])
            el.text = str(value)
            if parent_tag == "memtune":
                el.set("unit", "KiB")
        if parent is not None and len(parent) == 0 and parent.getparent() is not None:
            root.remove(parent)
