"""A container's numbers from its cgroup and its veths: virDomainGetInfo,
memory stats, interface stats and GetAllDomainStats records."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyvirt.errors import VIR_ERR_INVALID_ARG, VIR_FROM_LXC, error
from pyvirt.objects.numbers import DomainState as S

if TYPE_CHECKING:
    from pyvirt.drivers.lxc.launcher import Container
    from pyvirt.objects.domain_obj import DomainObj

# virDomainStatsTypes bits
STATS_STATE, STATS_CPU_TOTAL, STATS_BALLOON, STATS_VCPU, STATS_INTERFACE = 1, 2, 4, 8, 16
SUPPORTED = STATS_STATE | STATS_CPU_TOTAL | STATS_BALLOON | STATS_VCPU | STATS_INTERFACE



def domain_info(dom: "DomainObj", ct: "Container | None") -> list[int]:
    """[state, max KiB, current KiB (cgroup usage when running), vcpus, cpu ns]."""
    ddef = dom.current_def
    maximum = ddef.memory_kib or 0
    vcpus = ddef.vcpus_current or ddef.vcpus or 1
    if ct is None or not dom.active:
        return [int(dom.state), maximum, ddef.current_memory_kib or maximum, vcpus, 0]
    return [int(dom.state), maximum, ct.cgroup.memory_usage_kib(), vcpus,
            ct.cgroup.cpu_time_ns()]


def memory_stats(dom: "DomainObj", ct: "Container") -> dict[str, int]:
    limit = ct.cgroup.memory_limit_kib()
    actual = dom.live_def.current_memory_kib or dom.live_def.memory_kib or 0
    return {"actual": min(actual, limit) if limit else actual,
            "rss": ct.cgroup.memory_usage_kib()}


def _veth_names(dom: "DomainObj") -> list[str]:
    names = []
    for node in dom.live_def.node.iterfind("devices/interface"):
        target = node.find("target")
        if target is not None and target.get("dev"):
            names.append(target.get("dev"))
    return names


def parse_proc_net_dev(text: str, dev: str) -> list[int]:
    """``dev``'s counters from /proc/net/dev in virDomainInterfaceStats order as the
    container sees them: the host end's tx is the container's rx (libvirt swaps them)."""
    for line in text.splitlines():
        name, sep, rest = line.partition(":")
        if sep and name.strip() == dev:
            fields = [int(f) for f in rest.split()]
            rx, tx = fields[0:4], fields[8:12]      # bytes, packets, errs, drop
            return tx + rx
    return [0] * 8


def _read_counters(dev: str) -> list[int]:
    try:
        text = Path("/proc/net/dev").read_text()    # this process's network namespace
    except OSError:
        return [0] * 8
    return parse_proc_net_dev(text, dev)


def interface_stats(dom: "DomainObj", path: str) -> list[int]:
    """virDomainInterfaceStats for the host end ``path`` (or its MAC) of a NIC."""
    for node, name in zip(dom.live_def.node.iterfind("devices/interface"), _veth_names(dom)):
        mac = node.find("mac")
        if path == name or (mac is not None and mac.get("address") == path):
            return _read_counters(name)
    raise error(VIR_ERR_INVALID_ARG, f"invalid path, '{path}' is not a known interface",
                domain=VIR_FROM_LXC)


def domain_record(dom: "DomainObj", ct: "Container | None", stats: int) -> dict[str, Any]:
    """One domain's GetAllDomainStats record for the ``stats`` groups (0 = all)."""
    want = stats or SUPPORTED
    rec: dict[str, Any] = {}
    ddef = dom.current_def
    running = ct is not None and dom.state != S.SHUTOFF
    if want & STATS_STATE:
        rec["state.state"], rec["state.reason"] = int(dom.state), int(dom.reason)
    if want & STATS_CPU_TOTAL and running:
        user, system = ct.cgroup.cpu_user_system_ns()
        rec.update({"cpu.time": ct.cgroup.cpu_time_ns(), "cpu.user": user,
                    "cpu.system": system})
    if want & STATS_BALLOON:
        maximum = ddef.memory_kib or 0
        rec["balloon.current"] = (ddef.current_memory_kib or maximum)
        rec["balloon.maximum"] = maximum
        if running:
            rec["balloon.rss"] = ct.cgroup.memory_usage_kib()
    if want & STATS_VCPU:
        total = ddef.vcpus or 1
        rec["vcpu.current"] = ddef.vcpus_current or total
        rec["vcpu.maximum"] = total
    if want & STATS_INTERFACE:
        names = _veth_names(dom) if running else []
        rec["net.count"] = len(names)
        for index, name in enumerate(names):
            counters = _read_counters(name)
            rec[f"net.{index}.name"] = name
            for key, value in zip(("rx.bytes", "rx.pkts", "rx.errs", "rx.drop",
                                   "tx.bytes", "tx.pkts", "tx.errs", "tx.drop"), counters):
                rec[f"net.{index}.{key}"] = value
    return rec
