"""The real virsh 9.0 runs the net-* commands against pyvirtd and against the real
libvirtd 9.0 (its network driver), and both print the same thing.

Each daemon lives in a network namespace this module creates: libvirtd also in a
private mount namespace whose /run/libvirt, /etc/libvirt, /var/lib/libvirt,
/var/cache/libvirt and /var/log/libvirt are bind mounts of a temporary folder
(so it never sees or touches the host's); pyvirtd serves ``qemu:///system``
rooted in a temporary folder (the ``PYVIRT_QEMU_TEST_SYSTEM_ROOT`` hook). virsh
itself runs here and reaches them over their unix sockets. The networks carry
fixed UUIDs, MACs and bridge names, so nothing needs normalizing but the lease
expiry times. For ``net-dhcp-leases`` a stand-in guest (a namespace with a veth
end on the daemon's bridge) runs ``busybox udhcpc`` against each daemon's dnsmasq.

libvirtd here uses its iptables backend (iptables-nft, inside its namespace);
a ``<bandwidth>`` network cannot be compared: libvirt's layout needs the sfq
qdisc, which this kernel lacks (its start fails with "Specified qdisc kind is
unknown").
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from process_fixture import stop_process

from pyvirt.drivers.qemu.state_dir import SYSTEM_ROOT_ENV
from pyvirt.network.netns import Netns, netns_supported

VIRSH = shutil.which("virsh")
LIBVIRTD = shutil.which("libvirtd") or "/usr/sbin/libvirtd"


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


pytestmark = [
    pytest.mark.realvirsh,
    pytest.mark.skipif(VIRSH is None or not os.path.exists(LIBVIRTD),
                       reason="needs the real virsh and libvirtd (libvirt-clients, "
                              "libvirt-daemon)"),
    pytest.mark.skipif(not (netns_supported() and shutil.which("dnsmasq")
                            and shutil.which("nft") and shutil.which("iptables")
                            and shutil.which("busybox") and shutil.which("unshare")),
                       reason="needs root, network namespaces, dnsmasq, nft, iptables, "
                              "busybox and unshare"),
    pytest.mark.skipif(not _has_user("libvirt-dnsmasq"),
                       reason="libvirtd's dnsmasq needs the libvirt-dnsmasq user"),
]

NAT_XML = """<network>
  <name>natnet</name>
  <uuid>11111111-2222-3333-4444-555555555501</uuid>
  <forward mode='nat'/>
  <bridge name='virbr10' stp='off' delay='0'/>
  <mac address='52:54:00:0a:00:01'/>
  <domain name='nat.test' localOnly='yes'/>
  <ip address='192.168.110.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.110.100' end='192.168.110.199'/>
      <host mac='52:54:00:00:10:01' name='fixed' ip='192.168.110.10'/>
    </dhcp>
  </ip>
</network>
"""
ISOLATED_XML = """<network>
  <name>isonet</name>
  <uuid>11111111-2222-3333-4444-555555555502</uuid>
  <bridge name='virbr11'/>
  <mac address='52:54:00:0a:00:02'/>
  <ip address='192.168.111.1' prefix='24'/>
</network>
"""
ROUTE_XML = """<network>
  <name>routenet</name>
  <uuid>11111111-2222-3333-4444-555555555503</uuid>
  <forward mode='route'/>
  <bridge name='virbr12' stp='on' delay='2'/>
  <mac address='52:54:00:0a:00:03'/>
  <ip address='192.168.112.1' netmask='255.255.255.0'/>
  <ip family='ipv6' address='fd00:112::1' prefix='64'/>
</network>
"""
SRV_XML = """<network>
  <name>srvnet</name>
  <uuid>11111111-2222-3333-4444-555555555504</uuid>
  <bridge name='virbr13'/>
  <mac address='52:54:00:0a:00:04'/>
  <dns>
    <srv service='a' protocol='tcp' domain='x.test' target='t.x' port='1024'
         priority='10' weight='10'/>
    <srv service='b' protocol='udp' target='.' port='5'/>
    <srv service='c' protocol='tcp' target='t.x' priority='3'/>
    <srv service='e' protocol='tcp' target='t.x' priority='0' weight='0'/>
  </dns>
  <ip address='192.168.113.1' prefix='24'/>
