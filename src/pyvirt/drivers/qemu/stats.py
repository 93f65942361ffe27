"""Statistics of running domains: CPU time from /proc, block counters and balloon
size from QMP, and the ``virConnectGetAllDomainStats`` groups built from them.

The record keys and units are libvirt's (``virsh domstats``): times in ns,
memory in KiB, ``block.N.*`` per disk in definition order.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from pyvirt.drivers.qemu import lifecycle
from pyvirt.errors import (
    VIR_ERR_INVALID_ARG, VIR_ERR_OPERATION_UNSUPPORTED, VIR_FROM_QEMU, error, libvirtError,
)
from pyvirt.objects.numbers import DomainState as S

if TYPE_CHECKING:
    from pyvirt.drivers.qemu.driver_state import QemuDriverState
    from pyvirt.drivers.qemu.runtime import DomainRuntime
    from pyvirt.objects.domain_obj import DomainObj

# virDomainStatsTypes
STATS_STATE, STATS_CPU_TOTAL, STATS_BALLOON, STATS_VCPU = 1, 2, 4, 8
STATS_INTERFACE, STATS_BLOCK = 16, 32
SUPPORTED = STATS_STATE | STATS_CPU_TOTAL | STATS_BALLOON | STATS_VCPU | STATS_INTERFACE \
    | STATS_BLOCK

_TICK_NS = 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def _stat_fields(path: str) -> list[str] | None:
    try:
        with open(path) as handle:
            return handle.read().rsplit(")", 1)[-1].split()
    except OSError:
        return None


def process_times(pid: int) -> tuple[int, int]:
    """(user, system) CPU time of a process in ns."""
    fields = _stat_fields(f"/proc/{pid}/stat")
    if fields is None:
        return 0, 0
    return int(fields[11]) * _TICK_NS, int(fields[12]) * _TICK_NS


def thread_times(pid: int) -> list[tuple[str, int, int]]:
    """(thread name, CPU time ns, last host CPU) of each thread of ``pid``."""
    out = []
    try:
        tids = sorted(os.listdir(f"/proc/{pid}/task"), key=int)
    except OSError:
        return out
    for tid in tids:
        fields = _stat_fields(f"/proc/{pid}/task/{tid}/stat")
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as handle:
                name = handle.read().strip()
        except OSError:
            continue
        if fields is None:
            continue
        out.append((name, (int(fields[11]) + int(fields[12])) * _TICK_NS, int(fields[36])))
    return out


def vcpu_times(pid: int) -> dict[int, int]:
    """CPU time per vCPU from QEMU's named threads (``CPU 0/TCG``, ``CPU 1/KVM``)."""
    found: dict[int, int] = {}
    for name, cpu_ns, _host in thread_times(pid):
        if name.startswith("CPU ") and "/" in name:
            try:
                found[int(name[4:].split("/")[0])] = cpu_ns
            except ValueError:
                continue
    return found


def rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def cpu_stats(rt: "DomainRuntime", start_cpu: int, ncpus: int) -> list[dict[str, int]]:
    """virDomainGetCPUStats: the total, or per host CPU (by where threads last ran)."""
    user, system = process_times(rt.pid)
    if start_cpu == -1:
        return [{"cpu_time": user + system, "user_time": user, "system_time": system}]
    per_cpu = [0] * (os.cpu_count() or 1)
    for _name, cpu_ns, host in thread_times(rt.pid):
        if 0 <= host < len(per_cpu):
            per_cpu[host] += cpu_ns
    if start_cpu >= len(per_cpu):
        raise error(VIR_ERR_INVALID_ARG, f"start_cpu {start_cpu} larger than maximum of "
                    f"{len(per_cpu) - 1}", domain=VIR_FROM_QEMU)
    return [{"cpu_time": t} for t in per_cpu[start_cpu:start_cpu + ncpus]]


def _resolved_paths(rt: "DomainRuntime | None") -> dict[str, str]:
    """target dev -> path QEMU was given (volume disks resolved at start/attach)."""
    ddef = getattr(rt, "disk_def", None)
    found: dict[str, str] = {}
    for disk in (ddef.node.iterfind("devices/disk") if ddef is not None else ()):
        target, source = disk.find("target"), disk.find("source")
        path = None if source is None else (source.get("file") or source.get("dev"))
        if target is not None and path:
            found[target.get("dev")] = path
    return found


def _disk_aliases(dom: "DomainObj", rt: "DomainRuntime | None" = None
                  ) -> list[tuple[str, str | None, str]]:
    """(target dev, source path, qdev id) of each disk, as the argv builder names them."""
    out = []
    resolved = _resolved_paths(rt)
    for index, disk in enumerate(dom.live_def.node.iterfind("devices/disk")):
        target = disk.find("target")
        dev = target.get("dev") if target is not None else f"disk{index}"
        source = disk.find("source")
        path = None if source is None else (source.get("file") or source.get("dev"))
        path = path or resolved.get(dev)
        alias_el = disk.find("alias")
        alias = alias_el.get("name") if alias_el is not None else lifecycle.disk_alias(disk)
        out.append((dev, path, alias))
    return out


# --- interfaces -------------------------------------------------------------------------
NET_FIELDS = ("rx.bytes", "rx.pkts", "rx.errs", "rx.drop",
              "tx.bytes", "tx.pkts", "tx.errs", "tx.drop")


def _tap_counters(tap: str) -> list[int] | None:
    from pyvirt.network.tap import interface_stats

    try:
        return interface_stats(tap)
    except (libvirtError, OSError):
        return None


