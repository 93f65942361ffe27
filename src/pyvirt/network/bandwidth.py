"""``<bandwidth>`` on a link of the current network namespace, over netlink.

:func:`set_bandwidth` clears the link's root and ingress qdiscs and sends the
steps of :func:`pyvirt.network.tc.bandwidth_plan` (libvirt's layout) with
pyroute2; :func:`clear_bandwidth` removes them again (deleting the link does
too). :func:`plug_floor` / :func:`unplug_floor` / :func:`update_floor_rate` manage a
guest NIC's guaranteed class on its network's bridge (``floor``). :func:`read_bandwidth` reads the qdiscs and HTB classes back, for
``domiftune``-style reports and tests.

A kernel without a step's feature: the sfq leaf and the fw filter only refine
the layout (fairness between flows, classification of marked packets), so they
are left out (one warning per feature and process); a missing htb, ingress or
police is an error naming the kernel option, and nothing of the half-made layout
stays.
"""

from __future__ import annotations

import errno
import logging
from typing import Any

import socket
import struct

from pyvirt.conf.netdev_bandwidth import Bandwidth, Rate
from pyvirt.errors import VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, error
from pyvirt.network import tc
from pyvirt.network.bridge import NetlinkError, link_index, netlink, system_error

try:
    from pyroute2.netlink import NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, nla
    from pyroute2.netlink.rtnl import RTM_DELTFILTER, RTM_NEWTFILTER
    from pyroute2.netlink.rtnl.tcmsg import tcmsg

    class _U32Message(tcmsg):
        """A tc filter message whose u32 selector is given as raw bytes."""

        # pyroute2 compiles a message class's nla_map once and marks the class; the
        # mark is inherited, so a subclass of an already used tcmsg would reuse
        # tcmsg's compiled map: clear the (name-mangled) mark for this class
        _nlmsg_base__compiled_nla = False
        nla_map = (("TCA_UNSPEC", "none"), ("TCA_KIND", "asciiz"),
                   ("TCA_OPTIONS", "u32_options"))

        class u32_options(nla):  # noqa: N801 - pyroute2 resolves nla classes by this name
            _nlmsg_base__compiled_nla = False
            nla_map = (("TCA_U32_UNSPEC", "none"), ("TCA_U32_CLASSID", "uint32"),
                       ("TCA_U32_HASH", "uint32"), ("TCA_U32_LINK", "uint32"),
                       ("TCA_U32_DIVISOR", "uint32"), ("TCA_U32_SEL", "cdata"))
except ImportError:  # pragma: no cover - pyvirt.network.bridge reports it on use
    _U32Message = None  # type: ignore[assignment,misc]

_TC_U32_TERMINAL = 1

log = logging.getLogger(__name__)

#: errno a kernel gives for a qdisc, classifier or action kind it does not have
_UNKNOWN_KIND = (errno.ENOENT, errno.EOPNOTSUPP)
#: optional features this kernel turned out not to have (asked once, warned once)
_MISSING: set[str] = set()


def _index(ipr: Any, ifname: str) -> int:
    index = link_index(ipr, ifname)
    if index is None:
        raise system_error(errno.ENODEV, f"Unable to set bandwidth for interface {ifname}")
    return index


def _clear(ipr: Any, index: int) -> None:
    for kind, handle in (("htb", tc.ROOT_HANDLE), ("ingress", tc.INGRESS_HANDLE)):
        try:
            if kind == "ingress":
                ipr.tc("del", "ingress", index, tc.INGRESS_HANDLE)
            else:
                ipr.tc("del", index=index, handle=0, parent=0xFFFFFFFF)
        except NetlinkError:
            pass       # nothing there (libvirt ignores tc's exit status here too)


def set_bandwidth(ifname: str, bandwidth: Bandwidth | None, *, hierarchical: bool = False,
                  swapped: bool = True) -> list[str]:
    """Apply libvirt's layout for ``bandwidth`` on ``ifname`` (replacing what was
    there); returns the optional steps the kernel could not do (by feature)."""
    steps = tc.bandwidth_plan(ifname, bandwidth, hierarchical=hierarchical, swapped=swapped)
    skipped: list[str] = []
    with netlink() as ipr:
        index = _index(ipr, ifname)
        _clear(ipr, index)
        for step in steps:
            if step.optional and step.feature in _MISSING:
                skipped.append(step.feature)
                continue
            try:
                _send(ipr, index, step)
            except NetlinkError as err:
                if step.optional and err.code in _UNKNOWN_KIND:
                    log.warning("left out '%s' on %s and from now on: the kernel has no %s",
                                " ".join(step.argv), ifname, tc.FEATURES[step.feature])
                    _MISSING.add(step.feature)
                    skipped.append(step.feature)
                    continue
                _clear(ipr, index)
                raise _step_error(ifname, step, err) from err
    return skipped


def _send(ipr: Any, index: int, step: tc.TcStep) -> None:
    if step.kind == "u32-mac":
        _u32_mac_filter(ipr, index, step)
    elif step.command in ("del", "del-class"):     # by handle only: no options to encode
        ipr.tc(step.command, index=index, handle=step.handle, **step.params)
    else:
        ipr.tc(step.command, step.kind, index, step.handle, **step.params)


