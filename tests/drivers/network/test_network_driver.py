"""The network driver's bookkeeping over a fake host: files, lifecycle, errors, undo."""

from __future__ import annotations

import time

import pytest

from pyvirt.drivers.network import close_state, open_network
from pyvirt.errors import (
    VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_INTERNAL_ERROR, VIR_ERR_INVALID_ARG,
    VIR_ERR_NO_NETWORK, VIR_ERR_OPERATION_FAILED, VIR_ERR_OPERATION_INVALID,
    VIR_ERR_SYSTEM_ERROR, VIR_FROM_NETWORK, libvirtError,
)

NAT = """<network><name>{name}</name><forward mode='nat'/>{bridge}
<ip address='{net}.1' netmask='255.255.255.0'><dhcp><range start='{net}.2' end='{net}.254'/>
<host mac='52:54:00:00:00:01' name='fixed' ip='{net}.10'/></dhcp></ip></network>"""


def nat_xml(name="default", net="192.168.100", bridge=""):
    return NAT.format(name=name, net=net, bridge=bridge)


def code_of(excinfo) -> int:
    return excinfo.value.get_error_code()


# --- definitions and files -------------------------------------------------------------
def test_define_assigns_bridge_and_mac_and_writes_config(netconn, netdirs):
    ref = netconn.network_define_xml_flags(nat_xml(), 0)
    xml = netconn.network_get_xml_desc(ref, 0)
    assert "<bridge name='virbr0' stp='on' delay='0'/>" in xml
    assert "<mac address='52:54:00:" in xml
    assert (netdirs[0] / "default.xml").read_text() == xml
    assert netconn.network_is_persistent(ref) and not netconn.network_is_active(ref)


def test_second_network_gets_next_free_bridge(netconn, fake_host):
    fake_host.links["virbr1"] = {"kind": "bridge"}          # taken on the host
    netconn.network_define_xml_flags(nat_xml("a", "192.168.100"), 0)
    ref = netconn.network_define_xml_flags(nat_xml("b", "192.168.101"), 0)
    assert netconn.network_get_bridge_name(ref) == "virbr2"


def test_bridge_name_used_by_other_network_is_refused(netconn):
    netconn.network_define_xml_flags(nat_xml("a", bridge="<bridge name='br9'/>"), 0)
    with pytest.raises(libvirtError) as exc:
        netconn.network_define_xml_flags(nat_xml("b", "10.1.1", "<bridge name='br9'/>"), 0)
    assert code_of(exc) == VIR_ERR_INTERNAL_ERROR
    assert str(exc.value) == "internal error: bridge name 'br9' already in use."


def test_duplicate_name_and_uuid_messages(netconn):
    ref = netconn.network_define_xml_flags(nat_xml("a"), 0)
    uuid = netconn.network_get_xml_desc(ref, 0).split("<uuid>")[1].split("<")[0]
    other = nat_xml("b", "10.1.1").replace("<name>b</name>", f"<name>b</name><uuid>{uuid}</uuid>")
    with pytest.raises(libvirtError) as exc:
        netconn.network_define_xml_flags(other, 0)
    assert code_of(exc) == VIR_ERR_OPERATION_FAILED
    assert f"network 'a' is already defined with uuid {uuid}" in str(exc.value)


def test_dhcp_range_outside_subnet_is_refused_before_anything(netconn, fake_host, netdirs):
    bad = nat_xml().replace("start='192.168.100.2'", "start='10.0.0.2'")
    with pytest.raises(libvirtError) as exc:
        netconn.network_define_xml_flags(bad, 0)
    assert "is not entirely within network" in str(exc.value)
    assert not list(netdirs[0].glob("*.xml")) and not fake_host.calls


def test_autostart_link_and_undefine(netconn, netdirs):
    ref = netconn.network_define_xml_flags(nat_xml(), 0)
    netconn.network_set_autostart(ref, True)
    link = netdirs[0] / "autostart" / "default.xml"
    assert link.is_symlink() and netconn.network_get_autostart(ref)
    netconn.network_undefine(ref)
    assert not link.exists() and not (netdirs[0] / "default.xml").exists()
    with pytest.raises(libvirtError) as exc:
        netconn.network_lookup_by_name("default")
    assert code_of(exc) == VIR_ERR_NO_NETWORK
    assert str(exc.value) == "Network not found: no network with matching name 'default'"


