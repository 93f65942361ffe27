"""A container NIC's ``<bandwidth>`` travels in its veth plan (applied on the host
end when plugged, by pyvirt.network.bandwidth, as for a QEMU tap)."""

from __future__ import annotations

from lxml import etree

from pyvirt.conf.netdev_bandwidth import Bandwidth, Rate
from pyvirt.drivers.lxc.network import plan_interfaces


class _Def:
    def __init__(self, xml: str) -> None:
        self.node = etree.fromstring(xml)


def test_veth_plan_carries_the_nic_bandwidth():
    ddef = _Def("<domain><devices>"
                "<interface type='bridge'><source bridge='br0'/>"
                "<bandwidth><inbound average='100' peak='200'/></bandwidth></interface>"
                "<interface type='network'><source network='n'/></interface>"
                "</devices></domain>")
    plans = plan_interfaces(ddef, lambda name: "virbr9", taken=lambda name: False)
    assert plans[0].bandwidth == Bandwidth(Rate(average=100, peak=200), None)
    assert plans[1].bandwidth is None and plans[1].bridge == "virbr9"
