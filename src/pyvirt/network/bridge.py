"""Links, bridges, addresses and routes of the current network namespace, over netlink.

Thin wrappers over pyroute2's ``IPRoute`` that turn netlink failures into
libvirt's errors (``error creating bridge interface virbr0: File exists``).
Everything acts on the network namespace of the calling process.
"""

from __future__ import annotations

import errno
import ipaddress
import os
from contextlib import contextmanager
from typing import Iterator

from pyvirt.errors import VIR_ERR_INTERNAL_ERROR, VIR_ERR_SYSTEM_ERROR, VIR_FROM_NONE, error

try:
    from pyroute2 import IPRoute
    from pyroute2.netlink.exceptions import NetlinkError
except ImportError:  # pragma: no cover - the driver then reports it on use
    IPRoute = None

    class NetlinkError(Exception):  # type: ignore[no-redef]
        code = 0

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def system_error(code: int, what: str) -> Exception:
    """libvirt's virReportSystemError: ``what: strerror(code)``."""
    return error(VIR_ERR_SYSTEM_ERROR, f"{what}: {os.strerror(code)}", domain=VIR_FROM_NONE)


@contextmanager
def netlink() -> Iterator["IPRoute"]:
    if IPRoute is None:
        raise error(VIR_ERR_INTERNAL_ERROR, "pyroute2 is not installed: cannot manage "
                    "network devices", domain=VIR_FROM_NONE)
    ipr = IPRoute()
    try:
        yield ipr
    finally:
        ipr.close()


def link_index(ipr: "IPRoute", name: str) -> int | None:
    found = ipr.link_lookup(ifname=name)
    return found[0] if found else None


def link_exists(name: str) -> bool:
    with netlink() as ipr:
        return link_index(ipr, name) is not None


def link_names() -> set[str]:
    with netlink() as ipr:
        return {link.get("ifname") for link in ipr.get_links()}


def link_kind(name: str) -> str | None:
    """The link's kind ("bridge", "tun", "veth"...), None when absent or plain."""
    with netlink() as ipr:
        index = link_index(ipr, name)
        if index is None:
            return None
        link = ipr.get_links(index)[0]
        return link.get_nested("IFLA_LINKINFO", "IFLA_INFO_KIND")


def link_master(name: str) -> str | None:
    """The bridge ``name`` is enslaved to, if any."""
    with netlink() as ipr:
        index = link_index(ipr, name)
        if index is None:
            return None
        master = ipr.get_links(index)[0].get("IFLA_MASTER")
        if not master:
            return None
        return ipr.get_links(master)[0].get("ifname")


def link_mac(name: str) -> str | None:
    with netlink() as ipr:
        index = link_index(ipr, name)
        return None if index is None else ipr.get_links(index)[0].get("address")


def bridge_settings(name: str) -> dict[str, int]:
    """The bridge's STP state (0/1) and forward delay (centiseconds), read back."""
    with netlink() as ipr:
        index = link_index(ipr, name)
        if index is None:
            return {}
        data = ipr.get_links(index)[0].get_nested("IFLA_LINKINFO", "IFLA_INFO_DATA")
        return {"stp": data.get("IFLA_BR_STP_STATE"),
                "forward_delay": data.get("IFLA_BR_FORWARD_DELAY")}


def bridge_ports(bridge: str) -> list[str]:
    with netlink() as ipr:
        index = link_index(ipr, bridge)
        if index is None:
            return []
        return sorted(link.get("ifname") for link in ipr.get_links()
                      if link.get("IFLA_MASTER") == index)


def create_bridge(name: str, *, mac: str | None = None, stp: bool = True, delay: int = 0,
                  mtu: int | None = None) -> None:
    """Create bridge ``name`` (down); libvirt's message when the name is taken."""
    attrs: dict = {"br_forward_delay": delay * 100, "br_stp_state": 1 if stp else 0}
    if mac:
        attrs["address"] = mac
    if mtu:
        attrs["mtu"] = mtu
    with netlink() as ipr:
        try:
            ipr.link("add", ifname=name, kind="bridge", **attrs)
        except NetlinkError as err:
            raise system_error(err.code, f"error creating bridge interface {name}") from err


