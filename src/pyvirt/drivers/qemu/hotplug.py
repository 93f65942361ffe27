"""Attaching and detaching disks on a running domain (and in its saved config).

Live attach: ``blockdev-add`` (storage node, then format node) + ``device_add``;
the disk gets an alias and joins the live definition. Live detach:
``device_del``, wait for QMP ``DEVICE_DELETED`` (up to 5 s, as libvirt), then
``blockdev-del`` of both nodes and removal from the live definition. If the
guest is slower, the call returns and the removal completes when the event
arrives (``device_removal_done``), which also emits
``VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED``.

Node names follow the launch convention ``X-storage`` / ``X-format``.
"""

from __future__ import annotations

import copy
import os
from typing import TYPE_CHECKING, Any

from pyvirt.conf.devices import parse_device
from pyvirt.drivers.qemu import defaults, isolation, lifecycle, peers
from pyvirt.errors import (
    VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_DEVICE_MISSING, VIR_ERR_OPERATION_FAILED,
    VIR_ERR_OPERATION_INVALID,
    VIR_ERR_XML_ERROR,
    VIR_FROM_DOMAIN, VIR_FROM_QEMU, error, libvirtError,
)
from pyvirt.objects import numbers as n

if TYPE_CHECKING:
    from pyvirt.drivers.qemu.driver_state import QemuDriverState
    from pyvirt.drivers.qemu.runtime import DomainRuntime
    from pyvirt.objects.domain_obj import DomainObj

#: how long a detach waits for the guest to release the device (libvirt: 5 s)
DETACH_WAIT_S = 5.0


def selected_defs(dom: "DomainObj", flags: int) -> tuple[bool, bool]:
    """(live, config) that AFFECT_LIVE / AFFECT_CONFIG / CURRENT select."""
    live, config = bool(flags & n.AFFECT_LIVE), bool(flags & n.AFFECT_CONFIG)
    if not live and not config:
        live, config = dom.active, not dom.active
    if live and not dom.active:
        raise error(VIR_ERR_OPERATION_INVALID, "domain is not running", domain=VIR_FROM_DOMAIN)
    if config and not dom.persistent:
        raise error(VIR_ERR_OPERATION_INVALID,
                    "cannot modify device on transient domain", domain=VIR_FROM_QEMU)
    return live, config


def _disk_targets(ddef: Any) -> list[str]:
    return [t.get("dev") for t in ddef.node.iterfind("devices/disk/target") if t.get("dev")]


def _parse_device(xml: str, ddef: Any) -> Any:
    dev = parse_device(xml)
    if dev.node.tag not in ("disk", "interface"):
        raise error(VIR_ERR_CONFIG_UNSUPPORTED,
                    f"live attach of device '{dev.node.tag}' is not supported",
                    domain=VIR_FROM_QEMU)
    ddef.normalize_device(dev, ifname_prefix=None)
    return dev


def attach(drv: "QemuDriverState", dom: "DomainObj", xml: str, flags: int) -> None:
    live, config = selected_defs(dom, flags)
    for ddef, is_live in ((dom.live_def, True), (dom.persistent_def, False)):
        if not (live if is_live else config):
            continue
        dev = _parse_device(xml, ddef)
        if dev.node.tag == "interface":
            if is_live:
                _attach_nic_live(drv, dom, dev)
            else:
                ddef.add_device(dev)
                drv.save_config(dom)
            continue
        target = dev.node.find("target").get("dev")
        for existing in ddef.node.iterfind("devices/disk"):
            if existing.find("target") is not None \
                    and existing.find("target").get("dev") == target:
                raise error(VIR_ERR_XML_ERROR,
                            f"target '{target}' duplicated for disk sources "
                            f"'{lifecycle.disk_source(existing) or ''}' and "
                            f"'{lifecycle.disk_source(dev.node) or ''}'",
                            domain=VIR_FROM_DOMAIN)
        if is_live:
            _attach_live(drv, dom, dev)
        else:
            ddef.add_device(dev)
            drv.save_config(dom)
    if live:
        lifecycle.save_status(drv, dom)


