"""virConnect over the fake driver: open, dispatch, argument checks, read-only."""

from __future__ import annotations

import pytest

import pyvirt
from pyvirt import libvirtError


def _err(fn):
    with pytest.raises(libvirtError) as info:
        fn()
    return info.value


def test_open_gives_a_connection_with_driver_answers(conn):
    assert conn.getType() == "FAKE"
    assert conn.getURI() == "fake:///default"
    assert conn.getHostname() == "fakehost"
    assert conn.getInfo() == ["i686", 3072, 16, 1400, 2, 2, 2, 2]
    assert conn.getLibVersion() == 9000000
    assert conn.isAlive() == 1


def test_open_unknown_scheme_falls_through_to_the_daemon_socket_like_libvirt():
    # No local driver takes it, so (as in libvirt) the remote driver tries the
    # default daemon socket, and nothing listens there in the tests.
    err = _err(lambda: pyvirt.open("nosuchdriver:///x"))
    assert err.get_error_code() == pyvirt.VIR_ERR_SYSTEM_ERROR
    assert err.get_error_domain() == pyvirt.VIR_FROM_RPC
    assert str(err) == ("Failed to connect socket to '/var/run/libvirt/libvirt-sock': "
                        "No such file or directory")


def test_open_bad_uri_is_libvirts_parse_error():
    err = _err(lambda: pyvirt.open("::bad"))
    assert err.get_error_code() == pyvirt.VIR_ERR_INTERNAL_ERROR
    assert err.get_error_domain() == pyvirt.VIR_FROM_URI
    assert str(err) == "internal error: Unable to parse URI ::bad"


def test_open_none_uses_libvirt_default_uri(monkeypatch):
    monkeypatch.setenv("LIBVIRT_DEFAULT_URI", "fake:///fromenv")
    c = pyvirt.open(None)
    assert c.getURI() == "fake:///fromenv"
    c.close()


def test_open_none_without_default_is_no_connect(monkeypatch, tmp_path):
    from pyvirt.api import _clientconf
    monkeypatch.setattr(_clientconf, "config_path", lambda: str(tmp_path / "none.conf"))
    monkeypatch.delenv("LIBVIRT_DEFAULT_URI", raising=False)
    err = _err(lambda: pyvirt.open(None))
    assert err.get_error_code() == pyvirt.VIR_ERR_NO_CONNECT
    assert "LIBVIRT_DEFAULT_URI" in str(err)


def test_open_auth_ignores_credentials():
    c = pyvirt.openAuth("fake:///default", [[pyvirt.VIR_CRED_AUTHNAME], None, None], 0)
    assert c.getType() == "FAKE"
    c.close()


def test_missing_entry_point_names_the_libvirt_function(conn):
    err = _err(conn.getCapabilities)
    assert err.get_error_code() == pyvirt.VIR_ERR_NO_SUPPORT
    assert str(err) == ("this function is not supported by the connection driver: "
                        "virConnectGetCapabilities")


def test_network_no_support_uses_network_error_domain(conn):
    err = _err(lambda: conn.networkLookupByName("default").XMLDesc())
    assert (err.get_error_code(), err.get_error_domain()) == (pyvirt.VIR_ERR_NO_SUPPORT,
                                                             pyvirt.VIR_FROM_NETWORK)
    assert str(err).endswith(": virNetworkGetXMLDesc")


def test_lookup_by_name_and_uuid(conn):
    dom = conn.lookupByName("test")
    assert dom.UUIDString() == "6695eb01-f6a4-8304-79aa-97f2502e193f"
    assert conn.lookupByUUID(dom.UUID()).name() == "test"
    assert conn.lookupByUUIDString(dom.UUIDString()).name() == "test"
    assert conn.lookupByUUIDString(dom.UUIDString().replace("-", "")).name() == "test"


def test_driver_errors_propagate_unchanged(conn):
    err = _err(lambda: conn.lookupByName("nope"))
    assert (err.get_error_code(), err.get_error_domain()) == (pyvirt.VIR_ERR_NO_DOMAIN,
                                                             pyvirt.VIR_FROM_TEST)
    assert str(err) == "Domain not found: no domain with matching name 'nope'"


def test_invalid_uuid_string_is_invalid_arg(conn):
    err = _err(lambda: conn.lookupByUUIDString("not-a-uuid"))
    assert err.get_error_code() == pyvirt.VIR_ERR_INVALID_ARG
    assert err.get_error_domain() == pyvirt.VIR_FROM_DOMAIN
    assert str(err) == "Invalid UUID"
    net_err = _err(lambda: conn.networkLookupByUUIDString("zz"))
    assert str(net_err) == "uuidstr in virNetworkLookupByUUIDString must be a valid UUID"
    assert net_err.get_error_domain() == pyvirt.VIR_FROM_NETWORK