def test_flags_are_checked(netconn):
    with pytest.raises(libvirtError) as exc:
        netconn.connect_list_all_networks(0x40)
    assert str(exc.value) == "unsupported flags (0x40) in function networkConnectListAllNetworks"
    assert code_of(exc) == VIR_ERR_INVALID_ARG


# --- lifecycle -------------------------------------------------------------------------
def test_start_builds_everything_and_destroy_removes_it(netconn, fake_host, netdirs):
    ref = netconn.network_define_xml_flags(nat_xml(), 0)
    netconn.network_create(ref)
    assert fake_host.links["virbr0"]["addrs"] == ["192.168.100.1/24"]
    assert fake_host.links["virbr0"]["up"]
    assert fake_host.chains == {"fwd_virbr0", "nat_virbr0"}
    assert fake_host.forwarding["ipv4"] and len(fake_host.dnsmasqs) == 1
    conf = (netdirs[1] / "default.conf").read_text()
    assert "interface=virbr0" in conf and "dhcp-range=192.168.100.2,192.168.100.254" in conf
    assert (netdirs[1] / "default.hostsfile").read_text() == \
        "52:54:00:00:00:01,192.168.100.10,fixed\n"
    assert (netdirs[1] / "default.xml").exists()
    assert netconn.connect_list_networks() == ["default"]
    netconn.network_destroy(ref)
    assert not fake_host.links and not fake_host.chains and not fake_host.dnsmasqs
    assert not fake_host.forwarding["ipv4"]
    assert not (netdirs[1] / "default.xml").exists()
    assert not (netdirs[1] / "default.conf").exists()


def test_start_twice_and_destroy_inactive_messages(netconn):
    ref = netconn.network_define_xml_flags(nat_xml(), 0)
    with pytest.raises(libvirtError) as exc:
        netconn.network_destroy(ref)
    assert str(exc.value) == "Requested operation is not valid: network 'default' is not active"
    netconn.network_create(ref)
    with pytest.raises(libvirtError) as exc:
        netconn.network_create(ref)
    assert str(exc.value) == "Requested operation is not valid: network is already active"
    assert code_of(exc) == VIR_ERR_OPERATION_INVALID


@pytest.mark.parametrize("step", ["create_bridge", "add_address", "set_link_up",
                                  "firewall_add", "forwarding_enable", "dnsmasq_start"])
def test_failure_half_way_undoes_everything(netconn, fake_host, netdirs, step):
    ref = netconn.network_define_xml_flags(nat_xml(), 0)
    fake_host.fail_at = step
    with pytest.raises(libvirtError) as exc:
        netconn.network_create(ref)
    assert f"injected failure at {step}" in str(exc.value)
    assert not fake_host.links and not fake_host.chains and not fake_host.dnsmasqs
    assert not fake_host.forwarding["ipv4"]
    assert not netconn.network_is_active(ref)
    assert not (netdirs[1] / "default.conf").exists()
    assert not (netdirs[1] / "default.xml").exists()


def test_missing_dnsmasq_binary_creates_nothing(netconn, fake_host):
    ref = netconn.network_define_xml_flags(nat_xml(), 0)
    fake_host.missing_binary = True
    with pytest.raises(libvirtError) as exc:
        netconn.network_create(ref)
    assert code_of(exc) == VIR_ERR_SYSTEM_ERROR
    assert exc.value.get_error_domain() == VIR_FROM_NETWORK
    assert str(exc.value) == ("Cannot check dnsmasq binary /nonexistent/dnsmasq: "
                              "No such file or directory")
    assert fake_host.calls == []


