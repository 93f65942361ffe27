"""``virDomainInterfaceAddresses`` for QEMU guests: from the network's DHCP leases
(``VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE``) or the host's ARP table
(``…_SRC_ARP``); the guest agent source needs an agent this driver does not talk to.

The result has libvirt-python's shape: ``{ifname: {"hwaddr": mac, "addrs":
[{"addr": ip, "prefix": n, "type": 0|1}]}}``, keyed by the tap name the live XML
records (``<target dev>``).
"""

from __future__ import annotations

from typing import Any

from pyvirt.errors import VIR_ERR_ARGUMENT_UNSUPPORTED, VIR_FROM_QEMU, error

SRC_LEASE, SRC_AGENT, SRC_ARP = 0, 1, 2
ARP_TABLE = "/proc/net/arp"


def guest_nics(live: Any) -> list[tuple[str, str, str | None]]:
    """(interface name, mac, network name or None) of each NIC with a MAC."""
    out = []
    for index, nic in enumerate(live.node.iterfind("devices/interface")):
        mac = nic.find("mac")
        if mac is None or not mac.get("address"):
            continue
        target = nic.find("target")
        name = target.get("dev") if target is not None and target.get("dev") else f"net{index}"
        source = nic.find("source")
        network = source.get("network") if nic.get("type") == "network" and \
            source is not None else None
        out.append((name, mac.get("address").lower(), network))
    return out


def from_leases(live: Any, network: Any) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    for name, mac, net_name in guest_nics(live):
        if net_name is None or network is None:
            continue
        leases = network.network_get_dhcp_leases(network.network_lookup_by_name(net_name), mac)
        addrs = [{"addr": lease["ipaddr"], "prefix": lease["prefix"], "type": lease["type"]}
                 for lease in leases]
        if addrs:
            result[name] = {"hwaddr": mac, "addrs": addrs}
    return result


def parse_arp(text: str) -> dict[str, list[str]]:
    """mac -> IPv4 addresses from /proc/net/arp's text (complete entries only)."""
    found: dict[str, list[str]] = {}
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 4 and fields[2] != "0x0":
            found.setdefault(fields[3].lower(), []).append(fields[0])
    return found


def from_arp(live: Any, arp_text: str) -> dict[str, dict[str, Any]]:
    table = parse_arp(arp_text)
    result: dict[str, dict[str, Any]] = {}
    for name, mac, _net in guest_nics(live):
        if mac in table:
            result[name] = {"hwaddr": mac, "addrs": [{"addr": ip, "prefix": 0, "type": 0}
                                                     for ip in table[mac]]}
    return result


def interface_addresses(live: Any, source: int, network: Any) -> dict[str, dict[str, Any]]:
    if source == SRC_LEASE:
        return from_leases(live, network)
    if source == SRC_ARP:
        try:
            with open(ARP_TABLE, encoding="ascii", errors="replace") as handle:
                return from_arp(live, handle.read())
        except OSError:
            return {}
    if source == SRC_AGENT:
        raise error(VIR_ERR_ARGUMENT_UNSUPPORTED, "QEMU guest agent is not configured",
                    domain=VIR_FROM_QEMU)
    raise error(VIR_ERR_ARGUMENT_UNSUPPORTED, f"Unknown IP address data source {source}",
                domain=VIR_FROM_QEMU)
