"""pyvirt.errors: numbers, message templates, libvirtError accessors."""

from __future__ import annotations

import pytest

from pyvirt import errors
from pyvirt.errors import error, format_message, libvirtError


@pytest.mark.parametrize(("code", "detail", "message"), [
    (errors.VIR_ERR_NO_DOMAIN, "no domain with matching name 'x'",
     "Domain not found: no domain with matching name 'x'"),
    (errors.VIR_ERR_NO_DOMAIN, None, "Domain not found"),
    (errors.VIR_ERR_NO_CONNECT, "foo:///", "no connection driver available for foo:///"),
    (errors.VIR_ERR_OPERATION_DENIED, "read only access prevents virDomainCreate",
     "operation forbidden: read only access prevents virDomainCreate"),
    (errors.VIR_ERR_XML_ERROR, "failed to parse", "XML error: failed to parse"),
    (errors.VIR_ERR_XML_ERROR, None, "XML description is invalid or not well formed"),
    (errors.VIR_ERR_DOM_EXIST, "x", "domain x exists already"),
    (errors.VIR_ERR_SYSTEM_ERROR, "Cannot open: No such file", "Cannot open: No such file"),
    (errors.VIR_ERR_RESOURCE_BUSY, "x", "resource busy: x"),
    (errors.VIR_ERR_INVALID_DOMAIN_SNAPSHOT, "virDomainRevertToSnapshot",
     "Invalid domain snapshot: virDomainRevertToSnapshot"),
    (errors.VIR_ERR_NO_SUPPORT, "virDomainSuspend",
     "this function is not supported by the connection driver: virDomainSuspend"),
    (errors.VIR_ERR_OK, "bare", "bare"),
])
def test_messages_follow_virerror_table(code, detail, message):
    assert format_message(code, detail) == message


def test_error_fills_the_tuple_like_libvirt():
    err = error(errors.VIR_ERR_NO_NETWORK, "no network with matching name 'x'",
                domain=errors.VIR_FROM_TEST)
    assert isinstance(err, libvirtError)
    assert err.err == (43, 12, "Network not found: no network with matching name 'x'", 2,
                       "Network not found: %s", "no network with matching name 'x'", None,
                       -1, -1)
    assert err.get_str1() == "Network not found: %s" and err.get_int1() == -1


def test_warnings_have_libvirts_names():
    assert errors.VIR_WAR_NO_STORAGE == errors.VIR_ERR_WAR_NO_STORAGE == 48
    assert errors.ERROR_WARNINGS["VIR_WAR_NO_SECRET"] == 64


def test_codes_and_domains_match_the_real_binding():
    libvirt = pytest.importorskip("libvirt", reason="real libvirt-python not installed")
    for name in dir(libvirt):
        if name.startswith(("VIR_ERR_", "VIR_FROM_", "VIR_WAR_")):
            assert getattr(errors, name) == getattr(libvirt, name), name


def test_domain_labels():
    assert errors.domain_label(errors.VIR_FROM_TEST) == "Test Driver"
    assert errors.domain_label(errors.VIR_FROM_DOMAIN) == "Domain Config"


def test_every_code_has_a_message():
    for name, code in errors.ERROR_CODES.items():
        if code:
            assert format_message(code, None), name
            assert format_message(code, "d").count("d") >= 1, name