def test_overlapping_subnet_with_running_network(netconn, fake_host):
    netconn.network_create_xml(nat_xml("a"), 0)
    wide = nat_xml("b").replace("255.255.255.0", "255.255.0.0")
    wide = wide.replace("192.168.100.1'", "192.168.0.1'")
    with pytest.raises(libvirtError) as exc:
        netconn.network_create_xml(wide, 0)
    assert str(exc.value) == "internal error: Network is already in use by interface virbr0"
    assert exc.value.get_error_domain() == 0                # VIR_FROM_NONE, as libvirt
    assert set(fake_host.links) == {"virbr0"}
    with pytest.raises(libvirtError):
        netconn.network_lookup_by_name("b")            # the transient one is gone again


def test_subnet_routed_on_host_is_refused(netconn, fake_host):
    import ipaddress
    fake_host.routes = [(ipaddress.ip_network("192.168.100.0/24"), "eth1")]
    with pytest.raises(libvirtError) as exc:
        netconn.network_create_xml(nat_xml(), 0)
    assert str(exc.value) == "internal error: Network is already in use by interface eth1"


def test_transient_network_disappears_on_destroy(netconn):
    ref = netconn.network_create_xml(nat_xml(), 0)
    assert not netconn.network_is_persistent(ref)
    with pytest.raises(libvirtError) as exc:
        netconn.network_set_autostart(ref, True)
    assert "cannot set autostart for transient network" in str(exc.value)
    netconn.network_destroy(ref)
    assert netconn.connect_list_all_networks(0) == []


def test_undefine_running_network_makes_it_transient(netconn, netdirs):
    ref = netconn.network_define_xml_flags(nat_xml(), 0)
    netconn.network_create(ref)
    netconn.network_undefine(ref)
    assert netconn.network_is_active(ref) and not netconn.network_is_persistent(ref)
    assert not (netdirs[0] / "default.xml").exists()
    netconn.network_destroy(ref)
    assert netconn.connect_list_all_networks(0) == []


def test_redefine_while_running_applies_at_next_start(netconn):
    ref = netconn.network_define_xml_flags(nat_xml(), 0)
    netconn.network_create(ref)
    uuid = netconn.network_get_xml_desc(ref, 0).split("<uuid>")[1].split("<")[0]
    changed = nat_xml().replace("<name>default</name>",
                                f"<name>default</name><uuid>{uuid}</uuid><domain name='x.test'/>")
    netconn.network_define_xml_flags(changed, 0)
    assert "x.test" not in netconn.network_get_xml_desc(ref, 0)
    assert "x.test" in netconn.network_get_xml_desc(ref, 1)
    netconn.network_destroy(ref)
    assert "x.test" in netconn.network_get_xml_desc(ref, 0)


def test_events_are_delivered(netconn):
    seen = []
    netconn.connect_network_event_register_any(0, None, lambda *a: seen.append(a[2]))
    ref = netconn.network_define_xml_flags(nat_xml(), 0)
    netconn.network_create(ref)
    netconn.network_destroy(ref)
    netconn.network_undefine(ref)
    assert seen == [0, 2, 3, 1]


def test_bridge_mode_creates_nothing(netconn, fake_host):
    xml = ("<network><name>ext</name><forward mode='bridge'/><bridge name='br-ext'/>"
           "</network>")
    ref = netconn.network_create_xml(xml, 0)
    assert fake_host.calls == [] and netconn.network_get_bridge_name(ref) == "br-ext"
    tap, _fd, bridge = netconn.attach_guest_interface("ext", "52:54:00:aa:bb:cc", None)
    assert bridge == "br-ext" and fake_host.links[tap]["master"] == "br-ext"
    netconn.network_destroy(ref)
    assert tap not in fake_host.links


def test_unsupported_forward_mode(netconn):
    xml = ("<network><name>pt</name><forward mode='passthrough'>"
           "<interface dev='eth9'/></forward></network>")
    with pytest.raises(libvirtError) as exc:
        netconn.network_create_xml(xml, 0)
    assert code_of(exc) == VIR_ERR_CONFIG_UNSUPPORTED


