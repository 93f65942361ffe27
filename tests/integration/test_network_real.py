"""The network driver for real, inside network namespaces these tests create.

Each test body runs in a forked child with its own network namespace (the
"host"); stand-in guests are further namespaces with one end of a veth pair
plugged into the network's bridge and ``busybox udhcpc`` as their DHCP client;
an "uplink" namespace behind a second veth stands for the outside world. No
bridge, tap, dnsmasq or nft rule ever appears in the namespace running pytest,
and traffic only flows between these namespaces.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from pyvirt.errors import libvirtError
from pyvirt.network import bridge as links
from pyvirt.network.netns import Netns, netns_supported, run_in_new_netns, veth_into

pytestmark = pytest.mark.skipif(
    not (netns_supported() and shutil.which("dnsmasq") and shutil.which("nft")
         and shutil.which("busybox")),
    reason="needs root, network namespaces, dnsmasq, nft and busybox")

UDHCPC_SCRIPT = """#!/bin/sh
case "$1" in
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    if [ -n "$router" ]; then ip route replace default via "$router" dev "$interface"; fi
    ;;
esac
exit 0
"""

NAT_XML = """<network>
  <name>default</name>
  <forward mode='nat'/>
  <bridge stp='off'/>
  <domain name='example.test' localOnly='yes'/>
  <ip address='192.168.100.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.100.2' end='192.168.100.254'/>
      <host mac='52:54:00:00:00:01' name='fixed' ip='192.168.100.10'/>
    </dhcp>
  </ip>
</network>"""

ISOLATED_XML = """<network>
  <name>iso</name>
  <bridge stp='off'/>
  <ip address='192.168.101.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.101.2' end='192.168.101.254'/>
      <host mac='52:54:00:00:01:01' ip='192.168.101.10'/>
    </dhcp>
  </ip>
