"""vCPU count changes: ``<vcpu current='N'>MAX</vcpu>`` in the config, and live
hot-plug of CPUs the machine offers (``-smp N,maxcpus=MAX``).

Live: ``query-hotpluggable-cpus`` lists each CPU slot (its ``props`` and, when
present, a ``qom-path``); a plug is ``device_add`` of the slot's ``type`` with
its props and libvirt's alias ``vcpuN``; an unplug is ``device_del`` of a CPU we
plugged, done when QEMU's ``DEVICE_DELETED`` comes (the guest must release it).
The boot CPUs started with the process cannot be unplugged (QEMU's rule too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyvirt.drivers.qemu import isolation, lifecycle
from pyvirt.errors import (
    VIR_ERR_INVALID_ARG, VIR_ERR_OPERATION_FAILED,
    VIR_ERR_OPERATION_UNSUPPORTED, VIR_FROM_DOMAIN, VIR_FROM_QEMU, error,
)
from pyvirt.objects import numbers as n

if TYPE_CHECKING:
    from pyvirt.drivers.qemu.driver_state import QemuDriverState
    from pyvirt.objects.domain import DomainObj

#: seconds an unplug waits for the guest to give the CPU back (libvirt: 5 s)
UNPLUG_WAIT_S = 5.0
ALIAS_PREFIX = "vcpu"


def max_vcpus(ddef: Any) -> int:
    return ddef.vcpus or 1


def current_vcpus(ddef: Any) -> int:
    return ddef.vcpus_current or max_vcpus(ddef)


def set_current(ddef: Any, count: int) -> None:
    """``<vcpu current=…>`` (dropped when it equals the maximum, as libvirt writes it)."""
    vcpu = ddef.node.find("vcpu")
    if count == max_vcpus(ddef):
        if vcpu is not None:
            vcpu.attrib.pop("current", None)
    else:
        ddef.vcpus_current = count


def set_maximum(ddef: Any, count: int) -> None:
    current = min(current_vcpus(ddef), count)
    ddef.vcpus = count
    set_current(ddef, current)


def check_request(count: int, flags: int) -> None:
    """libvirt's argument checks, before any state is looked at."""
    if count == 0:
        raise error(VIR_ERR_INVALID_ARG, "nvcpus in virDomainSetVcpusFlags must not be zero",
                    domain=VIR_FROM_DOMAIN)
    if flags & n.VCPU_MAXIMUM and flags & n.AFFECT_LIVE:
        raise error(VIR_ERR_INVALID_ARG, "Flag 'VIR_DOMAIN_AFFECT_CONFIG' is required by flag "
                    "'VIR_DOMAIN_VCPU_MAXIMUM'", domain=VIR_FROM_DOMAIN)


def check_limit(ddef: Any, count: int) -> None:
    if count > max_vcpus(ddef):
        raise error(VIR_ERR_INVALID_ARG, "requested vcpus is greater than max allowable vcpus "
                    f"for the live domain: {count} > {max_vcpus(ddef)}", domain=VIR_FROM_QEMU)


def plan(slots: list[dict], count: int) -> tuple[list[dict], list[str]]:
    """What to plug (free slots, lowest first) or unplug (our CPUs, newest first)
    to have ``count`` CPUs, from ``query-hotpluggable-cpus``'s answer."""
    present = [s for s in slots if s.get("qom-path")]
    free = sorted((s for s in slots if not s.get("qom-path")), key=_slot_order)
    have = sum(s.get("vcpus-count", 1) for s in present)
    if count > have:
        need = count - have
        return free[:need], []
    ours = sorted((s for s in present if _alias(s)), key=_slot_order, reverse=True)
    drop = have - count
    if drop > len(ours):
        raise error(VIR_ERR_OPERATION_UNSUPPORTED, "vCPU unplug: only CPUs hot-plugged through "
                    f"this driver can be removed ({len(ours)} of them, {drop} requested)",
                    domain=VIR_FROM_QEMU)
    return [], [_alias(s) for s in ours[:drop]]


