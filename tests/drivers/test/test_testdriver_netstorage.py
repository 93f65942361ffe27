"""Networks, pools and volumes with libvirt's test-driver behaviour and events."""

import pytest

from pyvirt.errors import (
    VIR_ERR_NO_NETWORK, VIR_ERR_NO_STORAGE_POOL, VIR_ERR_NO_STORAGE_VOL,
    VIR_ERR_OPERATION_FAILED, VIR_ERR_OPERATION_INVALID, VIR_ERR_OPERATION_UNSUPPORTED,
    VIR_FROM_NETWORK, VIR_FROM_STORAGE,
    VIR_FROM_TEST, libvirtError,
)

DEFAULT_NET_UUID = "dd8fe884-6c02-601e-7551-cca97df1c5df"


def err(fn, *args):
    with pytest.raises(libvirtError) as info:
        fn(*args)
    return info.value


@pytest.fixture
def net_events(conn):
    got = []
    conn.network.connect_network_event_register_any(
        0, None, lambda eid, ref, *p: got.append((ref.name, *p)))
    return got


@pytest.fixture
def pool_events(conn):
    got = []
    for event_id in (0, 1):
        conn.storage.connect_storage_pool_event_register_any(
            event_id, None, lambda eid, ref, *p: got.append((eid, ref.name, *p)))
    return got


def test_network_lifecycle(conn, net_events):
    net = conn.network
    ref = net.network_lookup_by_name("default")
    net.network_destroy(ref)
    net.network_destroy(ref)                       # libvirt 9.0 does not refuse this
    net.network_create(ref)
    e = err(net.network_create, ref)
    assert str(e) == "Requested operation is not valid: Network 'default' is already running"
    e = err(net.network_undefine, ref)
    assert str(e) == "Requested operation is not valid: Network 'default' is still running"
    assert net_events == [("default", 3, 0), ("default", 3, 0), ("default", 2, 0)]
    net.network_set_autostart(ref, True)
    assert net.network_get_autostart(ref)
    assert [r.name for r in net.connect_list_all_networks(16)] == ["default"]


def test_network_define_transient_and_lists(conn, net_events):
    net = conn.network
    tr = net.network_create_xml("<network><name>tr</name></network>", 0)
    xml = net.network_get_xml_desc(tr, 0)
    assert "<bridge stp='on' delay='0'/>" in xml
    assert not net.network_is_persistent(tr)
    d3 = net.network_define_xml_flags("<network><name>d3</name><bridge name='vb3'/></network>", 0)
    assert not net.network_is_active(d3)
    assert net.connect_list_networks(-1) == ["default", "tr"]
    assert net.connect_list_defined_networks(-1) == ["d3"]
    assert [r.name for r in net.connect_list_all_networks(8)] == ["tr"]
    net.network_destroy(tr)
    e = err(net.network_lookup_by_name, "tr")
    assert (e.get_error_code(), e.get_error_domain(), str(e)) == (
        VIR_ERR_NO_NETWORK, VIR_FROM_TEST, "Network not found: no network with matching name 'tr'")
    net.network_undefine(d3)
    assert net_events == [("tr", 2, 0), ("d3", 0, 0), ("tr", 3, 0), ("d3", 1, 0)]


def test_network_duplicates(conn):
    net = conn.network
    e = err(net.network_define_xml_flags, "<network><name>default</name></network>", 0)
    assert (e.get_error_code(), e.get_error_domain()) == (VIR_ERR_OPERATION_FAILED,
                                                          VIR_FROM_NETWORK)
    assert str(e) == ("operation failed: network 'default' already exists with uuid "
                      f"{DEFAULT_NET_UUID}")
    e = err(net.network_define_xml_flags,
            f"<network><name>d2</name><uuid>{DEFAULT_NET_UUID}</uuid></network>", 0)
    assert str(e) == ("operation failed: network 'default' is already defined with uuid "
                      f"{DEFAULT_NET_UUID}")


def test_pool_lifecycle(conn, pool_events):
    st = conn.storage
    ref = st.storage_pool_lookup_by_name("default-pool")
    st.storage_pool_refresh(ref, 0)
    st.storage_pool_destroy(ref)
    e = err(st.storage_pool_destroy, ref)
    assert str(e) == ("Requested operation is not valid: storage pool 'default-pool' "
                      "is not active")
    assert st.storage_pool_get_info(ref) == [0, 107374182400, 0, 107374182400]
    e = err(st.storage_pool_num_of_volumes, ref)
    assert e.get_error_code() == VIR_ERR_OPERATION_INVALID
    st.storage_pool_create(ref, 0)
    e = err(st.storage_pool_undefine, ref)
    assert str(e) == "Requested operation is not valid: storage pool 'default-pool' is active"
    assert pool_events == [(1, "default-pool"), (0, "default-pool", 3, 0),
                           (0, "default-pool", 2, 0)]


