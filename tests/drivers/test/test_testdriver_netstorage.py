"""Networks, pools and volumes with libvirt's test-driver behaviour and events."""

import pytest

from pyvirt.errors import (
    VIR_ERR_NO_NETWORK, VIR_ERR_NO_STORAGE_POOL, VIR_ERR_NO_STORAGE_VOL,
    VIR_ERR_OPERATION_FAILED, VIR_ERR_OPERATION_INVALID, VIR_FROM_NETWORK, VIR_FROM_STORAGE,
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
    e = err(net.network_update, ref, 3, 9, -1, "<portgroup name='x'/>", 0)
    assert e.get_error_code() == 3       # VIR_ERR_NO_SUPPORT