# --- guest interfaces -------------------------------------------------------------------
def test_guest_interface_on_inactive_network(netconn):
    netconn.network_define_xml_flags(nat_xml(), 0)
    with pytest.raises(libvirtError) as exc:
        netconn.attach_guest_interface("default", "52:54:00:aa:bb:cc", None)
    assert code_of(exc) == VIR_ERR_OPERATION_INVALID
    assert str(exc.value) == "Requested operation is not valid: network 'default' is not active"
    with pytest.raises(libvirtError) as exc:
        netconn.attach_guest_interface("nosuch", "52:54:00:aa:bb:cc", None)
    assert code_of(exc) == VIR_ERR_NO_NETWORK


def test_guest_interface_counts_connections(netconn, fake_host, netdirs):
    ref = netconn.network_create_xml(nat_xml(), 0)
    tap, fd, bridge = netconn.attach_guest_interface("default", "52:54:00:AA:BB:CC", "vnet7")
    assert (tap, bridge) == ("vnet7", "virbr0")
    assert "<network connections='1'>" in netconn.network_get_xml_desc(ref, 0)
    assert "connections" not in netconn.network_get_xml_desc(ref, 1)
    assert "tap='vnet7'" in (netdirs[1] / "default.xml").read_text()
    assert netconn.detach_guest_interface("vnet7")
    assert "vnet7" not in fake_host.links
    assert not netconn.detach_guest_interface("vnet7")


# --- live updates -----------------------------------------------------------------------
def test_update_dhcp_host_live_reloads_dnsmasq(netconn, fake_host, netdirs):
    ref = netconn.network_define_xml_flags(nat_xml(), 0)
    netconn.network_create(ref)
    host = "<host mac='52:54:00:00:00:02' name='g2' ip='192.168.100.20'/>"
    netconn.network_update(ref, 3, 4, -1, host, 0)          # ADD_LAST ip-dhcp-host, current
    assert "192.168.100.20,g2" in (netdirs[1] / "default.hostsfile").read_text()
    assert fake_host.dnsmasqs[0].reloads == 1
    assert "g2" in netconn.network_get_xml_desc(ref, 0)
    assert "g2" not in netconn.network_get_xml_desc(ref, 1)   # config untouched
    assert "g2" not in (netdirs[0] / "default.xml").read_text()


def test_update_dns_host_live_and_config(netconn, fake_host, netdirs):
    ref = netconn.network_define_xml_flags(nat_xml(), 0)
    netconn.network_create(ref)
    dns = "<host ip='192.168.100.77'><hostname>web</hostname></host>"
    netconn.network_update(ref, 3, 10, -1, dns, 3)           # LIVE | CONFIG
    assert (netdirs[1] / "default.addnhosts").read_text() == "192.168.100.77\tweb\t\n"
    assert "web" in (netdirs[0] / "default.xml").read_text()
    assert fake_host.dnsmasqs[0].reloads == 1


def test_update_range_restarts_dnsmasq(netconn, fake_host):
    ref = netconn.network_create_xml(nat_xml(), 0)
    first = fake_host.dnsmasqs[0]
    netconn.network_update(ref, 2, 5, -1, "<range start='192.168.100.2' end='192.168.100.254'/>",
                           0)
    assert not first.running and fake_host.dnsmasqs and fake_host.dnsmasqs[0] is not first


def test_update_live_on_inactive_and_config_on_transient(netconn):
    ref = netconn.network_define_xml_flags(nat_xml(), 0)
    host = "<host mac='52:54:00:00:00:02' name='g2' ip='192.168.100.20'/>"
    with pytest.raises(libvirtError) as exc:
        netconn.network_update(ref, 3, 4, -1, host, 1)
    assert str(exc.value) == "Requested operation is not valid: network is not running"
    tref = netconn.network_create_xml(nat_xml("t", "10.9.9"), 0)
    with pytest.raises(libvirtError) as exc:
        netconn.network_update(tref, 3, 4, -1, host.replace("192.168.100", "10.9.9"), 2)
    assert "cannot change persistent config of a transient network" in str(exc.value)


