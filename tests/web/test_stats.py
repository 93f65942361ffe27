"""The stats sampler: counters to rates, with fallbacks for what a driver omits."""

from __future__ import annotations

import pyvirt
from pyvirt.web.stats import StatsSampler, raw_counters


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeDom:
    """A domain whose counters the test sets (as getAllDomainStats would give them)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self.cpu_ns = 0

    def name(self) -> str:
        return self._name

    def info(self):
        return [pyvirt.VIR_DOMAIN_RUNNING, 4096, 2048, 2, self.cpu_ns]


class FakeConn:
    def __init__(self, records) -> None:
        self.records = records

    def getAllDomainStats(self, stats, flags):
        return self.records


def record(cpu_ns: int, rd: int, rx: int) -> dict:
    return {"state.state": 1, "vcpu.current": 2, "balloon.current": 2048,
            "balloon.maximum": 4096, "cpu.time": cpu_ns,
            "block.count": 2, "block.0.rd.bytes": rd, "block.1.rd.bytes": rd,
            "block.0.wr.bytes": 0, "block.1.wr.bytes": 0,
            "net.count": 1, "net.0.rx.bytes": rx, "net.0.tx.bytes": 0}


def test_rates_from_two_samples():
    dom, clock = FakeDom("a"), Clock()
    conn = FakeConn([(dom, record(0, 0, 0))])
    sampler = StatsSampler(clock)
    first = sampler.sample(conn)["a"]
    assert first["cpu"] == 0.0 and first["disk_rd"] == 0.0      # nothing to compare yet
    clock.now += 2.0
    conn.records = [(dom, record(2_000_000_000, 1000, 4096))]
    second = sampler.sample(conn)["a"]
    assert second["cpu"] == 50.0            # 2 s of CPU over 2 s on 2 vCPUs
    assert second["disk_rd"] == 1000.0      # 2 disks x 1000 bytes over 2 s
    assert second["net_rx"] == 2048.0
    assert second["state"] == "running" and second["mem_kib"] == 2048


def test_forgotten_domains_are_dropped():
    dom, clock = FakeDom("a"), Clock()
    conn = FakeConn([(dom, record(0, 0, 0))])
    sampler = StatsSampler(clock)
    sampler.sample(conn)
    conn.records = []
    assert sampler.sample(conn) == {}
    clock.now += 1
    conn.records = [(dom, record(10**9, 0, 0))]
    assert sampler.sample(conn)["a"]["cpu"] == 0.0              # a new baseline


def test_fallbacks_on_the_test_driver():
    conn = pyvirt.open("test:///default")
    try:
        dom = conn.lookupByName("test")
        raw = raw_counters(dom, {"state.state": 1})
        assert raw["vcpus"] == 2 and raw["mem_kib"] == 2097152
        assert raw["cpu_ns"] > 0                                # from info()
        assert raw["disk_rd"] > 0 and raw["net_rx"] > 0          # blockStats/interfaceStats
        dom.destroy()
        raw = raw_counters(dom, {})
        assert raw["disk_rd"] == 0 and raw["net_rx"] == 0        # inactive: no devices read
    finally:
        conn.close()


def test_a_poller_can_be_stopped_from_another_thread():
    """A logout (run in a worker thread) stops the login's pollers safely."""
    import asyncio
    import threading

    from pyvirt.web.hosts import Host
    from pyvirt.web.stats import StatsPoller

    published = []

    async def run() -> bool:
        poller = StatsPoller(Host(0, "test:///default"), lambda i, m: published.append(m),
                             interval=0.01)
        poller.start()
        task = poller.task
        while not published:
            await asyncio.sleep(0.01)
        stopper = threading.Thread(target=poller.stop)
        stopper.start()
        stopper.join()
        try:
            await task
        except asyncio.CancelledError:
            return poller.task is None and task.cancelled()
        return False

    assert asyncio.run(run())
    assert published[0]["type"] == "stats"
