"""The host operations the network driver performs, behind one object.

:class:`HostNetwork` forwards to ``pyvirt.network`` (netlink, dnsmasq, nft,
sysctl) in the current network namespace. Tests of the driver's bookkeeping
replace it with a fake that records calls (``tests/drivers/network``), and the
real one is exercised inside network namespaces the tests create.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from pyvirt.network import bridge as links
from pyvirt.conf.netdev_bandwidth import Bandwidth, Rate
from pyvirt.network import bandwidth, dnsmasq, firewall, forwarding, tap


class HostNetwork:
    """Bridges, taps, firewall, forwarding and dnsmasq of the calling namespace."""

    def namespace_id(self) -> str:
        """The network namespace these operations act on (forwarding is per namespace)."""
        return os.readlink("/proc/self/ns/net")

    # --- links -----------------------------------------------------------------------
    def link_exists(self, name: str) -> bool:
        return links.link_exists(name)

    def link_names(self) -> set[str]:
        return links.link_names()

    def link_routes(self) -> list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str]]:
        return links.link_routes()

    def create_bridge(self, name: str, *, mac: str | None, stp: bool, delay: int,
                      mtu: int | None) -> None:
        links.create_bridge(name, mac=mac, stp=stp, delay=delay, mtu=mtu)

    def delete_link(self, name: str) -> bool:
        return links.delete_link(name)

    def set_link_up(self, name: str) -> None:
        links.set_link_up(name)

    def add_address(self, name: str, address: str, prefixlen: int) -> None:
        links.add_address(name, address, prefixlen)

    def add_route(self, name: str, network: ipaddress.IPv4Network | ipaddress.IPv6Network,
                  gateway: str, metric: int | None) -> None:
        links.add_route(name, network, gateway, metric)

    def set_ipv6_disabled(self, name: str, disabled: bool) -> None:
        links.set_ipv6_disabled(name, disabled)

    def set_port_isolated(self, name: str) -> None:
        links.set_port_isolated(name, True)

    def create_tap(self, bridge: str, mac: str, hint: str | None, *, want_fd: bool,
                   mtu: int | None) -> tuple[str, int | None]:
        return tap.create_tap_in_bridge(bridge, mac, hint, want_fd=want_fd, mtu=mtu)

    def set_bandwidth(self, name: str, rates: Bandwidth, *, hierarchical: bool,
                      swapped: bool) -> None:
        bandwidth.set_bandwidth(name, rates, hierarchical=hierarchical, swapped=swapped)

    def clear_bandwidth(self, name: str) -> None:
        bandwidth.clear_bandwidth(name)

    def floor_plug(self, bridge: str, net: Bandwidth, mac: str, nic: Rate,
                   class_id: int) -> None:
        bandwidth.plug_floor(bridge, net, mac, nic, class_id)

    def floor_unplug(self, bridge: str, class_id: int) -> None:
        bandwidth.unplug_floor(bridge, class_id)

    def floor_rate(self, bridge: str, net: Bandwidth, rate: int) -> None:
        bandwidth.update_floor_rate(bridge, net, rate)

    # --- firewall and forwarding ------------------------------------------------------
    def firewall_add(self, plan: firewall.FirewallPlan) -> None:
        firewall.add_network(plan)

    def firewall_remove(self, chains: tuple[str, ...]) -> None:
        firewall.remove_chains(chains)

    def forwarding_enable(self, family: str) -> bool:
        return forwarding.enable(_sysctl(family))

    def forwarding_disable(self, family: str) -> None:
        forwarding.set_enabled(_sysctl(family), False)

    # --- dnsmasq ----------------------------------------------------------------------
    def dnsmasq_check(self, binary: str) -> None:
        dnsmasq.check_binary(binary)

    def dnsmasq_start(self, binary: str, files: dnsmasq.DnsmasqFiles) -> dnsmasq.DnsmasqProcess:
        return dnsmasq.DnsmasqProcess.start(binary, files)

    def dnsmasq_adopt(self, files: dnsmasq.DnsmasqFiles) -> dnsmasq.DnsmasqProcess | None:
        return dnsmasq.DnsmasqProcess.adopt(files)


def _sysctl(family: str) -> Path:
    return forwarding.IPV4 if family == "ipv4" else forwarding.IPV6