</network>"""


# --- helpers that run inside the host namespace ---------------------------------------
class World:
    """The driver on fresh dirs, plus the namespaces and files a test made."""

    def __init__(self) -> None:
        from pyvirt.drivers.network import open_network
        self.root = Path(tempfile.mkdtemp(prefix="pyvirt-net-"))
        self.script = self.root / "udhcpc.sh"
        self.script.write_text(UDHCPC_SCRIPT)
        self.script.chmod(0o755)
        self.conn = open_network(self.root / "etc", self.root / "run", False)
        self.namespaces: list[Netns] = []
        self.uplink: Netns | None = None

    def guest(self, bridge: str, mac: str, name: str) -> Netns:
        ns = Netns()
        self.namespaces.append(ns)
        veth_into(ns, f"h-{name}", "eth0", mac=mac)
        subprocess.run(["ip", "link", "set", f"h-{name}", "master", bridge, "up"], check=True)
        return ns

    def dhcp(self, ns: Netns, hostname: str | None = None) -> subprocess.CompletedProcess:
        argv = ["busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "8", "-T", "1",
                "-s", str(self.script)]
        if hostname:
            argv += ["-x", f"hostname:{hostname}"]
        return ns.run(*argv, check=False)

    def make_uplink(self) -> Netns:
        self.uplink = Netns()
        self.namespaces.append(self.uplink)
        veth_into(self.uplink, "uplink0", "eth0")
        subprocess.run(["ip", "addr", "add", "203.0.113.1/24", "dev", "uplink0"], check=True)
        subprocess.run(["ip", "link", "set", "uplink0", "up"], check=True)
        self.uplink.run("ip", "addr", "add", "203.0.113.2/24", "dev", "eth0")
        return self.uplink

    def close(self) -> None:
        from pyvirt.drivers.network import close_state
        for ns in self.namespaces:
            ns.close()
        close_state(self.root / "etc", self.root / "run", stop_networks=True)
        shutil.rmtree(self.root, ignore_errors=True)


def in_world(body):
    def run():
        world = World()
        try:
            return body(world)
        finally:
            world.close()
    return run_in_new_netns(run, timeout=60)


def ping(ns: Netns, address: str) -> bool:
    return ns.run("busybox", "ping", "-c", "1", "-W", "1", address, check=False).returncode == 0


def address_of(ns: Netns) -> str:
    out = ns.run("ip", "-4", "-o", "addr", "show", "dev", "eth0").stdout.split()
    return out[out.index("inet") + 1] if "inet" in out else ""


def host_leftovers(world: World) -> dict:
    nft = subprocess.run(["nft", "list", "table", "inet", "pyvirt"], capture_output=True)
    procs = subprocess.run(["pgrep", "-f", str(world.root / "run")], capture_output=True,
                           text=True).stdout.split()
    return {"links": sorted(x for x in links.link_names() if not x.startswith("h-")),
            "nft_table": nft.returncode == 0, "dnsmasq": procs,
            "ip_forward": Path("/proc/sys/net/ipv4/ip_forward").read_text().strip()}


# --- the tests ------------------------------------------------------------------------
def _nat_network(world: World) -> dict:
    conn, facts = world.conn, {}
    ref = conn.network_define_xml_flags(NAT_XML, 0)
    conn.network_create(ref)
    facts["forward_on"] = Path("/proc/sys/net/ipv4/ip_forward").read_text().strip()
    uplink = world.make_uplink()
    guest = world.guest("virbr0", "52:54:00:12:34:56", "g1")
    res = world.dhcp(guest, hostname="guest1")
    facts["dhcp"] = (res.returncode, res.stderr[-300:])
    facts["address"] = address_of(guest)
    facts["leases"] = conn.network_get_dhcp_leases(ref, None, 0)
    facts["ping_bridge"] = ping(guest, "192.168.100.1")
    facts["ping_uplink"] = ping(guest, "203.0.113.2")
    facts["uplink_has_no_route_back"] = "192.168.100" not in uplink.run("ip", "route").stdout
    from pyvirt.network.tap import interface_stats
    facts["guest_stats"] = interface_stats("h-g1")      # as domifstat reads a guest's tap
    dns = guest.run("busybox", "nslookup", "guest1.example.test", "192.168.100.1", check=False)
    facts["dns"] = dns.stdout
    fixed = world.guest("virbr0", "52:54:00:00:00:01", "g2")
    world.dhcp(fixed)
    facts["fixed_address"] = address_of(fixed)
    conn.network_update(ref, 3, 4, -1,        # add a static host to the live network
                        "<host mac='52:54:00:00:00:02' name='late' ip='192.168.100.20'/>", 0)
    conn.network_update(ref, 3, 10, -1,       # and a DNS host
                        "<host ip='192.168.100.77'><hostname>web</hostname></host>", 0)
    late = world.guest("virbr0", "52:54:00:00:00:02", "g3")
    world.dhcp(late)
    facts["late_address"] = address_of(late)
    facts["dns_web"] = guest.run("busybox", "nslookup", "web", "192.168.100.1",
                                 check=False).stdout
    facts["tap"] = conn.attach_guest_interface("default", "52:54:00:aa:bb:cc", None,
                                               want_fd=False)
    facts["tap_master"] = links.link_master(facts["tap"][0])
    conn.network_destroy(ref)
    facts["after"] = host_leftovers(world)
    return facts


def test_nat_network_serves_dhcp_dns_and_nat_then_leaves_nothing():
    facts = in_world(_nat_network)
    assert facts["forward_on"] == "1"
    assert facts["dhcp"][0] == 0, facts["dhcp"]
    ip = facts["address"].split("/")[0]
    assert facts["address"].endswith("/24") and ip.startswith("192.168.100.")
    lease = next(x for x in facts["leases"] if x["mac"] == "52:54:00:12:34:56")
    assert lease["ipaddr"] == ip and lease["hostname"] == "guest1"
    assert lease["iface"] == "virbr0" and lease["prefix"] == 24 and lease["type"] == 0
    assert facts["ping_bridge"], "guest cannot reach the bridge"
    assert facts["uplink_has_no_route_back"] and facts["ping_uplink"], "NAT does not work"
    rx_packets, tx_packets = facts["guest_stats"][1], facts["guest_stats"][5]
    assert rx_packets >= 3 and tx_packets >= 3          # DHCP + pings, seen from the guest
    assert f"Address: {ip}" in facts["dns"]
    assert facts["fixed_address"] == "192.168.100.10/24"
    assert facts["late_address"] == "192.168.100.20/24"
    assert "192.168.100.77" in facts["dns_web"]
    assert facts["tap"][0] == "vnet0" and facts["tap"][2] == "virbr0"
    assert facts["tap_master"] == "virbr0"
    assert facts["after"] == {"links": ["lo", "uplink0"], "nft_table": False, "dnsmasq": [],
                              "ip_forward": "0"}


def _isolated(world: World) -> dict:
    conn, facts = world.conn, {}
    ref = conn.network_create_xml(ISOLATED_XML, 0)
    uplink = world.make_uplink()
    uplink.run("ip", "route", "add", "192.168.101.0/24", "via", "203.0.113.1")
    guest = world.guest("virbr0", "52:54:00:00:01:01", "g1")
    facts["dhcp"] = world.dhcp(guest).returncode
    facts["address"] = address_of(guest)
    facts["default_route"] = guest.run("ip", "route").stdout
    facts["forward"] = Path("/proc/sys/net/ipv4/ip_forward").read_text().strip()
    Path("/proc/sys/net/ipv4/ip_forward").write_text("1\n")   # even if the host forwards
    guest.run("ip", "route", "add", "default", "via", "192.168.101.1")
    facts["ping_bridge"] = ping(guest, "192.168.101.1")
    facts["ping_uplink"] = ping(guest, "203.0.113.2")
    subprocess.run(["nft", "delete", "table", "inet", "pyvirt"], check=True)
    facts["ping_uplink_without_rules"] = ping(guest, "203.0.113.2")
    Path("/proc/sys/net/ipv4/ip_forward").write_text("0\n")
    conn.network_destroy(ref)
    facts["after"] = host_leftovers(world)
    return facts


def test_isolated_network_cannot_reach_uplink():
    facts = in_world(_isolated)
    assert facts["dhcp"] == 0 and facts["address"] == "192.168.101.10/24"
    assert "default" not in facts["default_route"]       # no gateway advertised
    assert facts["forward"] == "0"                      # an isolated network forwards nothing
    assert facts["ping_bridge"] and not facts["ping_uplink"]
    assert facts["ping_uplink_without_rules"]            # it was our rules that blocked it
    assert not facts["after"]["nft_table"] and facts["after"]["dnsmasq"] == []


def _bad_input(world: World) -> dict:
    from pyvirt.drivers.network import close_state, open_network
    conn, facts = world.conn, {}

    def failure(func, *args):
        try:
            func(*args)
        except libvirtError as err:
            return (err.get_error_code(), err.get_error_domain(), str(err))
        return None

    ref = conn.network_create_xml(NAT_XML, 0)
    overlap = NAT_XML.replace("default", "other").replace("255.255.255.0", "255.255.0.0")
    overlap = overlap.replace("192.168.100.1'", "192.168.0.1'")
    facts["overlap"] = failure(conn.network_create_xml, overlap, 0)
    links.create_bridge("br-host", stp=False)                      # not ours
    taken = ("<network><name>taken</name><bridge name='br-host'/>"
             "<ip address='10.55.0.1' prefix='24'/></network>")
    facts["bridge_in_use"] = failure(conn.network_create_xml, taken, 0)
    facts["host_bridge_kept"] = links.link_exists("br-host")
    facts["outside"] = failure(conn.network_define_xml_flags, NAT_XML.replace(
        "name>default", "name>out").replace("range start='192.168.100.2'",
                                             "range start='10.0.0.2'"), 0)
    iso = conn.network_define_xml_flags(ISOLATED_XML, 0)
    facts["not_running"] = failure(conn.attach_guest_interface, "iso", "52:54:00:0a:0b:0c",
                                   None)
    conn.network_destroy(ref)
    # a driver whose dnsmasq binary is missing creates nothing
    close_state(world.root / "etc", world.root / "run")
    broken = open_network(world.root / "etc", world.root / "run", False,
                          dnsmasq_binary="/nonexistent/dnsmasq")
    facts["no_dnsmasq"] = failure(broken.network_create, iso)
    facts["after"] = host_leftovers(world)
    facts["chains"] = subprocess.run(["nft", "list", "ruleset"], capture_output=True,
                                     text=True).stdout
    close_state(world.root / "etc", world.root / "run")
    # dnsmasq that fails to start: bridge, rules and forwarding are taken back
    failing = open_network(world.root / "etc", world.root / "run", False,
                           dnsmasq_binary="/bin/false")
    nat = failing.network_define_xml_flags(NAT_XML, 0)
    facts["dnsmasq_fails"] = failure(failing.network_create, nat)
    facts["after_fail"] = host_leftovers(world)
    return facts


def test_bad_input_gives_libvirt_errors_and_leaves_nothing():
    facts = in_world(_bad_input)
    assert facts["overlap"][:2] == (1, 0) and \
        facts["overlap"][2] == "internal error: Network is already in use by interface virbr0"
    assert facts["bridge_in_use"][0] == 38 and \
        facts["bridge_in_use"][2] == "error creating bridge interface br-host: File exists"
    assert facts["host_bridge_kept"]
    assert "is not entirely within network 192.168.100.1/24" in facts["outside"][2]
    assert facts["not_running"] == (55, 19, "Requested operation is not valid: network 'iso' "
                                            "is not active")
    assert facts["no_dnsmasq"] == (38, 19, "Cannot check dnsmasq binary /nonexistent/dnsmasq: "
                                           "No such file or directory")
    assert facts["after"]["links"] == ["br-host", "lo"]
    assert not facts["after"]["nft_table"] and facts["after"]["dnsmasq"] == []
    assert "unexpected exit status" in facts["dnsmasq_fails"][2]
    assert facts["after_fail"]["links"] == ["br-host", "lo"]
    assert not facts["after_fail"]["nft_table"] and facts["after_fail"]["ip_forward"] == "0"


def _restart(world: World) -> dict:
    from pyvirt.drivers.network import close_state, open_network
    facts = {}
    etc, run = world.root / "etc", world.root / "run"
    ref = world.conn.network_define_xml_flags(NAT_XML, 0)
    world.conn.network_create(ref)
    first = int((run / "default.pid").read_text())
    os.kill(first, signal.SIGKILL)                 # dnsmasq dies: a new one takes over
    pid = first
    for _ in range(500):
        try:
            pid = int((run / "default.pid").read_text())
        except (OSError, ValueError):
            pass
        if pid != first:
            break
        time.sleep(0.01)
    facts["restarted"] = pid != first and Path(f"/proc/{pid}/cmdline").exists()
    close_state(etc, run)                          # the daemon goes away, the network stays
    conn = open_network(etc, run, False)
    facts["active_again"] = conn.network_is_active(conn.network_lookup_by_name("default"))
    facts["same_dnsmasq"] = int((run / "default.pid").read_text()) == pid
    close_state(etc, run)
    links.delete_link("virbr0")                    # someone removed the bridge meanwhile
    conn = open_network(etc, run, False)
    facts["inactive"] = not conn.network_is_active(conn.network_lookup_by_name("default"))
    facts["dnsmasq_gone"] = not os.path.exists(f"/proc/{pid}") or \
        "dnsmasq" not in Path(f"/proc/{pid}/cmdline").read_text()
    facts["after"] = host_leftovers(world)
    conn.network_set_autostart(conn.network_lookup_by_name("default"), True)
    close_state(etc, run)
    conn = open_network(etc, run, False)
    facts["autostarted"] = conn.connect_list_networks()
    return facts


def test_restart_reattaches_and_removes_stale_state():
    facts = in_world(_restart)
    assert facts["restarted"]
    assert facts["active_again"] and facts["same_dnsmasq"]
    assert facts["inactive"] and facts["dnsmasq_gone"]
    assert not facts["after"]["nft_table"] and facts["after"]["ip_forward"] == "0"
    assert facts["autostarted"] == ["default"]


def _bridge_mode(world: World) -> dict:
    facts = {}
    links.create_bridge("br-ext", stp=False)
    links.set_link_up("br-ext")
    ref = world.conn.network_create_xml(
        "<network><name>ext</name><forward mode='bridge'/><bridge name='br-ext'/></network>",
        0)
    tap, fd, bridge = world.conn.attach_guest_interface("ext", "52:54:00:0e:0e:0e", "tap-g1")
    facts["tap"] = (tap, fd is not None, bridge, links.link_master(tap))
    facts["ports"] = links.bridge_ports("br-ext")
    world.conn.network_destroy(ref)
    os.close(fd)
    facts["bridge_kept"] = links.link_exists("br-ext")
    facts["tap_gone"] = not links.link_exists(tap)
    facts["nft"] = host_leftovers(world)["nft_table"]
    return facts


def test_bridge_mode_network_plugs_into_existing_bridge():
    facts = in_world(_bridge_mode)
    assert facts["tap"] == ("tap-g1", True, "br-ext", "br-ext")
    assert facts["ports"] == ["tap-g1"]
    assert facts["bridge_kept"] and facts["tap_gone"] and not facts["nft"]


MODES = {
    "dual": """<network><name>dual</name><forward mode='nat'/><bridge stp='off'/>
      <ip address='192.168.110.1' prefix='24'><dhcp><range start='192.168.110.2'
      end='192.168.110.9'/></dhcp></ip>
      <ip family='ipv6' address='fd00:110::1' prefix='64'><dhcp><range start='fd00:110::10'
      end='fd00:110::20'/></dhcp></ip></network>""",
    "routed": """<network><name>routed</name><forward mode='route'/><bridge stp='off'/>
      <ip address='192.168.111.1' prefix='24'/>
      <route address='10.111.0.0' prefix='16' gateway='192.168.111.2'/></network>""",
    "open": """<network><name>open</name><forward mode='open'/><bridge stp='off'/>
      <dns enable='no'/><ip address='192.168.112.1' prefix='24'/></network>""",
}


def _modes(world: World) -> dict:
    facts = {}
    for name, xml in MODES.items():
        ref = world.conn.network_create_xml(xml, 0)
        bridge = world.conn.network_get_bridge_name(ref)
        chains = subprocess.run(["nft", "list", "table", "inet", "pyvirt"],
                                capture_output=True, text=True).stdout
        routes = subprocess.run(["ip", "route"], capture_output=True, text=True).stdout
        facts[name] = {
            "bridge": bridge,
            "addrs": subprocess.run(["ip", "-o", "addr", "show", "dev", bridge],
                                    capture_output=True, text=True).stdout,
            "chains": sorted(c.split()[1] for c in chains.splitlines()
                             if c.strip().startswith("chain ")),
            "routes": routes,
            "dnsmasq": (world.root / "run" / f"{name}.pid").exists(),
            "forward6": Path("/proc/sys/net/ipv6/conf/all/forwarding").read_text().strip(),
        }
        world.conn.network_destroy(ref)
    facts["after"] = host_leftovers(world)
    facts["forward6_after"] = Path("/proc/sys/net/ipv6/conf/all/forwarding").read_text().strip()
    return facts


def test_dual_stack_routed_and_open_networks_start_and_stop_cleanly():
    facts = in_world(_modes)
    dual, routed, opened = facts["dual"], facts["routed"], facts["open"]
    assert "fd00:110::1/64" in dual["addrs"] and "192.168.110.1/24" in dual["addrs"]
    assert dual["chains"] == ["fwd_virbr0", "nat_virbr0"] and dual["dnsmasq"]
    assert dual["forward6"] == "1"
    assert routed["chains"] == ["fwd_virbr0"]
    assert "10.111.0.0/16 via 192.168.111.2 dev virbr0" in routed["routes"]
    assert opened["chains"] == [] and not opened["dnsmasq"]
    assert facts["after"] == {"links": ["lo"], "nft_table": False, "dnsmasq": [],
                              "ip_forward": "0"}
    assert facts["forward6_after"] == "0"


GUEST_DIR = Path(__file__).resolve().parents[2] / "var" / "guest"


def _qemu_guest(world: World) -> dict:
    """A real QEMU guest (TCG) whose NIC is a tap we made, handed over as an fd."""
    facts = {}
    ref = world.conn.network_create_xml(NAT_XML, 0)
    mac = "52:54:00:51:52:53"
    tap, fd, bridge = world.conn.attach_guest_interface("default", mac, None)
    serial = world.root / "serial.log"
    argv = ["qemu-system-x86_64", "-accel", "tcg", "-m", "128", "-nodefaults",
            "-display", "none", "-kernel", str(GUEST_DIR / "vmlinuz"),
            "-initrd", str(GUEST_DIR / "initrd.gz"), "-append", "console=ttyS0 quiet",
            "-serial", f"file:{serial}",
            "-netdev", f"tap,id=hostnet0,fd={fd}",
            "-device", f"virtio-net-pci,netdev=hostnet0,mac={mac}"]
    qemu = subprocess.Popen(argv, pass_fds=(fd,), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    os.close(fd)                                  # QEMU holds the tap now
    try:
        deadline = time.monotonic() + 30
        leases = []
        while time.monotonic() < deadline and not leases and qemu.poll() is None:
            leases = world.conn.network_get_dhcp_leases(ref, mac, 0)
            time.sleep(0.1)
        facts["leases"] = leases
        facts["tap"] = (tap, bridge, links.link_master(tap))
        if leases:
            facts["ping_guest"] = subprocess.run(
                ["busybox", "ping", "-c", "1", "-W", "2", leases[0]["ipaddr"]],
                capture_output=True).returncode == 0
        facts["serial"] = serial.read_text(errors="replace")[-500:] if serial.exists() else ""
    finally:
        qemu.kill()
        qemu.wait()
    world.conn.detach_guest_interface(tap)
    world.conn.network_destroy(ref)
    facts["after"] = host_leftovers(world)
    return facts


@pytest.mark.skipif(not (shutil.which("qemu-system-x86_64")
                         and (GUEST_DIR / "vmlinuz").exists()),
                    reason="needs qemu-system-x86_64 and the test guest (scripts/"
                           "build-test-guest.sh)")
def test_real_qemu_guest_gets_a_lease_through_our_tap():
    facts = in_world(_qemu_guest)
    assert facts["tap"] == ("vnet0", "virbr0", "virbr0")
    assert facts["leases"], facts["serial"]
    lease = facts["leases"][0]
    assert lease["mac"] == "52:54:00:51:52:53" and lease["ipaddr"].startswith("192.168.100.")
    assert facts["ping_guest"]
    assert facts["after"] == {"links": ["lo"], "nft_table": False, "dnsmasq": [],
                              "ip_forward": "0"}


# --- <bandwidth> with tc -------------------------------------------------------------------
BANDWIDTH_XML = """<network>
  <name>shaped</name>
  <forward mode='nat'/>
  <bridge name='virbr5' stp='off'/>
  <bandwidth><inbound average='2000' peak='4000' burst='512'/></bandwidth>
  <portgroup name='guests' default='yes'>
    <bandwidth><inbound average='100' peak='200'/></bandwidth>
  </portgroup>
  <ip address='192.168.105.1' prefix='24'/>
