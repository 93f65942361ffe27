"""Isolation for real: DAC labels checked from the guests' own identities, a
domain cgroup's limits enforced by the kernel, and clean-traffic / isolated
bridge ports checked with traffic between network namespaces.

Runs as root. Files live in a temporary directory; cgroups are made under
``machine/`` with a test-only name and removed; every network object lives in
namespaces these tests create (the pytest process's own namespace is never
touched) and traffic flows only between them.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile

import pytest
from lxml import etree

from pyvirt.cgroups import DomainCgroup, Tuning, domain_group_name, layout
from pyvirt.network import bridge as links
from pyvirt.network import nwfilter
from pyvirt.network.netns import Netns, netns_supported, run_in_new_netns, veth_into
from pyvirt.security.dac import plan_domain
from pyvirt.security.labeller import DacLabeller
from pyvirt.security.process import ChildConfinement, sandbox_args
from pyvirt.security.seclabel import Owner

ROOT = os.geteuid() == 0
UID_A, UID_B, UID_OTHER = 61011, 61012, 61099

DOMAIN_XML = """<domain type='qemu'><name>{name}</name>
  <seclabel type='static' model='dac' relabel='yes'><label>+{uid}:+{uid}</label></seclabel>
  <devices>
    <disk type='file' device='disk'><source file='{disk}'/>
      <backingStore type='file'><format type='raw'/><source file='{base}'/></backingStore>
      <target dev='vda'/></disk>
    <serial type='file'><source path='{serial}'/></serial>
  </devices></domain>"""


# --- DAC ----------------------------------------------------------------------------
def _try_open_as(uid: int, paths: dict[str, tuple[str, str]]) -> dict[str, bool]:
    """In a forked child running as ``uid``: which of the (path, mode) opens succeed."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_fd)
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            result = {}
            for key, (path, mode) in paths.items():
                try:
                    with open(path, mode):
                        result[key] = True
                except OSError:
                    result[key] = False
            os.write(write_fd, json.dumps(result).encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd) as src:
        data = src.read()
    os.waitpid(pid, 0)
    return json.loads(data)


@pytest.fixture
def guest_files():
    top = tempfile.mkdtemp(prefix="pyvirt-dac-")
    os.chmod(top, 0o755)
    files = {}
    for name in ("a.img", "b.img", "base.img", "a.log", "b.log"):
        path = os.path.join(top, name)
        with open(path, "w") as fh:
            fh.write(name)
        os.chmod(path, 0o644 if name != "base.img" else 0o600)
        files[name] = path
    try:
        yield top, files
    finally:
        shutil.rmtree(top)


def _owner_mode(path: str) -> tuple[int, int, int]:
    st = os.stat(path)
    return st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)


@pytest.mark.skipif(not ROOT, reason="needs root (chown, setuid)")
def test_dac_guests_cannot_open_each_others_disks(guest_files):
    top, f = guest_files
    labeller = DacLabeller(os.path.join(top, "state"))
    doms = {}
    for key, uid in (("a", UID_A), ("b", UID_B)):
        xml = DOMAIN_XML.format(name=key, uid=uid, disk=f[f"{key}.img"], base=f["base.img"],
                                serial=f[f"{key}.log"])
        doms[key] = etree.fromstring(xml)
        labeller.label(key, Owner(uid, uid), plan_domain(doms[key]))
    before = {p: _owner_mode(p) for p in f.values()}
    assert before[f["a.img"]] == (UID_A, UID_A, 0o600)
    assert before[f["b.log"]] == (UID_B, UID_B, 0o600)
    assert before[f["base.img"]][:2] == (0, 0)

    probes = {"own_rw": None, "other_r": None, "base_r": ("base.img", "r"),
              "base_w": ("base.img", "r+")}
    for me, other, uid in (("a", "b", UID_A), ("b", "a", UID_B)):
        probes["own_rw"] = (f"{me}.img", "r+")
        probes["other_r"] = (f"{other}.img", "r")
        got = _try_open_as(uid, {k: (f[name], mode) for k, (name, mode) in probes.items()})
        print(f"guest {me} (uid {uid}): {got}")
        assert got == {"own_rw": True, "other_r": False, "base_r": True, "base_w": False}
    stranger = _try_open_as(UID_OTHER, {"base": (f["base.img"], "r"),
                                        "a": (f["a.img"], "r")})
    assert stranger == {"base": False, "a": False}

    assert labeller.restore("a") == [f["a.img"], f["a.log"]]   # base still used by b
    assert _owner_mode(f["a.img"]) == (0, 0, 0o644)
    assert _try_open_as(UID_B, {"base": (f["base.img"], "r")}) == {"base": True}
    assert _try_open_as(UID_A, {"base": (f["base.img"], "r")}) == {"base": False}
    labeller.restore("b")
    assert {p: _owner_mode(p) for p in f.values()} == {
        p: (0, 0, 0o600 if p == f["base.img"] else 0o644) for p in f.values()}