def test_pool_define_build_delete_undefine(conn, pool_events):
    st = conn.storage
    ref = st.storage_pool_define_xml(
        "<pool type='dir'><name>p2</name><target><path>/p2</path></target></pool>", 0)
    assert not st.storage_pool_is_active(ref) and st.storage_pool_is_persistent(ref)
    st.storage_pool_build(ref, 0)
    st.storage_pool_create(ref, 0)
    e = err(st.storage_pool_delete, ref, 0)
    assert e.get_error_code() == VIR_ERR_OPERATION_INVALID
    st.storage_pool_destroy(ref)
    st.storage_pool_delete(ref, 0)
    st.storage_pool_undefine(ref)
    e = err(st.storage_pool_lookup_by_name, "p2")
    assert (e.get_error_code(), str(e)) == (
        VIR_ERR_NO_STORAGE_POOL, "Storage pool not found: no storage pool with matching name 'p2'")
    assert [ev[2] for ev in pool_events] == [0, 2, 3, 1]
    e = err(st.storage_pool_define_xml,
            "<pool type='dir'><name>default-pool</name><target><path>/x</path></target></pool>", 0)
    assert (e.get_error_domain(), str(e)) == (
        VIR_FROM_STORAGE, "operation failed: pool 'default-pool' already exists with uuid "
        "dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566")


def test_volumes(conn):
    st = conn.storage
    pool = st.storage_pool_lookup_by_name("default-pool")
    vol = st.storage_vol_create_xml(
        pool, "<volume><name>v1</name><capacity>1048576</capacity></volume>", 0)
    assert st.storage_vol_get_xml_desc(vol, 0) == """\
<volume type='file'>
  <name>v1</name>
  <key>/default-pool/v1</key>
  <capacity unit='bytes'>1048576</capacity>
  <allocation unit='bytes'>1048576</allocation>
  <target>
    <path>/default-pool/v1</path>
    <format type='raw'/>
  </target>
</volume>
"""
    assert st.storage_vol_get_info(vol) == [0, 1048576, 1048576]
    assert st.storage_pool_get_info(pool) == [2, 107374182400, 1048576, 107373133824]
    e = err(st.storage_vol_create_xml, pool,
            "<volume><name>v1</name><capacity>1</capacity></volume>", 0)
    assert str(e) == "operation failed: storage vol already exists"
    clone = st.storage_vol_create_xml_from(
        pool, "<volume><name>v2</name><capacity>1</capacity></volume>", vol, 0)
    assert st.storage_vol_get_info(clone) == [0, 1, 1]
    assert st.storage_vol_lookup_by_path("/default-pool/v1").name == "v1"
    assert st.storage_vol_lookup_by_key("/default-pool/v2").name == "v2"
    assert st.storage_pool_lookup_by_volume(vol).name == "default-pool"
    assert [v.name for v in st.storage_pool_list_all_volumes(pool, 0)] == ["v1", "v2"]
    e = err(st.storage_vol_lookup_by_path, "/nope")
    assert (e.get_error_code(), str(e)) == (
        VIR_ERR_NO_STORAGE_VOL, "Storage volume not found: no storage vol with matching path "
        "'/nope'")
    st.storage_vol_delete(vol, 0)
    e = err(st.storage_vol_lookup_by_name, pool, "v1")
    assert str(e) == "Storage volume not found: no storage vol with matching name 'v1'"
    assert st.storage_pool_get_info(pool)[2] == 1


def test_volumes_need_active_pool(conn):
    st = conn.storage
    pool = st.storage_pool_lookup_by_name("default-pool")
    st.storage_pool_destroy(pool)
    e = err(st.storage_vol_create_xml, pool,
            "<volume><name>v9</name><capacity>1</capacity></volume>", 0)
    assert str(e) == ("Requested operation is not valid: storage pool 'default-pool' "
                      "is not active")


HOST = "<host mac='00:11:22:33:44:55' ip='192.168.122.5'/>"


