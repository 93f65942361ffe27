"""dnsmasq's files from a network definition, and its lease file (no processes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyvirt.conf.network import NetworkDef
from pyvirt.errors import VIR_ERR_SYSTEM_ERROR, libvirtError
from pyvirt.network import dnsmasq

FILES = dnsmasq.DnsmasqFiles(Path("/run/pv"), "default")


def net(xml: str) -> NetworkDef:
    return NetworkDef.from_xml(xml).normalize()


# Four networks and the files libvirt 9.0's network driver wrote for them (captured
# from libvirtd run in a namespace); pyvirt adds user= and dhcp-leasefile= only.
LIBVIRT_CASES = {
    "iso": ("<network><name>iso</name><ip address='10.1.0.1' prefix='24'><dhcp><range "
            "start='10.1.0.10' end='10.1.0.20'><lease expiry='2' unit='hours'/></range><host "
            "mac='52:54:00:00:00:02' name='h' ip='10.1.0.5'/><host mac='52:54:00:00:00:03' "
            "ip='10.1.0.6'/><bootp file='pxe.0' server='10.1.0.1'/></dhcp></ip></network>",
            ["strict-order", "pid-file=/run/pv/default.pid", "except-interface=lo",
             "bind-dynamic", "interface=virbr0", "dhcp-option=3", "no-resolv",
             "ra-param=*,0,0", "dhcp-range=10.1.0.10,10.1.0.20,255.255.255.0,2h",
             "dhcp-no-override", "dhcp-authoritative", "dhcp-boot=pxe.0,,10.1.0.1",
             "dhcp-lease-max=11", "dhcp-hostsfile=/run/pv/default.hostsfile",
             "addn-hosts=/run/pv/default.addnhosts"],
            "52:54:00:00:00:02,10.1.0.5,h\n52:54:00:00:00:03,10.1.0.6\n", ""),
    "v6": ("<network><name>v6</name><forward mode='nat'/><ip address='10.2.0.1' prefix='24'/>"
           "<ip family='ipv6' address='fd00::1' prefix='64'><dhcp><range start='fd00::10' "
           "end='fd00::20'/><host name='h6' ip='fd00::5' id='0:1:0:1:2c:aa'/></dhcp></ip>"
           "<ip family='ipv6' address='fd01::1' prefix='64'/></network>",
           ["strict-order", "pid-file=/run/pv/default.pid", "except-interface=lo",
            "bind-dynamic", "interface=virbr0", "dhcp-range=fd00::10,fd00::20,64",
            "dhcp-lease-max=17", "dhcp-hostsfile=/run/pv/default.hostsfile",
            "addn-hosts=/run/pv/default.addnhosts", "enable-ra"],
           "id:0:1:0:1:2c:aa,h6,[fd00::5]\n", ""),
    "dns": ("<network><name>dns</name><forward mode='route'/><dns forwardPlainNames='no'>"
            "<forwarder addr='8.8.8.8'/><forwarder domain='ex.com' addr='1.1.1.1'/>"
            "<forwarder domain='local.lan'/><txt name='t' value='v v'/><srv service='ldap' "
            "protocol='tcp' domain='ex.com' target='l.ex.com' port='389' priority='1' "
            "weight='2'/><srv service='x' protocol='udp'/><host ip='10.3.0.50'><hostname>a"
            "</hostname><hostname>b</hostname></host></dns><ip address='10.3.0.1' "
            "prefix='24'><dhcp><host mac='52:54:00:00:00:04' name='s' ip='10.3.0.5'/></dhcp>"
            "</ip></network>",
            ["strict-order", "server=8.8.8.8", "server=/ex.com/1.1.1.1",
             "server=/local.lan/#", "no-resolv", "domain-needed", "local=//",
             "pid-file=/run/pv/default.pid", "except-interface=lo", "bind-dynamic",
             "interface=virbr0", "txt-record=t,v v", "srv-host=_ldap._tcp.ex.com,l.ex.com,389,1,2",
             "srv-host=_x._udp", "dhcp-range=10.3.0.1,static", "dhcp-no-override",
             "dhcp-authoritative", "dhcp-hostsfile=/run/pv/default.hostsfile",
             "addn-hosts=/run/pv/default.addnhosts"],
            "52:54:00:00:00:04,10.3.0.5,s\n", "10.3.0.50\ta\tb\t\n"),
    # libvirt 9.0's srv-host lines (captured from libvirtd): a "." target drops the
    # rest; a later positional value brings the earlier ones' defaults (port 1, prio 0)
    "srv": ("<network><name>srv</name><dns><srv service='a' protocol='tcp' domain='x.test' "
            "target='t.x' port='1024' priority='10' weight='10'/><srv service='b' "
            "protocol='udp' target='.' port='5'/><srv service='c' protocol='tcp' "
            "target='t.x' priority='3'/><srv service='e' protocol='tcp' target='t.x' "
            "priority='0' weight='0'/><srv service='f' protocol='tcp' target='t.x' "
            "weight='7'/></dns><ip address='10.5.0.1' prefix='24'/></network>",
            ["strict-order", "pid-file=/run/pv/default.pid", "except-interface=lo",
             "bind-dynamic", "interface=virbr0", "dhcp-option=3", "no-resolv",
             "ra-param=*,0,0", "srv-host=_a._tcp.x.test,t.x,1024,10,10",
             "srv-host=_b._udp", "srv-host=_c._tcp,t.x,1,3", "srv-host=_e._tcp,t.x",
             "srv-host=_f._tcp,t.x,1,0,7", "addn-hosts=/run/pv/default.addnhosts"],
            "", ""),
    "nodns": ("<network><name>nodns</name><dns enable='no'/><ip address='10.4.0.1' "
              "prefix='24'><dhcp><range start='10.4.0.2' end='10.4.0.3'/><host "
              "mac='52:54:00:00:00:05' name='q' ip='10.4.0.4'/></dhcp></ip></network>",
              ["strict-order", "port=0", "pid-file=/run/pv/default.pid",
               "except-interface=lo", "bind-dynamic", "interface=virbr0", "dhcp-option=3",
               "no-resolv", "ra-param=*,0,0", "dhcp-range=10.4.0.2,10.4.0.3,255.255.255.0",
               "dhcp-no-override", "dhcp-authoritative", "dhcp-lease-max=2",
               "dhcp-hostsfile=/run/pv/default.hostsfile"],
              "52:54:00:00:00:05,10.4.0.4,q\n", ""),
}


@pytest.mark.parametrize("case", sorted(LIBVIRT_CASES))
def test_files_match_libvirts(case):
    xml, conf, hosts, addn = LIBVIRT_CASES[case]
    ndef = net(xml)
    text = dnsmasq.config_text(ndef, "virbr0", FILES)
    ours = [x for x in text.splitlines() if not x.startswith("##")
            and not x.startswith("dhcp-leasefile=")]
    assert ours == conf
    assert ("dhcp-leasefile=/run/pv/default.leases" in text) == ("dhcp-hostsfile" in text)
    assert dnsmasq.hostsfile_text(ndef) == hosts
    assert dnsmasq.addnhosts_text(ndef) == addn


def test_config_of_nat_network_with_domain_as_libvirt():
    nat = net("<network><name>t</name><forward mode='nat'/><domain name='ex.test' "
              "localOnly='yes'/><ip address='192.168.100.1' prefix='24'><dhcp><range "
              "start='192.168.100.2' end='192.168.100.9'/></dhcp></ip></network>")
    text = dnsmasq.config_text(nat, "virbr0", FILES, user="root")
    assert text.startswith("##WARNING:  THIS IS AN AUTO-GENERATED FILE.")
    assert [x for x in text.splitlines() if not x.startswith("##")] == [
        "strict-order", "local=/ex.test/", "domain=ex.test", "expand-hosts",
        "pid-file=/run/pv/default.pid", "user=root", "except-interface=lo", "bind-dynamic",
        "interface=virbr0", "dhcp-range=192.168.100.2,192.168.100.9,255.255.255.0",
        "dhcp-no-override", "dhcp-authoritative", "dhcp-lease-max=8",
        "dhcp-leasefile=/run/pv/default.leases", "dhcp-hostsfile=/run/pv/default.hostsfile",
        "addn-hosts=/run/pv/default.addnhosts"]


def test_lease_times_and_ipv4_host_without_mac():
    ndef = net("<network><name>n</name><ip address='10.1.0.1' prefix='24'><dhcp>"
               "<range start='10.1.0.10' end='10.1.0.20'><lease expiry='0'/></range>"
               "<host name='byname' ip='10.1.0.7'><lease expiry='30'/></host></dhcp></ip>"
               "</network>")
    assert "dhcp-range=10.1.0.10,10.1.0.20,255.255.255.0,infinite" in \
        dnsmasq.config_text(ndef, "virbr0", FILES)
    assert dnsmasq.hostsfile_text(ndef) == "byname,10.1.0.7,30m\n"


def test_needs_dnsmasq():
    assert dnsmasq.needs_dnsmasq(net(LIBVIRT_CASES["iso"][0]))
    assert not dnsmasq.needs_dnsmasq(net("<network><name>n</name></network>"))
    assert not dnsmasq.needs_dnsmasq(net(
        "<network><name>b</name><forward mode='bridge'/><bridge name='br0'/></network>"))
    assert not dnsmasq.needs_dnsmasq(net(
        "<network><name>n</name><dns enable='no'/><ip address='10.1.0.1' prefix='24'/>"
        "</network>"))


def test_parse_leases_v4_and_v6():
    text = ("1700000000 52:54:00:AA:bb:cc 192.168.122.76 guest1 01:52:54:00:aa:bb:cc\n"
            "0 52:54:00:00:00:01 192.168.122.10 * *\n"
            "duid 00:01:00:01:2c:aa:bb:cc:52:54:00:00:00:09\n"
            "1700000001 1234 fd00::15 g6 00:01:00:01\n"
            "garbage\n")
    leases = dnsmasq.parse_leases(text)
    assert leases[0] == dnsmasq.Lease(1700000000, "52:54:00:aa:bb:cc", None, "192.168.122.76",
                                      "guest1", "01:52:54:00:aa:bb:cc")
    assert leases[1].hostname is None and leases[1].clientid is None
    assert leases[2] == dnsmasq.Lease(1700000001, None, "1234", "fd00::15", "g6",
                                      "00:01:00:01")
    assert len(leases) == 3


def test_missing_binary_message():
    with pytest.raises(libvirtError) as exc:
        dnsmasq.check_binary("/nonexistent/dnsmasq")
    assert exc.value.get_error_code() == VIR_ERR_SYSTEM_ERROR
    assert str(exc.value) == ("Cannot check dnsmasq binary /nonexistent/dnsmasq: "
                              "No such file or directory")


@pytest.mark.skipif(not Path(dnsmasq.DEFAULT_BINARY).exists(), reason="needs dnsmasq")
def test_failed_start_reports_dnsmasq_output(tmp_path):
    files = dnsmasq.DnsmasqFiles(tmp_path, "bad")
    files.conf.write_text("no-such-option-at-all\n")
    with pytest.raises(libvirtError) as exc:
        dnsmasq.DnsmasqProcess.start(dnsmasq.DEFAULT_BINARY, files)
    assert "unexpected exit status 1" in str(exc.value)
    assert "dnsmasq: bad option at line 1" in str(exc.value)   # its own complaint
    assert dnsmasq.DnsmasqProcess.adopt(files) is None
