"""test:///default holds exactly libvirt's default objects."""

import socket

import pytest

from pyvirt.drivers.test import defaults
from pyvirt.drivers.test.driver import TestDriver
from pyvirt.drivers.test.state import SHARED_DEFAULT, default_state

DEFAULT_POOL_DUMP = """\
<pool type='dir'>
  <name>default-pool</name>
  <uuid>dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566</uuid>
  <capacity unit='bytes'>107374182400</capacity>
  <allocation unit='bytes'>0</allocation>
  <available unit='bytes'>107374182400</available>
  <source>
  </source>
  <target>
    <path>/default-pool</path>
  </target>
</pool>
"""


def test_default_domain(hv, test_ref):
    assert test_ref.id == 1
    assert hv.domain_get_xml_desc(test_ref, 0) == defaults.DEFAULT_DOMAIN_XML.replace(
        "<domain type='test'>", "<domain type='test' id='1'>")
    assert hv.domain_get_state(test_ref, 0) == [1, 0]
    info = hv.domain_get_info(test_ref)
    assert info[:4] == [1, 8388608, 2097152, 2]
    assert hv.domain_get_os_type(test_ref) == "linux"
    assert hv.domain_is_persistent(test_ref) and hv.domain_is_active(test_ref)
    assert not hv.domain_get_autostart(test_ref)
    assert not hv.domain_has_managed_save_image(test_ref, 0)
    assert hv.domain_get_messages(test_ref, 0) == []
    assert [r.name for r in hv.connect_list_all_domains(0)] == ["test"]


def test_default_network_and_pool(conn):
    net = conn.network.network_lookup_by_name("default")
    assert conn.network.network_get_xml_desc(net, 0) == defaults.DEFAULT_NETWORK_XML
    assert conn.network.network_is_active(net) and conn.network.network_is_persistent(net)
    assert conn.network.network_get_bridge_name(net) == "virbr0"
    pool = conn.storage.storage_pool_lookup_by_name("default-pool")
    assert conn.storage.storage_pool_get_xml_desc(pool, 0) == DEFAULT_POOL_DUMP
    assert conn.storage.storage_pool_get_info(pool) == [2, 107374182400, 0, 107374182400]
    assert conn.storage.storage_pool_list_all_volumes(pool, 0) == []


def test_connection_facts(hv):
    assert hv.connect_get_type() == "TEST"
    assert hv.connect_get_version() == 2
    assert hv.connect_get_lib_version() == 9000000
    assert hv.connect_get_uri() == "test:///default"
    assert hv.connect_get_hostname() == socket.gethostname()
    assert hv.connect_get_max_vcpus(None) == 32
    assert hv.node_get_info() == ["i686", 3145728, 16, 1400, 2, 2, 2, 2]
    assert hv.node_get_cells_free_memory(0, 2) == [2097152, 4194304]
    assert hv.node_get_free_memory() == 3145728
    assert "LENOVO" in hv.connect_get_sysinfo(0)


def test_domstats_state_group(hv, test_ref):
    [(ref, stats)] = hv.connect_get_all_domain_stats(None, 0, 0)
    assert ref.name == "test" and stats == {"state.state": 1, "state.reason": 0}


def test_shared_default_survives_until_last_close():
    driver = TestDriver()
    first = driver.open("test:///default")
    second = driver.open("test:///default")
    try:
        assert first.hypervisor.state is second.hypervisor.state
        ref = first.hypervisor.domain_lookup_by_name("test")
        first.hypervisor.domain_destroy_flags(ref, 0)
        assert second.hypervisor.domain_get_state(ref, 0)[0] == 5
    finally:
        first.close()
    assert second.hypervisor.domain_get_state(ref, 0)[0] == 5
    second.close()
    if SHARED_DEFAULT._users == 0:   # nobody else in this process holds it: reset
        third = driver.open("test:///default")
        assert third.hypervisor.domain_get_state(ref, 0) == [1, 0]
        third.close()


@pytest.mark.parametrize("uri", ["qemu:///system", "test+tcp://host/default",
                                 "test://host/default"])
def test_declines_other_uris(uri):
    assert TestDriver().open(uri) is None


def test_reset_for_tests_starts_over_and_ignores_old_connections():
    driver = TestDriver()
    old = driver.open("test:///default")
    ref = old.hypervisor.domain_lookup_by_name("test")
    old.hypervisor.domain_destroy_flags(ref, 0)
    SHARED_DEFAULT.reset_for_tests()
    fresh = driver.open("test:///default")
    try:
        assert fresh.hypervisor.state is not old.hypervisor.state
        assert fresh.hypervisor.domain_get_state(ref, 0) == [1, 0]
        old.close()                       # its release no longer touches the new state
        assert SHARED_DEFAULT._state is fresh.hypervisor.state
    finally:
        fresh.close()


