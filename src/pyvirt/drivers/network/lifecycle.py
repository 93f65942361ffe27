"""Starting and stopping one virtual network on the host, with guaranteed undo.

:func:`start_network` builds what the network needs in libvirt's order (checks
first, then bridge, addresses, link up, static routes, firewall, forwarding,
dnsmasq, ``<bandwidth>`` on the bridge) and records each step's undo; a failure
half-way runs the undo list backwards and re-raises, so nothing is left half-created. :func:`stop_network`
removes everything a :class:`NetworkRuntime` records, continuing past errors.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from pyvirt.conf.network import NetworkDef
from pyvirt.drivers.network.host import HostNetwork
from pyvirt.drivers.network.store import StatusRecord, write_atomic
from pyvirt.errors import (
    VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_INTERNAL_ERROR, VIR_FROM_NETWORK, VIR_FROM_NONE, error,
)
from pyvirt.network import dnsmasq
from pyvirt.network.firewall import FirewallPlan

log = logging.getLogger(__name__)

#: Forward modes whose bridge, addresses and dnsmasq the driver creates itself.
BRIDGED_BY_US = ("none", "nat", "route", "open")
FORWARDING_MODES = ("nat", "route")


@dataclass
class NetworkRuntime:
    """What is live on the host for one running network."""

    bridge: str | None
    mode: str
    chains: tuple[str, ...] = ()
    forwarding: tuple[str, ...] = ()
    dnsmasq: dnsmasq.DnsmasqProcess | None = None
    ports: dict[str, str] = field(default_factory=dict)   # tap -> guest MAC
    #: tap -> (class id on the bridge, floor KiB/s) of NICs with a guaranteed floor
    floors: dict[str, tuple[int, int]] = field(default_factory=dict)

    def status(self, name: str, live_xml: str) -> StatusRecord:
        return StatusRecord(name=name, network_xml=live_xml, bridge=self.bridge,
                            chains=self.chains, forwarding=self.forwarding,
                            dnsmasq=self.dnsmasq is not None, ports=dict(self.ports),
                            floors=dict(self.floors))


class Undo:
    """Steps to take back, run last-first; each failure is logged, not raised."""

    def __init__(self) -> None:
        self._steps: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    def push(self, func: Callable[..., Any], *args: Any) -> None:
        self._steps.append((func, args))

    def run(self) -> None:
        while self._steps:
            func, args = self._steps.pop()
            try:
                func(*args)
            except Exception:  # noqa: BLE001 - keep undoing the rest
                log.exception("undo step %s failed", getattr(func, "__name__", func))


@dataclass
class StartContext:
    """What starting a network needs from the driver state."""

    host: HostNetwork
    run_dir: Path
    dnsmasq_binary: str
    dnsmasq_user: str | None
    #: (subnet, bridge) of the other networks this driver runs.
    running_subnets: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str]]
    #: Takes a share of forwarding for a family; returns the release step.
    acquire_forwarding: Callable[[str], None]
    release_forwarding: Callable[[str], None]
    #: Called once the bridge exists (the driver records its intent then).
    bridge_created: Callable[[], None] | None = None


def subnets_of(ndef: NetworkDef) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [net for net in (ip.network() for ip in ndef.ips) if net is not None]


def families_of(ndef: NetworkDef) -> tuple[str, ...]:
    versions = {net.version for net in subnets_of(ndef)}
    return tuple(f for f, v in (("ipv4", 4), ("ipv6", 6)) if v in versions)


def live_definition(ndef: NetworkDef) -> NetworkDef:
    """The definition a started network runs with: libvirt fills in NAT's default
    port range (shown by net-dumpxml while active, not with --inactive)."""
    live = ndef.copy()
    if (live.forward_mode or "none") == "nat" and live.nat_port_start is None \
            and live.nat_port_end is None:
        live.nat_port_start, live.nat_port_end = 1024, 65535
    return live


def check_route_collision(ndef: NetworkDef, ctx: StartContext) -> None:
    """libvirt's networkCheckRouteCollision: a subnet already routed on the host
    (or used by another network of ours) is refused."""
    routes = ctx.host.link_routes()
    for net in subnets_of(ndef):
        for routed, dev in routes:
            if routed == net:
                raise error(VIR_ERR_INTERNAL_ERROR,
                            f"Network is already in use by interface {dev}",
                            domain=VIR_FROM_NONE)
        for other, bridge in ctx.running_subnets:
            if other.version == net.version and other.overlaps(net):
                raise error(VIR_ERR_INTERNAL_ERROR,
                            f"Network is already in use by interface {bridge}",
                            domain=VIR_FROM_NONE)


def firewall_plan(ndef: NetworkDef, bridge: str) -> FirewallPlan:
    mode = ndef.forward_mode or "none"
    nat_addresses = None
    if ndef.nat_address_start and ndef.nat_address_end:
        nat_addresses = (ndef.nat_address_start, ndef.nat_address_end)
    nat_ports = None
    if ndef.nat_port_start is not None and ndef.nat_port_end is not None:
        nat_ports = (ndef.nat_port_start, ndef.nat_port_end)
    return FirewallPlan(bridge=bridge, mode=mode, subnets=tuple(subnets_of(ndef)),
                        forward_dev=ndef.forward_dev, nat_addresses=nat_addresses,
                        nat_ports=nat_ports, nat_ipv6=bool(ndef.nat_ipv6))


def write_dnsmasq_files(ndef: NetworkDef, bridge: str, files: dnsmasq.DnsmasqFiles,
                        user: str | None) -> None:
    write_atomic(files.conf, dnsmasq.config_text(ndef, bridge, files, user=user))
    write_atomic(files.hostsfile, dnsmasq.hostsfile_text(ndef))
    write_atomic(files.addnhosts, dnsmasq.addnhosts_text(ndef))


def remove_dnsmasq_files(files: dnsmasq.DnsmasqFiles, *, keep_leases: bool = True) -> None:
    for path in files.all():
        if keep_leases and path == files.leases:
            continue
        path.unlink(missing_ok=True)


def start_network(ndef: NetworkDef, ctx: StartContext) -> NetworkRuntime:
    """Bring network ``ndef`` up on the host; all or nothing."""
    mode = ndef.forward_mode or "none"
    bridge = ndef.bridge_name
    if mode == "bridge":
        if not bridge:
            raise error(VIR_ERR_CONFIG_UNSUPPORTED, f"network '{ndef.name}' uses forward "
                        "mode 'bridge' without a bridge name, which is not supported",
                        domain=VIR_FROM_NETWORK)
        return NetworkRuntime(bridge=bridge, mode=mode)
    if mode not in BRIDGED_BY_US:
        raise error(VIR_ERR_CONFIG_UNSUPPORTED,
                    f"unsupported forward mode '{mode}' for network '{ndef.name}'",
                    domain=VIR_FROM_NETWORK)
    wants_dnsmasq = dnsmasq.needs_dnsmasq(ndef)
    if wants_dnsmasq:
        ctx.host.dnsmasq_check(ctx.dnsmasq_binary)
    check_route_collision(ndef, ctx)
    runtime = NetworkRuntime(bridge=bridge, mode=mode)
    undo = Undo()
    try:
        _build(ndef, ctx, runtime, undo, wants_dnsmasq)
    except BaseException:
        undo.run()
        raise
    return runtime


def _build(ndef: NetworkDef, ctx: StartContext, runtime: NetworkRuntime, undo: Undo,
           wants_dnsmasq: bool) -> None:
    host, bridge, mode = ctx.host, runtime.bridge, runtime.mode
    host.create_bridge(bridge, mac=ndef.mac, stp=ndef.bridge_stp is not False,
                       delay=ndef.bridge_delay or 0, mtu=ndef.mtu)
    undo.push(host.delete_link, bridge)
    if ctx.bridge_created is not None:
        ctx.bridge_created()
    families = families_of(ndef)
    host.set_ipv6_disabled(bridge, "ipv6" not in families)
    for ip in ndef.ips:
        net = ip.network()
        if net is not None:
            host.add_address(bridge, ip.address, net.prefixlen)
    host.set_link_up(bridge)
    for route in ndef.routes:
        dest = ipaddress.ip_network(f"{route.address}/{_route_prefix(route)}", strict=False)
        host.add_route(bridge, dest, route.gateway, route.metric)
    if mode != "open":
        plan = firewall_plan(ndef, bridge)
        runtime.chains = plan.chain_names()
        undo.push(host.firewall_remove, runtime.chains)
        host.firewall_add(plan)
    if mode in FORWARDING_MODES:
        for family in families:
            ctx.acquire_forwarding(family)
            undo.push(ctx.release_forwarding, family)
            runtime.forwarding += (family,)
    if wants_dnsmasq:
        files = dnsmasq.DnsmasqFiles(ctx.run_dir, ndef.name)
        undo.push(remove_dnsmasq_files, files)
        write_dnsmasq_files(ndef, bridge, files, ctx.dnsmasq_user)
        runtime.dnsmasq = host.dnsmasq_start(ctx.dnsmasq_binary, files)
        undo.push(runtime.dnsmasq.stop)
    bandwidth = ndef.bandwidth
    if bandwidth is not None:    # libvirt's last step: QoS on the bridge, hierarchical
        undo.push(host.clear_bandwidth, bridge)
        host.set_bandwidth(bridge, bandwidth, hierarchical=True, swapped=True)


def _route_prefix(route: Any) -> int:
    if route.prefix is not None:
        return route.prefix
    if route.netmask:
        return bin(int(ipaddress.ip_address(route.netmask))).count("1")
    return 32 if ":" not in (route.address or "") else 128


def stop_network(name: str, runtime: NetworkRuntime, ctx: StartContext,
                 *, keep_leases: bool = True) -> None:
    """Take everything ``runtime`` records off the host; errors are logged."""
    steps: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []
    if runtime.dnsmasq is not None:
        steps.append((runtime.dnsmasq.stop, ()))
    steps.append((remove_dnsmasq_files, (dnsmasq.DnsmasqFiles(ctx.run_dir, name),)))
    for tap in list(runtime.ports):
        steps.append((ctx.host.delete_link, (tap,)))
    if runtime.mode in BRIDGED_BY_US and runtime.bridge:
        steps.append((ctx.host.delete_link, (runtime.bridge,)))
    if runtime.chains:
        steps.append((ctx.host.firewall_remove, (runtime.chains,)))
    for family in runtime.forwarding:
        steps.append((ctx.release_forwarding, (family,)))
    for func, args in steps:
        try:
            if func is remove_dnsmasq_files:
                func(*args, keep_leases=keep_leases)
            else:
                func(*args)
        except Exception:  # noqa: BLE001 - take down the rest regardless
            log.exception("stopping network %s: %s failed", name, func.__name__)
    runtime.ports.clear()
    runtime.floors.clear()
    runtime.dnsmasq = None
