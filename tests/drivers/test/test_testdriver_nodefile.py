"""test:///ABSOLUTE/PATH.xml: libvirt's node file format."""

import pytest

from pyvirt.drivers.test.driver import TestDriver
from pyvirt.errors import VIR_ERR_XML_ERROR, libvirtError

DOM_FILE = """<domain type='test'>
  <name>fv0</name>
  <uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa0</uuid>
  <memory>524288</memory>
  <vcpu>2</vcpu>
  <os><type>hvm</type></os>
</domain>
"""

NODE = """<node>
  <cpu>
    <mhz>6000</mhz>
    <model>i986</model>
    <active>50</active>
    <nodes>4</nodes>
    <sockets>4</sockets>
    <cores>4</cores>
    <threads>2</threads>
  </cpu>
  <memory>8192000</memory>
  <domain file="dom1.xml"/>
  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
    <name>inl</name>
    <memory>1024</memory>
    <os><type>hvm</type></os>
    <test:runstate>5</test:runstate>
  </domain>
  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
    <name>tr</name>
    <memory>1024</memory>
    <os><type>hvm</type></os>
    <test:transient/>
    <test:runstate>3</test:runstate>
  </domain>
  <network>
    <name>priv</name>
    <bridge name='br9'/>
  </network>
  <pool type='dir'>
    <name>p1</name>
    <target><path>/p1</path></target>
    <volume type='file'><name>v1</name><capacity unit='M'>5</capacity></volume>
  </pool>
</node>
"""


@pytest.fixture
def node_conn(tmp_path):
    (tmp_path / "dom1.xml").write_text(DOM_FILE)
    (tmp_path / "node.xml").write_text(NODE)
    conn = TestDriver().open(f"test://{tmp_path}/node.xml")
    yield conn
    conn.close()


def test_node_info(node_conn):
    assert node_conn.hypervisor.node_get_info() == ["i986", 8192000, 50, 6000, 4, 4, 4, 2]


def test_domains_and_runstates(node_conn):
    hv = node_conn.hypervisor
    listed = [(r.name, r.id) for r in hv.connect_list_all_domains(0)]
    assert listed == [("fv0", 1), ("tr", 2), ("inl", -1)]
    assert hv.domain_get_state(hv.domain_lookup_by_name("tr"), 0) == [3, 0]
    assert hv.domain_get_state(hv.domain_lookup_by_name("fv0"), 0) == [1, 0]
    assert not hv.domain_is_persistent(hv.domain_lookup_by_name("tr"))
    xml = hv.domain_get_xml_desc(hv.domain_lookup_by_name("inl"), 0)
    assert "test:" not in xml and "runstate" not in xml
    assert "<currentMemory unit='KiB'>1024</currentMemory>" in xml
    assert hv.domain_lookup_by_name("fv0").uuid.hex() == "4dea22b31d52d8f32516782e98ab3fa0"


def test_networks_pools_volumes(node_conn):
    net = node_conn.network.network_lookup_by_name("priv")
    assert node_conn.network.network_is_active(net)
    assert node_conn.network.network_get_bridge_name(net) == "br9"
    st = node_conn.storage
    pool = st.storage_pool_lookup_by_name("p1")
    [vol] = st.storage_pool_list_all_volumes(pool, 0)
    assert st.storage_vol_get_path(vol) == "/p1/v1"
    assert st.storage_vol_get_info(vol) == [0, 5242880, 5242880]
    assert st.storage_pool_get_info(pool) == [2, 107374182400, 5242880, 107368939520]


def test_each_open_reads_the_file_afresh(tmp_path, node_conn):
    hv = node_conn.hypervisor
    hv.domain_destroy_flags(hv.domain_lookup_by_name("fv0"), 0)
    other = TestDriver().open(f"test://{tmp_path}/node.xml")
    try:
        assert other.hypervisor.domain_get_state(
            other.hypervisor.domain_lookup_by_name("fv0"), 0)[0] == 1
    finally:
        other.close()


def test_missing_file(tmp_path):
    with pytest.raises(libvirtError) as info:
        TestDriver().open(f"test://{tmp_path}/missing.xml")
    assert info.value.get_error_code() == VIR_ERR_XML_ERROR
    assert str(info.value) == f"XML error: failed to parse xml document '{tmp_path}/missing.xml'"


def test_empty_path():
    with pytest.raises(libvirtError) as info:
        TestDriver().open("test:///")
    assert str(info.value) == ("invalid argument: testOpen: supply a path or use "
                               "test:///default")


def test_unparsable_file(tmp_path):
    (tmp_path / "bad.xml").write_text("<node>")
    with pytest.raises(libvirtError) as info:
        TestDriver().open(f"test://{tmp_path}/bad.xml")
    assert info.value.get_error_code() == VIR_ERR_XML_ERROR


def test_wrong_root(tmp_path):
    (tmp_path / "n.xml").write_text("<nodes/>")
    with pytest.raises(libvirtError):
        TestDriver().open(f"test://{tmp_path}/n.xml")


def test_managed_save_marker(tmp_path):
    (tmp_path / "n.xml").write_text(
        "<node><domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>"
        "<name>m</name><memory>1024</memory><os><type>hvm</type></os>"
        "<test:runstate>5</test:runstate><test:hasmanagedsave/></domain></node>")
    conn = TestDriver().open(f"test://{tmp_path}/n.xml")
    hv = conn.hypervisor
    assert hv.domain_has_managed_save_image(hv.domain_lookup_by_name("m"), 0)
    assert hv.node_get_info()[0] == "i686"      # no <cpu>: libvirt's defaults
    conn.close()