def test_register_is_idempotent():
    from pyvirt.drivers import base, test
    test.register()
    test.register()
    assert sum(d.name == "Test" for d in base.registered_drivers()) == 1


def test_matches_real_libvirt_default():
    """Byte-for-byte against libvirt-python's own test driver, when installed."""
    libvirt = pytest.importorskip("libvirt", reason="real libvirt-python not installed")
    if not hasattr(libvirt, "virInitialize") or "pyvirt" in getattr(libvirt, "__file__", ""):
        pytest.skip("not the real binding")
    real = libvirt.open("test:///default")
    # a fresh copy of the defaults: another test may still hold the shared one
    ours = TestDriver._connection("test:///default", default_state(), None)
    try:
        hv = ours.hypervisor
        ref = hv.domain_lookup_by_name("test")
        dom = real.lookupByName("test")
        assert hv.domain_get_xml_desc(ref, 0) == dom.XMLDesc(0)
        assert hv.domain_get_state(ref, 0) == dom.state()
        net = ours.network.network_lookup_by_name("default")
        assert ours.network.network_get_xml_desc(net, 0) == \
            real.networkLookupByName("default").XMLDesc(0)
        pool = ours.storage.storage_pool_lookup_by_name("default-pool")
        assert ours.storage.storage_pool_get_xml_desc(pool, 0) == \
            real.storagePoolLookupByName("default-pool").XMLDesc(0)
        info = hv.node_get_info()
        assert [info[0], info[1] // 1024, *info[2:]] == real.getInfo()
    finally:
        ours.close()
        real.close()


def _real_binding():
    libvirt = pytest.importorskip("libvirt", reason="real libvirt-python not installed")
    if "pyvirt" in getattr(libvirt, "__file__", ""):
        pytest.skip("not the real binding")
    return libvirt


def test_define_start_and_capabilities_match_real_libvirt():
    """A defined-then-started domain prints as libvirt prints it (uuid aside)."""
    libvirt = _real_binding()
    xml = ("<domain type='test'><name>n</name><uuid>11111111-2222-3333-4444-555555555555"
           "</uuid><memory>1024</memory><os><type>hvm</type></os><devices>"
           "<interface type='network'><source network='default'/>"
           "<mac address='52:54:00:11:22:33'/></interface><disk type='file'>"
           "<source file='/a'/><target dev='sda'/></disk></devices></domain>")
    real = libvirt.open("test:///default")
    ours = TestDriver._connection("test:///default", default_state(), None)
    try:
        hv = ours.hypervisor
        rdom = real.defineXML(xml)
        ref = hv.domain_define_xml_flags(xml, 0)
        assert hv.domain_get_xml_desc(ref, 0) == rdom.XMLDesc(0)
        rdom.create()
        ref = hv.domain_create_with_flags(ref, 0)
        assert hv.domain_get_xml_desc(ref, 0) == rdom.XMLDesc(0)
        assert hv.domain_get_state(ref, 0) == rdom.state()
        assert hv.connect_get_capabilities() == real.getCapabilities()
        assert hv.connect_get_sysinfo(0) == real.getSysinfo(0)
        assert hv.node_get_cells_free_memory(0, 2) == real.getCellsFreeMemory(0, 2)
        assert hv.node_get_free_memory() == real.getFreeMemory()
    finally:
        ours.close()
        real.close()


def test_accepts_parsed_uri_objects():
    from pyvirt import uri as urimod
    conn = TestDriver().open(urimod.parse("test:///default"))
    try:
        assert conn.hypervisor.connect_get_uri() == "test:///default"
    finally:
        conn.close()
    assert TestDriver().open(urimod.parse("test+ssh://host/default")) is None


@pytest.mark.parametrize("table, entry", [
    ("hypervisor", "connect_get_domain_capabilities"), ("hypervisor", "domain_open_console"),
    ("network", "network_get_dhcp_leases"), ("storage", "storage_vol_resize"),
    ("storage", "storage_vol_wipe"), ("storage", "storage_vol_upload"),
    ("storage", "storage_vol_download"), ("storage", "storage_pool_lookup_by_target_path"),
])
def test_entries_libvirt_test_driver_lacks_answer_no_support(conn, table, entry):
    """libvirt 9.0's test driver does not implement these either."""
    from pyvirt.errors import VIR_ERR_NO_SUPPORT, libvirtError
    with pytest.raises(libvirtError) as info:
        getattr(getattr(conn, table), entry)()
    assert info.value.get_error_code() == VIR_ERR_NO_SUPPORT