def _attach_live(drv: "QemuDriverState", dom: "DomainObj", dev: Any) -> None:
    given = dev.node
    bus = given.find("target").get("bus", "virtio")
    if bus != "virtio" or given.get("device", "disk") != "disk" \
            or given.get("type", "file") not in ("file", "block", "volume"):
        raise error(VIR_ERR_CONFIG_UNSUPPORTED, "live attach supports virtio file/block/"
                    "volume disks only", domain=VIR_FROM_QEMU)
    node = copy.deepcopy(given)            # what QEMU gets: a volume resolved to its path
    if node.get("type") == "volume":
        peers.resolve_disk_node(drv.storage, node)
    path = lifecycle.disk_source(node)
    if not path or not os.path.exists(path):
        raise error(lifecycle.VIR_ERR_SYSTEM_ERROR,
                    f"Cannot access storage file '{path}': No such file or directory",
                    domain=lifecycle.VIR_FROM_STORAGE)
    probe = copy.deepcopy(dom.live_def)
    probe.node.find("devices").append(copy.deepcopy(node))
    lifecycle.check_disk_conflicts(drv, dom, probe)
    rt = lifecycle.runtime_of(drv, dom)
    isolation.label_hotplug(drv, dom, rt.owner, node)   # QEMU opens it as the guest
    try:
        isolation.plug_block_node(rt.pid, node)         # in QEMU's own /dev, if it has one
    except libvirtError:
        isolation.unlabel_unplugged(drv, dom, rt.owner, node, [dom.live_def, rt.disk_def])
        raise
    alias = lifecycle.disk_alias(node)
    fmt = (node.find("driver").get("type") if node.find("driver") is not None else None) or "raw"
    readonly = node.find("readonly") is not None
    storage = {"driver": "host_device" if node.get("type") == "block" else "file",
               "filename": path, "node-name": f"{alias}-storage", "auto-read-only": True,
               "discard": "unmap"}
    fmt_node = {"node-name": f"{alias}-format", "read-only": readonly, "driver": fmt,
                "file": f"{alias}-storage"}
    slot = defaults.assign_hotplug_slot(dom.live_def, given)
    placement = {"bus": "pci.0", "addr": f"0x{slot:x}"} if slot is not None else {}
    added: list[str] = []
    try:
        rt.monitor.execute("blockdev-add", storage)
        added.append(storage["node-name"])
        rt.monitor.execute("blockdev-add", fmt_node)
        added.append(fmt_node["node-name"])
        rt.monitor.execute("device_add", {"driver": "virtio-blk-pci", "id": alias,
                                          "drive": fmt_node["node-name"], **placement})
    except libvirtError:
        address = given.find("address")
        if slot is not None and address is not None:
            given.remove(address)
        for name in reversed(added):
            try:
                rt.monitor.execute("blockdev-del", {"node-name": name})
            except libvirtError:
                pass
        isolation.unplug_block_node(rt.pid, node)
        isolation.unlabel_unplugged(drv, dom, rt.owner, node, [dom.live_def, rt.disk_def])
        raise
    _set_alias(given, alias)
    dom.live_def.add_device(dev)
    if given.get("type") == "volume":                      # volume users see its path
        if rt.disk_def is None or rt.disk_def is dom.live_def:
            rt.disk_def = dom.live_def.copy()
            _forget_resolved_disk(dom, rt, given)
        rt.disk_def.node.find("devices").append(node)
    drv.events.queue(n.EVENT_ID_DEVICE_ADDED, drv.ref(dom), alias)


def _set_alias(node: Any, alias: str) -> None:
    alias_el = node.find("alias")
    if alias_el is None:
        from lxml import etree
        alias_el = etree.Element("alias")
        address = node.find("address")
        if address is not None:
            address.addprevious(alias_el)
        else:
            node.append(alias_el)
    alias_el.set("name", alias)