</network>
"""
BANDWIDTH_XML = """<network>
  <name>bwnet</name>
  <uuid>11111111-2222-3333-4444-555555555505</uuid>
  <bridge name='virbr14' stp='off'/>
  <mac address='52:54:00:0a:00:05'/>
  <bandwidth>
    <outbound burst='256' peak='256' average='128'/>
    <inbound burst='1024' average='1000' peak='5000' floor='0'/>
  </bandwidth>
  <portgroup name='pg' default='yes'>
    <bandwidth><inbound average='10'/></bandwidth>
  </portgroup>
  <ip address='192.168.114.1' prefix='24'/>
</network>
"""
UDHCPC_SCRIPT = """#!/bin/sh
case "$1" in
  bound|renew) ip addr flush dev "$interface"; ip addr add "$ip/$mask" dev "$interface";;
esac
exit 0
"""
EDIT_SCRIPT = """#!/bin/sh
sed -i "s/192.168.111.1'/192.168.111.2'/" "$1"
"""
LIBVIRTD_WRAPPER = r"""
set -e
T="$1"
for p in run:/run/libvirt lib:/var/lib/libvirt etc:/etc/libvirt cache:/var/cache/libvirt \
         log:/var/log/libvirt; do
  mkdir -p "$T/${p%%:*}" "${p#*:}"; done
cp -a /etc/libvirt/. "$T/etc/"
rm -rf "$T/etc/qemu/networks" "$T/etc/qemu/"*.xml "$T/etc/storage"
for p in run:/run/libvirt lib:/var/lib/libvirt etc:/etc/libvirt cache:/var/cache/libvirt \
         log:/var/log/libvirt; do
  mount --bind "$T/${p%%:*}" "${p#*:}"; done
ip link set lo up
exec "$2" -p "$T/libvirtd.pid"
"""


class NamespacedDaemon:
    """A daemon process alone in a network namespace it was started in; stopping
    it also kills whatever else it left there (its dnsmasq)."""

    name = ""

    def __init__(self, argv: list[str], socket: Path, env: dict | None = None) -> None:
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True, env=env)
        self.uri = f"qemu+unix:///system?socket={socket}"
        self.netns = ""
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.proc.stderr.read()[-2000:]}")
            if not self.netns:
                try:
                    ns = os.readlink(f"/proc/{self.proc.pid}/ns/net")
                    if ns != os.readlink("/proc/self/ns/net"):
                        self.netns = ns
                except OSError:
                    pass
            if self.netns and socket.exists() and virsh(self.uri, "net-list").returncode == 0:
                break
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} did not answer in 60 s")
            time.sleep(0.05)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        stop_process(self.proc)
        if self.netns:      # the namespace is ours: everything in it was started here
            for entry in os.listdir("/proc"):
                if entry.isdigit():
                    try:
                        if os.readlink(f"/proc/{entry}/ns/net") == self.netns:
                            os.kill(int(entry), signal.SIGKILL)
                    except OSError:
                        continue


class RealLibvirtd(NamespacedDaemon):
    name = "libvirtd"

    def __init__(self, folder: Path) -> None:
        wrapper = folder / "wrap.sh"
        wrapper.write_text(LIBVIRTD_WRAPPER)
        super().__init__(["unshare", "-m", "-n", "--propagation", "private", "bash",
                          str(wrapper), str(folder / "state"), LIBVIRTD],
                         folder / "state" / "run" / "libvirt-sock")


class Pyvirtd(NamespacedDaemon):
    name = "pyvirtd"

    def __init__(self, folder: Path) -> None:
        config = folder / "pyvirtd.conf"
        config.write_text(f'listen_tcp = 0\nlisten_tls = 0\nunix_sock_dir = "{folder}"\n')
        env = {**os.environ, SYSTEM_ROOT_ENV: str(folder / "root")}
        super().__init__(["unshare", "-n", sys.executable, "-m", "pyvirt.daemon.main", "-f",
                          str(config)], folder / "libvirt-sock", env=env)


def virsh(uri: str, line: str, cwd: Path | None = None,
          env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([VIRSH or "virsh", "-c", uri, line], capture_output=True,
                          text=True, timeout=60, cwd=cwd, env=env)


class Pair:
    """The two daemons, and a folder holding the XML files the commands name."""

    def __init__(self, libvirtd: RealLibvirtd, ours: Pyvirtd, work: Path) -> None:
        self.libvirtd, self.ours, self.work = libvirtd, ours, work

    def both(self, line: str, **env: str) -> tuple[tuple, tuple]:
        """(libvirtd's, pyvirtd's) (exit code, stdout, stderr) of one virsh line."""
        full_env = {**os.environ, **env}
        out = []
        for daemon in (self.libvirtd, self.ours):
            done = virsh(daemon.uri, line, self.work, full_env)
            out.append((done.returncode, done.stdout, done.stderr))
        return out[0], out[1]

    def lease(self, daemon: NamespacedDaemon, bridge: str, mac: str, hostname: str,
              port: str) -> str:
        """A stand-in guest on ``bridge`` inside ``daemon``'s namespace takes a lease."""
        with Netns() as guest:
            host = ["nsenter", "-t", str(daemon.pid), "-n"]
            subprocess.run([*host, "ip", "link", "add", port, "type", "veth", "peer", "name",
                            "eth0", "netns", str(guest.pid)], check=True)
            guest.run("ip", "link", "set", "eth0", "address", mac)
            guest.run("ip", "link", "set", "eth0", "up")
            subprocess.run([*host, "ip", "link", "set", port, "master", bridge, "up"],
                           check=True)
            done = guest.run("busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "8",
                             "-T", "1", "-s", str(self.work / "udhcpc.sh"), "-x",
                             f"hostname:{hostname}", check=False, timeout=60)
            return done.stderr + done.stdout


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    work = tmp_path_factory.mktemp("netparity")
    for name, text in (("nat.xml", NAT_XML), ("iso.xml", ISOLATED_XML),
                       ("route.xml", ROUTE_XML), ("srv.xml", SRV_XML),
                       ("bw.xml", BANDWIDTH_XML),
                       ("udhcpc.sh", UDHCPC_SCRIPT), ("edit.sh", EDIT_SCRIPT)):
        (work / name).write_text(text)
    for script in ("udhcpc.sh", "edit.sh"):
        (work / script).chmod(0o755)
    (work / "libvirtd").mkdir()
    (work / "pyvirtd").mkdir()
    libvirtd = RealLibvirtd(work / "libvirtd")
    try:
        ours = Pyvirtd(work / "pyvirtd")
    except BaseException:
        libvirtd.stop()
        raise
    try:
        yield Pair(libvirtd, ours, work)
    finally:
        ours.stop()
        libvirtd.stop()