def net_record(live: Any) -> dict[str, Any]:
    """The ``net.*`` group: every NIC, with its tap's counters (guest's view)."""
    nics = live.node.findall("devices/interface")
    rec: dict[str, Any] = {"net.count": len(nics)}
    for index, nic in enumerate(nics):
        target = nic.find("target")
        tap = target.get("dev") if target is not None else None
        if not tap:
            continue
        rec[f"net.{index}.name"] = tap
        counters = _tap_counters(tap)
        for field, value in zip(NET_FIELDS, counters or ()):
            rec[f"net.{index}.{field}"] = value
    return rec


def interface_stats(dom: "DomainObj", path: str) -> list[int]:
    """virDomainInterfaceStats for a NIC named by its tap or its MAC address."""
    for nic in dom.live_def.node.iterfind("devices/interface"):
        target, mac = nic.find("target"), nic.find("mac")
        tap = target.get("dev") if target is not None else None
        if path == tap or (mac is not None and path.lower() == (mac.get("address") or "").lower()):
            counters = _tap_counters(tap) if tap else None
            if counters is None:
                raise error(VIR_ERR_OPERATION_UNSUPPORTED, "interface statistics are not "
                            f"available for '{path}' (no host device)", domain=VIR_FROM_QEMU)
            return counters
    raise error(VIR_ERR_INVALID_ARG, f"invalid path, '{path}' is not a known interface",
                domain=VIR_FROM_QEMU)


def _blockstats_by_alias(rt: "DomainRuntime") -> dict[str, dict[str, Any]]:
    found = {}
    for entry in rt.monitor.execute("query-blockstats"):
        qdev = entry.get("qdev") or entry.get("device") or ""
        parts = [p for p in qdev.split("/") if p]
        alias = parts[2] if len(parts) >= 3 and parts[1] == "peripheral" else (
            parts[-1] if parts else "")
        found[alias] = entry.get("stats", {})
    return found


def block_stats(dom: "DomainObj", rt: "DomainRuntime", path: str) -> list[int]:
    """virDomainBlockStats for a disk named by target (``vda``) or source path."""
    disks = _disk_aliases(dom, rt)
    match = next((d for d in disks if path in (d[0], d[1])), None)
    if match is None:
        raise error(VIR_ERR_INVALID_ARG, f"invalid path: {path}", domain=VIR_FROM_QEMU)
    stats = _blockstats_by_alias(rt).get(match[2], {})
    return [stats.get("rd_operations", 0), stats.get("rd_bytes", 0),
            stats.get("wr_operations", 0), stats.get("wr_bytes", 0), -1]


def balloon_kib(dom: "DomainObj", rt: "DomainRuntime") -> int:
    """The guest's current memory: the balloon's figure, else the definition's."""
    try:
        return rt.monitor.execute("query-balloon")["actual"] // 1024
    except (libvirtError, KeyError, TypeError):
        return dom.live_def.current_memory_kib or dom.live_def.memory_kib or 0


def memory_stats(dom: "DomainObj", rt: "DomainRuntime") -> dict[str, int]:
    return {"actual": balloon_kib(dom, rt), "rss": rss_kib(rt.pid)}


def domain_record(drv: "QemuDriverState", dom: "DomainObj", stats: int) -> dict[str, Any]:
    """One domain's GetAllDomainStats record for the ``stats`` groups (0 = all)."""
    want = stats or SUPPORTED
    rec: dict[str, Any] = {}
    rt = drv.runtimes.get(dom.uuid)
    ddef = dom.current_def
    if want & STATS_STATE:
        rec["state.state"], rec["state.reason"] = int(dom.state), int(dom.reason)
    running = rt is not None and dom.state != S.SHUTOFF and rt.monitor is not None
    if want & STATS_CPU_TOTAL and running:
        user, system = process_times(rt.pid)
        rec.update({"cpu.time": user + system, "cpu.user": user, "cpu.system": system})
    if want & STATS_BALLOON:
        maximum = ddef.memory_kib or 0
        rec["balloon.current"] = balloon_kib(dom, rt) if running else (
            ddef.current_memory_kib or maximum)
        rec["balloon.maximum"] = maximum
        if running:
            rec["balloon.rss"] = rss_kib(rt.pid)
    if want & STATS_VCPU:
        total = ddef.vcpus or 1
        rec["vcpu.current"] = ddef.vcpus_current or total
        rec["vcpu.maximum"] = total
        if running:
            times = vcpu_times(rt.pid)
            for index in range(rec["vcpu.current"]):
                rec[f"vcpu.{index}.state"] = 1          # VIR_VCPU_RUNNING
                rec[f"vcpu.{index}.time"] = times.get(index, 0)
    if want & STATS_INTERFACE:
        rec.update(net_record(ddef) if running else {"net.count": 0})
    if want & STATS_BLOCK:
        disks = _disk_aliases(dom, rt) if dom.live_def is not None else [
            (d.find("target").get("dev"), None, "") for d in ddef.node.iterfind("devices/disk")
            if d.find("target") is not None]
        counters = _blockstats_by_alias(rt) if running else {}
        rec["block.count"] = len(disks)
        for index, (dev, path, alias) in enumerate(disks):
            rec[f"block.{index}.name"] = dev
            if path:
                rec[f"block.{index}.path"] = path
            if alias in counters:
                c = counters[alias]
                rec.update({f"block.{index}.rd.reqs": c.get("rd_operations", 0),
                            f"block.{index}.rd.bytes": c.get("rd_bytes", 0),
                            f"block.{index}.rd.times": c.get("rd_total_time_ns", 0),
                            f"block.{index}.wr.reqs": c.get("wr_operations", 0),
                            f"block.{index}.wr.bytes": c.get("wr_bytes", 0),
                            f"block.{index}.wr.times": c.get("wr_total_time_ns", 0),
                            f"block.{index}.fl.reqs": c.get("flush_operations", 0),
                            f"block.{index}.fl.times": c.get("flush_total_time_ns", 0)})
    return rec
