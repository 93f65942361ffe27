"""Which veths a container gets (pure planning; the plugging runs in the real tests)."""

from __future__ import annotations

import pytest

from pyvirt.conf.domain import DomainDef
from pyvirt.drivers.lxc.network import VethPlan, free_host_names, plan_interfaces
from pyvirt.errors import libvirtError

XML = """<domain type='lxc'><name>c</name><memory>1024</memory><os><type>exe</type>
<init>/bin/sh</init></os><devices>
<interface type='network'><mac address='52:54:00:aa:00:01'/><source network='default'/></interface>
<interface type='bridge'><mac address='52:54:00:aa:00:02'/><source bridge='br9'/>
<target dev='myveth'/><guest dev='lan0'/></interface>
</devices></domain>"""


def test_plan_interfaces():
    ddef = DomainDef.from_xml(XML)
    plans = plan_interfaces(ddef, {"default": "virbr3"}.__getitem__,
                            taken=lambda name: name == "vethct0")
    assert plans == [VethPlan("vethct1", "eth0", "52:54:00:aa:00:01", "virbr3"),
                     VethPlan("myveth", "lan0", "52:54:00:aa:00:02", "br9")]


def test_missing_bridge_is_an_error():
    with pytest.raises(libvirtError, match="interface 0 has no bridge or network source"):
        plan_interfaces(DomainDef.from_xml(XML), lambda name: "", taken=lambda n: False)


def test_free_host_names():
    assert free_host_names(2, taken=lambda n: n in ("vethct0", "vethct2")) == [
        "vethct1", "vethct3"]


def test_interface_counters_are_swapped_to_the_containers_view():
    from pyvirt.drivers.lxc.stats import parse_proc_net_dev

    text = ("Inter-|   Receive                            |  Transmit\n"
            " face |bytes packets errs drop fifo frame compressed multicast|bytes packets errs "
            "drop fifo colls carrier compressed\n"
            "vethct0:     100       2    0    0    0     0          0         0      300"
            "       4    1    5    0     0       0          0\n")
    assert parse_proc_net_dev(text, "vethct0") == [300, 4, 1, 5, 100, 2, 0, 0]
    assert parse_proc_net_dev(text, "other") == [0] * 8
