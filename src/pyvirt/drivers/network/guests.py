"""What guests see of a network: taps plugged into its bridge (and the guaranteed
``floor`` classes of their NICs on it), and its DHCP leases.

Called with the driver state's lock held (from ``NetworkDriver``).
"""

from __future__ import annotations

import itertools
import logging
import time
from typing import Any

from pyvirt.drivers.network.state import NetworkDriverState
from pyvirt.conf.netdev_bandwidth import Rate
from pyvirt.errors import (
    VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_OPERATION_INVALID, VIR_ERR_OPERATION_UNSUPPORTED,
    VIR_FROM_NETWORK, error,
)
from pyvirt.network import dnsmasq, tc
from pyvirt.objects.network_obj import NetworkObj

log = logging.getLogger(__name__)

IP_ADDR_TYPE_IPV4, IP_ADDR_TYPE_IPV6 = 0, 1


def attach(state: NetworkDriverState, net: NetworkObj, mac: str, ifname_hint: str | None,
           *, want_fd: bool) -> tuple[str, int | None, str]:
    """A tap for guest NIC ``mac`` on running network ``net``: (tap, fd or None, bridge)."""
    if not net.active:
        raise error(VIR_ERR_OPERATION_INVALID, f"network '{net.name}' is not active",
                    domain=VIR_FROM_NETWORK)
    runtime = state.runtime[net.uuid]
    if not runtime.bridge:
        raise error(VIR_ERR_CONFIG_UNSUPPORTED, f"network '{net.name}' has no bridge to plug "
                    "a guest interface into", domain=VIR_FROM_NETWORK)
    tap, fd = state.host.create_tap(runtime.bridge, mac, ifname_hint, want_fd=want_fd,
                                    mtu=net.definition.mtu)
    if net.definition.port_isolated:
        try:
            state.host.set_port_isolated(tap)
        except BaseException:
            state.host.delete_link(tap)
            raise
    runtime.ports[tap] = mac.lower()
    state.save_status(net)
    return tap, fd, runtime.bridge


def plug_floor(state: NetworkDriverState, net: NetworkObj, tap: str, mac: str,
               floor: Rate) -> None:
    """libvirt's networkPlugBandwidth for a NIC with an inbound ``floor``: checked
    against the network's inbound QoS, then a class of its own on the bridge and
    class 1:2 lowered to what is left (its failure only logged, as libvirt)."""
    runtime = state.runtime[net.uuid]
    rates = net.definition.bandwidth
    if rates is None or rates.inbound is None:
        raise error(VIR_ERR_OPERATION_UNSUPPORTED, "Invalid use of 'floor' on interface "
                    f"with MAC address {mac} - network '{net.name}' has no inbound QoS set",
                    domain=VIR_FROM_NETWORK)
    total = sum(f for _, f in runtime.floors.values()) + floor.floor
    over = tc.floor_check(rates, total)
    if over is not None:
        raise error(VIR_ERR_OPERATION_INVALID, f"Cannot plug '{mac}' interface into "
                    f"'{runtime.bridge}' because it would overcommit '{over[1]}' on "
                    f"network '{net.name}'", domain=VIR_FROM_NETWORK)
    used = {class_id for class_id, _ in runtime.floors.values()}
    class_id = next(i for i in itertools.count(3) if i not in used)
    state.host.floor_plug(runtime.bridge, rates, mac, floor, class_id)
    runtime.floors[tap] = (class_id, floor.floor)
    _update_free_rate(state, net, runtime)
    state.save_status(net)


def _update_free_rate(state: NetworkDriverState, net: NetworkObj, runtime: Any) -> None:
    rates = net.definition.bandwidth
    if rates is None or rates.inbound is None or not runtime.bridge:
        return
    total = sum(f for _, f in runtime.floors.values())
    try:
        state.host.floor_rate(runtime.bridge, rates, tc.floor_free_rate(rates, total))
    except Exception as err:  # noqa: BLE001 - libvirt only warns here too
        log.warning("network %s: cannot update the rate of unguaranteed traffic: %s",
                    net.name, err)


def static_ips(net: NetworkObj, mac: str) -> list[str]:
    """The IPv4 addresses of the network's static DHCP hosts for ``mac`` (what
    nwfilter's clean-traffic lets the guest send from)."""
    found = []
    for ip in net.definition.ips:
        for host in ip.hosts:
            if (host.mac or "").lower() == (mac or "").lower() and host.ip and \
                    ":" not in host.ip:
                found.append(host.ip)
    return found


def detach(state: NetworkDriverState, tap: str) -> bool:
    """Remove a tap :func:`attach` made; False when no network of ``state`` has it."""
    for uuid, runtime in state.runtime.items():
        if tap in runtime.ports:
            del runtime.ports[tap]
            net = state.nets.find_by_uuid(uuid)
            floor = runtime.floors.pop(tap, None)
            if floor is not None and runtime.bridge:
                state.host.floor_unplug(runtime.bridge, floor[0])
                if net is not None:
                    _update_free_rate(state, net, runtime)
            state.host.delete_link(tap)
            if net is not None:
                state.save_status(net)
            return True
    return False


def dhcp_leases(state: NetworkDriverState, net: NetworkObj,
                mac: str | None) -> list[dict[str, Any]]:
    """virNetworkGetDHCPLeases from dnsmasq's lease file, unexpired ones only, in
    libvirt-python's dict shape."""
    files = dnsmasq.DnsmasqFiles(state.dirs.run, net.name)
    try:
        text = files.leases.read_text()
    except OSError:
        return []
    now = int(time.time())
    found = []
    for lease in dnsmasq.parse_leases(text):
        if lease.expiry and lease.expiry < now:
            continue
        if mac is not None and (lease.mac or "").lower() != mac.lower():
            continue
        found.append({
            "iface": net.definition.bridge_name, "expirytime": lease.expiry,
            "type": IP_ADDR_TYPE_IPV6 if ":" in lease.ip else IP_ADDR_TYPE_IPV4,
            "mac": lease.mac, "iaid": lease.iaid, "ipaddr": lease.ip,
            "prefix": state.subnet_prefix(net, lease.ip),
            "hostname": lease.hostname, "clientid": lease.clientid,
        })
    return found