def _u32_selector(mac: str) -> bytes:
    """struct tc_u32_sel + keys for libvirt's match: IPv4 ethertype and destination
    MAC, at negative offsets from the network header (tc's "at -2/-12/-14", packed
    into aligned 32-bit keys as tc packs them). pyroute2's u32 encoder only knows
    offsets 0..255, so the selector is built here."""
    raw = bytes(int(part, 16) for part in mac.split(":"))
    keys = [(0xFFFF, 0x0800, -4), (0xFFFFFFFF, int.from_bytes(raw[2:], "big"), -12),
            (0xFFFF, int.from_bytes(raw[:2], "big"), -16)]
    head = struct.pack("=BBBxHHhhI", _TC_U32_TERMINAL, 0, len(keys), 0, 0, 0, 0, 0)
    return head + b"".join(struct.pack("!II", mask, value) + struct.pack("=ii", off, 0)
                           for mask, value, off in keys)


def _u32_mac_filter(ipr: Any, index: int, step: tc.TcStep) -> None:
    """Add or delete libvirt's per-MAC u32 filter with a hand-built message."""
    msg = _U32Message()
    msg["family"] = socket.AF_UNSPEC
    msg["index"] = index
    msg["handle"] = step.handle
    msg["parent"] = 0                     # the root qdisc (1:), as tc without "parent"
    msg["info"] = (step.params["prio"] << 16) | socket.htons(step.params["protocol"])
    attrs: list[list[Any]] = [["TCA_KIND", "u32"]]
    if step.command == "add-filter":
        attrs.append(["TCA_OPTIONS", {"attrs": [
            ["TCA_U32_CLASSID", step.params["classid"]],
            ["TCA_U32_SEL", _u32_selector(step.params["mac"])]]}])
        flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
        kind = RTM_NEWTFILTER
    else:
        flags, kind = NLM_F_REQUEST | NLM_F_ACK, RTM_DELTFILTER
    msg["attrs"] = attrs
    ipr.status.setdefault("nlm_generator", False)   # pyroute2 0.9's sync nlm_request reads it
    tuple(ipr.nlm_request(msg, kind, flags))


def plug_floor(bridge: str, net: Bandwidth, mac: str, nic: Rate, class_id: int) -> None:
    """The guaranteed class of one NIC on ``bridge`` (libvirt's virNetDevBandwidthPlug);
    a failure takes back what it made."""
    with netlink() as ipr:
        index = _index(ipr, bridge)
        for step in tc.floor_plug_plan(bridge, net, mac, nic, class_id):
            if step.optional and step.feature in _MISSING:
                continue
            try:
                _send(ipr, index, step)
            except NetlinkError as err:
                if step.optional and err.code in _UNKNOWN_KIND:
                    _MISSING.add(step.feature)
                    continue
                _quietly(ipr, index, tc.floor_unplug_plan(bridge, class_id))
                raise _step_error(bridge, step, err) from err


def unplug_floor(bridge: str, class_id: int) -> None:
    """Remove a NIC's guaranteed class, its leaf and its filter (failures tolerated)."""
    with netlink() as ipr:
        index = link_index(ipr, bridge)
        if index is not None:
            _quietly(ipr, index, tc.floor_unplug_plan(bridge, class_id))


def update_floor_rate(bridge: str, net: Bandwidth, rate: int) -> None:
    """Class 1:2's rate after a floor change (KiB/s)."""
    with netlink() as ipr:
        _send(ipr, _index(ipr, bridge), tc.floor_rate_step(bridge, net, rate))


def _quietly(ipr: Any, index: int, steps: list[tc.TcStep]) -> None:
    for step in steps:
        try:
            _send(ipr, index, step)
        except NetlinkError:
            pass


def _step_error(ifname: str, step: tc.TcStep, err: Exception) -> Exception:
    code = getattr(err, "code", 0)
    if code in _UNKNOWN_KIND:
        return error(VIR_ERR_INTERNAL_ERROR, f"cannot set bandwidth on {ifname}: "
                     f"'{' '.join(step.argv)}' needs {tc.FEATURES[step.feature]}, which "
                     "this kernel lacks", domain=VIR_FROM_NONE)
    return system_error(code or errno.EIO, f"cannot set bandwidth on {ifname}: "
                        f"'{' '.join(step.argv)}' failed")


def clear_bandwidth(ifname: str) -> None:
    """Remove the root and ingress qdiscs of ``ifname`` (no error when absent)."""
    with netlink() as ipr:
        index = link_index(ipr, ifname)
        if index is not None:
            _clear(ipr, index)


def read_bandwidth(ifname: str) -> dict[str, Any]:
    """{'qdiscs': [(kind, handle, parent)], 'classes': {handle: {'parent', 'rate',
    'ceil', 'quantum', 'buffer', 'cbuffer'}}} of ``ifname``, handles as tc writes them."""
    with netlink() as ipr:
        index = _index(ipr, ifname)
        qdiscs = [(q.get_attr("TCA_KIND"), tc.format_handle(q["handle"]),
                   tc.format_handle(q["parent"])) for q in ipr.get_qdiscs(index)]
        classes = {}
        for msg in ipr.get_classes(index):
            if msg.get_attr("TCA_KIND") != "htb":
                continue
            parms = msg.get_nested("TCA_OPTIONS", "TCA_HTB_PARMS")
            classes[tc.format_handle(msg["handle"])] = {
                "parent": tc.format_handle(msg["parent"]), "rate": parms["rate"],
                "ceil": parms["ceil"], "quantum": parms["quantum"],
                "buffer": parms["buffer"], "cbuffer": parms["cbuffer"]}
    return {"qdiscs": qdiscs, "classes": classes}
