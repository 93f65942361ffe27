"""``virNetwork``: a handle on one virtual network (the network table)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyvirt.api._handle import NamedHandle
from pyvirt.api._lasterror import recorded
from pyvirt.errors import VIR_FROM_NETWORK

if TYPE_CHECKING:
    from pyvirt.api.connect import virConnect

_FROM = VIR_FROM_NETWORK


@recorded
class virNetwork(NamedHandle):  # noqa: N801 - libvirt-python's name
    """libvirt-python's virNetwork over a driver ``NetworkRef``."""

    def __init__(self, conn: "virConnect", _obj: Any = None) -> None:
        self._conn = conn
        self._ref = _obj
        conn._adopt(self)

    def _call(self, entry: str, func: str, *args: Any) -> Any:
        return self._conn._handle_entry("network", entry, func, _FROM)(self._ref, *args)

    def _change(self, entry: str, func: str, *args: Any) -> Any:
        self._conn._check_writable(func, _FROM)
        return self._call(entry, func, *args)



    def XMLDesc(self, flags=0) -> str:  # noqa: N802
        return self._call("network_get_xml_desc", "virNetworkGetXMLDesc", flags)

    def isActive(self) -> int:  # noqa: N802
        return int(self._call("network_is_active", "virNetworkIsActive"))

    def isPersistent(self) -> int:  # noqa: N802
        return int(self._call("network_is_persistent", "virNetworkIsPersistent"))

    def autostart(self) -> int:
        return int(self._call("network_get_autostart", "virNetworkGetAutostart"))

    def setAutostart(self, autostart) -> int:  # noqa: N802
        self._change("network_set_autostart", "virNetworkSetAutostart",
                     1 if autostart else 0)
        return 0

    def bridgeName(self) -> str:  # noqa: N802
        return self._call("network_get_bridge_name", "virNetworkGetBridgeName")

    def create(self) -> int:
        self._change("network_create", "virNetworkCreate")
        return 0

    def destroy(self) -> int:
        self._change("network_destroy", "virNetworkDestroy")
        return 0

    def undefine(self) -> int:
        self._change("network_undefine", "virNetworkUndefine")
        return 0

    def update(self, command, section, parentIndex, xml, flags=0) -> int:  # noqa: N803
        self._change("network_update", "virNetworkUpdate", command, section, parentIndex,
                     xml, flags)
        return 0

    def DHCPLeases(self, mac=None, flags=0) -> list[dict[str, Any]]:  # noqa: N802
        return [dict(lease) for lease in
                self._call("network_get_dhcp_leases", "virNetworkGetDHCPLeases", mac, flags)]

    def listAllPorts(self, flags=0) -> list[Any]:  # noqa: N802
        """virNetworkListAllPorts (no driver has network ports yet: NO_SUPPORT)."""
        return list(self._call("network_list_all_ports", "virNetworkListAllPorts", flags))