def _same(pair: Pair, line: str, **env: str) -> tuple:
    theirs, mine = pair.both(line, **env)
    assert mine == theirs, f"virsh {line!r}"
    return theirs


def test_define_start_list_info_dumpxml_match(pair):
    done = _same(pair, "net-define nat.xml; net-define iso.xml; net-create route.xml; "
                       "net-list --all; net-start natnet; net-autostart natnet; "
                       "net-list --all; net-info natnet; net-info isonet; net-info routenet; "
                       "net-uuid natnet; net-name 11111111-2222-3333-4444-555555555502; "
                       "net-dumpxml natnet; net-dumpxml natnet --inactive; "
                       "net-dumpxml routenet; net-dumpxml isonet")
    assert done[0] == 0 and "Network natnet started" in done[1]
    assert "<port start='1024' end='65535'/>" in done[1]
    _same(pair, "net-list; net-list --inactive; net-list --name --all; net-list --uuid; "
                "net-list --autostart; net-list --no-autostart --all; "
                "net-list --persistent --all; net-list --transient; net-list --table --all")
    _same(pair, "net-autostart natnet --disable; net-list --autostart --all; "
                "net-autostart natnet; net-info natnet")


def test_errors_match(pair):
    for line in ("net-start natnet", "net-destroy isonet", "net-info nosuch",
                 "net-uuid nosuch", "net-name 11111111-2222-3333-4444-555555555599",
                 "net-autostart routenet", "net-undefine routenet", "net-dumpxml nosuch",
                 "net-dhcp-leases nosuch", "net-define /nonexistent.xml",
                 "net-update natnet add forward \"<forward mode='nat'/>\"",
                 "net-update natnet add ip-dhcp-host \"<host mac='52:54:00:00:10:01' "
                 "ip='192.168.110.11'/>\""):
        theirs = _same(pair, line)
        assert theirs[0] == 1 and theirs[2].startswith("error:"), line


