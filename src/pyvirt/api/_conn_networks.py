"""virConnect's network calls: lookup, listing, definition.

A mixin of :class:`pyvirt.api.connect.virConnect`.
"""

from __future__ import annotations

from typing import Any

from pyvirt.api._checks import check_not_none, check_uuid_bytes, parse_uuid_string
from pyvirt.api._lasterror import recorded
from pyvirt.api.network import virNetwork
from pyvirt.constants import VIR_CONNECT_LIST_NETWORKS_ACTIVE, VIR_CONNECT_LIST_NETWORKS_INACTIVE
from pyvirt.errors import VIR_ERR_NO_SUPPORT, VIR_FROM_NETWORK, error


@recorded
class ConnectNetworks:
    """Network lookup, listing and definition on a connection."""

    _drv: Any

    # --- networks ------------------------------------------------------------
    def networkLookupByName(self, name) -> virNetwork:  # noqa: N802
        check_not_none(name, "name", "virNetworkLookupByName", VIR_FROM_NETWORK)
        return virNetwork(self, self._net("network_lookup_by_name",
                                          "virNetworkLookupByName")(name))

    def networkLookupByUUID(self, uuid) -> virNetwork:  # noqa: N802
        raw = check_uuid_bytes(uuid, "virNetworkLookupByUUID", VIR_FROM_NETWORK)
        return virNetwork(self, self._net("network_lookup_by_uuid",
                                          "virNetworkLookupByUUID")(raw))

    def networkLookupByUUIDString(self, uuidstr) -> virNetwork:  # noqa: N802
        raw = parse_uuid_string(uuidstr, "virNetworkLookupByUUIDString", VIR_FROM_NETWORK)
        return virNetwork(self, self._net("network_lookup_by_uuid",
                                          "virNetworkLookupByUUIDString")(raw))

    def listAllNetworks(self, flags: int = 0) -> list[virNetwork]:  # noqa: N802
        refs = self._net("connect_list_all_networks", "virConnectListAllNetworks")(flags)
        return [virNetwork(self, ref) for ref in refs]

    def listNetworks(self) -> list[str]:  # noqa: N802
        self._check_open("virConnectNumOfNetworks", VIR_FROM_NETWORK)
        if self._has("network", "connect_list_networks"):
            return list(self._drv.network.connect_list_networks(self.numOfNetworks()))
        return [n.name() for n in self.listAllNetworks(VIR_CONNECT_LIST_NETWORKS_ACTIVE)]

    def listDefinedNetworks(self) -> list[str]:  # noqa: N802
        self._check_open("virConnectNumOfDefinedNetworks", VIR_FROM_NETWORK)
        if self._has("network", "connect_list_defined_networks"):
            return list(self._drv.network.connect_list_defined_networks(
                self.numOfDefinedNetworks()))
        return [n.name() for n in self.listAllNetworks(VIR_CONNECT_LIST_NETWORKS_INACTIVE)]

    def numOfNetworks(self) -> int:  # noqa: N802
        self._check_open("virConnectNumOfNetworks", VIR_FROM_NETWORK)
        if self._has("network", "connect_num_of_networks"):
            return self._drv.network.connect_num_of_networks()
        return len(self._net("connect_list_all_networks", "virConnectNumOfNetworks")(
            VIR_CONNECT_LIST_NETWORKS_ACTIVE))

    def numOfDefinedNetworks(self) -> int:  # noqa: N802
        self._check_open("virConnectNumOfDefinedNetworks", VIR_FROM_NETWORK)
        if self._has("network", "connect_num_of_defined_networks"):
            return self._drv.network.connect_num_of_defined_networks()
        return len(self._net("connect_list_all_networks", "virConnectNumOfDefinedNetworks")(
            VIR_CONNECT_LIST_NETWORKS_INACTIVE))

    def networkDefineXML(self, xml) -> virNetwork:  # noqa: N802
        return self.networkDefineXMLFlags(xml, 0)

    def networkDefineXMLFlags(self, xml, flags=0) -> virNetwork:  # noqa: N802
        func = "virNetworkDefineXMLFlags" if flags else "virNetworkDefineXML"
        self._check_writable(func, VIR_FROM_NETWORK)
        check_not_none(xml, "xml", func, VIR_FROM_NETWORK)
        return virNetwork(self, self._net("network_define_xml_flags", func)(xml, flags))

    def networkCreateXML(self, xmlDesc) -> virNetwork:  # noqa: N802,N803
        check_not_none(xmlDesc, "xmlDesc", "virNetworkCreateXML", VIR_FROM_NETWORK)
        self._check_writable("virNetworkCreateXML", VIR_FROM_NETWORK)
        return virNetwork(self, self._net("network_create_xml", "virNetworkCreateXML")(xmlDesc))

    def networkCreateXMLFlags(self, xmlDesc, flags=0) -> virNetwork:  # noqa: N802,N803
        func = "virNetworkCreateXMLFlags"
        check_not_none(xmlDesc, "xmlDesc", func, VIR_FROM_NETWORK)
        self._check_writable(func, VIR_FROM_NETWORK)
        self._check_open(func, VIR_FROM_NETWORK)
        if self._has("network", "network_create_xml_flags"):
            return virNetwork(self, self._drv.network.network_create_xml_flags(xmlDesc, flags))
        if flags:
            raise error(VIR_ERR_NO_SUPPORT, func, domain=VIR_FROM_NETWORK)
        return virNetwork(self, self._net("network_create_xml", func)(xmlDesc))

