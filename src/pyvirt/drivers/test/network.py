"""The test driver's NetworkConnection: in-memory virtual networks and their events."""

from __future__ import annotations

import uuid as uuidlib
from typing import Any, Callable


from pyvirt.drivers.base import NetworkConnection, NetworkRef
from pyvirt.drivers.test import netpoolxml
from pyvirt.drivers.test.checks import check_flags, delivers_events as _events
from pyvirt.drivers.test.state import TestState
from pyvirt.errors import (
    VIR_FROM_NONE,
    VIR_ERR_INTERNAL_ERROR, VIR_ERR_INVALID_ARG, VIR_ERR_NO_NETWORK, VIR_ERR_OPERATION_FAILED,
    VIR_ERR_OPERATION_INVALID, VIR_FROM_NETWORK, VIR_FROM_TEST, error,
)
from pyvirt.objects import numbers as n
from pyvirt.objects.network_obj import NetworkObj


class TestNetworks(NetworkConnection):
    #: every call works on memory only, so pyvirtd may run it on its event loop
    calls_never_block = True

    def __init__(self, state: TestState, owner: Any) -> None:
        self.state = state
        self._owner = owner            # the connection that registers callbacks

    @property
    def _nets(self):  # noqa: ANN202
        return self.state.networks

    @staticmethod
    def _ref(net: NetworkObj) -> NetworkRef:
        return NetworkRef(net.name, net.uuid)

    def _net(self, ref: NetworkRef) -> NetworkObj:
        net = self._nets.find_by_uuid(ref.uuid)
        if net is None:
            raise error(VIR_ERR_NO_NETWORK, "no network with matching uuid "
                        f"'{uuidlib.UUID(bytes=ref.uuid)}' ({ref.name})", domain=VIR_FROM_TEST)
        return net

    def _event(self, net: NetworkObj, event: int) -> None:
        self.state.network_events.queue(n.NETWORK_EVENT_ID_LIFECYCLE, self._ref(net), event, 0)

    def _check_duplicates(self, name: str, uuid: bytes) -> NetworkObj | None:
        same_uuid = self._nets.find_by_uuid(uuid)
        if same_uuid is not None:
            if same_uuid.name != name:
                raise error(VIR_ERR_OPERATION_FAILED,
                            f"network '{same_uuid.name}' is already defined with uuid "
                            f"{same_uuid.uuid_str}", domain=VIR_FROM_NETWORK)
            return same_uuid
        same_name = self._nets.find_by_name(name)
        if same_name is not None:
            raise error(VIR_ERR_OPERATION_FAILED,
                        f"network '{name}' already exists with uuid {same_name.uuid_str}",
                        domain=VIR_FROM_NETWORK)
        return None

    # --- lookup -----------------------------------------------------------------------
    def network_lookup_by_name(self, name: str) -> NetworkRef:
        net = self._nets.find_by_name(name)
        if net is None:
            raise error(VIR_ERR_NO_NETWORK, f"no network with matching name '{name}'",
                        domain=VIR_FROM_TEST)
        return self._ref(net)

    def network_lookup_by_uuid(self, uuid: bytes) -> NetworkRef:
        net = self._nets.find_by_uuid(bytes(uuid))
        if net is None:
            raise error(VIR_ERR_NO_NETWORK, "no network with matching uuid "
                        f"'{uuidlib.UUID(bytes=bytes(uuid))}'", domain=VIR_FROM_TEST)
        return self._ref(net)

    def connect_list_all_networks(self, flags: int = 0) -> list[NetworkRef]:
        check_flags(flags, 0x3F, "testConnectListAllNetworks")
        return [self._ref(x) for x in self._nets.list(flags)]

    def connect_num_of_networks(self) -> int:
        return len(self._nets.list(n.LIST_ACTIVE))

    def connect_list_networks(self, maxnames: int = -1) -> list[str]:
        names = [x.name for x in self._nets.list(n.LIST_ACTIVE)]
        return names if maxnames < 0 else names[:maxnames]

    def connect_num_of_defined_networks(self) -> int:
        return len(self._nets.list(n.LIST_INACTIVE))

    def connect_list_defined_networks(self, maxnames: int = -1) -> list[str]:
        names = [x.name for x in self._nets.list(n.LIST_INACTIVE)]
        return names if maxnames < 0 else names[:maxnames]

    # --- definition and lifecycle -----------------------------------------------------
    @_events
    def network_define_xml_flags(self, xml: str, flags: int = 0) -> NetworkRef:
        check_flags(flags, 1, "testNetworkDefineXMLFlags")  # NETWORK_DEFINE_VALIDATE
        ndef = netpoolxml.normalize_network(netpoolxml.parse_network(xml))
        name, uuid = netpoolxml.name_of(ndef), netpoolxml.uuid_of(ndef)
        with self._nets.lock:
            net = self._check_duplicates(name, uuid)
            if net is None:
                net = self._nets.add(NetworkObj(name=name, uuid=uuid, definition=ndef))
            elif net.active:
                net.pending_def, net.persistent = ndef, True
            else:
                net.definition, net.persistent, net.pending_def = ndef, True, None
            self._event(net, n.NET_EVENT_DEFINED)
            return self._ref(net)

    def network_define_xml(self, xml: str) -> NetworkRef:
        return self.network_define_xml_flags(xml, 0)

    @_events
    def network_create_xml(self, xml: str, flags: int = 0) -> NetworkRef:
        check_flags(flags, 1, "testNetworkCreateXMLFlags")
        ndef = netpoolxml.normalize_network(netpoolxml.parse_network(xml))
        name, uuid = netpoolxml.name_of(ndef), netpoolxml.uuid_of(ndef)
        with self._nets.lock:
            net = self._check_duplicates(name, uuid)
            if net is not None and net.active:
                raise error(VIR_ERR_OPERATION_INVALID, f"network '{name}' is already active",
                            domain=VIR_FROM_NETWORK)
            if net is None:
                net = self._nets.add(NetworkObj(name=name, uuid=uuid, definition=ndef,
                                                persistent=False))
            net.active = True
            self._event(net, n.NET_EVENT_STARTED)
            return self._ref(net)

    @_events
    def network_undefine(self, ref: NetworkRef) -> None:
        with self._nets.lock:
            net = self._net(ref)
            if net.active:
                raise error(VIR_ERR_OPERATION_INVALID, f"Network '{net.name}' is still running",
                            domain=VIR_FROM_TEST)
            self._nets.remove(net)
            self._event(net, n.NET_EVENT_UNDEFINED)

    @_events
    def network_create(self, ref: NetworkRef) -> None:
        with self._nets.lock:
            net = self._net(ref)
            if net.active:
                raise error(VIR_ERR_OPERATION_INVALID,
                            f"Network '{net.name}' is already running", domain=VIR_FROM_TEST)
            net.active = True
            self._event(net, n.NET_EVENT_STARTED)

    @_events
    def network_destroy(self, ref: NetworkRef) -> None:
        """Stop a network (libvirt's test driver does not refuse an inactive one)."""
        with self._nets.lock:
            net = self._net(ref)
            net.active = False      # libvirt's test driver keeps a pending definition
            self._event(net, n.NET_EVENT_STOPPED)
            if not net.persistent:
                self._nets.remove(net)

    def network_create_xml_flags(self, xml: str, flags: int = 0) -> NetworkRef:
        return self.network_create_xml(xml, flags)

    def network_update(self, ref: NetworkRef, command: int, section: int, parent_index: int,
                       xml: str, flags: int = 0) -> None:
        """virNetworkUpdate as libvirt 9.0's test driver does it (virNetworkObjUpdate):
        CURRENT is LIVE on a running network, else CONFIG; a config edit starts from
        the pending definition when there is one and, on a stopped network, replaces
        the definition (the pending one stays, as libvirt leaves it)."""
        check_flags(flags, n.NETWORK_UPDATE_AFFECT_LIVE | n.NETWORK_UPDATE_AFFECT_CONFIG,
                    "testNetworkUpdate")
        with self._nets.lock:
            net = self._net(ref)
            if not flags & (n.NETWORK_UPDATE_AFFECT_LIVE | n.NETWORK_UPDATE_AFFECT_CONFIG):
                flags |= (n.NETWORK_UPDATE_AFFECT_LIVE if net.active
                          else n.NETWORK_UPDATE_AFFECT_CONFIG)
            if flags & n.NETWORK_UPDATE_AFFECT_LIVE and not net.active:
                raise error(VIR_ERR_OPERATION_INVALID, "network is not running",
                            domain=VIR_FROM_NETWORK)
            from pyvirt.drivers.test.netupdate import update_network  # rarely used
            config = live = None
            if flags & n.NETWORK_UPDATE_AFFECT_CONFIG:
                if not net.persistent:
                    raise error(VIR_ERR_OPERATION_INVALID, "cannot change persistent config "
                                "of a transient network", domain=VIR_FROM_NETWORK)
                base = net.pending_def if net.pending_def is not None else net.definition
                config = base.copy()
                update_network(config.node, net.name, command, section, parent_index, xml)
            if flags & n.NETWORK_UPDATE_AFFECT_LIVE:
                live = net.definition.copy()
                update_network(live.node, net.name, command, section, parent_index, xml)
            if config is not None:
                if net.active:
                    net.pending_def = config
                else:
                    net.definition = config
            if live is not None:
                net.definition = live

    def network_get_xml_desc(self, ref: NetworkRef, flags: int = 0) -> str:
        check_flags(flags, 0, "testNetworkGetXMLDesc")   # no NETWORK_XML_INACTIVE in 9.0
        with self._nets.lock:
            return netpoolxml.format_network(self._net(ref).definition)

    def network_is_active(self, ref: NetworkRef) -> bool:
        return self._net(ref).active

    def network_is_persistent(self, ref: NetworkRef) -> bool:
        return self._net(ref).persistent

    def network_get_autostart(self, ref: NetworkRef) -> bool:
        return self._net(ref).autostart

    def network_set_autostart(self, ref: NetworkRef, autostart: bool) -> None:
        with self._nets.lock:
            # libvirt 9.0's test driver sets it on a transient network too
            self._net(ref).autostart = bool(autostart)

    def network_get_bridge_name(self, ref: NetworkRef) -> str:
        name = netpoolxml.bridge_name(self._net(ref).definition)
        if not name:
            raise error(VIR_ERR_INTERNAL_ERROR,
                        f"network '{ref.name}' does not have a bridge name.",
                        domain=VIR_FROM_TEST)
        return name

    # --- events -----------------------------------------------------------------------
    def connect_network_event_register_any(self, event_id: int, ref: NetworkRef | None,
                                           sink: Callable[..., None]) -> int:
        uuid = None if ref is None else self._net(ref).uuid
        return self.state.network_events.register(event_id, uuid, sink, self._owner)

    def connect_network_event_deregister_any(self, callback_id: int) -> None:
        if not self.state.network_events.deregister(callback_id, self._owner):
            raise error(VIR_ERR_INVALID_ARG,
                        f"could not find event callback {callback_id} for deletion",
                        domain=VIR_FROM_NONE)
