"""The real network driver's NetworkConnection table (libvirt's bridge_driver).

Entry points follow ``drivers/base.py``; messages and codes follow libvirt's
network driver. State is shared per (config dir, run dir) through
:class:`~pyvirt.drivers.network.state.NetworkDriverState`; this object is one
connection on it (its event callbacks are its own).
"""

from __future__ import annotations

import functools
import os
import uuid as uuidlib
from typing import Any, Callable

from pyvirt.conf.network_update import update_network
from pyvirt.drivers.base import NetworkConnection, NetworkRef
from pyvirt.drivers.network import guests
from pyvirt.drivers.network.lifecycle import write_dnsmasq_files
from pyvirt.drivers.network.state import NetworkDriverState, parse_definition, uuid_bytes
from pyvirt.errors import (
    VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_INTERNAL_ERROR, VIR_ERR_INVALID_ARG,
    VIR_ERR_NO_NETWORK, VIR_ERR_OPERATION_FAILED, VIR_ERR_OPERATION_INVALID,
    VIR_FROM_NETWORK, error, libvirtError,
)
from pyvirt.security.paths import check_ifname, check_name
from pyvirt.network import dnsmasq
from pyvirt.objects import numbers as n
from pyvirt.objects.network_obj import NetworkObj

UPDATE_AFFECT_LIVE, UPDATE_AFFECT_CONFIG = 1, 2
#: virNetworkUpdate sections whose live change needs a dnsmasq restart, not a SIGHUP.
_RESTART_SECTIONS = (3, 5)          # ip, ip-dhcp-range
LIST_FILTERS_ALL = 0x3F


def check_flags(flags: int, allowed: int, function: str) -> None:
    """virCheckFlags: its message carries no prefix."""
    if flags & ~allowed:
        raise libvirtError(f"unsupported flags (0x{flags & ~allowed:x}) in function {function}",
                           code=VIR_ERR_INVALID_ARG, domain=VIR_FROM_NETWORK)