def test_raw_uuid_must_be_16_bytes(conn):
    err = _err(lambda: conn.lookupByUUID(b"123"))
    assert err.get_error_code() == pyvirt.VIR_ERR_INVALID_ARG


def test_none_xml_is_invalid_arg(conn):
    err = _err(lambda: conn.defineXML(None))
    assert err.get_error_code() == pyvirt.VIR_ERR_INVALID_ARG
    assert str(err) == "xml in virDomainDefineXML must not be NULL"
    assert (err.get_str1(), err.get_str2()) == ("virDomainDefineXML", "xml")


def test_negative_id_and_zero_memory_are_invalid_args(conn):
    assert str(_err(lambda: conn.lookupByID(-1))) == (
        "id in virDomainLookupByID must be zero or greater")
    dom = conn.lookupByName("test")
    assert str(_err(lambda: dom.setMemory(0))) == "memory in virDomainSetMemory must not be zero"
    assert str(_err(lambda: dom.setVcpus(0))) == "nvcpus in virDomainSetVcpus must not be zero"


def test_list_helpers_derive_from_list_all(conn):
    conn.defineXML("<domain><name>off</name></domain>")
    assert conn.listDomainsID() == [1]
    assert conn.listDefinedDomains() == ["off"]
    assert (conn.numOfDomains(), conn.numOfDefinedDomains()) == (1, 1)
    assert [d.name() for d in conn.listAllDomains()] == ["test", "off"]
    assert isinstance(conn.listAllDomains(), list)


def test_all_domain_stats_shape(conn):
    rows = conn.getAllDomainStats(pyvirt.VIR_DOMAIN_STATS_STATE)
    assert isinstance(rows, list) and isinstance(rows[0], tuple)
    dom, stats = rows[0]
    assert isinstance(dom, pyvirt.virDomain) and stats == {"state.state": 1}
    picked = conn.domainListGetStats([conn.lookupByName("test")])
    assert [d.name() for d, _ in picked] == ["test"]


def test_read_only_connection_refuses_changes(ro):
    err = _err(lambda: ro.defineXML("<domain><name>x</name></domain>"))
    assert err.get_error_code() == pyvirt.VIR_ERR_OPERATION_DENIED
    assert err.get_error_domain() == pyvirt.VIR_FROM_DOMAIN
    assert str(err) == "operation forbidden: read only access prevents virDomainDefineXML"
    dom = ro.lookupByName("test")
    assert str(_err(dom.create)) == ("operation forbidden: read only access prevents "
                                     "virDomainCreate")
    assert str(_err(dom.destroy)).endswith("virDomainDestroy")
    assert dom.info()[0] == pyvirt.VIR_DOMAIN_RUNNING      # reading still works


def test_read_only_secure_xml_is_denied(ro):
    err = _err(lambda: ro.lookupByName("test").XMLDesc(pyvirt.VIR_DOMAIN_XML_SECURE))
    assert str(err) == "operation forbidden: virDomainGetXMLDesc with secure flag"


def test_read_only_network_uses_network_domain(ro):
    err = _err(lambda: ro.networkLookupByName("default").destroy())
    assert err.get_error_domain() == pyvirt.VIR_FROM_NETWORK
    assert str(err) == "operation forbidden: read only access prevents virNetworkDestroy"


def test_closed_connection_is_invalid_conn():
    c = pyvirt.open("fake:///default")
    assert c.close() == 0
    err = _err(c.getType)
    assert err.get_error_code() == pyvirt.VIR_ERR_INVALID_CONN
    assert err.get_error_domain() == pyvirt.VIR_FROM_DOMAIN
    assert str(err) == "invalid connection pointer in virConnectGetType"
    assert str(_err(c.isAlive)) == "invalid connection pointer in virConnectIsAlive"
    assert _err(lambda: c.networkLookupByName("default")).get_error_domain() == (
        pyvirt.VIR_FROM_NETWORK)
    assert _err(c.close).get_error_domain() == pyvirt.VIR_FROM_NONE


def test_handles_keep_the_driver_open_after_close():
    c = pyvirt.open("fake:///default")
    drv = c._drv
    dom = c.lookupByName("test")
    assert c.close() == 1                      # like libvirt: a handle still holds it
    assert dom.info()[0] == pyvirt.VIR_DOMAIN_RUNNING
    assert not c._driver_closed
    del dom
    assert c._driver_closed and drv is c._drv


def test_context_manager_closes():
    with pyvirt.open("fake:///default") as c:
        assert c.getType() == "FAKE"
    assert c._closed


def test_get_version_shapes():
    assert pyvirt.getVersion() == 9000000
    assert pyvirt.getVersion("Test") == (9000000, 9000000)


def test_close_callback_registration(conn):
    assert conn.registerCloseCallback(lambda *a: None, None) == 0
    assert conn.unregisterCloseCallback() is None
