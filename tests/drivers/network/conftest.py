"""A fake host for the network driver: records what the driver asks of it."""

from __future__ import annotations

import pytest

from pyvirt.drivers.network import close_state, open_network
from pyvirt.drivers.network.host import HostNetwork
from pyvirt.network.bridge import system_error


class FakeDnsmasq:
    def __init__(self, host: "FakeHost", files) -> None:
        self.host, self.files, self.running, self.reloads = host, files, True, 0

    def is_running(self) -> bool:
        return self.running

    def reload(self) -> None:
        self.reloads += 1
        self.host.calls.append(("dnsmasq_reload", self.files.network))

    def stop(self) -> None:
        self.running = False
        self.host.dnsmasqs.remove(self)
        self.host.calls.append(("dnsmasq_stop", self.files.network))


class FakeHost(HostNetwork):
    """Links, chains and processes as sets; ``fail_at`` makes one step fail."""

    def __init__(self) -> None:
        self.links: dict[str, dict] = {}
        self.chains: set[str] = set()
        self.forwarding = {"ipv4": False, "ipv6": False}
        self.dnsmasqs: list[FakeDnsmasq] = []
        self.calls: list[tuple] = []
        self.fail_at: str | None = None
        self.routes: list = []
        self.missing_binary = False
        self._taps = 0

    def _maybe_fail(self, step: str) -> None:
        self.calls.append((step,))
        if self.fail_at == step:
            raise system_error(1, f"injected failure at {step}")

    def namespace_id(self):
        return f"fake-{id(self)}"

    def link_exists(self, name):
        return name in self.links

    def link_names(self):
        return set(self.links)

    def link_routes(self):
        return list(self.routes)

    def create_bridge(self, name, *, mac, stp, delay, mtu):
        self._maybe_fail("create_bridge")
        if name in self.links:
            raise system_error(17, f"error creating bridge interface {name}")
        self.links[name] = {"kind": "bridge", "mac": mac, "stp": stp, "addrs": [], "up": False}

    def delete_link(self, name):
        self.calls.append(("delete_link", name))
        return self.links.pop(name, None) is not None

    def set_link_up(self, name):
        self._maybe_fail("set_link_up")
        self.links[name]["up"] = True

    def add_address(self, name, address, prefixlen):
        self._maybe_fail("add_address")
        self.links[name]["addrs"].append(f"{address}/{prefixlen}")

    def add_route(self, name, network, gateway, metric):
        self._maybe_fail("add_route")

    def set_ipv6_disabled(self, name, disabled):
        pass

    def set_port_isolated(self, name):
        self._maybe_fail("set_port_isolated")
        self.links[name]["isolated"] = True

    def create_tap(self, bridge, mac, hint, *, want_fd, mtu):
        self._maybe_fail("create_tap")
        name = hint or f"vnet{self._taps}"
        self._taps += 1
        self.links[name] = {"kind": "tun", "master": bridge, "mac": mac}
        return name, (None if not want_fd else -1)

    def set_bandwidth(self, name, rates, *, hierarchical, swapped):
        self._maybe_fail("set_bandwidth")
        self.links[name]["bandwidth"] = (rates, hierarchical, swapped)

    def clear_bandwidth(self, name):
        self.calls.append(("clear_bandwidth", name))
        if name in self.links:
            self.links[name].pop("bandwidth", None)

    def floor_plug(self, bridge, net, mac, nic, class_id):
        self._maybe_fail("floor_plug")
        self.links[bridge].setdefault("floors", {})[class_id] = (mac, nic.floor)

    def floor_unplug(self, bridge, class_id):
        self.calls.append(("floor_unplug", bridge, class_id))
        self.links.get(bridge, {}).get("floors", {}).pop(class_id, None)

    def floor_rate(self, bridge, net, rate):
        self.calls.append(("floor_rate", bridge, rate))
        self.links[bridge]["free_rate"] = rate

    def firewall_add(self, plan):
        self._maybe_fail("firewall_add")
        self.chains |= set(plan.chain_names())

    def firewall_remove(self, chains):
        self.calls.append(("firewall_remove", tuple(chains)))
        self.chains -= set(chains)

    def forwarding_enable(self, family):
        self._maybe_fail("forwarding_enable")
        was = self.forwarding[family]
        self.forwarding[family] = True
        return not was

    def forwarding_disable(self, family):
        self.forwarding[family] = False

    def dnsmasq_check(self, binary):
        if self.missing_binary:
            from pyvirt.network.dnsmasq import check_binary
            check_binary("/nonexistent/dnsmasq")

    def dnsmasq_start(self, binary, files):
        self._maybe_fail("dnsmasq_start")
        proc = FakeDnsmasq(self, files)
        self.dnsmasqs.append(proc)
        return proc

    def dnsmasq_adopt(self, files):
        return next((p for p in self.dnsmasqs if p.files.conf == files.conf), None)


@pytest.fixture
def fake_host():
    return FakeHost()


@pytest.fixture
def netdirs(tmp_path):
    config, run = tmp_path / "etc" / "network", tmp_path / "run" / "network"
    yield config, run
    close_state(config, run)


@pytest.fixture
def netconn(fake_host, netdirs):
    conn = open_network(*netdirs, False, host=fake_host, dnsmasq_binary="/bin/true")
    yield conn
    conn.connect_close()
