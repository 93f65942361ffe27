"""Live domain statistics, sampled on the server at most once a second per host.

``StatsSampler.sample()`` reads ``getAllDomainStats`` (falling back to
``info()``, ``blockStats`` and ``interfaceStats`` for what a driver leaves
out) and turns counters into rates against the previous sample.
``StatsPoller`` runs the sampler for one host while anyone is watching.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Callable

from lxml import etree

import pyvirt

from .hosts import Host
from .states import state_class, state_name

STATS_FLAGS = (pyvirt.VIR_DOMAIN_STATS_STATE | pyvirt.VIR_DOMAIN_STATS_CPU_TOTAL
               | pyvirt.VIR_DOMAIN_STATS_BALLOON | pyvirt.VIR_DOMAIN_STATS_VCPU
               | pyvirt.VIR_DOMAIN_STATS_INTERFACE | pyvirt.VIR_DOMAIN_STATS_BLOCK)
INTERVAL_S = 1.0
COUNTERS = ("cpu_ns", "disk_rd", "disk_wr", "net_rx", "net_tx")


def _sum_prefixed(stats: dict[str, Any], family: str, suffix: str) -> int | None:
    count = stats.get(f"{family}.count")
    if count is None:
        return None
    return sum(int(stats.get(f"{family}.{i}.{suffix}", 0)) for i in range(int(count)))


def _device_targets(dom: Any) -> tuple[list[str], list[str]]:
    """Disk target names and interface target names from the live XML."""
    root = etree.fromstring(dom.XMLDesc(0).encode())
    disks = root.xpath("./devices/disk/target/@dev")
    nics = root.xpath("./devices/interface/target/@dev")
    return [str(d) for d in disks], [str(n) for n in nics]


def raw_counters(dom: Any, stats: dict[str, Any]) -> dict[str, Any]:
    """Cumulative counters of one domain, from its stats record or direct calls."""
    info = dom.info()
    state = stats.get("state.state", info[0])
    raw: dict[str, Any] = {
        "state": int(state), "vcpus": int(stats.get("vcpu.current", info[3])),
        "mem_kib": int(stats.get("balloon.current", info[2])),
        "max_mem_kib": int(stats.get("balloon.maximum", info[1])),
        "cpu_ns": int(stats.get("cpu.time", info[4])),
        "disk_rd": _sum_prefixed(stats, "block", "rd.bytes"),
        "disk_wr": _sum_prefixed(stats, "block", "wr.bytes"),
        "net_rx": _sum_prefixed(stats, "net", "rx.bytes"),
        "net_tx": _sum_prefixed(stats, "net", "tx.bytes"),
    }
    if raw["disk_rd"] is None or raw["net_rx"] is None:
        _fill_device_counters(dom, raw)
    return raw


def _fill_device_counters(dom: Any, raw: dict[str, Any]) -> None:
    disks, nics = ([], []) if not dom.isActive() else _device_targets(dom)
    if raw["disk_rd"] is None:
        raw["disk_rd"] = raw["disk_wr"] = 0
        for disk in disks:
            try:
                block = dom.blockStats(disk)
            except pyvirt.libvirtError:
                continue
            raw["disk_rd"] += block[1]
            raw["disk_wr"] += block[3]
    if raw["net_rx"] is None:
        raw["net_rx"] = raw["net_tx"] = 0
        for nic in nics:
            try:
                iface = dom.interfaceStats(nic)
            except pyvirt.libvirtError:
                continue
            raw["net_rx"] += iface[0]
            raw["net_tx"] += iface[4]


class StatsSampler:
    """Turns successive raw samples of one connection into per-second rates."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._previous: dict[str, tuple[float, dict[str, Any]]] = {}

    def sample(self, conn: Any) -> dict[str, dict[str, Any]]:
        now = self._clock()
        result: dict[str, dict[str, Any]] = {}
        for dom, stats in conn.getAllDomainStats(STATS_FLAGS, 0):
            try:
                raw = raw_counters(dom, stats)
            except pyvirt.libvirtError:
                continue                      # gone between the list and the read
            name = dom.name()
            result[name] = self._rates(name, now, raw)
            self._previous[name] = (now, raw)
        for gone in set(self._previous) - set(result):
            del self._previous[gone]
        return result

    def _rates(self, name: str, now: float, raw: dict[str, Any]) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "state": state_name(raw["state"]), "state_class": state_class(raw["state"]),
            "vcpus": raw["vcpus"], "mem_kib": raw["mem_kib"],
            "max_mem_kib": raw["max_mem_kib"],
            "cpu": 0.0, "disk_rd": 0.0, "disk_wr": 0.0, "net_rx": 0.0, "net_tx": 0.0}
        before = self._previous.get(name)
        if before is None or now <= before[0] or raw["state"] != before[1]["state"]:
            return entry
        elapsed = now - before[0]
        deltas = {key: max(0, (raw[key] or 0) - (before[1][key] or 0)) for key in COUNTERS}
        cpu = deltas.pop("cpu_ns") / (elapsed * 1e9 * max(1, raw["vcpus"])) * 100.0
        entry["cpu"] = round(min(100.0, cpu), 1)
        for key, delta in deltas.items():
            entry[key] = round(delta / elapsed, 1)
        return entry


class StatsPoller:
    """Samples one host every ``interval`` seconds and publishes while watched."""

    def __init__(self, host: Host, publish: Callable[[int, dict[str, Any]], None],
                 interval: float = INTERVAL_S) -> None:
        self.host = host
        self.publish = publish
        self.interval = interval
        self.sampler = StatsSampler()
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> None:
        """Cancel the sampling task; safe from any thread (a logout runs in a worker)."""
        task, self.task = self.task, None
        if task is None:
            return
        loop = task.get_loop()
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if here is loop:
            task.cancel()
            return
        try:
            loop.call_soon_threadsafe(task.cancel)
        except RuntimeError:                    # that loop has closed: nothing runs
            pass

    async def _run(self) -> None:
        while True:
            try:
                domains = await asyncio.to_thread(self.sampler.sample, self.host.conn)
            except pyvirt.libvirtError as err:
                self.publish(self.host.index, {"type": "error", "host": self.host.index,
                                               "message": str(err)})
            else:
                self.publish(self.host.index, {"type": "stats", "host": self.host.index,
                                               "domains": domains})
            await asyncio.sleep(self.interval)