def _qemu_opens(owner: Owner, disk: str) -> tuple[int, str]:
    """QEMU, confined as ``owner`` (sandboxed, no new privs), opening ``disk``:
    (exit status, stderr)."""
    argv = ["qemu-system-x86_64", "-machine", "none", "-nodefaults", "-display", "none",
            "-S", *sandbox_args(), "-blockdev",
            f"driver=file,filename={disk},node-name=d0,read-only=off", "-qmp", "stdio"]
    proc = subprocess.run(argv, input='{"execute":"qmp_capabilities"}\n'
                          '{"execute":"quit"}\n', capture_output=True, text=True, timeout=30,
                          preexec_fn=ChildConfinement(owner=owner), cwd="/", close_fds=True)
    return proc.returncode, proc.stderr


@pytest.mark.skipif(not (ROOT and shutil.which("qemu-system-x86_64")),
                    reason="needs root and qemu-system-x86_64")
def test_dac_real_qemu_as_guest_a_cannot_open_guest_bs_disk(guest_files):
    top, f = guest_files
    labeller = DacLabeller(os.path.join(top, "state"))
    for key, uid in (("a", UID_A), ("b", UID_B)):
        xml = DOMAIN_XML.format(name=key, uid=uid, disk=f[f"{key}.img"], base=f["base.img"],
                                serial=f[f"{key}.log"])
        labeller.label(key, Owner(uid, uid), plan_domain(etree.fromstring(xml)))
    try:
        own_rc, own_err = _qemu_opens(Owner(UID_A, UID_A), f["a.img"])
        other_rc, other_err = _qemu_opens(Owner(UID_A, UID_A), f["b.img"])
    finally:
        labeller.restore("a")
        labeller.restore("b")
    print(f"QEMU as A: own disk rc={own_rc}; B's disk rc={other_rc}: {other_err.strip()}")
    assert own_rc == 0, own_err
    assert other_rc != 0 and "Permission denied" in other_err
    assert _owner_mode(f["b.img"]) == (0, 0, 0o644)


# --- cgroups ------------------------------------------------------------------------
HOG = ("import sys; sys.stdin.readline(); chunks = []\n"
       "for _ in range(64): chunks.append(b'x' * (8 << 20))\n"
       "print('survived', flush=True)")


def _real_group() -> DomainCgroup:
    group = DomainCgroup(domain_group_name(f"isolation-test-{os.getpid()}"), layout())
    if group.path("memory") is None or group.path("cpu") is None:
        pytest.skip("no memory and cpu cgroup controllers")
    return group


