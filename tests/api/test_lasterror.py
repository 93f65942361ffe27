"""Last-error state and the global error handler."""

from __future__ import annotations

import pytest

import pyvirt


def test_failure_is_recorded_and_success_clears_it(conn):
    with pytest.raises(pyvirt.libvirtError):
        conn.lookupByName("nope")
    err = pyvirt.virGetLastError()
    assert err[0] == pyvirt.VIR_ERR_NO_DOMAIN
    assert pyvirt.virGetLastErrorCode() == pyvirt.VIR_ERR_NO_DOMAIN
    assert pyvirt.virGetLastErrorDomain() == pyvirt.VIR_FROM_TEST
    assert pyvirt.virGetLastErrorMessage().startswith("Domain not found")
    assert conn.virConnGetLastError() == err
    conn.getType()
    assert pyvirt.virGetLastError() is None
    assert pyvirt.virGetLastErrorMessage() == "no error"
    assert conn.virConnGetLastError() == (0, 0, None, 0, None, None, None, 0, 0)


def test_reset_last_error(conn):
    with pytest.raises(pyvirt.libvirtError):
        conn.lookupByName("nope")
    pyvirt.virResetLastError()
    assert pyvirt.virGetLastError() is None


def test_error_handler_gets_ctx_and_err_tuple(conn):
    seen: list = []
    assert pyvirt.registerErrorHandler(lambda ctx, err: seen.append((ctx, err)), "ctx") == 1
    with pytest.raises(pyvirt.libvirtError):
        conn.lookupByName("nope")
    assert seen == [("ctx", pyvirt.virGetLastError())]
    pyvirt.registerErrorHandler(None, None)
    with pytest.raises(pyvirt.libvirtError):
        conn.lookupByName("nope")
    assert len(seen) == 1


def test_module_functions_record_errors():
    with pytest.raises(pyvirt.libvirtError):
        pyvirt.open("::bad")
    assert pyvirt.virGetLastErrorCode() == pyvirt.VIR_ERR_INTERNAL_ERROR


def test_nested_api_calls_report_once(conn, monkeypatch):
    seen: list = []
    pyvirt.registerErrorHandler(lambda ctx, err: seen.append(err), None)
    monkeypatch.setattr(type(conn._drv.hypervisor), "connect_list_domains",
                        lambda self, maxids: [1], raising=False)

    def broken(self):
        raise pyvirt.libvirtError("boom")

    monkeypatch.setattr(type(conn._drv.hypervisor), "connect_num_of_domains", broken,
                        raising=False)
    with pytest.raises(pyvirt.libvirtError):
        conn.listDomainsID()          # calls numOfDomains() inside
    assert len(seen) == 1
