"""libvirt URI parsing and formatting (pyvirt.uri)."""

from __future__ import annotations

import pytest

from pyvirt import libvirtError
from pyvirt.errors import VIR_ERR_INTERNAL_ERROR, VIR_ERR_NO_CONNECT, VIR_FROM_URI
from pyvirt.uri import URI, parse, resolve

ROUND_TRIP = [
    "test:///default",
    "qemu:///system",
    "qemu+ssh://user@host:22/system?keyfile=/home/u/.ssh/id&no_verify=1",
    "qemu:///embed?root=/x",
    "test:///abs/path.xml",
    "lxc:///",
    "qemu+tls://[::1]:16514/system",
    "test:///default#frag",
]


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_round_trip(text):
    assert str(parse(text)) == text


def test_fields_of_a_remote_uri():
    uri = parse("qemu+ssh://user@host:22/system?keyfile=/a%20b&no_verify=1")
    assert (uri.scheme, uri.driver, uri.transport) == ("qemu+ssh", "qemu", "ssh")
    assert (uri.user, uri.host, uri.port, uri.path) == ("user", "host", 22, "/system")
    assert uri.params == [("keyfile", "/a b"), ("no_verify", "1")]
    assert uri.param("keyfile") == "/a b" and uri.param("missing", "d") == "d"


def test_local_uri_has_no_host():
    uri = parse("test:///default")
    assert isinstance(uri, URI)
    assert (uri.driver, uri.transport, uri.host, uri.port, uri.path) == (
        "test", None, None, None, "/default")


def test_ipv6_host():
    uri = parse("qemu+tls://[::1]:16514/system")
    assert (uri.host, uri.port) == ("::1", 16514)


def test_single_slash_form_is_normalised_like_libvirt():
    assert str(parse("test:/default")) == "test:///default"


def test_repeated_params_keep_order_and_last_wins():
    uri = parse("qemu:///system?a=1&b=2&a=3")
    assert uri.params == [("a", "1"), ("b", "2"), ("a", "3")]
    assert uri.param("a") == "3"


@pytest.mark.parametrize("text", ["::bad", "test://:abc/default", " test:///default",
                                  "test://host:9x/p"])
def test_malformed_uri_is_libvirts_parse_error(text):
    with pytest.raises(libvirtError) as info:
        parse(text)
    err = info.value
    assert (err.get_error_code(), err.get_error_domain()) == (VIR_ERR_INTERNAL_ERROR,
                                                             VIR_FROM_URI)
    assert str(err) == f"internal error: Unable to parse URI {text}"


def test_uri_without_scheme_names_the_problem():
    with pytest.raises(libvirtError) as info:
        parse("foo")
    assert info.value.get_error_code() == VIR_ERR_NO_CONNECT
    assert str(info.value) == ("no connection driver available for URI 'foo' does not "
                               "include a driver name")


def test_resolve_prefers_argument_then_environment(monkeypatch):
    monkeypatch.setenv("LIBVIRT_DEFAULT_URI", "test:///env")
    assert resolve("qemu:///system") == "qemu:///system"
    assert resolve(None) == "test:///env"
    assert resolve("") == "test:///env"
    monkeypatch.delenv("LIBVIRT_DEFAULT_URI")
    assert resolve(None) is None