def test_update_sections_match(pair):
    _same(pair, "net-update natnet add ip-dhcp-host \"<host mac='52:54:00:00:10:02' "
                "name='late' ip='192.168.110.20'/>\" --live --config; "
                "net-update natnet add-first ip-dhcp-host \"<host mac='52:54:00:00:10:03' "
                "ip='192.168.110.30'/>\" --live; "
                "net-update natnet add dns-host \"<host ip='192.168.110.77'><hostname>web"
                "</hostname></host>\" --live; "
                "net-update natnet add dns-txt \"<txt name='example' value='hi'/>\" --live; "
                "net-update natnet add dns-srv \"<srv service='name' protocol='tcp' "
                "domain='x.test' target='.' port='1024'/>\" --live --config; "
                "net-update natnet add portgroup \"<portgroup name='pg1'/>\" --config; "
                "net-dumpxml natnet; net-dumpxml natnet --inactive")
    _same(pair, "net-update natnet delete ip-dhcp-host \"<host mac='52:54:00:00:10:02'/>\" "
                "--config; net-update natnet modify ip-dhcp-host \"<host "
                "mac='52:54:00:00:10:03' ip='192.168.110.31'/>\" --live; "
                "net-update isonet add ip-dhcp-host \"<host mac='52:54:00:00:10:02' "
                "ip='192.168.111.5'/>\"; net-dumpxml natnet; net-dumpxml natnet --inactive; "
                "net-dumpxml isonet")


def test_edit_matches(pair):
    done = _same(pair, "net-edit isonet; net-dumpxml isonet --inactive",
                 EDITOR=str(pair.work / "edit.sh"))
    assert "192.168.111.2" in done[1]
    done = _same(pair, "net-edit isonet", EDITOR="true")
    assert "XML configuration not changed" in done[1]


def dnsmasq_confs(pair: Pair, name: str) -> dict[str, list[str]]:
    """Both daemons' dnsmasq configuration of network ``name``, comments dropped, file
    paths reduced to their names, and without the two lines only ours has (``user=``,
    ``dhcp-leasefile=``: we run no lease helper)."""
    out = {}
    for side, path in (("libvirt", pair.work / f"libvirtd/state/lib/dnsmasq/{name}.conf"),
                       ("ours", pair.work / f"pyvirtd/root/run/network/{name}.conf")):
        lines = []
        for line in path.read_text().splitlines():
            if not line or line.startswith("#") or line.startswith(("user=", "dhcp-leasefile=")):
                continue
            key, _, value = line.partition("=")
            lines.append(f"{key}={Path(value).name}" if value.startswith("/") else line)
        out[side] = lines
    return out


def test_dnsmasq_configuration_matches(pair):
    conf = dnsmasq_confs(pair, "natnet")
    assert conf["ours"] == conf["libvirt"]
    assert "dhcp-range=192.168.110.100,192.168.110.199,255.255.255.0" in conf["ours"]


def test_srv_records_match_and_reach_dnsmasq_alike(pair):
    done = _same(pair, "net-create srv.xml; net-dumpxml srvnet")
    assert "priority='0'" not in done[1]
    conf = dnsmasq_confs(pair, "srvnet")
    assert conf["ours"] == conf["libvirt"]
    assert [x for x in conf["ours"] if x.startswith("srv-host")] == [
        "srv-host=_a._tcp.x.test,t.x,1024,10,10", "srv-host=_b._udp",
        "srv-host=_c._tcp,t.x,1,3", "srv-host=_e._tcp,t.x"]
    _same(pair, "net-destroy srvnet")
    bad = SRV_XML.replace("priority='0' weight='0'", "port='0'").replace("srvnet", "srvbad")
    (pair.work / "srvbad.xml").write_text(bad)
    done = _same(pair, "net-define srvbad.xml")
    assert "invalid DNS SRV port attribute for service 'e'" in done[2]


def test_bandwidth_definition_matches(pair):
    """Defined, not started: libvirt's start needs the sfq qdisc this kernel lacks."""
    done = _same(pair, "net-define bw.xml; net-dumpxml bwnet; net-dumpxml bwnet --inactive; "
                       "net-undefine bwnet")
    assert "<inbound average='1000' peak='5000' burst='1024'/>" in done[1]


EXPIRY = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