def _attach_nic_live(drv: "QemuDriverState", dom: "DomainObj", dev: Any) -> None:
    """``netdev_add`` (user networking, or a tap for a network/bridge NIC: made by
    the network driver, its fd passed with ``getfd``) + ``device_add`` of the model."""
    from pyvirt.drivers.qemu.command import NIC_MODELS

    node = dev.node
    if node.get("type") not in ("user", *peers.TAP_TYPES):
        raise error(VIR_ERR_CONFIG_UNSUPPORTED, f"live attach of <interface type='"
                    f"{node.get('type')}'> is not supported yet", domain=VIR_FROM_QEMU)
    model_el = node.find("model")
    model = (model_el.get("type") if model_el is not None else None) or "rtl8139"
    if model not in NIC_MODELS:
        raise error(VIR_ERR_CONFIG_UNSUPPORTED, f"unsupported interface model '{model}'",
                    domain=VIR_FROM_QEMU)
    mac_el = node.find("mac")
    mac = mac_el.get("address") if mac_el is not None else None
    for existing in dom.live_def.node.iterfind("devices/interface/mac"):
        if mac and existing.get("address", "").lower() == mac.lower():
            raise error(VIR_ERR_OPERATION_FAILED, f"interface {mac} already exists",
                        domain=VIR_FROM_DOMAIN)
    used = {a.get("name") for a in dom.live_def.node.iterfind("devices/interface/alias")}
    index = next(i for i in range(1024) if f"net{i}" not in used)
    alias, netdev = f"net{index}", f"hostnet{index}"
    rt = lifecycle.runtime_of(drv, dom)
    slot = defaults.assign_hotplug_slot(dom.live_def, node)
    placement = {"bus": "pci.0", "addr": f"0x{slot:x}"} if slot is not None else {}
    tap = _add_netdev(drv, rt, node, netdev)
    try:
        rt.monitor.execute("device_add", {"driver": NIC_MODELS[model], "netdev": netdev,
                                          "id": alias, **({"mac": mac} if mac else {}),
                                          **placement})
    except libvirtError:
        address = node.find("address")
        if slot is not None and address is not None:
            node.remove(address)
        try:
            rt.monitor.execute("netdev_del", {"id": netdev})
        except libvirtError:
            pass
        if tap is not None:
            rt.taps.remove(tap)
            peers.unplug_taps(drv.network, [tap])
        raise
    _set_alias(node, alias)
    dom.live_def.add_device(dev)
    drv.events.queue(n.EVENT_ID_DEVICE_ADDED, drv.ref(dom), alias)


def detach(drv: "QemuDriverState", dom: "DomainObj", xml: str, flags: int) -> None:
    live, config = selected_defs(dom, flags)
    wanted = parse_device(xml)
    found = {}
    for ddef, is_live in ((dom.live_def, True), (dom.persistent_def, False)):
        if not (live if is_live else config):
            continue
        match = ddef.find_device(wanted)
        if match is None:
            raise _missing(wanted)
        found[is_live] = match
    if config:
        dom.persistent_def.remove_device(found[False])
        drv.save_config(dom)
    if live:
        _detach_live(drv, dom, found[True])
        lifecycle.save_status(drv, dom)


def _missing(wanted: Any) -> Exception:
    if wanted.node.tag == "interface":
        mac = wanted.node.find("mac")
        what = f"matching mac address {mac.get('address')}" if mac is not None else "matching"
        return error(VIR_ERR_DEVICE_MISSING, f"no interface {what} found",
                     domain=VIR_FROM_QEMU)
    target = wanted.node.find("target")
    what = target.get("dev") if target is not None else wanted.node.tag
    return error(VIR_ERR_DEVICE_MISSING, f"{wanted.node.tag} {what} not found",
                 domain=VIR_FROM_QEMU)


def _alias_of(dev: Any) -> str:
    alias = dev.node.find("alias")
    if alias is not None and alias.get("name"):
        return alias.get("name")
    return lifecycle.disk_alias(dev.node)


def _add_netdev(drv: "QemuDriverState", rt: "DomainRuntime", node: Any,
                netdev: str) -> str | None:
    """The NIC's host side; returns the tap made for a network/bridge NIC."""
    if node.get("type") == "user":
        rt.monitor.execute("netdev_add", {"type": "user", "id": netdev})
        return None
    tap, fd = peers.plug_nic(drv.network, node)
    try:
        rt.monitor.pass_fd(f"fd-{netdev}", fd)
        rt.monitor.execute("netdev_add", {"type": "tap", "id": netdev, "fd": f"fd-{netdev}"})
    except BaseException:
        peers.unplug_taps(drv.network, [tap])
        raise
    finally:
        peers.close_fds([fd])          # QEMU holds its own copy
    rt.taps.append(tap)
    return tap


