"""domiftune for QEMU guests: libvirt's parameter merge and NIC lookup (pure), the
config path through the public API, and pyvirsh's domiftune on it (the live path
runs for real in tests/integration/test_qemu_bandwidth.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from lxml import etree

import pyvirt
from pyvirt.conf.netdev_bandwidth import Bandwidth, Rate
from pyvirt.drivers.qemu.iftune import (
    PARAMS, check_parameters, find_nic, interface_parameters, merged_bandwidth,
)
from pyvirt.errors import libvirtError

OLD = Bandwidth(Rate(average=1000, peak=5000, floor=200, burst=1024),
                Rate(average=128, peak=256, burst=256))


def test_merge_replaces_a_named_direction_whole_and_keeps_the_other():
    assert merged_bandwidth(OLD, {"inbound.average": 5}) == \
        Bandwidth(Rate(average=5), OLD.outbound)
    assert merged_bandwidth(OLD, {"outbound.average": 0}) == Bandwidth(OLD.inbound, None)
    assert merged_bandwidth(OLD, {"inbound.floor": 4, "inbound.average": 0}) == \
        Bandwidth(Rate(floor=4), OLD.outbound)
    assert merged_bandwidth(OLD, {"inbound.average": 0, "outbound.average": 0}) is None
    assert merged_bandwidth(None, {"outbound.average": 7, "outbound.burst": 1}) == \
        Bandwidth(None, Rate(average=7, burst=1))
    assert merged_bandwidth(OLD, {}) == OLD


class _Def:
    def __init__(self, xml: str) -> None:
        self.node = etree.fromstring(xml)


DOMAIN = _Def("<domain><devices><interface type='network'><mac address='52:54:00:00:00:0A'/>"
              "<target dev='vnet3'/><bandwidth><inbound average='9' floor='2'/></bandwidth>"
              "</interface><interface type='user'><mac address='52:54:00:00:00:0b'/>"
              "</interface></devices></domain>")


def test_nic_lookup_by_mac_or_target_and_the_seven_parameters():
    nic = find_nic(DOMAIN, "52:54:00:00:00:0a")
    assert find_nic(DOMAIN, "vnet3") is nic
    assert interface_parameters(nic) == dict.fromkeys(PARAMS, 0) | {
        "inbound.average": 9, "inbound.floor": 2}
    assert list(interface_parameters(nic)) == list(PARAMS)
    with pytest.raises(libvirtError) as err:
        find_nic(DOMAIN, "vnet9")
    assert (err.value.get_error_code(), str(err.value)) == (
        8, "invalid argument: 'vnet9' is not a known interface")


def test_parameters_are_checked_as_libvirt():
    assert check_parameters({"inbound.average": 3}) == {"inbound.average": 3}
    with pytest.raises(libvirtError) as err:
        check_parameters({"outbound.floor": 1})
    assert str(err.value) == "argument unsupported: parameter 'outbound.floor' not supported"
    with pytest.raises(libvirtError) as err:
        check_parameters({"inbound.average": -1})
    assert "expected 'uint'" in str(err.value)


# --- the config path through the API and pyvirsh ---------------------------------------------
needs_qemu = pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None,
                                reason="needs qemu-system-x86_64")
GUEST = """<domain type='qemu'><name>tune</name><memory unit='MiB'>64</memory>
<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>
<interface type='network'><mac address='52:54:00:00:20:01'/><source network='default'/>
<bandwidth><inbound average='1000' peak='5000' floor='200' burst='1024'/>
<outbound average='128' peak='256' burst='256'/></bandwidth><model type='virtio'/></interface>
<interface type='user'><mac address='52:54:00:00:20:02'/></interface>
</devices></domain>"""


@needs_qemu
def test_config_parameters_through_the_api(tmp_path):
    conn = pyvirt.open(f"qemu:///embed?root={tmp_path}")
    try:
        dom = conn.defineXML(GUEST)
        assert dom.interfaceParameters("52:54:00:00:20:01", 0)["inbound.floor"] == 200
        dom.setInterfaceParameters("52:54:00:00:20:01", {"inbound.average": 5,
                                                         "inbound.burst": 7},
                                   pyvirt.VIR_DOMAIN_AFFECT_CONFIG)
        xml = dom.XMLDesc(pyvirt.VIR_DOMAIN_XML_INACTIVE)
        assert "<bandwidth>\n        <inbound average='5' burst='7'/>\n        " \
               "<outbound average='128' peak='256' burst='256'/>\n      </bandwidth>" in xml
        assert xml.index("<bandwidth>") < xml.index("<model type='virtio'/>")
        with pytest.raises(libvirtError) as err:
            dom.setInterfaceParameters("52:54:00:00:20:01", {"inbound.average": 1},
                                       pyvirt.VIR_DOMAIN_AFFECT_LIVE)
        assert "domain is not running" in str(err.value)
        with pytest.raises(libvirtError) as err:
            dom.setInterfaceParameters("52:54:00:00:20:02", {"inbound.average": 1}, 0)
        assert str(err.value) == ("unsupported configuration: setting bandwidth on "
                                  "interfaces of type 'user' is not implemented yet")
    finally:
        conn.close()


@needs_qemu
def test_pyvirsh_domiftune_prints_like_virsh(tmp_path):
    (tmp_path / "g.xml").write_text(GUEST)
    line = ("define g.xml; domiftune tune 52:54:00:00:20:01; "
            "domiftune tune 52:54:00:00:20:01 --config --inbound 5,6,7,8 --outbound 0; "
            "domiftune tune 52:54:00:00:20:01 --config")
    done = subprocess.run([sys.executable, "-m", "pyvirt.cli.main", "-c",
                           f"qemu:///embed?root={tmp_path}/root", line],
                          capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 0 and "error" not in done.stderr, done.stderr
    tables = done.stdout.split("\n\n")
    assert tables[1] == ("inbound.average: 1000\ninbound.peak   : 5000\n"
                         "inbound.burst  : 1024\ninbound.floor  : 200\n"
                         "outbound.average: 128\noutbound.peak  : 256\noutbound.burst : 256")
    assert "inbound.average: 5\ninbound.peak   : 6\ninbound.burst  : 7\n" \
           "inbound.floor  : 8\noutbound.average: 0\n" in done.stdout
