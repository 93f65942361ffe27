"""Virtual networks: start and stop of a NAT network, and guest plug-in to DHCP lease.

pyvirt's driver runs in a fresh network namespace; libvirt's own (libvirtd 9.0,
its network driver) runs in a fresh network + mount namespace with private
/run/libvirt, /etc/libvirt, /var/lib/libvirt (so it never sees or touches the
host's), driven by the real libvirt-python from Debian's /usr/bin/python3.
The "guest" is a namespace with a veth end on the bridge running
``busybox udhcpc``. Run as root: ``.venv/bin/python bench/bench_network.py``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from _timing import report  # noqa: E402

from pyvirt.network.netns import netns_supported, run_in_new_netns  # noqa: E402

REPEAT = 5
XML = """<network><name>bench</name><forward mode='nat'/><bridge stp='off'/>
<ip address='192.168.150.1' prefix='24'><dhcp><range start='192.168.150.2'
end='192.168.150.254'/></dhcp></ip></network>"""
UDHCPC_SCRIPT = """#!/bin/sh
[ "$1" = bound ] && ip addr add "$ip/$mask" dev "$interface"
exit 0
"""

# Shared by both sides: plug a namespace "guest" into BRIDGE and time its lease.
# Runs under either interpreter, so it uses the standard library only.
LEASE_TIMER = r"""
import subprocess, time
def time_lease(bridge, script, mac):
    ns = subprocess.Popen(["unshare", "--net", "sleep", "600"])
    try:
        time.sleep(0.05)
        run = lambda *a: subprocess.run(["nsenter", "-t", str(ns.pid), "-n", *a], check=True,
                                       capture_output=True)
        subprocess.run(["ip", "link", "add", "hb0", "type", "veth", "peer", "name", "eth0"],
                       check=True)
        subprocess.run(["ip", "link", "set", "eth0", "address", mac, "netns", str(ns.pid)],
                       check=True)
        start = time.perf_counter()
        subprocess.run(["ip", "link", "set", "hb0", "master", bridge, "up"], check=True)
        run("ip", "link", "set", "eth0", "up")
        run("busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "10", "-T", "1",
            "-s", script)
        return time.perf_counter() - start
    finally:
        ns.kill(); ns.wait()
        subprocess.run(["ip", "link", "del", "hb0"], capture_output=True)
"""


def _script(tmp: Path) -> str:
    path = tmp / "udhcpc.sh"
    path.write_text(UDHCPC_SCRIPT)
    path.chmod(0o755)
    return str(path)


# --- pyvirt ---------------------------------------------------------------------------
def _pyvirt_side() -> dict:
    from pyvirt.drivers.network import close_state, open_network
    tmp = Path(tempfile.mkdtemp())
    script = _script(tmp)
    scope: dict = {}
    exec(LEASE_TIMER, scope)
    conn = open_network(tmp / "etc", tmp / "run", False)
    starts, stops, leases = [], [], []
    try:
        for i in range(REPEAT):
            t0 = time.perf_counter()
            ref = conn.network_create_xml(XML, 0)
            t1 = time.perf_counter()
            if i < 2:
                leases.append(scope["time_lease"]("virbr0", script, f"52:54:00:00:10:0{i}"))
            t2 = time.perf_counter()
            conn.network_destroy(ref)
            stops.append(time.perf_counter() - t2)
            starts.append(t1 - t0)
    finally:
        close_state(tmp / "etc", tmp / "run", stop_networks=True)
        shutil.rmtree(tmp, ignore_errors=True)
    return {"start": starts, "stop": stops, "lease": leases}


# --- libvirt ----------------------------------------------------------------------------
LIBVIRT_CLIENT = LEASE_TIMER + r"""
import json, sys, libvirt
xml, script, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
conn = libvirt.open("qemu:///system")
starts, stops, leases = [], [], []
for i in range(repeat):
    t0 = time.perf_counter(); net = conn.networkCreateXML(xml); t1 = time.perf_counter()
    if i < 2:
        leases.append(time_lease(net.bridgeName(), script, "52:54:00:00:20:0%d" % i))
    t2 = time.perf_counter(); net.destroy(); stops.append(time.perf_counter() - t2)
    starts.append(t1 - t0)
