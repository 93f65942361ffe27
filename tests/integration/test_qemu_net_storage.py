"""The QEMU driver with the real network and storage drivers, through the public API.

One guest (the tiny test guest, TCG) boots from a qcow2 thin clone in a dir pool
(``<disk type='volume'>``) with a NIC on a NAT network: it gets a DHCP lease
(the guest's ``pyvirt-dhcp`` prints ``PYVIRT-IP``) that ``network_get_dhcp_leases``
and ``interfaceAddresses`` (lease source) show; the live XML names its tap;
deleting its volume is refused while it runs; a volume disk is hot-plugged (seen by the guest, its volume then in use), a
second NIC on the network is hot-plugged (its tap made, its fd passed over
QMP) and unplugged (its tap removed); after destroy the tap is gone and the
volume can be deleted.

The body runs in a child process inside a network namespace of its own
(``unshare --net``): bridge, tap, dnsmasq and nft rules never touch the
namespace running pytest, and they all die with the namespace.
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

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    not (os.geteuid() == 0 and shutil.which("qemu-system-x86_64") and shutil.which("unshare")
         and shutil.which("dnsmasq") and shutil.which("nft") and shutil.which("qemu-img")),
    reason="needs root, unshare, QEMU, qemu-img, dnsmasq and nft")

BODY = r'''
import json, os, re, subprocess, sys, time
import pyvirt as libvirt

root, kernel, initrd = sys.argv[1:4]
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
out = {}
conn = libvirt.open(f"qemu:///embed?root={root}")
net = conn.networkCreateXML("""<network><name>nat</name><forward mode='nat'/>
  <bridge name='pvbr0' stp='off'/>
  <ip address='192.168.150.1' netmask='255.255.255.0'>
    <dhcp><range start='192.168.150.2' end='192.168.150.254'/></dhcp></ip></network>""")
pool = conn.storagePoolCreateXML(f"""<pool type='dir'><name>imgs</name>
  <target><path>{root}/pool</path></target></pool>""", libvirt.VIR_STORAGE_POOL_CREATE_WITH_BUILD)
base = pool.createXML("""<volume><name>base.qcow2</name><capacity unit='MiB'>64</capacity>
  <target><format type='qcow2'/></target></volume>""")
clone = pool.createXML(f"""<volume><name>clone.qcow2</name><capacity unit='MiB'>64</capacity>
  <target><format type='qcow2'/></target>
  <backingStore><path>{base.path()}</path><format type='qcow2'/></backingStore></volume>""")
console = f"{root}/guest.console"
dom = conn.createXML(f"""<domain type='qemu'><name>netvm</name>
  <memory unit='MiB'>128</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><kernel>{kernel}</kernel>
    <initrd>{initrd}</initrd><cmdline>console=ttyS0 quiet</cmdline></os>
  <features><acpi/></features>
  <devices>
    <disk type='volume' device='disk'><source pool='imgs' volume='clone.qcow2'/>
      <target dev='vda' bus='virtio'/></disk>
    <interface type='network'><mac address='52:54:00:aa:bb:01'/><source network='nat'/>
      <model type='virtio'/></interface>
    <serial type='file'><source path='{console}'/></serial>
    <memballoon model='none'/>
  </devices></domain>""")

def link_exists(name):   # not /sys/class/net: sysfs shows the namespace that mounted it
    return subprocess.run(["ip", "link", "show", name], capture_output=True).returncode == 0

def text():
    try:
        return open(console, errors="replace").read()
    except FileNotFoundError:
        return ""

deadline = time.monotonic() + 40
while time.monotonic() < deadline and "PYVIRT-IP" not in text():
    time.sleep(0.1)
console_text = text()
out["guest_ip"] = re.findall(r"PYVIRT-IP \S+ (\S+)", console_text)
out["blocks"] = re.findall(r"PYVIRT-BLOCK (\S+) (\d+)", console_text)
out["leases"] = [(l["mac"], l["ipaddr"]) for l in net.DHCPLeases()]
live = dom.XMLDesc(0)
out["tap"] = re.findall(r"<target dev='([^']+)'/>", live.split("<interface", 1)[1])[0]
out["live_disk_type"] = re.findall(r"<disk type='(\w+)'", live)
out["tap_exists"] = link_exists(out["tap"])
out["ifstat"] = list(dom.interfaceStats(out["tap"]))
stats = dict(conn.getAllDomainStats(libvirt.VIR_DOMAIN_STATS_INTERFACE |
                                    libvirt.VIR_DOMAIN_STATS_BLOCK)[0][1])
out["domstats"] = {k: v for k, v in stats.items() if k in ("net.count", "net.0.name",
                   "net.0.tx.pkts", "block.0.path")}
out["ifaddr"] = {k: [a["addr"] for a in v["addrs"]] for k, v in dom.interfaceAddresses(0).items()}
nic = """<interface type='network'><mac address='52:54:00:aa:bb:02'/><source network='nat'/>
  <model type='virtio'/></interface>"""
dom.attachDeviceFlags(nic, libvirt.VIR_DOMAIN_AFFECT_LIVE)
live = dom.XMLDesc(0)
hot_tap = re.findall(r"<target dev='([^']+)'/>", live.split("52:54:00:aa:bb:02", 1)[1])[0]
out["hotplug_tap"] = [hot_tap, link_exists(hot_tap)]
dom.detachDeviceFlags(nic, libvirt.VIR_DOMAIN_AFFECT_LIVE)
out["hotplug_tap_after_detach"] = link_exists(hot_tap)
out["nics_after_detach"] = dom.XMLDesc(0).count("<interface")
extra = pool.createXML("""<volume><name>extra.raw</name><capacity unit='MiB'>8</capacity>
  <target><format type='raw'/></target></volume>""")
disk = """<disk type='volume' device='disk'><source pool='imgs' volume='extra.raw'/>
  <target dev='vdc' bus='virtio'/></disk>"""
dom.attachDeviceFlags(disk, libvirt.VIR_DOMAIN_AFFECT_LIVE)
deadline = time.monotonic() + 20
while time.monotonic() < deadline and "PYVIRT-HOTPLUG add vd" not in text():
    time.sleep(0.1)
out["volume_hotplug_seen"] = "PYVIRT-HOTPLUG add vd" in text()   # the guest names it
try:
    extra.delete(0)
    out["extra_delete_while_attached"] = "allowed"
except libvirt.libvirtError as err:
    out["extra_delete_while_attached"] = err.get_error_code()
dom.detachDeviceFlags(disk, libvirt.VIR_DOMAIN_AFFECT_LIVE)
extra.delete(0)
try:
    clone.delete(0)
    out["delete_while_running"] = "allowed"
except libvirt.libvirtError as err:
    out["delete_while_running"] = [err.get_error_code(), err.get_error_message()]
dom.destroy()
out["tap_after_destroy"] = link_exists(out["tap"])
clone.delete(0)
out["volumes_after"] = sorted(pool.listVolumes())
net.destroy()
pool.destroy()
conn.close()
print("RESULT " + json.dumps(out))
'''


@pytest.fixture(scope="module")
def guest() -> dict[str, Path]:
    out = REPO / "var" / "guest"
    subprocess.run([str(REPO / "scripts/build-test-guest.sh"), str(out)], capture_output=True)
    if not (out / "vmlinuz").exists():
        pytest.skip("test guest not available")
    return {"kernel": out / "vmlinuz", "initrd": out / "initrd.gz"}


def _kill_guests_under(root: Path) -> None:
    """An embedded driver's guests outlive the process that started them: a body that
    failed half-way leaves its QEMU running, found here by its paths under ``root``."""
    for entry in os.listdir("/proc"):
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if entry.isdigit() and b"qemu-system" in argv and str(root).encode() in argv:
            try:
                os.kill(int(entry), 9)
            except ProcessLookupError:
                pass


def test_guest_on_nat_network_booting_a_pool_volume(tmp_path: Path, guest) -> None:
    try:
        proc = subprocess.run(
            ["unshare", "--net", sys.executable, "-c", textwrap.dedent(BODY), str(tmp_path),
             str(guest["kernel"]), str(guest["initrd"])],
            capture_output=True, text=True, timeout=120)
    finally:
        _kill_guests_under(tmp_path)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stdout[-2000:] + proc.stderr[-3000:]
    got = json.loads(lines[0][len("RESULT "):])
    assert got["guest_ip"] and got["guest_ip"][0].startswith("192.168.150.")
    assert ["52:54:00:aa:bb:01", got["guest_ip"][0]] in got["leases"]
    assert got["tap"].startswith("vnet") and got["tap_exists"]
    assert got["ifaddr"] == {got["tap"]: [got["guest_ip"][0]]}          # domifaddr (lease)
    assert got["live_disk_type"] == ["volume"]
    assert len(got["ifstat"]) == 8 and got["ifstat"][0] > 0       # the guest received bytes
    assert got["domstats"]["net.count"] == 1 and got["domstats"]["net.0.name"] == got["tap"]
    assert got["domstats"]["net.0.tx.pkts"] > 0                   # its DHCP requests
    assert got["domstats"]["block.0.path"].endswith("/pool/clone.qcow2")
    hot_tap, plugged = got["hotplug_tap"]                   # a NIC on the network, hot-plugged
    assert hot_tap != got["tap"] and plugged
    assert got["hotplug_tap_after_detach"] is False and got["nics_after_detach"] == 1
    assert any(name == "vda" for name, _ in got["blocks"])      # the clone is the guest's vda
    assert got["volume_hotplug_seen"] and got["extra_delete_while_attached"] == 55
    code, message = got["delete_while_running"]
    assert code == 55 and "still in use by running domain 'netvm'" in message
    assert got["tap_after_destroy"] is False
    assert got["volumes_after"] == ["base.qcow2"]
