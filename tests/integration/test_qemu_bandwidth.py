"""``<bandwidth>`` on a real QEMU guest's taps, and ``domiftune`` (virDomainGet/
SetInterfaceParameters) changing it live, through the public API.

The guest (TCG, no disk: QEMU runs its firmware, which is all a tap needs) has
a NIC with inbound bandwidth on a NAT network whose default portgroup carries
bandwidth too; its tap gets libvirt's htb layout with the right rates (read
back over netlink), domiftune changes and clears it, a hot-plugged NIC with no
bandwidth of its own gets the portgroup's, and everything goes with the taps on
destroy.
The body runs in a child in a network namespace of its own (``unshare --net``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    not (os.geteuid() == 0 and shutil.which("qemu-system-x86_64") and shutil.which("unshare")
         and shutil.which("dnsmasq") and shutil.which("nft")),
    reason="needs root, unshare, QEMU, dnsmasq and nft")

BODY = r'''
import json, re, subprocess, sys
import pyvirt as libvirt
from pyvirt.network.bandwidth import read_bandwidth

root = sys.argv[1]
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
out = {}

def shaped(tap):
    found = read_bandwidth(tap)
    return {k: [v["parent"], v["rate"], v["ceil"]] for k, v in found["classes"].items()}

def link_exists(name):
    return subprocess.run(["ip", "link", "show", name], capture_output=True).returncode == 0

conn = libvirt.open(f"qemu:///embed?root={root}")
net = conn.networkCreateXML("""<network><name>nat</name><forward mode='nat'/>
  <bridge name='pvbw0' stp='off'/>
  <portgroup name='std' default='yes'><bandwidth><inbound average='300'/></bandwidth>
  </portgroup>
  <ip address='192.168.151.1' prefix='24'/></network>""")
dom = conn.createXML("""<domain type='qemu'><name>bwvm</name>
  <memory unit='MiB'>64</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <interface type='network'><mac address='52:54:00:bb:00:01'/><source network='nat'/>
      <bandwidth><inbound average='1000' peak='2000' burst='100'/></bandwidth>
      <model type='virtio'/></interface>
    <memballoon model='none'/>
  </devices></domain>""")
live = dom.XMLDesc(0)
tap = re.findall(r"<target dev='([^']+)'/>", live.split("<interface", 1)[1])[0]
out["tap"] = tap
out["at_start"] = shaped(tap)
out["live_xml_bandwidth"] = re.findall(r"<inbound [^>]*/>", live)
out["params"] = dom.interfaceParameters("52:54:00:bb:00:01", 0)
dom.setInterfaceParameters(tap, {"inbound.average": 500}, libvirt.VIR_DOMAIN_AFFECT_LIVE)
out["after_set"] = shaped(tap)
out["params_after_set"] = dom.interfaceParameters(tap, 0)
dom.setInterfaceParameters(tap, {"inbound.average": 0}, 0)
out["after_clear"] = shaped(tap)
out["xml_after_clear"] = "<bandwidth" in dom.XMLDesc(0)
try:
    dom.setInterfaceParameters(tap, {"outbound.average": 64}, 0)
    out["police"] = None
except libvirt.libvirtError as err:
    out["police"] = err.get_error_message()
try:
    dom.interfaceParameters("52:54:00:bb:00:99", 0)
except libvirt.libvirtError as err:
    out["unknown"] = [err.get_error_code(), err.get_error_message()]
nic = """<interface type='network'><mac address='52:54:00:bb:00:02'/><source network='nat'/>
  <model type='virtio'/></interface>"""
dom.attachDeviceFlags(nic, libvirt.VIR_DOMAIN_AFFECT_LIVE)
hot = re.findall(r"<target dev='([^']+)'/>", dom.XMLDesc(0).split("52:54:00:bb:00:02", 1)[1])[0]
out["hotplug"] = shaped(hot)                       # the default portgroup's rates
dom.destroy()          # (no guest OS here to complete a detach: destroy takes both taps)
out["taps_after_destroy"] = [link_exists(tap), link_exists(hot)]
net.destroy()
conn.close()
print("RESULT " + json.dumps(out))
'''


def test_guest_tap_bandwidth_follows_xml_domiftune_and_unplug(tmp_path: Path) -> None:
    proc = subprocess.run(["unshare", "--net", sys.executable, "-c", textwrap.dedent(BODY),
                           str(tmp_path)], capture_output=True, text=True, timeout=120)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stdout[-2000:] + proc.stderr[-3000:]
    got = json.loads(lines[0][len("RESULT "):])
    assert got["at_start"] == {"1:1": ["ffff:ffff", 1_000_000, 2_000_000]}
    assert got["live_xml_bandwidth"] == ["<inbound average='1000' peak='2000' burst='100'/>"]
    assert got["params"] == {"inbound.average": 1000, "inbound.peak": 2000,
                             "inbound.burst": 100, "inbound.floor": 0,
                             "outbound.average": 0, "outbound.peak": 0, "outbound.burst": 0}
    assert got["after_set"] == {"1:1": ["ffff:ffff", 500_000, 500_000]}   # peak replaced too
    assert got["params_after_set"]["inbound.average"] == 500
    assert got["params_after_set"]["inbound.peak"] == 0
    assert got["after_clear"] == {} and got["xml_after_clear"] is False
    if got["police"] is not None:        # this kernel has no tc police action
        assert "CONFIG_NET_ACT_POLICE" in got["police"]
    assert got["unknown"] == [8, "invalid argument: '52:54:00:bb:00:99' is not a known "
                                 "interface"]
    assert got["hotplug"] == {"1:1": ["ffff:ffff", 300_000, 300_000]}
    assert got["taps_after_destroy"] == [False, False]