def delivers_events(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(self: "NetworkDriver", *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        finally:
            self.state.flush_events()
    return wrapper


class NetworkDriver(NetworkConnection):
    """One connection to a network driver state."""

    def __init__(self, state: NetworkDriverState, readonly: bool = False) -> None:
        self.state = state
        self.readonly = readonly

    # --- helpers ----------------------------------------------------------------------
    @staticmethod
    def _ref(net: NetworkObj) -> NetworkRef:
        return NetworkRef(net.name, net.uuid)

    def _net(self, ref: NetworkRef) -> NetworkObj:
        net = self.state.nets.find_by_uuid(bytes(ref.uuid))
        if net is None:
            raise error(VIR_ERR_NO_NETWORK, "no network with matching uuid "
                        f"'{uuidlib.UUID(bytes=bytes(ref.uuid))}' ({ref.name})",
                        domain=VIR_FROM_NETWORK)
        return net

    def find_by_name(self, name: str) -> NetworkObj:
        net = self.state.nets.find_by_name(name)
        if net is None:
            raise error(VIR_ERR_NO_NETWORK, f"no network with matching name '{name}'",
                        domain=VIR_FROM_NETWORK)
        return net

    def _event(self, net: NetworkObj, event: int) -> None:
        self.state.queue_event(net, event)

    def connect_close(self) -> None:
        self.state.events.deregister_owner(self)

    # --- lookup and listing -----------------------------------------------------------
    def network_lookup_by_name(self, name: str) -> NetworkRef:
        return self._ref(self.find_by_name(name))

    def network_lookup_by_uuid(self, uuid: bytes) -> NetworkRef:
        net = self.state.nets.find_by_uuid(bytes(uuid))
        if net is None:
            raise error(VIR_ERR_NO_NETWORK, "no network with matching uuid "
                        f"'{uuidlib.UUID(bytes=bytes(uuid))}'", domain=VIR_FROM_NETWORK)
        return self._ref(net)

    def connect_list_all_networks(self, flags: int = 0) -> list[NetworkRef]:
        check_flags(flags, LIST_FILTERS_ALL, "networkConnectListAllNetworks")
        return [self._ref(x) for x in self.state.nets.list(flags)]

    def connect_num_of_networks(self) -> int:
        return len(self.state.nets.list(n.LIST_ACTIVE))

    def connect_list_networks(self, maxnames: int = -1) -> list[str]:
        names = [x.name for x in self.state.nets.list(n.LIST_ACTIVE)]
        return names if maxnames < 0 else names[:maxnames]

    def connect_num_of_defined_networks(self) -> int:
        return len(self.state.nets.list(n.LIST_INACTIVE))

    def connect_list_defined_networks(self, maxnames: int = -1) -> list[str]:
        names = [x.name for x in self.state.nets.list(n.LIST_INACTIVE)]
        return names if maxnames < 0 else names[:maxnames]

    # --- definitions ------------------------------------------------------------------
    def _prepare(self, xml: str) -> Any:
        ndef = parse_definition(xml)
        check_name("network", ndef.name)           # dnsmasq files, status, config
        if ndef.bridge_name and "%d" not in ndef.bridge_name:
            check_ifname(ndef.bridge_name)
        _check_single_ipv4_dhcp(ndef)
        if (ndef.forward_mode or "none") in ("none", "nat", "route", "open"):
            same = self.state.nets.find_by_name(ndef.name)
            if not ndef.bridge_name and same is not None and \
                    (same.pending_def or same.definition).bridge_name:
                ndef.bridge_name = (same.pending_def or same.definition).bridge_name
                ndef.normalize()
            if not ndef.bridge_name or "%d" in ndef.bridge_name:
                self.state.assign_bridge_name(ndef)
            elif self.state.bridge_in_use(ndef.bridge_name, ndef.name):
                raise error(VIR_ERR_INTERNAL_ERROR,
                            f"bridge name '{ndef.bridge_name}' already in use.",
                            domain=VIR_FROM_NETWORK)
            if not ndef.mac:
                ndef.mac = _random_mac()
                ndef.normalize()
        return ndef

    def _check_duplicates(self, name: str, uuid: bytes) -> NetworkObj | None:
        same_uuid = self.state.nets.find_by_uuid(uuid)
        if same_uuid is not None:
            if same_uuid.name != name:
                raise error(VIR_ERR_OPERATION_FAILED,
                            f"network '{same_uuid.name}' is already defined with uuid "
                            f"{same_uuid.uuid_str}", domain=VIR_FROM_NETWORK)
            return same_uuid
        same_name = self.state.nets.find_by_name(name)
        if same_name is not None:
            raise error(VIR_ERR_OPERATION_FAILED,
                        f"network '{name}' already exists with uuid {same_name.uuid_str}",
                        domain=VIR_FROM_NETWORK)
        return None

    @delivers_events
    def network_define_xml_flags(self, xml: str, flags: int = 0) -> NetworkRef:
        check_flags(flags, 1, "networkDefineXMLFlags")   # NETWORK_DEFINE_VALIDATE
        with self.state.lock:
            ndef = self._prepare(xml)
            uuid = uuid_bytes(ndef)
            net = self._check_duplicates(ndef.name, uuid)
            if net is None:
                net = NetworkObj(name=ndef.name, uuid=uuid, definition=ndef)
                self.state.save_config(net)
                self.state.nets.add(net)
            else:
                old = (net.definition, net.pending_def, net.persistent)
                if net.active:
                    net.pending_def = ndef
                else:
                    net.definition = ndef
                net.persistent = True
                try:
                    self.state.save_config(net)
                except BaseException:
                    net.definition, net.pending_def, net.persistent = old
                    raise
            self._event(net, n.NET_EVENT_DEFINED)
            return self._ref(net)

    def network_define_xml(self, xml: str) -> NetworkRef:
        return self.network_define_xml_flags(xml, 0)

    @delivers_events
    def network_create_xml(self, xml: str, flags: int = 0) -> NetworkRef:
        check_flags(flags, 1, "networkCreateXMLFlags")
        with self.state.lock:
            ndef = self._prepare(xml)
            uuid = uuid_bytes(ndef)
            net = self._check_duplicates(ndef.name, uuid)
            if net is not None and net.active:
                raise error(VIR_ERR_OPERATION_INVALID, f"network '{ndef.name}' is already "
                            "active", domain=VIR_FROM_NETWORK)
            if net is None:
                net = NetworkObj(name=ndef.name, uuid=uuid, definition=ndef, persistent=False)
                self.state.nets.add(net)
                try:
                    self.state.start(net)
                except BaseException:
                    self.state.nets.remove(net)
                    raise
            else:
                saved = net.definition
                net.definition, net.pending_def = ndef, saved
                try:
                    self.state.start(net)
                except BaseException:
                    net.definition, net.pending_def = saved, None
                    raise
            self._event(net, n.NET_EVENT_STARTED)
            return self._ref(net)

    def network_create_xml_flags(self, xml: str, flags: int = 0) -> NetworkRef:
        return self.network_create_xml(xml, flags)

    @delivers_events
    def network_undefine(self, ref: NetworkRef) -> None:
        """An active network stays up and becomes transient, as in libvirt."""
        with self.state.lock:
            net = self._net(ref)
            if not net.persistent:
                raise error(VIR_ERR_OPERATION_INVALID, "can't undefine transient network",
                            domain=VIR_FROM_NETWORK)
            self.state.dirs.delete_config(net.name)
            net.autostart = False
            self._event(net, n.NET_EVENT_UNDEFINED)
            if net.active:
                net.persistent, net.pending_def = False, None
            else:
                dnsmasq.DnsmasqFiles(self.state.dirs.run, net.name).leases.unlink(
                    missing_ok=True)
                self.state.nets.remove(net)

    # --- lifecycle --------------------------------------------------------------------
    @delivers_events
    def network_create(self, ref: NetworkRef) -> None:
        with self.state.lock:
            net = self._net(ref)
            if net.active:
                raise error(VIR_ERR_OPERATION_INVALID, "network is already active",
                            domain=VIR_FROM_NETWORK)
            self.state.start(net)
            self._event(net, n.NET_EVENT_STARTED)

    @delivers_events
    def network_destroy(self, ref: NetworkRef) -> None:
        with self.state.lock:
            net = self._net(ref)
            if not net.active:
                raise error(VIR_ERR_OPERATION_INVALID, f"network '{net.name}' is not active",
                            domain=VIR_FROM_NETWORK)
            self.state.stop(net)
            self._event(net, n.NET_EVENT_STOPPED)
            if not net.persistent:
                self.state.nets.remove(net)

    # --- descriptions -----------------------------------------------------------------
    def network_get_xml_desc(self, ref: NetworkRef, flags: int = 0) -> str:
        check_flags(flags, 1, "networkGetXMLDesc")   # NETWORK_XML_INACTIVE
        with self.state.lock:
            net = self._net(ref)
            if flags & 1 and net.pending_def is not None:
                return net.pending_def.to_xml()
            ndef = net.definition
            runtime = self.state.runtime.get(net.uuid)
            if not flags & 1 and runtime is not None and runtime.ports:
                ndef = ndef.copy()
                ndef.connections = len(runtime.ports)
            return ndef.to_xml()

    def network_is_active(self, ref: NetworkRef) -> bool:
        return self._net(ref).active

    def network_is_persistent(self, ref: NetworkRef) -> bool:
        return self._net(ref).persistent

    def network_get_autostart(self, ref: NetworkRef) -> bool:
        return self._net(ref).autostart

    def network_set_autostart(self, ref: NetworkRef, autostart: bool) -> None:
        with self.state.lock:
            net = self._net(ref)
            if not net.persistent:
                raise error(VIR_ERR_OPERATION_INVALID,
                            "cannot set autostart for transient network",
                            domain=VIR_FROM_NETWORK)
            self.state.dirs.set_autostart(net.name, bool(autostart))
            net.autostart = bool(autostart)

    def network_get_bridge_name(self, ref: NetworkRef) -> str:
        net = self._net(ref)
        name = net.definition.bridge_name
        if not name:
            raise error(VIR_ERR_INVALID_ARG, f"network '{net.name}' does not have a bridge "
                        "name.", domain=VIR_FROM_NETWORK)
        return name

    # --- live edits -------------------------------------------------------------------
    def network_update(self, ref: NetworkRef, command: int, section: int, parent_index: int,
                       xml: str, flags: int = 0) -> None:
        check_flags(flags, UPDATE_AFFECT_LIVE | UPDATE_AFFECT_CONFIG, "networkUpdate")
        with self.state.lock:
            net = self._net(ref)
            if not flags & (UPDATE_AFFECT_LIVE | UPDATE_AFFECT_CONFIG):
                flags |= UPDATE_AFFECT_LIVE if net.active else UPDATE_AFFECT_CONFIG
            if flags & UPDATE_AFFECT_CONFIG and not net.persistent:
                raise error(VIR_ERR_OPERATION_INVALID, "cannot change persistent config of a "
                            "transient network", domain=VIR_FROM_NETWORK)
            if flags & UPDATE_AFFECT_LIVE and not net.active:
                raise error(VIR_ERR_OPERATION_INVALID, "network is not running",
                            domain=VIR_FROM_NETWORK)
            config = None
            if flags & UPDATE_AFFECT_CONFIG:
                base = net.pending_def if net.pending_def is not None else net.definition
                config = base.copy()
                _update(config, net.name, command, section, parent_index, xml)
            live = None
            if flags & UPDATE_AFFECT_LIVE:
                live = net.definition.copy()
                _update(live, net.name, command, section, parent_index, xml)
            if config is not None:
                if net.active:
                    net.pending_def = config
                else:
                    net.definition = config
                self.state.save_config(net)
            if live is not None:
                if net.persistent and net.pending_def is None:
                    net.pending_def = net.definition
                net.definition = live
                self._apply_live_update(net, section)

    def _apply_live_update(self, net: NetworkObj, section: int) -> None:
        runtime = self.state.runtime.get(net.uuid)
        if runtime is None or runtime.dnsmasq is None:
            self.state.save_status(net)
            return
        if section in _RESTART_SECTIONS:
            self.state.restart_dnsmasq(net, runtime)
        else:
            files = dnsmasq.DnsmasqFiles(self.state.dirs.run, net.name)
            write_dnsmasq_files(net.definition, runtime.bridge, files, self.state.dnsmasq_user)
            runtime.dnsmasq.reload()
        self.state.save_status(net)

    # --- leases -----------------------------------------------------------------------
    def network_get_dhcp_leases(self, ref: NetworkRef, mac: str | None = None,
                                flags: int = 0) -> list[dict[str, Any]]:
        check_flags(flags, 0, "networkGetDHCPLeases")
        with self.state.lock:
            return guests.dhcp_leases(self.state, self._net(ref), mac)

    # --- events -----------------------------------------------------------------------
    def connect_network_event_register_any(self, event_id: int, ref: NetworkRef | None,
                                           sink: Callable[..., None]) -> int:
        uuid = None if ref is None else self._net(ref).uuid
        return self.state.events.register(event_id, uuid, sink, self)

    def connect_network_event_deregister_any(self, callback_id: int) -> None:
        if not self.state.events.deregister(callback_id, self):
            raise error(VIR_ERR_INVALID_ARG,
                        f"could not find event callback {callback_id} for deletion",
                        domain=VIR_FROM_NETWORK)

    # --- guest NICs (called by the QEMU driver, not part of the public API) -----------
    def attach_guest_interface(self, network_name: str, mac: str, ifname_hint: str | None,
                               *, want_fd: bool = True) -> tuple[str, int | None, str]:
        """Plug a guest NIC into a running network: (tap name, tap fd or None, bridge)."""
        with self.state.lock:
            return guests.attach(self.state, self.find_by_name(network_name), mac,
                                 ifname_hint, want_fd=want_fd)

    def plug_guest_floor(self, network_name: str, tap: str, mac: str, floor) -> None:
        """Guarantee a plugged NIC its inbound ``floor`` (a Rate) on the network's bridge."""
        with self.state.lock:
            guests.plug_floor(self.state, self.find_by_name(network_name), tap, mac, floor)

    def detach_guest_interface(self, tap_name: str) -> bool:
        """Remove a tap made by :meth:`attach_guest_interface`; False if not ours."""
        with self.state.lock:
            return guests.detach(self.state, tap_name)


def _update(ndef: Any, name: str, command: int, section: int, parent_index: int,
            xml: str) -> None:
    """Edit one definition with libvirt's section editor (its own codes and messages)."""
    update_network(ndef.node, name, command, section, parent_index, xml)


def _check_single_ipv4_dhcp(ndef: Any) -> None:
    """libvirt serves DHCP on one IPv4 address per network only."""
    with_dhcp = [ip for ip in ndef.ips
                 if (ip.network() is not None and ip.network().version == 4)
                 and (list(ip.ranges) or list(ip.hosts))]
    if len(with_dhcp) > 1:
        raise error(VIR_ERR_CONFIG_UNSUPPORTED, "Multiple IPv4 dhcp sections found -- dhcp "
                    "is supported only for a single IPv4 address on each network",
                    domain=VIR_FROM_NETWORK)


def _random_mac() -> str:
    tail = os.urandom(3)
    return "52:54:00:" + ":".join(f"{b:02x}" for b in tail)


__all__ = ["NetworkDriver"]