# --- leases ----------------------------------------------------------------------------
def test_dhcp_leases_from_dnsmasq_lease_file(netconn, netdirs):
    ref = netconn.network_create_xml(nat_xml(), 0)
    future = int(time.time()) + 3600
    (netdirs[1] / "default.leases").write_text(
        f"{future} 52:54:00:12:34:56 192.168.100.76 guest1 01:52:54:00:12:34:56\n"
        f"{future} 52:54:00:00:00:01 192.168.100.10 * *\n"
        "100 52:54:00:99:99:99 192.168.100.99 old *\n")
    leases = netconn.network_get_dhcp_leases(ref, None, 0)
    assert leases[0] == {"iface": "virbr0", "expirytime": future, "type": 0,
                         "mac": "52:54:00:12:34:56", "iaid": None, "ipaddr": "192.168.100.76",
                         "prefix": 24, "hostname": "guest1",
                         "clientid": "01:52:54:00:12:34:56"}
    assert len(leases) == 2 and leases[1]["hostname"] is None
    only = netconn.network_get_dhcp_leases(ref, "52:54:00:00:00:01", 0)
    assert [x["ipaddr"] for x in only] == ["192.168.100.10"]


# --- state shared and reloaded --------------------------------------------------------
def test_connections_to_same_dirs_share_state(netconn, fake_host, netdirs):
    other = open_network(*netdirs, True)
    netconn.network_define_xml_flags(nat_xml(), 0)
    assert [r.name for r in other.connect_list_all_networks(0)] == ["default"]


def test_reload_reattaches_running_network_and_autostarts(fake_host, netdirs):
    conn = open_network(*netdirs, False, host=fake_host, dnsmasq_binary="/bin/true")
    running = conn.network_define_xml_flags(nat_xml("run"), 0)
    conn.network_create(running)
    auto = conn.network_define_xml_flags(nat_xml("auto", "10.2.2"), 0)
    conn.network_set_autostart(auto, True)
    close_state(*netdirs)                                   # "daemon restart"
    conn = open_network(*netdirs, False, host=fake_host, dnsmasq_binary="/bin/true")
    assert sorted(conn.connect_list_networks()) == ["auto", "run"]
    assert len(fake_host.dnsmasqs) == 2                     # one adopted, one started


def test_reload_removes_stale_network(fake_host, netdirs):
    conn = open_network(*netdirs, False, host=fake_host, dnsmasq_binary="/bin/true")
    ref = conn.network_define_xml_flags(nat_xml(), 0)
    conn.network_create(ref)
    close_state(*netdirs)
    del fake_host.links["virbr0"]                           # the bridge vanished meanwhile
    conn = open_network(*netdirs, False, host=fake_host, dnsmasq_binary="/bin/true")
    assert conn.connect_list_networks() == []
    assert not fake_host.chains and not fake_host.dnsmasqs
    assert not fake_host.forwarding["ipv4"]
    assert not (netdirs[1] / "default.xml").exists()


def test_live_xml_of_nat_network_shows_default_port_range(netconn):
    ref = netconn.network_define_xml_flags(nat_xml(), 0)
    netconn.network_create(ref)
    live, inactive = netconn.network_get_xml_desc(ref, 0), netconn.network_get_xml_desc(ref, 1)
    assert "<forward mode='nat'>\n    <nat>\n      <port start='1024' end='65535'/>" in live
    assert "<forward mode='nat'/>" in inactive
    netconn.network_destroy(ref)
    assert "<forward mode='nat'/>" in netconn.network_get_xml_desc(ref, 0)


def test_update_of_unsupported_section_or_command(netconn):
    ref = netconn.network_create_xml(nat_xml(), 0)
    with pytest.raises(libvirtError) as exc:
        netconn.network_update(ref, 1, 6, -1, "<forward mode='nat'/>", 0)
    assert exc.value.get_error_code() == 84
    assert str(exc.value) == ("Operation not supported: can't update 'forward' section of "
                              "network 'default'")
    with pytest.raises(libvirtError) as exc:
        netconn.network_update(ref, 9, 4, -1, "<host mac='52:54:00:00:00:09' ip='192.168.100.7'/>",
                               0)
    assert str(exc.value) == "Operation not supported: unrecognized network update command code 9"
    host = "<host mac='52:54:00:00:00:09' name='x' ip='192.168.100.7'/>"
    netconn.network_update(ref, 3, 4, -1, host, 0)
    with pytest.raises(libvirtError) as exc:
        netconn.network_update(ref, 3, 4, -1, host, 0)
    assert exc.value.get_error_code() == VIR_ERR_OPERATION_INVALID
    assert str(exc.value) == ("Requested operation is not valid: there is an existing dhcp host "
                              "entry in network 'default' that matches \"<host "
                              "mac='52:54:00:00:00:09' name='x' ip='192.168.100.7'/>\"")