def test_dhcp_leases_match(pair):
    for daemon in (pair.libvirtd, pair.ours):
        for mac, host, port in (("52:54:00:00:10:01", "g1", "ha"),
                                ("52:54:00:00:10:55", "g2", "hb")):
            said = pair.lease(daemon, "virbr10", mac, host, port)
            assert "obtained" in said, f"{daemon.name}: {said}"
    theirs, mine = pair.both("net-dhcp-leases natnet; net-dhcp-leases natnet "
                             "--mac 52:54:00:00:10:55; net-dhcp-leases isonet")
    assert EXPIRY.search(theirs[1])
    normalized = [(rc, EXPIRY.sub("EXPIRY", out), err) for rc, out, err in (theirs, mine)]
    assert normalized[1] == normalized[0]
    assert "192.168.110.10/24    fixed" in theirs[1]


def test_destroy_undefine_match(pair):
    done = _same(pair, "net-destroy routenet; net-destroy natnet; net-list --all; "
                       "net-undefine natnet; net-undefine isonet; net-list --all; "
                       "net-info routenet")
    assert done[0] == 1 and "Network routenet destroyed" in done[1]
    assert "Network not found" in done[2]


TUNED_GUEST = """<domain type='qemu'><name>tune</name><memory unit='MiB'>64</memory>
<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>
<interface type='network'><mac address='52:54:00:00:20:01'/><source network='natnet'/>
<bandwidth><inbound average='1000' peak='5000' floor='200' burst='1024'/>
<outbound average='128' peak='256' burst='256'/></bandwidth><model type='virtio'/></interface>
<interface type='user'><mac address='52:54:00:00:20:02'/></interface>
</devices></domain>
"""


def test_domiftune_on_a_defined_guest_matches(pair):
    (pair.work / "tune.xml").write_text(TUNED_GUEST)
    theirs, mine = pair.both("define tune.xml")
    if theirs[0] != 0:
        pytest.skip(f"libvirtd's QEMU driver cannot define here: {theirs[2].strip()}")
    assert mine[0] == 0, mine
    try:
        done = _same(pair, "domiftune tune 52:54:00:00:20:01; "
                           "domiftune tune 52:54:00:00:20:01 --config --inbound 5,6,7,8; "
                           "domiftune tune 52:54:00:00:20:01 --outbound 0; "
                           "domiftune tune 52:54:00:00:20:01 --config; "
                           "domiftune tune 52:54:00:00:20:01 --live")
        assert "inbound.average: 5\n" in done[1] and "Requested operation is not valid: " \
            "domain is not running" in done[2]
        for line in ("domiftune tune 52:54:00:00:20:09", "domiftune tune vnet0 --inbound 1",
                     "domiftune tune 52:54:00:00:20:01 --inbound 0,3",
                     "domiftune tune 52:54:00:00:20:01 --current --live",
                     "domiftune tune 52:54:00:00:20:01 --live --config",
                     "domiftune tune 52:54:00:00:20:02 --config --inbound 1"):
            assert _same(pair, line)[0] == 1, line
    finally:
        pair.both("undefine tune")


def test_pyvirsh_through_pyvirtd_prints_as_real_virsh(pair):
    """Our shell over the remote driver, against the same daemon, for net-* and
    domiftune (a second client implementation of the same procedures)."""
    (pair.work / "tune.xml").write_text(TUNED_GUEST.replace("<name>tune</name>",
                                                            "<name>tune2</name>"))
    line = ("net-define iso.xml; net-list --all; net-info isonet; net-dumpxml isonet; "
            "define tune.xml; domiftune tune2 52:54:00:00:20:01; "
            "domiftune tune2 52:54:00:00:20:01 --config --inbound 9 --outbound 0; "
            "domiftune tune2 52:54:00:00:20:01; domiftune tune2 nosuch; undefine tune2; "
            "net-undefine isonet")
    real = virsh(pair.ours.uri, line, pair.work)
    ours = subprocess.run([sys.executable, "-m", "pyvirt.cli.main", "-c", pair.ours.uri,
                           line], capture_output=True, text=True, timeout=120, cwd=pair.work)
    assert (ours.returncode, ours.stdout, ours.stderr) == \
        (real.returncode, real.stdout, real.stderr)
    assert "inbound.average: 9\n" in real.stdout