def delete_link(name: str) -> bool:
    """Remove a link; False when it was already gone."""
    with netlink() as ipr:
        index = link_index(ipr, name)
        if index is None:
            return False
        try:
            ipr.link("del", index=index)
        except NetlinkError as err:
            if err.code == errno.ENODEV:
                return False
            raise system_error(err.code, f"error destroying network device {name}") from err
        return True


def set_link_up(name: str, up: bool = True) -> None:
    with netlink() as ipr:
        index = _require(ipr, name)
        try:
            ipr.link("set", index=index, state="up" if up else "down")
        except NetlinkError as err:
            raise system_error(err.code, f"Cannot set interface flags on '{name}'") from err


def add_address(name: str, address: str, prefixlen: int) -> None:
    """Add ``address/prefixlen`` to a link (with the broadcast address for IPv4)."""
    with netlink() as ipr:
        index = _require(ipr, name)
        extra = {}
        addr = ipaddress.ip_address(address)
        if addr.version == 4:
            net = ipaddress.ip_network(f"{address}/{prefixlen}", strict=False)
            extra["broadcast"] = str(net.broadcast_address)
        try:
            ipr.addr("add", index=index, address=address, prefixlen=prefixlen, **extra)
        except NetlinkError as err:
            raise system_error(err.code, f"Failed to add IP address {address}/{prefixlen} "
                                         f"to {name}") from err


def add_route(name: str, network: IPNetwork, gateway: str, metric: int | None = None) -> None:
    with netlink() as ipr:
        index = _require(ipr, name)
        args = {"dst": str(network), "gateway": gateway, "oif": index}
        if metric:
            args["priority"] = metric
        try:
            ipr.route("add", **args)
        except NetlinkError as err:
            raise system_error(err.code, f"Failed to add route to {network} via {gateway} "
                                         f"on {name}") from err


def link_routes() -> list[tuple[IPNetwork, str]]:
    """Directly connected and static routes of the main table: (network, device)."""
    found: list[tuple[IPNetwork, str]] = []
    with netlink() as ipr:
        names = {link["index"]: link.get("ifname") for link in ipr.get_links()}
        for family in (2, 10):
            for route in ipr.get_routes(family=family, table=254):
                dst = route.get("RTA_DST")
                if dst is None:
                    continue
                try:
                    net = ipaddress.ip_network(f"{dst}/{route['dst_len']}", strict=False)
                except ValueError:
                    continue
                found.append((net, names.get(route.get("RTA_OIF"), "")))
    return found


def set_port_isolated(name: str, isolated: bool = True) -> None:
    """The bridge port flag behind ``<port isolated='yes'/>``: isolated ports
    reach the bridge's other ports, but never each other."""
    with netlink() as ipr:
        index = _require(ipr, name)
        try:
            ipr.brport("set", index=index, isolated=1 if isolated else 0)
        except NetlinkError as err:
            raise system_error(err.code, f"Unable to set bridge port isolation on {name}") \
                from err


def set_ipv6_disabled(name: str, disabled: bool) -> None:
    """libvirt turns IPv6 off on a bridge that has no IPv6 address of its own."""
    path = f"/proc/sys/net/ipv6/conf/{name}/disable_ipv6"
    try:
        with open(path, "w") as fh:
            fh.write("1\n" if disabled else "0\n")
    except OSError:
        pass  # no IPv6 in this kernel/namespace


def _require(ipr: "IPRoute", name: str) -> int:
    index = link_index(ipr, name)
    if index is None:
        raise system_error(errno.ENODEV, f"Unable to get index for interface {name}")
    return index