def test_redefining_a_running_network_keeps_its_bridge(netconn):
    ref = netconn.network_define_xml_flags(nat_xml(), 0)
    netconn.network_create(ref)
    uuid = netconn.network_get_xml_desc(ref, 0).split("<uuid>")[1].split("<")[0]
    netconn.network_define_xml_flags(nat_xml().replace(
        "<forward mode='nat'/>", f"<uuid>{uuid}</uuid><forward mode='route'/>"), 0)
    assert "<bridge name='virbr0'" in netconn.network_get_xml_desc(ref, 1)
    assert "mode='route'" in netconn.network_get_xml_desc(ref, 1)


def test_crash_half_way_is_cleaned_up_at_next_load(fake_host, netdirs, monkeypatch):
    from pyvirt.drivers.network import lifecycle
    conn = open_network(*netdirs, False, host=fake_host, dnsmasq_binary="/bin/true")
    ref = conn.network_define_xml_flags(nat_xml(), 0)
    with monkeypatch.context() as crashed:      # a process that dies: no undo, no cleanup
        crashed.setattr(lifecycle.Undo, "run", lambda self: None)
        crashed.setattr(type(conn.state.dirs), "delete_status", lambda self, name: None)
        fake_host.fail_at = "dnsmasq_start"
        with pytest.raises(libvirtError):
            conn.network_create(ref)
    fake_host.fail_at = None
    assert (netdirs[1] / "default.xml").exists()            # the intent was recorded
    assert "virbr0" in fake_host.links and fake_host.chains and fake_host.forwarding["ipv4"]
    close_state(*netdirs)
    from pyvirt.drivers.network import forwarding_share
    monkeypatch.setattr(forwarding_share, "_SHARES", {})    # a new process
    conn = open_network(*netdirs, False, host=fake_host, dnsmasq_binary="/bin/true")
    assert conn.connect_list_networks() == []
    assert not fake_host.links and not fake_host.chains
    assert not fake_host.forwarding["ipv4"]
    assert not (netdirs[1] / "default.xml").exists()


def test_port_isolated_network_isolates_each_tap(netconn, fake_host):
    netconn.network_create_xml(nat_xml().replace("</network>",
                                                 "<port isolated='yes'/></network>"), 0)
    tap, _fd, _br = netconn.attach_guest_interface("default", "52:54:00:aa:bb:cc", None)
    assert fake_host.links[tap]["isolated"]
    fake_host.fail_at = "set_port_isolated"
    with pytest.raises(libvirtError):
        netconn.attach_guest_interface("default", "52:54:00:aa:bb:cd", "vnet9")
    assert "vnet9" not in fake_host.links                   # taken back


def test_forwarding_is_shared_by_states_in_one_namespace(fake_host, tmp_path):
    first = open_network(tmp_path / "a/etc", tmp_path / "a/run", False, host=fake_host,
                         dnsmasq_binary="/bin/true")
    second = open_network(tmp_path / "b/etc", tmp_path / "b/run", False, host=fake_host,
                          dnsmasq_binary="/bin/true")
    try:
        one = first.network_create_xml(nat_xml("one", "10.1.1"), 0)
        two = second.network_create_xml(nat_xml("two", "10.2.2"), 0)
        first.network_destroy(one)
        assert fake_host.forwarding["ipv4"]                  # "two" still forwards
        second.network_destroy(two)
        assert not fake_host.forwarding["ipv4"]
    finally:
        close_state(tmp_path / "a/etc", tmp_path / "a/run")
        close_state(tmp_path / "b/etc", tmp_path / "b/run")
