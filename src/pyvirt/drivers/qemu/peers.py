"""The network and storage drivers as the QEMU driver uses them.

A ``qemu://`` connection brings the network and storage drivers of the same
state layout (:func:`open_peers`). Starting a domain asks them for what its
definition names:

* ``<disk type='volume'><source pool= volume=/>`` → the volume's path, type and
  format (:func:`resolve_disks` gives a copy of the definition with such disks
  turned into file/block disks, for the checks and the command line; the live
  XML keeps ``type='volume'`` as libvirt's does);
* ``<interface type='network'>`` / ``type='bridge'`` → a tap plugged into the
  network's bridge or the host bridge (:func:`plug_interfaces`); its fd goes
  to QEMU (``-netdev tap,fd=N``), its name into the live ``<target dev>``; it
  is removed again when the domain stops or the start fails
  (:func:`unplug_taps`).

The storage driver asks back which running domains use a path
(:func:`volume_users`), so a volume in use cannot be deleted.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from pyvirt.drivers.qemu import state_dir
from pyvirt.errors import VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, error, libvirtError

if TYPE_CHECKING:
    from pyvirt.drivers.qemu.driver_state import QemuDriverState

log = logging.getLogger(__name__)

#: interface types whose tap the QEMU driver creates and plugs
TAP_TYPES = ("network", "bridge")


def open_peers(uri_path: str, root: str | None, readonly: bool) -> tuple[Any, Any]:
    """(network connection, storage connection) for a ``qemu://`` URI; None for a
    family that cannot be opened here (logged: the hypervisor still works)."""
    from pyvirt.drivers.network import open_network
    from pyvirt.drivers.storage import open_storage

    opened: list[Any] = []
    for kind, opener in (("network", open_network), ("storage", open_storage)):
        config, run = state_dir.peer_dirs_for_uri(uri_path, root, kind)
        try:
            opened.append(opener(config, run, readonly))
        except (libvirtError, OSError) as err:
            log.warning("the %s driver is not available on this connection: %s", kind, err)
            opened.append(None)
    return opened[0], opened[1]


# --- disks ----------------------------------------------------------------------------
def resolve_disks(storage: Any, live: Any) -> Any:
    """A copy of ``live`` whose volume disks are file/block disks on the volume's path
    (``<driver type>`` from the volume's format when the disk does not say)."""
    if not any(d.get("type") == "volume" for d in live.node.iterfind("devices/disk")):
        return live
    resolved = live.copy()
    for disk in resolved.node.iterfind("devices/disk"):
        if disk.get("type") == "volume":
            resolve_disk_node(storage, disk)
    return resolved


def resolve_disk_node(storage: Any, disk: Any) -> None:
    """Turn one ``<disk type='volume'>`` element into the file/block disk it names."""
    source = disk.find("source")
    pool = source.get("pool") if source is not None else None
    volume = source.get("volume") if source is not None else None
    if not pool or not volume:
        raise error(VIR_ERR_CONFIG_UNSUPPORTED,
                    "<disk type='volume'> needs <source pool='…' volume='…'/>",
                    domain=VIR_FROM_QEMU)
    if storage is None:
        raise error(VIR_ERR_CONFIG_UNSUPPORTED, f"cannot use volume '{volume}' of pool "
                    f"'{pool}': no storage driver on this connection", domain=VIR_FROM_QEMU)
    facts = storage.resolve_volume(pool, volume)
    if facts.vol_type not in ("file", "block"):
        raise error(VIR_ERR_CONFIG_UNSUPPORTED, f"volume '{volume}' of pool '{pool}' is "
                    f"a {facts.vol_type}, not a file or block device", domain=VIR_FROM_QEMU)
    disk.set("type", facts.vol_type)
    for attr in ("pool", "volume", "mode"):
        source.attrib.pop(attr, None)
    source.set("file" if facts.vol_type == "file" else "dev", facts.path)
    driver = disk.find("driver")
    if driver is None:
        from lxml import etree

        driver = etree.Element("driver", name="qemu")
        disk.insert(0, driver)
    if driver.get("type") is None and facts.format in ("raw", "qcow2"):
        driver.set("type", facts.format)


def volume_users(drv: "QemuDriverState", path: str) -> list[str]:
    """Names of the running domains with a disk on ``path`` (for the storage driver)."""
    want = os.path.realpath(path)
    users = []
    for dom in list(drv.domains):
        if not dom.active:
            continue
        rt = drv.runtimes.get(dom.uuid)
        ddef = getattr(rt, "disk_def", None) or dom.live_def
        if ddef is None:
            continue
        for disk in ddef.node.iterfind("devices/disk"):
            source = disk.find("source")
            where = source.get("file") or source.get("dev") if source is not None else None
            if where and os.path.realpath(where) == want:
                users.append(dom.name)
                break
    return users


# --- interfaces -------------------------------------------------------------------------
def tap_interfaces(ddef: Any) -> list[Any]:
    return [nic for nic in ddef.node.iterfind("devices/interface")
            if nic.get("type") in TAP_TYPES]


def plug_interfaces(network: Any, live: Any) -> tuple[list[str], list[int]]:
    """A tap per network/bridge NIC of ``live`` (document order), recorded in its
    ``<target dev>``; returns (tap names, fds for QEMU). A failure removes the taps
    made so far."""
    taps: list[str] = []
    fds: list[int] = []
    try:
        for nic in tap_interfaces(live):
            tap, fd = plug_nic(network, nic)
            taps.append(tap)
            fds.append(fd)
    except BaseException:
        close_fds(fds)
        unplug_taps(network, taps)
        raise
    return taps, fds


def plug_nic(network: Any, nic: Any) -> tuple[str, int]:
    """The tap of one ``<interface type='network'|'bridge'>`` element: made, plugged
    into its bridge, named in ``<target dev>`` (and the bridge in ``<source bridge>``
    for a network); returns (tap name, fd for QEMU)."""
    from pyvirt.drivers.network import attach_bridge_interface, attach_guest_interface

    mac_el = nic.find("mac")
    mac = mac_el.get("address") if mac_el is not None else None
    source = nic.find("source")
    target = nic.find("target")
    hint = target.get("dev") if target is not None else None
    if nic.get("type") == "network":
        name = source.get("network") if source is not None else None
        if network is None:
            raise error(VIR_ERR_CONFIG_UNSUPPORTED, f"cannot use network '{name}': no "
                        "network driver on this connection", domain=VIR_FROM_QEMU)
        tap, fd, bridge = attach_guest_interface(name, mac, hint, network=network)
        source.set("bridge", bridge)
    else:
        bridge = source.get("bridge") if source is not None else None
        if not bridge:
            raise error(VIR_ERR_CONFIG_UNSUPPORTED,
                        "<interface type='bridge'> needs <source bridge='…'/>",
                        domain=VIR_FROM_QEMU)
        tap, fd, bridge = attach_bridge_interface(bridge, mac, hint)
    _set_target(nic, tap)
    assert fd is not None
    try:
        isolate_nic(network, nic, tap)
    except BaseException:
        close_fds([fd])
        unplug_taps(network, [tap])
        raise
    return tap, fd


def isolate_nic(network: Any, nic: Any, tap: str) -> None:
    """The NIC's traffic filter (``<filterref>``, e.g. clean-traffic) on its tap,
    and ``<port isolated='yes'/>`` on its bridge port (isolated ports reach the
    bridge, never each other). Both go when the tap is removed."""
    from pyvirt.drivers.network import bandwidth_guest_interface, filter_guest_interface
    from pyvirt.network.bridge import set_port_isolated

    filter_guest_interface(nic, tap, network=network)
    bandwidth_guest_interface(nic, tap, network=network)   # <bandwidth>: tc on the tap
    port = nic.find("port")
    if port is not None and port.get("isolated") == "yes":
        set_port_isolated(tap)


def _set_target(nic: Any, tap: str) -> None:
    from lxml import etree

    target = nic.find("target")
    if target is None:
        target = etree.Element("target")
        after = nic.find("source") if nic.find("source") is not None else nic.find("mac")
        if after is not None:
            after.addnext(target)
        else:
            nic.insert(0, target)
    target.set("dev", tap)


def recorded_taps(live: Any) -> list[str]:
    """The taps a running domain's live XML names for its network/bridge NICs."""
    return [t.get("dev") for nic in tap_interfaces(live)
            if (t := nic.find("target")) is not None and t.get("dev")]


def unplug_taps(network: Any, taps: list[str]) -> None:
    """Remove these taps (errors are logged: a stop must go on)."""
    from pyvirt.drivers.network import detach_guest_interface

    for tap in taps:
        try:
            detach_guest_interface(tap, network=network)
        except (libvirtError, OSError) as err:
            log.warning("cannot remove tap '%s': %s", tap, err)


def close_fds(fds: list[int]) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass
