"""Tap devices for guest NICs: created through /dev/net/tun, plugged into a bridge.

A tap is either held by a file descriptor (handed to QEMU as ``-netdev tap,fd=N``;
the device disappears when the last holder closes it) or made persistent
(QEMU opens it by name with ``ifname=...,script=no,downscript=no``).
As libvirt does, the tap's own MAC is the guest's with the first byte 0xfe, so
the bridge never takes the guest's address as its own.
"""

from __future__ import annotations

import fcntl
import os
import struct

from pyvirt.errors import VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, error
from pyvirt.network.bridge import (
    NetlinkError, delete_link, link_index, netlink, system_error,
)

TUNSETIFF = 0x400454CA
TUNSETPERSIST = 0x400454CB
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
IFNAMSIZ = 16
#: Names libvirt reserves for taps it names itself: a hint with these is ignored.
RESERVED_PREFIXES = ("vnet", "vif", "macvtap", "macvlan")


def tap_mac(guest_mac: str) -> str:
    """The host side's MAC: the guest's with 0xfe as first byte."""
    parts = guest_mac.lower().split(":")
    return ":".join(["fe"] + parts[1:])


def tap_name_template(hint: str | None) -> str:
    """The name to ask the kernel for: the hint, or ``vnet%d`` when the hint is
    empty or uses a reserved prefix."""
    if not hint or hint.startswith(RESERVED_PREFIXES):
        return "vnet%d"
    return hint


def open_tap(name: str, *, persistent: bool) -> tuple[str, int]:
    """Create (or attach to) tap ``name`` ("%d" lets the kernel number it).

    Returns (actual name, fd). With ``persistent`` the device outlives the fd.
    """
    if len(name) >= IFNAMSIZ:
        raise system_error(34, f"Unable to create tap device {name}")  # ERANGE
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_CLOEXEC)
    try:
        ifr = struct.pack("16sH22x", name.encode(), IFF_TAP | IFF_NO_PI)
        try:
            res = fcntl.ioctl(fd, TUNSETIFF, ifr)
        except OSError as err:
            raise system_error(err.errno, f"Unable to create tap device {name}") from err
        actual = res[:IFNAMSIZ].split(b"\0", 1)[0].decode()
        if persistent:
            fcntl.ioctl(fd, TUNSETPERSIST, 1)
        return actual, fd
    except BaseException:
        os.close(fd)
        raise


def plug_tap(tap: str, bridge: str, mac: str, mtu: int | None = None) -> None:
    """Give the tap its MAC and MTU, enslave it to ``bridge`` and bring it up."""
    with netlink() as ipr:
        index = link_index(ipr, tap)
        master = link_index(ipr, bridge)
        if index is None:
            raise system_error(19, f"Unable to get index for interface {tap}")
        if master is None:
            raise system_error(19, f"Unable to add bridge {bridge} port {tap}")
        try:
            ipr.link("set", index=index, address=tap_mac(mac))
            if mtu is None:
                mtu = ipr.get_links(master)[0].get("IFLA_MTU")
            if mtu:
                ipr.link("set", index=index, mtu=mtu)
        except NetlinkError as err:
            raise system_error(err.code, f"Cannot set interface MAC/MTU on '{tap}'") from err
        try:
            ipr.link("set", index=index, master=master)
        except NetlinkError as err:
            raise system_error(err.code, f"Unable to add bridge {bridge} port {tap}") from err
        try:
            ipr.link("set", index=index, state="up")
        except NetlinkError as err:
            raise system_error(err.code, f"Cannot set interface flags on '{tap}'") from err


def create_tap_in_bridge(bridge: str, mac: str, hint: str | None, *, want_fd: bool = True,
                         mtu: int | None = None) -> tuple[str, int | None]:
    """A tap on ``bridge`` for a guest NIC with ``mac``: (name, fd or None).

    On failure nothing is left behind.
    """
    name, fd = open_tap(tap_name_template(hint), persistent=not want_fd)
    try:
        plug_tap(name, bridge, mac, mtu)
    except BaseException:
        os.close(fd)
        if not want_fd:
            _delete_quietly(name)
        raise
    if want_fd:
        return name, fd
    os.close(fd)
    return name, None


def _delete_quietly(name: str) -> None:
    try:
        delete_link(name)
    except Exception:  # noqa: BLE001 - cleanup after an earlier failure
        pass


def interface_stats(name: str, *, swapped: bool = True) -> list[int]:
    """virDomainInterfaceStats for a host-side device: [rx_bytes, rx_packets,
    rx_errs, rx_drop, tx_bytes, tx_packets, tx_errs, tx_drop]. For a guest's tap
    ``swapped`` turns the host's view into the guest's (what the tap sends, the
    guest receives), as libvirt does."""
    with netlink() as ipr:
        index = link_index(ipr, name)
        if index is None:
            raise error(VIR_ERR_INTERNAL_ERROR, "/proc/net/dev: Interface not found",
                        domain=VIR_FROM_NONE)
        stats = ipr.get_links(index)[0].get("IFLA_STATS64") or {}
    rx = [stats.get(k, 0) for k in ("rx_bytes", "rx_packets", "rx_errors", "rx_dropped")]
    tx = [stats.get(k, 0) for k in ("tx_bytes", "tx_packets", "tx_errors", "tx_dropped")]
    return tx + rx if swapped else rx + tx