</network>"""


def _bandwidth(world: World) -> dict:
    from lxml import etree

    from pyvirt.drivers.network import bandwidth_guest_interface
    from pyvirt.network.bandwidth import read_bandwidth
    conn, facts = world.conn, {}
    ref = conn.network_create_xml(BANDWIDTH_XML, 0)
    facts["bridge"] = read_bandwidth("virbr5")
    tap = conn.attach_guest_interface("shaped", "52:54:00:aa:00:01", None, want_fd=False)[0]
    nic = etree.fromstring("<interface type='network'><source network='shaped'/>"
                           "</interface>")          # the default portgroup's rates
    facts["applied"] = bandwidth_guest_interface(nic, tap, network=conn)
    facts["tap"] = read_bandwidth(tap)
    floored = conn.attach_guest_interface("shaped", "52:54:00:aa:00:02", None,
                                          want_fd=False)[0]
    nic = etree.fromstring("<interface type='network'><mac address='52:54:00:aa:00:02'/>"
                           "<source network='shaped'/><bandwidth><inbound average='50' "
                           "floor='300'/></bandwidth></interface>")
    bandwidth_guest_interface(nic, floored, network=conn)
    facts["floor_bridge"] = read_bandwidth("virbr5")["classes"]
    facts["floor_filter"] = subprocess.run(["tc", "filter", "show", "dev", "virbr5"],
                                           capture_output=True, text=True).stdout
    conn.detach_guest_interface(floored)
    facts["floor_after"] = read_bandwidth("virbr5")["classes"]
    conn.detach_guest_interface(tap)
    facts["tap_gone"] = not links.link_exists(tap)
    conn.network_destroy(ref)
    facts["bridge_gone"] = not links.link_exists("virbr5")
    policed = BANDWIDTH_XML.replace("<bandwidth><inbound average='2000' peak='4000' "
                                    "burst='512'/>", "<bandwidth><outbound average='64'/>")
    try:
        conn.network_destroy(conn.network_create_xml(policed, 0))
        facts["policed"] = None
    except libvirtError as err:
        facts["policed"] = str(err)
    facts["after"] = host_leftovers(world)
    return facts


def test_bandwidth_shapes_bridge_and_guest_tap_and_goes_with_them():
    facts = in_world(_bandwidth)
    bridge = facts["bridge"]                # hierarchical: 1:1 caps the network, 1:2 default
    assert bridge["qdiscs"][0][:2] == ("htb", "1:0")
    assert bridge["classes"]["1:1"]["rate"] == 2_000_000
    assert bridge["classes"]["1:1"]["ceil"] == 4_000_000
    assert bridge["classes"]["1:2"]["parent"] == "1:1"
    assert (bridge["classes"]["1:2"]["rate"], bridge["classes"]["1:2"]["ceil"]) == \
        (2_000_000, 4_000_000)
    assert facts["applied"].inbound.average == 100
    tap = facts["tap"]                      # the guest's inbound: the tap's transmit side
    assert list(tap["classes"]) == ["1:1"]
    assert (tap["classes"]["1:1"]["rate"], tap["classes"]["1:1"]["ceil"]) == \
        (100_000, 200_000)
    floor = facts["floor_bridge"]           # a guaranteed class on the bridge, MAC-matched
    assert (floor["1:3"]["parent"], floor["1:3"]["rate"], floor["1:3"]["ceil"]) == \
        ("1:1", 300_000, 4_000_000)
    assert floor["1:2"]["rate"] == 4_000_000 - 300_000        # peak less the floors
    assert "flowid 1:3" in facts["floor_filter"]
    assert "1:3" not in facts["floor_after"] and facts["floor_after"]["1:2"]["rate"] == \
        4_000_000
    assert facts["tap_gone"] and facts["bridge_gone"]
    # outbound needs tc's police action; where the kernel lacks it the start fails whole
    if facts["policed"] is not None:
        assert "CONFIG_NET_ACT_POLICE" in facts["policed"]
    assert facts["after"]["links"] == ["lo"] and not facts["after"]["dnsmasq"]
    assert facts["after"]["nft_table"] is False