def _detach_live(drv: "QemuDriverState", dom: "DomainObj", dev: Any) -> None:
    """``device_del``; the host side (block nodes, netdev) goes once QEMU confirms."""
    rt = lifecycle.runtime_of(drv, dom)
    alias = _alias_of(dev)
    if dev.node.tag == "interface":
        cleanup = ("netdev", "host" + alias)          # net3 -> hostnet3
    else:
        fmt = next((b.get("inserted", {}).get("node-name")
                    for b in rt.monitor.execute("query-block")
                    if alias in (b.get("qdev") or "").split("/")), None)
        cleanup = ("blockdev", fmt)
    rt.forget_deleted(alias)
    rt.monitor.execute("device_del", {"id": alias})
    rt.pending_removals[alias] = cleanup
    if rt.wait_deleted(alias, DETACH_WAIT_S):
        device_removal_done(drv, dom, rt, alias)


def device_removal_done(drv: "QemuDriverState", dom: "DomainObj", rt: "DomainRuntime",
                        alias: str) -> None:
    """QEMU let go of ``alias``: drop its host side and its place in the live XML."""
    if alias not in rt.pending_removals:
        return
    kind, name = rt.pending_removals.pop(alias)
    names = [name, name.replace("-format", "-storage")] if kind == "blockdev" and name \
        else [name] if name else []
    for node_name in names:
        try:
            if kind == "netdev":
                rt.monitor.execute("netdev_del", {"id": node_name})
            else:
                rt.monitor.execute("blockdev-del", {"node-name": node_name})
        except libvirtError:
            pass
    for dev in dom.live_def.node.find("devices"):
        if not isinstance(dev.tag, str) or dev.tag not in ("disk", "interface"):
            continue
        alias_el = dev.find("alias")
        current = alias_el.get("name") if alias_el is not None else (
            lifecycle.disk_alias(dev) if dev.tag == "disk" else None)
        if current == alias:
            _release_tap(drv, rt, dev)
            resolved = _resolved_disk(dom, rt, dev)
            _forget_resolved_disk(dom, rt, dev)
            dev.getparent().remove(dev)
            if dev.tag == "disk":                  # its files and node go back now
                isolation.unplug_block_node(rt.pid, resolved)
                isolation.unlabel_unplugged(drv, dom, rt.owner, resolved,
                                            [dom.live_def, rt.disk_def])
            break
    lifecycle.save_status(drv, dom)


def _resolved_disk(dom: "DomainObj", rt: "DomainRuntime", dev: Any) -> Any:
    """The ``<disk>`` QEMU was given for ``dev`` (a volume resolved to its path)."""
    if dev.tag != "disk" or rt.disk_def is None or rt.disk_def is dom.live_def:
        return dev
    target = dev.find("target")
    want = target.get("dev") if target is not None else None
    for disk in rt.disk_def.node.iterfind("devices/disk"):
        mine = disk.find("target")
        if want and mine is not None and mine.get("dev") == want:
            return disk
    return dev


def _forget_resolved_disk(dom: "DomainObj", rt: "DomainRuntime", dev: Any) -> None:
    """An unplugged disk leaves the resolved copy of the definition too."""
    if dev.tag != "disk" or rt.disk_def is None or rt.disk_def is dom.live_def:
        return
    target = dev.find("target")
    want = target.get("dev") if target is not None else None
    for disk in rt.disk_def.node.iterfind("devices/disk"):
        mine = disk.find("target")
        if want and mine is not None and mine.get("dev") == want:
            disk.getparent().remove(disk)
            return


def _release_tap(drv: "QemuDriverState", rt: "DomainRuntime", dev: Any) -> None:
    """An unplugged network/bridge NIC's tap goes too."""
    if dev.tag != "interface" or dev.get("type") not in peers.TAP_TYPES:
        return
    target = dev.find("target")
    tap = target.get("dev") if target is not None else None
    if tap:
        if tap in rt.taps:
            rt.taps.remove(tap)
        peers.unplug_taps(drv.network, [tap])
