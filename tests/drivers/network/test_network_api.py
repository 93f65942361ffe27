"""The network driver behind libvirt-python's surface (``import pyvirt as libvirt``)."""

from __future__ import annotations

import time

import pytest

import pyvirt as libvirt
from pyvirt.drivers.base import DriverConnection

XML = """<network><name>default</name><forward mode='nat'/>
<ip address='192.168.122.1' netmask='255.255.255.0'><dhcp>
<range start='192.168.122.2' end='192.168.122.254'/></dhcp></ip></network>"""


@pytest.fixture
def conn(netconn):
    return libvirt.virConnect(DriverConnection(uri="qemu:///embed?root=/x", network=netconn))


def test_define_start_leases_destroy_through_the_api(conn, netdirs):
    net = conn.networkDefineXML(XML)
    net.setAutostart(1)
    net.create()
    assert net.isActive() == 1 and net.autostart() == 1 and net.bridgeName() == "virbr0"
    assert [n.name() for n in conn.listAllNetworks(libvirt.VIR_CONNECT_LIST_NETWORKS_ACTIVE)] \
        == ["default"]
    expiry = int(time.time()) + 600
    (netdirs[1] / "default.leases").write_text(
        f"{expiry} 52:54:00:12:34:56 192.168.122.50 vm1 *\n")
    assert net.DHCPLeases() == [{"iface": "virbr0", "expirytime": expiry, "type": 0,
                                 "mac": "52:54:00:12:34:56", "iaid": None,
                                 "ipaddr": "192.168.122.50", "prefix": 24, "hostname": "vm1",
                                 "clientid": None}]
    net.destroy()
    with pytest.raises(libvirt.libvirtError) as exc:
        net.destroy()
    assert exc.value.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID
    net.undefine()
    assert conn.listAllNetworks() == []
