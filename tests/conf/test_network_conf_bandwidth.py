"""``<bandwidth>`` in network, portgroup and interface XML: libvirt 9.0's checks,
codes, messages and printed form (the error table was captured from the real
libvirt and is checked against it again when Debian's python3-libvirt is here)."""

from __future__ import annotations

import json
import subprocess

import pytest
from lxml import etree

from pyvirt.conf.netdev_bandwidth import (
    Bandwidth, Rate, normalize_bandwidth, parse_bandwidth, set_bandwidth,
)
from pyvirt.conf.network import NetworkDef
from pyvirt.errors import libvirtError

REAL_PYTHON = "/usr/bin/python3"
UUID = "<uuid>0f17db35-1722-4b39-b549-3e66a31289a3</uuid>"


def doc(bandwidth: str) -> str:
    return (f"<network><name>bw</name>{UUID}<bridge name='virbr14'/>{bandwidth}"
            "<ip address='192.168.114.1' prefix='24'/></network>")


ERRORS = [
    ("<bandwidth><inbound peak='5'/></bandwidth>", 35, 0,
     "Missing mandatory average or floor attributes"),
    ("<bandwidth><inbound average='x'/></bandwidth>", 67, 0,
     "unsupported configuration: could not convert bandwidth average value 'x'"),
    ("<bandwidth><inbound average='-1'/></bandwidth>", 67, 0,
     "unsupported configuration: could not convert bandwidth average value '-1'"),
    ("<bandwidth><inbound average='99999999999999999999'/></bandwidth>", 67, 0,
     "unsupported configuration: could not convert bandwidth average value "
     "'99999999999999999999'"),
    ("<bandwidth><inbound average='5' peak='y'/></bandwidth>", 67, 0,
     "unsupported configuration: could not convert bandwidth peak value 'y'"),
    ("<bandwidth><inbound average='5'/><inbound average='4'/></bandwidth>", 35, 0,
     "Only one child <inbound> element allowed"),
    ("<bandwidth><outbound average='5'/><outbound average='4'/></bandwidth>", 35, 0,
     "Only one child <outbound> element allowed"),
    ("<bandwidth><outbound average='5' floor='3'/></bandwidth>", 67, 0,
     "unsupported configuration: 'floor' attribute allowed only in <inbound> element"),
    ("<bandwidth><inbound floor='3'/></bandwidth>", 67, 0,
     "unsupported configuration: floor attribute is not supported for this config"),
    ("<bandwidth><inbound floor='3' peak='4'/></bandwidth>", 67, 0,
     "unsupported configuration: 'peak' and 'burst' require 'average' attribute"),
    ("<portgroup name='p'><bandwidth><inbound average='5' floor='3'/></bandwidth>"
     "</portgroup>", 67, 0,
     "unsupported configuration: floor attribute is not supported for this config"),
]

GOOD = {
    "<bandwidth><outbound burst='256' peak='256' average='128'/><inbound burst='1024' "
    "average='1000' peak='5000'/></bandwidth>":
        "<bandwidth>\n    <inbound average='1000' peak='5000' burst='1024'/>\n"
        "    <outbound average='128' peak='256' burst='256'/>\n  </bandwidth>",
    "<bandwidth><inbound average='5' burst=' 7' peak='0' floor='0'/>"
    "<outbound average='0' peak='7'/></bandwidth>":
        "<bandwidth>\n    <inbound average='5' burst='7'/>\n  </bandwidth>",
    "<bandwidth><inbound average='+5'/></bandwidth>":
        "<bandwidth>\n    <inbound average='5'/>\n  </bandwidth>",
    "<bandwidth><inbound average='0'/></bandwidth>": "<bandwidth>\n  </bandwidth>",
    "<bandwidth/>": None,
    "<bandwidth><foo/></bandwidth>": None,
    "<bandwidth><inbound average='18446744073709551615'/></bandwidth>":
        "<bandwidth>\n    <inbound average='18446744073709551615'/>\n  </bandwidth>",
    "<portgroup name='p' default='yes'><bandwidth><inbound average='5' peak='7'/>"
    "</bandwidth></portgroup><bandwidth><outbound average='1'/></bandwidth>":
        "<bandwidth>\n    <outbound average='1'/>\n  </bandwidth>",
}