print(json.dumps({"start": starts, "stop": stops, "lease": leases}))
"""

LIBVIRT_WRAPPER = r"""
set -e
T="$1"; shift
for p in run:/run/libvirt lib:/var/lib/libvirt etc:/etc/libvirt cache:/var/cache/libvirt \
         log:/var/log/libvirt; do
  mkdir -p "$T/${p%%:*}" "${p#*:}"; done
cp -a /etc/libvirt/. "$T/etc/"
for p in run:/run/libvirt lib:/var/lib/libvirt etc:/etc/libvirt cache:/var/cache/libvirt \
         log:/var/log/libvirt; do
  mount --bind "$T/${p%%:*}" "${p#*:}"; done
ip link set lo up
libvirtd -d -p "$T/libvirtd.pid"
for i in $(seq 200); do [ -S /run/libvirt/libvirt-sock ] && break; sleep 0.05; done
set +e
/usr/bin/python3 "$@"
rc=$?
kill "$(cat "$T/libvirtd.pid")"
exit $rc
"""


def _libvirt_side() -> dict | None:
    if not (shutil.which("libvirtd") and shutil.which("iptables")
            and Path("/usr/bin/python3").exists()):
        return None
    if subprocess.run(["/usr/bin/python3", "-c", "import libvirt"],
                      capture_output=True).returncode != 0:
        return None
    tmp = Path(tempfile.mkdtemp())
    try:
        (tmp / "client.py").write_text(LIBVIRT_CLIENT)
        (tmp / "wrap.sh").write_text(LIBVIRT_WRAPPER)
        res = subprocess.run(["unshare", "-m", "-n", "--propagation", "private", "bash",
                              str(tmp / "wrap.sh"), str(tmp / "state"), str(tmp / "client.py"),
                              XML, _script(tmp), str(REPEAT)],
                             capture_output=True, text=True, timeout=300)
        if res.returncode != 0:
            print(f"libvirt baseline failed: {res.stderr.strip()[-500:]}")
            return None
        return json.loads(res.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --- <bandwidth> on a guest tap: libvirt runs tc once per step, we send netlink -----------
def _bandwidth_side() -> dict:
    """Apply a NIC's inbound bandwidth on a veth the way each side does: pyvirt's
    netlink requests, and libvirt's own tc command lines (the steps this kernel
    has: libvirt would stop at its sfq step here), clearing in between."""
    from pyvirt.conf.netdev_bandwidth import Bandwidth, Rate
    from pyvirt.network import bandwidth, tc
    rates = Bandwidth(inbound=Rate(average=1000, peak=2000, burst=100))
    subprocess.run(["ip", "link", "add", "bw0", "type", "veth", "peer", "name", "bw1"],
                   check=True)
    subprocess.run(["ip", "link", "set", "bw0", "up"], check=True)
    skipped = bandwidth.set_bandwidth("bw0", rates)
    steps = [s.argv for s in tc.bandwidth_plan("bw0", rates) if s.feature not in skipped]
    ours, theirs = [], []
    for _ in range(REPEAT * 4):
        bandwidth.clear_bandwidth("bw0")
        t0 = time.perf_counter()
        bandwidth.set_bandwidth("bw0", rates)
        ours.append(time.perf_counter() - t0)
        bandwidth.clear_bandwidth("bw0")
        t0 = time.perf_counter()
        for argv in tc.clear_argv("bw0"):        # libvirt clears first, ignoring errors
            subprocess.run(argv, capture_output=True)
        for argv in steps:
            subprocess.run(argv, check=True, capture_output=True)
        theirs.append(time.perf_counter() - t0)
    return {"ours": ours, "theirs": theirs}


def main() -> None:
    if not netns_supported():
        print("needs root and network namespaces")
        return
    if shutil.which("tc"):
        shaped = run_in_new_netns(_bandwidth_side, timeout=120)
        report("guest tap <bandwidth> applied (netlink vs libvirt's tc commands)",
               shaped["ours"], shaped["theirs"])
    ours = run_in_new_netns(_pyvirt_side, timeout=300)
    theirs = _libvirt_side()
    if theirs is None:
        for key, samples in ours.items():
            print(f"{key}: pyvirt {sorted(samples)[len(samples) // 2] * 1e3:.1f} ms "
                  "(no libvirt baseline here)")
        return
    report("NAT network start", ours["start"], theirs["start"])
    report("NAT network stop", ours["stop"], theirs["stop"])
    report("guest plug-in to DHCP lease", ours["lease"], theirs["lease"])


if __name__ == "__main__":
    main()
