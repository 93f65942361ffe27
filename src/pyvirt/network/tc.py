"""libvirt's traffic-control layout for ``<bandwidth>``, as data (no I/O).

:func:`bandwidth_plan` turns the rates of one link into the ordered steps
libvirt's ``virNetDevBandwidthSet`` runs, each as :class:`TcStep`: the ``tc``
command line libvirt would run (``argv``, for logs and comparisons) and the
same change as pyroute2 ``IPRoute.tc()`` arguments (``command``, ``kind``,
``handle``, ``params``) that :mod:`pyvirt.network.bandwidth` sends over netlink.

The layout (``swapped``: the domain's inbound is the link's transmit side, as
for a guest's tap or veth and for a network's bridge)::

    transmit: qdisc 1: htb default 1 (2 when hierarchical)
              [class 1:1 htb rate=average ceil=peak|average quantum  (hierarchical)]
              class 1:1 (1:2 under 1:1) htb rate=average [ceil=peak] [burst] quantum
              qdisc 2: sfq perturb 10 under that class
              filter fw prio 1 handle 1 flowid 1 on 1:0
    receive:  qdisc ingress (ffff:)
              filter u32 match-all police rate=average burst=burst|average mtu 64kb drop

A NIC's inbound ``floor`` on a network with inbound QoS gets its own class on the
bridge (:func:`floor_plug_plan`: class 1:ID under 1:1, rate=floor, and a u32 filter on
its MAC), and class 1:2 is lowered to what is left (:func:`floor_rate_step`).

Units are tc's: libvirt writes ``<average>kbps`` (1000 bytes/s) and
``<burst>kb`` (1024 bytes); the netlink parameters carry the bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pyvirt.conf.netdev_bandwidth import Bandwidth, Rate

KBPS = 1000          # tc's "kbps": bytes per second
KB = 1024            # tc's "kb": bytes
MTU = 1500           # libvirt's quantum computation assumes it
POLICE_MTU = 64 * KB
UINT_MAX = (1 << 32) - 1
ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ROOT_HANDLE = 0x10000        # 1:
SFQ_HANDLE = 0x20000         # 2:
INGRESS_HANDLE = 0xFFFF0000  # ffff:

#: kernel features a step needs, by the name of the kernel option that provides it
FEATURES = {"htb": "CONFIG_NET_SCH_HTB", "sfq": "CONFIG_NET_SCH_SFQ",
            "fw": "CONFIG_NET_CLS_FW", "ingress": "CONFIG_NET_SCH_INGRESS",
            "police": "CONFIG_NET_ACT_POLICE", "u32": "CONFIG_NET_CLS_U32"}


def classid(major: int, minor: int) -> int:
    return (major << 16) | minor


def format_handle(handle: int) -> str:
    """``0x10002`` → ``1:2`` (tc's notation)."""
    return f"{handle >> 16:x}:{handle & 0xFFFF:x}"


@dataclass(frozen=True)
class TcStep:
    """One change on a link: libvirt's tc argv and the netlink request for it."""

    argv: tuple[str, ...]
    command: str                 # pyroute2 tc command: add, add-class, add-filter
    kind: str                    # htb, sfq, fw, ingress, u32
    handle: int
    params: dict[str, Any] = field(default_factory=dict)
    feature: str = ""            # key of FEATURES this step needs
    #: the step only refines the layout (fairness, classification): a kernel
    #: without its feature leaves it out instead of failing
    optional: bool = False


def quantum(rate: Rate) -> int:
    """libvirt's HTB quantum for a class (``average * 1024 / 8 / MTU``, at least 1)."""
    return max(rate.average * 1024 // 8 // MTU, 1)


def _transmit_steps(ifname: str, tx: Rate, hierarchical: bool) -> list[TcStep]:
    average = f"{tx.average}kbps"
    peak = f"{tx.peak}kbps" if tx.peak else None
    burst = f"{tx.burst}kb" if tx.burst else None
    leaf = classid(1, 2 if hierarchical else 1)
    steps = [TcStep(("tc", "qdisc", "add", "dev", ifname, "root", "handle", "1:", "htb",
                     "default", "2" if hierarchical else "1"),
                    "add", "htb", ROOT_HANDLE, {"default": 2 if hierarchical else 1},
                    feature="htb")]
    if hierarchical:
        top = {"parent": ROOT_HANDLE, "rate": tx.average * KBPS,
               "ceil": (tx.peak or tx.average) * KBPS, "quantum": quantum(tx)}
        steps.append(TcStep(("tc", "class", "add", "dev", ifname, "parent", "1:", "classid",
                             "1:1", "htb", "rate", average, "ceil", peak or average,
                             "quantum", str(quantum(tx))),
                            "add-class", "htb", classid(1, 1), top, feature="htb"))
    argv = ["tc", "class", "add", "dev", ifname, "parent", "1:1" if hierarchical else "1:",
            "classid", format_handle(leaf), "htb", "rate", average]
    params: dict[str, Any] = {"parent": classid(1, 1) if hierarchical else ROOT_HANDLE,
                              "rate": tx.average * KBPS}
    if peak:
        argv += ["ceil", peak]
        params["ceil"] = tx.peak * KBPS
    if burst:
        argv += ["burst", burst]
        params["burst"] = tx.burst * KB
    argv += ["quantum", str(quantum(tx))]
    params["quantum"] = quantum(tx)
    steps.append(TcStep(tuple(argv), "add-class", "htb", leaf, params, feature="htb"))
    steps.append(TcStep(("tc", "qdisc", "add", "dev", ifname, "parent", format_handle(leaf),
                         "handle", "2:", "sfq", "perturb", "10"),
                        "add", "sfq", SFQ_HANDLE, {"parent": leaf, "perturb": 10},
                        feature="sfq", optional=True))
    steps.append(TcStep(("tc", "filter", "add", "dev", ifname, "parent", "1:0", "protocol",
                         "all", "prio", "1", "handle", "1", "fw", "flowid", "1"),
                        "add-filter", "fw", 1,
                        {"parent": ROOT_HANDLE, "protocol": ETH_P_ALL, "prio": 1,
                         "classid": ROOT_HANDLE},
                        feature="fw", optional=True))
    return steps


def _receive_steps(ifname: str, rx: Rate) -> list[TcStep]:
    burst_kb = rx.burst if rx.burst else min(rx.average, UINT_MAX // 1024)
    return [
        TcStep(("tc", "qdisc", "add", "dev", ifname, "ingress"), "add", "ingress",
               INGRESS_HANDLE, feature="ingress"),
        TcStep(("tc", "filter", "add", "dev", ifname, "parent", "ffff:", "protocol", "all",
                "u32", "match", "u32", "0", "0", "police", "rate", f"{rx.average}kbps",
                "burst", f"{burst_kb}kb", "mtu", "64kb", "drop", "flowid", ":1"),
               "add-filter", "u32", 0,
               {"parent": INGRESS_HANDLE, "protocol": ETH_P_ALL, "keys": ["0x0/0x0+0"],
                "target": 1, "rate": rx.average * KBPS, "burst": burst_kb * KB,
                "mtu": POLICE_MTU, "action": "drop"},
               feature="police"),
    ]


def bandwidth_plan(ifname: str, bandwidth: Bandwidth | None, *, hierarchical: bool = False,
                   swapped: bool = True) -> list[TcStep]:
    """The steps libvirt's virNetDevBandwidthSet(ifname, bandwidth, hierarchical,
    swapped) runs after clearing the link (see the module docstring)."""
    if bandwidth is None:
        return []
    rx, tx = ((bandwidth.outbound, bandwidth.inbound) if swapped
              else (bandwidth.inbound, bandwidth.outbound))
    steps: list[TcStep] = []
    if tx is not None and tx.average:
        steps += _transmit_steps(ifname, tx, hierarchical)
    if rx is not None and rx.average:
        steps += _receive_steps(ifname, rx)
    return steps


# --- floor: a guaranteed class per guest NIC on the network's bridge ---------------------
def _net_ceil(net: Bandwidth) -> int:
    assert net.inbound is not None
    return net.inbound.peak or net.inbound.average


def u32_handle(class_id: int) -> int:
    """libvirt's filter handle ``800::<800+id>`` (it prints the node in decimal, tc
    reads it as hex): htid 0x800, node as tc reads it."""
    return (0x800 << 20) | int(str(800 + class_id), 16)


def floor_plug_plan(bridge: str, net: Bandwidth, mac: str, nic: Rate,
                    class_id: int) -> list[TcStep]:
    """libvirt's virNetDevBandwidthPlug: class 1:ID under 1:1 guaranteeing the NIC's
    floor (ceil: the network's inbound peak or average), an sfq leaf, and a u32
    filter sending IPv4 frames for the NIC's MAC into it."""
    ceil = _net_ceil(net)
    cls = classid(1, class_id)
    octets = mac.split(":")
    low, high = "0x" + "".join(octets[2:]), "0x" + "".join(octets[:2])
    return [
        TcStep(("tc", "class", "add", "dev", bridge, "parent", "1:1", "classid",
                format_handle(cls), "htb", "rate", f"{nic.floor}kbps", "ceil", f"{ceil}kbps",
                "quantum", str(quantum(nic))),
               "add-class", "htb", cls, {"parent": classid(1, 1), "rate": nic.floor * KBPS,
                                         "ceil": ceil * KBPS, "quantum": quantum(nic)},
               feature="htb"),
        TcStep(("tc", "qdisc", "add", "dev", bridge, "parent", format_handle(cls), "handle",
                f"{class_id:x}:", "sfq", "perturb", "10"),
               "add", "sfq", classid(class_id, 0), {"parent": cls, "perturb": 10},
               feature="sfq", optional=True),
        TcStep(("tc", "filter", "add", "dev", bridge, "protocol", "ip", "prio", "2", "handle",
                f"800::{800 + class_id}", "u32", "match", "u16", "0x0800", "0xffff", "at",
                "-2", "match", "u32", low, "0xffffffff", "at", "-12", "match", "u16", high,
                "0xffff", "at", "-14", "flowid", format_handle(cls)),
               "add-filter", "u32-mac", u32_handle(class_id),
               {"prio": 2, "protocol": ETH_P_IP, "classid": cls, "mac": mac.lower()},
               feature="u32"),
    ]


def floor_rate_step(bridge: str, net: Bandwidth, rate: int) -> TcStep:
    """libvirt's virNetDevBandwidthUpdateRate of class 1:2 (the traffic nobody
    guaranteed) to ``rate`` KiB/s once floors are plugged or unplugged."""
    assert net.inbound is not None
    ceil = _net_ceil(net)
    return TcStep(("tc", "class", "change", "dev", bridge, "classid", "1:2", "htb", "rate",
                   f"{rate}kbps", "ceil", f"{ceil}kbps", "quantum",
                   str(quantum(net.inbound))),
                  "change-class", "htb", classid(1, 2),
                  {"parent": classid(1, 1), "rate": rate * KBPS, "ceil": ceil * KBPS,
                   "quantum": quantum(net.inbound)}, feature="htb")


def floor_unplug_plan(bridge: str, class_id: int) -> list[TcStep]:
    """libvirt's virNetDevBandwidthUnplug (each step's failure tolerated)."""
    cls = classid(1, class_id)
    return [
        TcStep(("tc", "qdisc", "del", "dev", bridge, "parent", format_handle(cls), "handle",
                f"{class_id:x}:"), "del", "sfq", classid(class_id, 0), {"parent": cls},
               feature="sfq", optional=True),
        TcStep(("tc", "filter", "del", "dev", bridge, "prio", "2", "handle",
                f"800::{800 + class_id}", "u32"), "del-filter", "u32-mac",
               u32_handle(class_id), {"prio": 2, "protocol": 0}, feature="u32"),
        TcStep(("tc", "class", "del", "dev", bridge, "classid", format_handle(cls)),
               "del-class", "htb", cls, {"parent": classid(1, 1)}, feature="htb"),
    ]


def floor_check(net: Bandwidth | None, floor_sum: int) -> tuple[int, str] | None:
    """libvirt's networkCheckBandwidth: None when ``floor_sum`` (all plugged floors
    with the new one) fits, else (which limit, its name) it would overcommit."""
    if net is None or net.inbound is None:
        return None
    if net.inbound.peak:
        return (net.inbound.peak, "peak") if floor_sum > net.inbound.peak else None
    return (net.inbound.average, "average") if floor_sum > net.inbound.average else None


def floor_free_rate(net: Bandwidth, floor_sum: int) -> int:
    """The rate libvirt gives class 1:2 after a floor change: the network's inbound
    peak (or average) less every plugged floor."""
    return _net_ceil(net) - floor_sum


def clear_argv(ifname: str) -> list[tuple[str, ...]]:
    """What libvirt's virNetDevBandwidthClear runs (errors ignored)."""
    return [("tc", "qdisc", "del", "dev", ifname, "root"),
            ("tc", "qdisc", "del", "dev", ifname, "ingress")]
