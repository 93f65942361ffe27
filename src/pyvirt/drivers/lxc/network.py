"""A container's NICs: veth pairs, the host end on a bridge, the other end
renamed ``ethN`` with the MAC from the XML inside the container's network
namespace.

:func:`plan_interfaces` is pure (definition → :class:`VethPlan` list; the
bridge of a ``type='network'`` NIC comes from ``bridge_of_network``);
:func:`plug_veth` / :func:`delete_veth` do the host work with iproute2.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from typing import Any, Callable

from pyvirt.conf.netdev_bandwidth import parse_bandwidth
from pyvirt.errors import (
    VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_OPERATION_FAILED, VIR_FROM_LXC, error,
)
from pyvirt.network.bandwidth import set_bandwidth


@dataclass(frozen=True)
class VethPlan:
    host_name: str       # vnetN on the host, plugged into ``bridge``
    guest_name: str      # ethN inside the container
    mac: str
    bridge: str
    bandwidth: Any = None  # conf.netdev_bandwidth.Bandwidth of the NIC, set on the host end


def _run(*argv: str) -> None:
    result = subprocess.run(list(argv), capture_output=True, text=True)
    if result.returncode != 0:
        raise error(VIR_ERR_OPERATION_FAILED, f"{' '.join(argv)}: {result.stderr.strip()}",
                    domain=VIR_FROM_LXC)


def link_exists(name: str) -> bool:
    return subprocess.run(["ip", "link", "show", "dev", name], capture_output=True).returncode == 0


def free_host_names(count: int, taken: Callable[[str], bool] = link_exists,
                    prefix: str = "vethct") -> list[str]:
    names: list[str] = []
    index = 0
    while len(names) < count:
        candidate = f"{prefix}{index}"
        if not taken(candidate):
            names.append(candidate)
        index += 1
    return names


def plan_interfaces(ddef: Any, bridge_of_network: Callable[[str], str],
                    taken: Callable[[str], bool] = link_exists) -> list[VethPlan]:
    """The veths for ``ddef``'s ``<interface>`` elements (type network or bridge)."""
    nodes = list(ddef.node.iterfind("devices/interface"))
    wanted = [n.find("target").get("dev") if n.find("target") is not None else None
              for n in nodes]
    fresh = iter(free_host_names(sum(1 for w in wanted if not w), taken))
    plans = []
    for index, node in enumerate(nodes):
        kind = node.get("type")
        source = node.find("source")
        if kind == "bridge":
            bridge = source.get("bridge") if source is not None else None
        elif kind == "network":
            name = source.get("network") if source is not None else None
            bridge = bridge_of_network(name) if name else None
        else:
            raise error(VIR_ERR_CONFIG_UNSUPPORTED, f"Unsupported network type {kind}",
                        domain=VIR_FROM_LXC)
        if not bridge:
            raise error(VIR_ERR_CONFIG_UNSUPPORTED, f"interface {index} has no bridge or "
                        "network source", domain=VIR_FROM_LXC)
        mac_node = node.find("mac")
        mac = mac_node.get("address") if mac_node is not None else ""
        guest = node.find("guest")
        guest_name = guest.get("dev") if guest is not None and guest.get("dev") else f"eth{index}"
        plans.append(VethPlan(wanted[index] or next(fresh), guest_name, mac or "", bridge,
                              parse_bandwidth(node.find("bandwidth"), allow_floor=True)))
    return plans


def plug_veth(plan: VethPlan, pid: int) -> None:
    """Create the pair, put one end into ``pid``'s network namespace as ethN."""
    peer = f"{plan.host_name}p"[:15]
    _run("ip", "link", "add", plan.host_name, "type", "veth", "peer", "name", peer)
    try:
        if plan.mac:
            _run("ip", "link", "set", peer, "address", plan.mac)
        _run("ip", "link", "set", plan.host_name, "master", plan.bridge)
        _run("ip", "link", "set", plan.host_name, "up")
        _run("ip", "link", "set", peer, "netns", str(pid))
        inside = ("nsenter", "-t", str(pid), "-n", "ip", "link", "set")
        _run(*inside, peer, "name", plan.guest_name)
        _run(*inside, plan.guest_name, "up")
        _run(*inside, "lo", "up")
        if plan.bandwidth is not None and not plan.bandwidth.empty:
            set_bandwidth(plan.host_name, plan.bandwidth, hierarchical=False, swapped=True)
    except Exception:
        delete_veth(plan.host_name)
        raise


def delete_veth(host_name: str) -> None:
    """Remove a veth (its peer goes with it); no error when it is gone."""
    subprocess.run(["ip", "link", "del", host_name], capture_output=True)