def test_network_update_dhcp_hosts(conn):
    net = conn.network
    ref = net.network_lookup_by_name("default")
    net.network_update(ref, 3, 4, -1, HOST, 0)                      # add-last ip-dhcp-host
    e = err(net.network_update, ref, 3, 4, -1, HOST, 0)
    assert (e.get_error_code(), e.get_error_domain()) == (VIR_ERR_OPERATION_INVALID,
                                                          VIR_FROM_NETWORK)
    assert str(e) == ("Requested operation is not valid: there is an existing dhcp host entry "
                      "in network 'default' that matches \"<host mac='00:11:22:33:44:55' "
                      "name='(null)' ip='192.168.122.5'/>\"")
    net.network_update(ref, 1, 4, -1, HOST.replace(".5'", ".6'"), 0)  # modify by mac
    assert ("      <range start='192.168.122.2' end='192.168.122.254'/>\n"
            "      <host mac='00:11:22:33:44:55' ip='192.168.122.6'/>\n    </dhcp>"
            ) in net.network_get_xml_desc(ref, 0)
    e = err(net.network_update, ref, 2, 4, -1, HOST, 0)              # delete needs exact match
    assert str(e) == ("Requested operation is not valid: couldn't locate a matching dhcp host "
                      "entry in network 'default'")
    net.network_update(ref, 2, 4, -1, HOST.replace(".5'", ".6'"), 0)
    assert "<host" not in net.network_get_xml_desc(ref, 0)


def test_network_update_range_first_and_unsupported_section(conn):
    net = conn.network
    ref = net.network_lookup_by_name("default")
    net.network_update(ref, 4, 5, -1,
                       "<range start='192.168.122.100' end='192.168.122.110'/>", 0)
    xml = net.network_get_xml_desc(ref, 0)
    assert xml.index("192.168.122.100") < xml.index("192.168.122.2'")
    e = err(net.network_update, ref, 3, 1, -1, "<bridge name='x'/>", 0)
    assert (e.get_error_code(), str(e)) == (
        VIR_ERR_OPERATION_UNSUPPORTED,
        "Operation not supported: can't update 'bridge' section of network 'default'")
    e = err(net.network_update, ref, 3, 13, -1, "<x/>", 0)
    assert str(e) == "Operation not supported: can't update unrecognized section of network"


@pytest.mark.parametrize("command, section, xml, code, message", [
    # the XML is checked before the command code (libvirt's order)
    (9, 4, "<host/>", 27, "XML error: Static host definition in IPv4 network 'default' must "
                          "have mac or name attribute"),
    (0, 4, "<host name='y' ip='192.168.122.40'/>", 84,
     "Operation not supported: unrecognized network update command code 0"),
    (1, 4, "<host name='nobody' ip='192.168.122.99'/>", 55,
     "Requested operation is not valid: couldn't locate an existing dhcp host entry with "
     "\"mac='unknown'\" \"name='nobody'\" \"ip='192.168.122.99'\" in network 'default'"),
    (3, 4, "<host mac='00:11:22:33:44:59' ip='192.168.122.14'/>", None, None),
    (3, 4, "<bogus/>", 27, "XML error: unexpected element <bogus>, expecting <host>, while "
                          "updating network 'default'"),
    (3, 4, "<host mac='zz' ip='192.168.122.30'/>", 27,
     "XML error: Cannot parse MAC address 'zz' in network 'default'"),
    (3, 4, "<host name='x' ip='fd00::3'/>", 55, "Requested operation is not valid: the address "
     "family of a host entry IP must match the address family of the dhcp element's parent"),
    (2, 4, "<host/>", 27, "XML error: At least one of name, mac, or ip attribute must be "
                          "specified for static host definition in network 'default' "),
    (1, 5, "<range start='192.168.122.100' end='192.168.122.110'/>", 84,
     "Operation not supported: dhcp ranges cannot be modified, only added or deleted"),
    (3, 5, "<range start='192.168.122.120' end='192.168.122.110'/>", 1,
     "internal error: range 192.168.122.120 - 192.168.122.110 is reversed "),
    (3, 5, "<range start='10.0.0.1' end='10.0.0.5'/>", 1, "internal error: range 10.0.0.1 - "
     "10.0.0.5 is not entirely within network 192.168.122.1/24"),
    (1, 10, "<host ip='1.2.3.4'><hostname>x</hostname></host>", 84,
     "Operation not supported: DNS HOST records cannot be modified, only added or deleted"),
    (3, 10, "<host ip='1.2.3.6'/>", 35, "Missing hostname in network 'default' DNS HOST record"),
    (3, 11, "<txt name='t 2' value='x'/>", 35,
     "prohibited character in DNS TXT record name 't 2' of network default"),
    (3, 12, "<srv service='x' protocol='udp' port='1'/>", 35, "DNS SRV port attribute not "
     "permitted without target for service 'x' in network 'default'"),
    (1, 9, "<portgroup name='c'/>", 55, "Requested operation is not valid: couldn't find a "
     "portgroup entry in network 'default' matching <portgroup name='c'>"),
    (1, 7, "<interface dev='eth1'/>", 84, "Operation not supported: forward interface "
     "entries cannot be modified, only added or deleted"),
    (3, 8, "<pf dev='eth7'/>", 84,
     "Operation not supported: can't update 'forward pf' section of network 'default'"),
    (3, 4, "<host", 35, "network_update_xml:1: Couldn't find end of Start Tag host line 1\n"
                       "<host\n-----^"),
])
def test_network_update_errors_like_libvirt(conn, command, section, xml, code, message):
    """Each (command, section, xml) as libvirt 9.0's test driver answers it."""
    net = conn.network
    ref = net.network_lookup_by_name("default")
    if code is None:
        net.network_update(ref, command, section, -1, xml, 0)
        assert "00:11:22:33:44:59" in net.network_get_xml_desc(ref, 0)
        return
    before = net.network_get_xml_desc(ref, 0)
    e = err(net.network_update, ref, command, section, -1, xml, 0)
    assert (e.get_error_code(), str(e)) == (code, message)
    assert net.network_get_xml_desc(ref, 0) == before      # nothing half applied