def _slot_order(slot: dict) -> tuple:
    props = slot.get("props", {})
    return tuple(props.get(k, 0) for k in ("node-id", "socket-id", "die-id", "core-id",
                                             "thread-id"))


def _alias(slot: dict) -> str | None:
    """``vcpuN`` when the slot holds a CPU we plugged (its qom-path ends with the id)."""
    path = slot.get("qom-path") or ""
    leaf = path.rsplit("/", 1)[-1]
    return leaf if leaf.startswith(ALIAS_PREFIX) and leaf[len(ALIAS_PREFIX):].isdigit() \
        else None


def cpu_index(slot: dict, slots: list[dict]) -> int:
    """The slot's place in topology order: vCPU ids as libvirt numbers them."""
    return sorted(slots, key=_slot_order).index(slot)


def hotplug(drv: "QemuDriverState", dom: "DomainObj", count: int) -> None:
    """Plug or unplug CPUs until the running guest has ``count``."""
    rt = lifecycle.runtime_of(drv, dom)
    slots = rt.monitor.execute("query-hotpluggable-cpus")
    to_plug, to_unplug = plan(slots, count)
    if len(to_plug) < count - sum(s.get("vcpus-count", 1) for s in slots if s.get("qom-path")):
        raise error(VIR_ERR_OPERATION_UNSUPPORTED, "this machine offers no free hot-pluggable "
                    "CPU slot", domain=VIR_FROM_QEMU)
    for slot in to_plug:
        alias = f"{ALIAS_PREFIX}{cpu_index(slot, slots)}"
        rt.monitor.execute("device_add", {"driver": slot["type"], "id": alias,
                                          **slot.get("props", {})})
    for alias in to_unplug:
        rt.forget_deleted(alias)
        rt.monitor.execute("device_del", {"id": alias})
        if not rt.wait_deleted(alias, UNPLUG_WAIT_S):
            raise error(VIR_ERR_OPERATION_FAILED, "vcpu unplug request timed out. Unplug "
                        "result must be manually inspected in the domain",
                        domain=VIR_FROM_QEMU)
    isolation.place_threads(drv, dom, rt, dom.live_def)   # a new vCPU gets its cgroup


def set_vcpus(drv: "QemuDriverState", dom: "DomainObj", count: int, flags: int,
              selected: tuple[bool, bool]) -> None:
    """``virDomainSetVcpusFlags`` once the flags chose (live, config)."""
    live, config = selected
    if flags & n.VCPU_MAXIMUM:
        if live:
            raise error(VIR_ERR_INVALID_ARG, "maximum vcpu count of a live domain can't be "
                        "modified", domain=VIR_FROM_QEMU)
        set_maximum(dom.persistent_def, count)
        drv.save_config(dom)
        return
    if live:
        check_limit(dom.live_def, count)
    if config and count > max_vcpus(dom.persistent_def):
        raise error(VIR_ERR_INVALID_ARG, "requested vcpus is greater than max allowable vcpus "
                    f"for the persistent domain: {count} > {max_vcpus(dom.persistent_def)}",
                    domain=VIR_FROM_QEMU)
    if live and count != current_vcpus(dom.live_def):
        try:
            hotplug(drv, dom, count)
        finally:
            _note_live_count(drv, dom)
    if config:
        set_current(dom.persistent_def, count)
        drv.save_config(dom)


def _note_live_count(drv: "QemuDriverState", dom: "DomainObj") -> None:
    """The live XML's count as QEMU has it now (also after a partial change)."""
    rt = lifecycle.runtime_of(drv, dom)
    slots = rt.monitor.execute("query-hotpluggable-cpus")
    set_current(dom.live_def, sum(s.get("vcpus-count", 1) for s in slots if s.get("qom-path")))
    lifecycle.save_status(drv, dom)