@pytest.mark.skipif(not ROOT, reason="needs root")
def test_cgroup_limits_enforced_and_removed():
    group = _real_group()
    group.create()
    proc = None
    try:
        group.apply(Tuning(memory_hard_kib=64 * 1024, swap_hard_kib=64 * 1024,
                           cpu_shares=512, cpu_period_us=100000, cpu_quota_us=20000))
        mem = group.path("memory")
        name = "memory.limit_in_bytes" if group.version("memory") == 1 else "memory.max"
        assert (mem / name).read_text().strip() == str(64 << 20)
        assert group.cpu_bandwidth() == (100000, 20000)
        assert group.cpu_shares() == 512
        cpu = group.path("cpu")
        if group.version("cpu") == 1:
            assert (cpu / "cpu.cfs_quota_us").read_text().strip() == "20000"
        else:
            assert (cpu / "cpu.max").read_text().strip() == "20000 100000"

        proc = subprocess.Popen([sys.executable, "-c", HOG], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
        group.add_task(proc.pid)
        assert proc.pid in group.pids()
        out, _ = proc.communicate("go\n", timeout=60)
        print(f"hog exit {proc.returncode}, oom kills {group.oom_kills()}")
        assert proc.returncode == -9 and "survived" not in out
        assert group.oom_kills() >= 1
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        group.remove()
    assert not group.exists()
    assert all(not p.exists() for p in group.directories())


# --- network isolation -----------------------------------------------------------------
needs_ns = pytest.mark.skipif(
    not (netns_supported() and shutil.which("nft") and shutil.which("busybox")),
    reason="needs root, network namespaces, nft and busybox")
BRIDGE_IP = "10.77.0.1"
GUESTS = {"a": ("52:54:00:77:00:0a", "10.77.0.10"), "b": ("52:54:00:77:00:0b", "10.77.0.11")}


def _guests_on_bridge() -> dict[str, Netns]:
    """br0 (10.77.0.1/24) with two veth 'guests' in namespaces of their own."""
    links.create_bridge("br0", stp=False)
    links.add_address("br0", BRIDGE_IP, 24)
    links.set_link_up("br0")
    ns = {}
    for key, (mac, ip) in GUESTS.items():
        ns[key] = Netns()
        veth_into(ns[key], f"v{key}", "eth0", mac=mac)
        subprocess.run(["ip", "link", "set", f"v{key}", "master", "br0", "up"], check=True)
        ns[key].run("ip", "addr", "add", f"{ip}/24", "dev", "eth0")
    return ns


#: sends two ARP replies from eth0: "SENDER_IP is at SENDER_MAC" to TARGET
ARP_REPLY = """
import socket, sys
smac, sip, tmac, tip = sys.argv[1:5]
mac = lambda m: bytes.fromhex(m.replace(':', ''))
frame = (mac(tmac) + mac(smac) + b'\\x08\\x06' + b'\\x00\\x01\\x08\\x00\\x06\\x04\\x00\\x02'
         + mac(smac) + socket.inet_aton(sip) + mac(tmac) + socket.inet_aton(tip))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(('eth0', 0))
for _ in range(2):
    s.send(frame)
"""


def _spoof_mac(ns: dict[str, Netns]) -> bool:
    """a pings b from another source MAC; True when b answered."""
    ns["a"].run("ip", "neigh", "flush", "dev", "eth0")
    ns["a"].run("ip", "link", "set", "eth0", "address", "52:54:00:77:00:ee")
    reached = _ping(ns["a"], GUESTS["b"][1])
    ns["a"].run("ip", "link", "set", "eth0", "address", GUESTS["a"][0])
    ns["b"].run("ip", "neigh", "flush", "dev", "eth0")
    return reached


def _spoof_ip(ns: dict[str, Netns]) -> bool:
    """a pings b from an address not its own (neighbours pinned, so only the IP
    packets themselves are judged); True when b answered."""
    ns["a"].run("ip", "addr", "flush", "dev", "eth0")
    ns["a"].run("ip", "addr", "add", "10.77.0.99/24", "dev", "eth0")
    ns["a"].run("ip", "neigh", "replace", GUESTS["b"][1], "lladdr", GUESTS["b"][0],
                "dev", "eth0", "nud", "permanent")
    ns["b"].run("ip", "neigh", "replace", "10.77.0.99", "lladdr", GUESTS["a"][0],
                "dev", "eth0", "nud", "permanent")
    reached = _ping(ns["a"], GUESTS["b"][1])
    ns["a"].run("ip", "addr", "flush", "dev", "eth0")
    ns["a"].run("ip", "addr", "add", f"{GUESTS['a'][1]}/24", "dev", "eth0")
    ns["a"].run("ip", "neigh", "flush", "dev", "eth0")
    return reached


def _spoof_arp(ns_a: Netns) -> bool:
    """a tells the host "b's IP is at a's MAC"; True when the host believed it."""
    ns_a.run(sys.executable, "-c", ARP_REPLY, GUESTS["a"][0], GUESTS["b"][1],
             links.link_mac("br0"), BRIDGE_IP)
    neigh = subprocess.run(["ip", "neigh", "show", GUESTS["b"][1], "dev", "br0"],
                           capture_output=True, text=True, check=True).stdout
    return GUESTS["a"][0] in neigh


def _ping(ns: Netns, ip: str) -> bool:
    return ns.run("busybox", "ping", "-c", "1", "-W", "1", ip, check=False).returncode == 0


def _clean_traffic_scenario() -> dict:
    ns = _guests_on_bridge()
    try:
        for key, (mac, ip) in GUESTS.items():
            nwfilter.add_port(nwfilter.make_port_filter(f"v{key}", mac, ips=[ip]))
        res = {"legit_peer": _ping(ns["a"], GUESTS["b"][1]),
               "legit_host": _ping(ns["a"], BRIDGE_IP)}
        res["mac_spoof"], res["ip_spoof"] = _spoof_mac(ns), _spoof_ip(ns)
        # ARP spoofing: a claims b's address in ARP replies to the host, which
        # knows b's real MAC already (locktime 0: it would take any update at once)
        subprocess.run(["sysctl", "-qw", "net.ipv4.neigh.br0.locktime=0"], check=True)
        subprocess.run(["busybox", "ping", "-c", "1", "-W", "1", GUESTS["b"][1]],
                       capture_output=True, check=True)
        res["arp_poisoned"] = _spoof_arp(ns["a"])
        res["after_legit"] = _ping(ns["a"], GUESTS["b"][1])
        res["counters"] = nwfilter.port_counters("va")
        res["b_counters"] = nwfilter.port_counters("vb")
        nwfilter.remove_ports(["va", "vb"])
        res["chains_left"] = sorted(nwfilter.our_chains())
        # the same tricks work once the filters are gone: the drops were the filter's
        res["control"] = (_spoof_mac(ns), _spoof_ip(ns), _spoof_arp(ns["a"]))
        return res
    finally:
        for item in ns.values():
            item.close()


@needs_ns
def test_clean_traffic_drops_spoofing_and_passes_legit_traffic():
    res = run_in_new_netns(_clean_traffic_scenario)
    print("clean-traffic:", res)
    assert res["legit_peer"] and res["legit_host"] and res["after_legit"]
    assert not res["mac_spoof"] and not res["ip_spoof"] and not res["arp_poisoned"]
    counters = res["counters"]
    assert counters["no-mac-spoofing"] >= 1
    assert counters["no-ip-spoofing"] >= 1
    assert counters["no-arp-ip-spoofing"] >= 1
    assert res["b_counters"]["no-mac-spoofing"] == 0 and res["b_counters"]["no-ip-spoofing"] == 0
    assert res["chains_left"] == [] and res["control"] == (True, True, True)


def _isolated_ports_scenario() -> dict:
    ns = _guests_on_bridge()
    try:
        before = _ping(ns["a"], GUESTS["b"][1])
        for key in GUESTS:
            links.set_port_isolated(f"v{key}")
        return {"before": before,
                "peer_ab": _ping(ns["a"], GUESTS["b"][1]),
                "peer_ba": _ping(ns["b"], GUESTS["a"][1]),
                "host_a": _ping(ns["a"], BRIDGE_IP), "host_b": _ping(ns["b"], BRIDGE_IP)}
    finally:
        for item in ns.values():
            item.close()


@needs_ns
def test_isolated_ports_reach_the_bridge_but_not_each_other():
    res = run_in_new_netns(_isolated_ports_scenario)
    print("isolated ports:", res)
    assert res == {"before": True, "peer_ab": False, "peer_ba": False,
                   "host_a": True, "host_b": True}