def test_network_update_records_and_order(conn):
    net = conn.network
    ref = net.network_lookup_by_name("default")
    for command, section, xml in [
            (3, 10, "<host ip='1.2.3.4'><hostname>x</hostname></host>"),
            (3, 11, "<txt name='t1' value='v'/>"),
            (3, 12, "<srv service='sip' protocol='tcp' target='a.b' port='5060'/>"),
            (3, 9, "<portgroup name='pg'/>"),
            (3, 7, "<interface dev='eth9'/>")]:
        net.network_update(ref, command, section, -1, xml, 0)
    xml = net.network_get_xml_desc(ref, 0)
    assert "<forward dev='eth9' mode='nat'>\n    <interface dev='eth9'/>\n  </forward>" in xml
    assert xml.index("<dns>") < xml.index("<ip ") < xml.index("<portgroup name='pg'>\n  </portgroup>")
    assert xml.index("<txt") < xml.index("<host ip='1.2.3.4'>")
    e = err(net.network_update, ref, 3, 10, -1, "<host ip='1.2.3.4'><hostname>y</hostname></host>", 0)
    assert str(e) == ("Requested operation is not valid: there is already at least one DNS "
                      "HOST record with a matching field in network default")
    net.network_update(ref, 2, 11, -1, "<txt name='t1'/>", 0)
    assert "<txt" not in net.network_get_xml_desc(ref, 0)


def test_network_update_live_and_config_like_the_test_driver(conn):
    """CURRENT is LIVE on a running network; LIVE on a stopped one fails; a config-only
    change of a running network stays pending (and libvirt's test driver never applies it)."""
    net = conn.network
    ref = net.network_lookup_by_name("default")
    e = err(net.network_update, ref, 3, 4, -1, HOST, 4)
    assert str(e) == "unsupported flags (0x4) in function testNetworkUpdate"
    net.network_update(ref, 3, 4, -1, HOST, 2)                       # config only
    assert "44:55" not in net.network_get_xml_desc(ref, 0)
    net.network_destroy(ref)
    assert "44:55" not in net.network_get_xml_desc(ref, 0)
    e = err(net.network_update, ref, 3, 4, -1, HOST, 1)
    assert str(e) == "Requested operation is not valid: network is not running"
    net.network_update(ref, 3, 4, -1, HOST.replace("55'", "56'").replace(".5'", ".7'"), 0)
    xml = net.network_get_xml_desc(ref, 0)
    assert "44:55" in xml and "44:56" in xml     # built on the pending definition
    e = err(net.network_get_xml_desc, ref, 1)
    assert str(e) == "unsupported flags (0x1) in function testNetworkGetXMLDesc"