def dumped(bandwidth: str) -> str:
    net = NetworkDef.from_xml(doc(bandwidth)).normalize()
    net.strip_unknown()
    return net.to_xml()


@pytest.mark.parametrize("bandwidth,code,domain,message", ERRORS)
def test_bad_bandwidth_gives_libvirts_error(bandwidth, code, domain, message):
    with pytest.raises(libvirtError) as err:
        NetworkDef.from_xml(doc(bandwidth))
    assert (err.value.get_error_code(), err.value.get_error_domain(),
            err.value.get_error_message()) == (code, domain, message)


@pytest.mark.parametrize("bandwidth", sorted(GOOD))
def test_bandwidth_prints_as_libvirt(bandwidth):
    text = dumped(bandwidth)
    shown = text[text.index("<bandwidth"):text.index("</bandwidth>") + 12] \
        if "\n  <bandwidth" in text else None
    assert shown == GOOD[bandwidth]
    again = NetworkDef.from_xml(text).normalize().to_xml()
    if shown == "<bandwidth>\n  </bandwidth>":     # names no direction: gone on re-define
        assert "bandwidth" not in again
    else:
        assert again == text


def test_models_read_the_rates():
    net = NetworkDef.from_xml(doc(
        "<portgroup name='p' default='yes'><bandwidth><inbound average='5' peak='7'/>"
        "</bandwidth></portgroup><portgroup name='q'/><bandwidth><inbound average='9'/>"
        "<outbound average='1' burst='2'/></bandwidth>"))
    assert net.bandwidth == Bandwidth(Rate(average=9), Rate(average=1, burst=2))
    assert net.portgroup_bandwidth(None) == Bandwidth(Rate(average=5, peak=7), None)
    assert net.portgroup_bandwidth("q") is None
    assert NetworkDef.from_xml(doc("")).bandwidth is None


def test_set_bandwidth_writes_and_removes_in_place():
    nic = etree.fromstring("<interface type='network'><mac address='52:54:00:00:00:01'/>"
                           "<source network='n'/><model type='virtio'/></interface>")
    rates = Bandwidth().with_values(inbound_average=100, inbound_burst=10,
                                    outbound_average=50)
    set_bandwidth(nic, rates, insert_before=("target", "model"))
    assert etree.tostring(nic.find("bandwidth")).decode() == (
        "<bandwidth><inbound average=\"100\" burst=\"10\"/><outbound average=\"50\"/>"
        "</bandwidth>")
    assert nic[2].tag == "bandwidth"
    assert parse_bandwidth(nic.find("bandwidth"), allow_floor=True) == rates
    set_bandwidth(nic, rates.with_values(inbound_average=0, outbound_average=0))
    assert nic.find("bandwidth") is None
    normalize_bandwidth(nic, allow_floor=True)       # nothing there: nothing happens
    assert nic.find("bandwidth") is None


# --- against the real libvirt, today -----------------------------------------------------------
_PROBE = """
import json, sys, libvirt
libvirt.registerErrorHandler(lambda *a: None, None)
conn = libvirt.open('test:///default')
out = []
for xml in json.load(sys.stdin):
    try:
        net = conn.networkDefineXML(xml)
        out.append(net.XMLDesc(0))
        net.undefine()
    except libvirt.libvirtError as e:
        out.append([e.get_error_code(), e.get_error_domain(), e.get_error_message()])
print(json.dumps(out))
"""


def _real(docs: list[str]) -> list:
    try:
        done = subprocess.run([REAL_PYTHON, "-c", _PROBE], input=json.dumps(docs), text=True,
                              capture_output=True, timeout=60, check=True)
    except (OSError, subprocess.CalledProcessError) as err:
        pytest.skip(f"real libvirt binding not usable: {err}")
    return json.loads(done.stdout)


@pytest.mark.realvirsh
def test_tables_are_what_real_libvirt_says():
    bad = _real([doc(b) for b, *_ in ERRORS])
    assert bad == [[code, domain, message] for _b, code, domain, message in ERRORS]
    good = _real([doc(b) for b in sorted(GOOD)])
    assert good == [dumped(b) for b in sorted(GOOD)]
