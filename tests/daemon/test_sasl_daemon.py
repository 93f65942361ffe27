"""pyvirtd with SASL (SCRAM) on its unix and TLS listeners, driven by pyvirt's
own remote driver (``openAuth``) and by raw protocol calls: logins, refusals
before authentication, per-user access rules, the brute-force limit, audit."""

from __future__ import annotations

import json

import pytest

import pyvirt
from pyvirt.errors import (VIR_ERR_ACCESS_DENIED, VIR_ERR_AUTH_FAILED, VIR_ERR_RPC,
                           VIR_FROM_REMOTE, VIR_FROM_RPC, libvirtError)
from pyvirt.remote.connection import RemoteConnection
from pyvirt.remote.sasl import to_wire
from pyvirt.remote.sasl_scram import ScramClient

from sasl_fixtures import NO_MECH


@pytest.fixture
def sasl_daemon(make_daemon, sasl_files):
    return make_daemon(listen_tcp=False, auth_unix_rw="sasl", **sasl_files)


def creds(name, password):
    def callback(credentials, cbdata):
        for cred in credentials:
            cred[4] = name if cred[0] == pyvirt.VIR_CRED_AUTHNAME else password
        return 0
    return [[pyvirt.VIR_CRED_AUTHNAME, pyvirt.VIR_CRED_PASSPHRASE], callback, None]


def uri_of(running) -> str:
    return f"test+unix:///default?socket={running.rw_path}"


@pytest.fixture(autouse=True)
def no_auth_conf(monkeypatch, tmp_path):
    monkeypatch.delenv("LIBVIRT_AUTH_FILE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def test_open_auth_logs_in_and_access_rules_apply_per_user(sasl_daemon):
    alice = pyvirt.openAuth(uri_of(sasl_daemon), creds("alice", "wonderland"), 0)
    bob = pyvirt.openAuth(uri_of(sasl_daemon), creds("bob", "builder"), 0)
    try:
        assert [d.name() for d in bob.listAllDomains()] == ["test"]
        with pytest.raises(libvirtError) as info:
            bob.lookupByName("test").suspend()
        assert info.value.get_error_code() == VIR_ERR_ACCESS_DENIED
        alice.lookupByName("test").suspend()
        assert bob.lookupByName("test").info()[0] == pyvirt.VIR_DOMAIN_PAUSED
        alice.lookupByName("test").resume()
    finally:
        alice.close()
        bob.close()


def test_audit_log_names_the_sasl_user(sasl_daemon, sasl_files):
    conn = pyvirt.openAuth(uri_of(sasl_daemon), creds("alice", "wonderland"), 0)
    conn.lookupByName("test").suspend()
    conn.close()
    with pytest.raises(libvirtError):
        pyvirt.openAuth(uri_of(sasl_daemon), creds("bob", "nope"), 0)
    lines = [json.loads(line) for line in open(sasl_files["audit_log"])]
    logins = [(l["identity"].get("sasl_user"), l["outcome"]) for l in lines
              if l["procedure"].startswith("AUTH_SASL")]
    assert logins == [("alice", "success"), ("bob", "failure")]
    suspend = next(l for l in lines if l["procedure"] == "DOMAIN_SUSPEND")
    assert suspend["identity"]["sasl_user"] == "alice" and "uid" in suspend["identity"]


def test_wrong_password_and_missing_credentials_fail_like_libvirt(sasl_daemon):
    with pytest.raises(libvirtError) as info:
        pyvirt.openAuth(uri_of(sasl_daemon), creds("alice", "guess"), 0)
    assert (info.value.get_error_code(), info.value.get_error_domain(), str(info.value)) == \
        (VIR_ERR_AUTH_FAILED, VIR_FROM_RPC, "authentication failed: authentication failed")
    with pytest.raises(libvirtError) as info:
        pyvirt.open(uri_of(sasl_daemon))
    assert (info.value.get_error_code(), str(info.value)) == (VIR_ERR_AUTH_FAILED, NO_MECH)
    with pytest.raises(libvirtError) as info:
        pyvirt.openAuth(uri_of(sasl_daemon), [creds("a", "b")[0], lambda c, d: -1, None], 0)
    assert info.value.get_error_domain() == VIR_FROM_REMOTE
    assert str(info.value) == "authentication failed: Failed to collect auth credentials"


def test_auth_conf_supplies_the_credentials(sasl_daemon, tmp_path, monkeypatch):
    conf = tmp_path / "auth.conf"
    conf.write_text("[credentials-x]\nauthname=bob\npassword=builder\n"
                    "[auth-libvirt-localhost]\ncredentials=x\n")
    monkeypatch.setenv("LIBVIRT_AUTH_FILE", str(conf))

    def never(credentials, cbdata):
        raise AssertionError("auth.conf had everything")
    conn = pyvirt.openAuth(uri_of(sasl_daemon), [creds("", "")[0], never, None], 0)
    assert conn.getType() == "TEST"
    conn.close()


def test_calls_before_authentication_are_refused_and_the_daemon_stays_up(sasl_daemon):
    raw = RemoteConnection.unix(sasl_daemon.rw_path)
    try:
        assert raw.call("AUTH_LIST") == [1]
        for name, args in (("CONNECT_OPEN", {"name": "test:///default", "flags": 0}),
                           ("CONNECT_SUPPORTS_FEATURE", {"feature": 10}),
                           ("CONNECT_GET_TYPE", {})):
            with pytest.raises(libvirtError) as info:
                raw.call(name, **args)
            assert (info.value.get_error_code(), info.value.get_error_domain(),
                    str(info.value)) == (VIR_ERR_RPC, VIR_FROM_RPC, "authentication required")
        assert raw.call("AUTH_LIST") == [1]            # still connected
    finally:
        raw.close()
    conn = pyvirt.openAuth(uri_of(sasl_daemon), creds("alice", "wonderland"), 0)
    assert conn.getType() == "TEST"
    conn.close()


def _failed_exchange(raw: RemoteConnection) -> None:
    raw.call("AUTH_SASL_INIT")
    client = ScramClient("SCRAM-SHA-256", "bob", "guess", "nonce")
    started = raw.call("AUTH_SASL_START", mech="SCRAM-SHA-256", nil=0,
                       data=to_wire(client.first()))
    final = client.final(bytes(b & 0xFF for b in started["data"]))
    raw.call("AUTH_SASL_STEP", nil=0, data=to_wire(final))


def test_three_failed_exchanges_drop_the_client(sasl_daemon):
    raw = RemoteConnection.unix(sasl_daemon.rw_path)
    try:
        for attempt in range(3):
            with pytest.raises(libvirtError) as info:
                _failed_exchange(raw)
            assert info.value.get_error_code() == VIR_ERR_AUTH_FAILED
        with pytest.raises(libvirtError) as info:        # the daemon hung up
            raw.call("AUTH_LIST")
        assert info.value.get_error_code() == VIR_ERR_RPC
    finally:
        raw.close()
    # bob is not locked by 3 failures (the daemon-wide limit is 10)
    conn = pyvirt.openAuth(uri_of(sasl_daemon), creds("bob", "builder"), 0)
    conn.close()


def test_daemon_wide_lockout_after_repeated_failures(sasl_daemon):
    for _ in range(10):
        with pytest.raises(libvirtError):
            pyvirt.openAuth(uri_of(sasl_daemon), creds("bob", "guess"), 0)
    with pytest.raises(libvirtError) as info:
        pyvirt.openAuth(uri_of(sasl_daemon), creds("bob", "builder"), 0)
    assert str(info.value) == "authentication failed: authentication failed"
    pyvirt.openAuth(uri_of(sasl_daemon), creds("alice", "wonderland"), 0).close()


def test_allowed_username_list(make_daemon, sasl_files):
    running = make_daemon(listen_tcp=False, auth_unix_rw="sasl",
                          sasl_allowed_username_list=["al*"], **sasl_files)
    pyvirt.openAuth(uri_of(running), creds("alice", "wonderland"), 0).close()
    with pytest.raises(libvirtError) as info:
        pyvirt.openAuth(uri_of(running), creds("bob", "builder"), 0)
    assert info.value.get_error_code() == VIR_ERR_AUTH_FAILED


def test_read_only_socket_keeps_its_own_scheme(make_daemon, sasl_files):
    del sasl_files["access_rules_file"]
    running = make_daemon(listen_tcp=False, auth_unix_rw="sasl", **sasl_files)
    conn = pyvirt.openReadOnly(f"test+unix:///default?socket={running.ro_path}")
    assert conn.getType() == "TEST"
    conn.close()


def test_plain_tcp_with_sasl_fails_in_the_client_as_libvirts_does(make_daemon, sasl_files):
    """A daemon forced to auth_tcp = "sasl" (the config refuses it): the client
    will not run SCRAM without a security layer on plain TCP."""
    running = make_daemon(auth_tcp="sasl", **sasl_files)
    with pytest.raises(libvirtError) as info:
        pyvirt.openAuth(f"test+tcp://127.0.0.1:{running.tcp_port}/default",
                        creds("alice", "wonderland"), 0)
    assert (info.value.get_error_code(), str(info.value)) == (VIR_ERR_AUTH_FAILED, NO_MECH)


def test_tls_with_sasl_needs_certificate_and_password(make_daemon, sasl_files, tmp_path):
    pytest.importorskip("cryptography", reason="cryptography not installed")
    from pyvirt.daemon import certs
    pki = tmp_path / "pki"
    certs.create(certs.Layout.in_dir(str(pki)), ["127.0.0.1", "localhost"], "client1")
    running = make_daemon(listen_tcp=False, listen_tls=True, tls_port=0, auth_tls="sasl",
                          key_file=str(pki / "serverkey.pem"),
                          cert_file=str(pki / "servercert.pem"),
                          ca_file=str(pki / "cacert.pem"), **sasl_files)
    port = next(l for l in running.daemon.listeners if l.kind == "tls").address.rsplit(":")[1]
    uri = f"test+tls://127.0.0.1:{port}/default?pkipath={pki}"
    conn = pyvirt.openAuth(uri, creds("alice", "wonderland"), 0)
    assert [d.name() for d in conn.listAllDomains()] == ["test"]
    conn.close()
    with pytest.raises(libvirtError) as info:
        pyvirt.openAuth(uri, creds("alice", "guess"), 0)
    assert str(info.value) == "authentication failed: authentication failed"


def test_default_auth_asks_on_the_terminal_like_virsh(sasl_daemon):
    import io

    from pyvirt.api._clientconf import default_auth
    out = io.StringIO()
    conn = pyvirt.openAuth(uri_of(sasl_daemon),
                           default_auth(io.StringIO("alice\nwonderland\n"), out), 0)
    assert conn.getType() == "TEST"
    conn.close()
    assert out.getvalue() == ("Please enter your authentication name: "
                              "Please enter your password: ")
    with pytest.raises(libvirtError) as info:         # virsh with nothing on stdin
        pyvirt.openAuth(uri_of(sasl_daemon), default_auth(io.StringIO(""), io.StringIO()), 0)
    assert str(info.value) == ("authentication failed: Failed to start SASL negotiation: -1 "
                               "(SASL(-1): generic failure: All-whitespace username.)")


@pytest.mark.parametrize("param, message", [
    # what the real virsh 9.0 prints against pyvirtd for the same URIs
    ("auth=sasl.scram-sha-1", "SASL mechanism scram-sha-1 not supported by server"),
    ("auth=polkit", "requested authentication type polkit rejected"),
    ("auth=bogus", "unknown authentication type bogus"),
])
def test_uri_auth_parameter_errors(sasl_daemon, param, message):
    with pytest.raises(libvirtError) as info:
        pyvirt.openAuth(f"{uri_of(sasl_daemon)}&{param}", creds("alice", "wonderland"), 0)
    assert str(info.value) == f"authentication failed: {message}"


def test_uri_auth_parameter_picks_the_mechanism(sasl_daemon, sasl_files):
    conn = pyvirt.openAuth(f"{uri_of(sasl_daemon)}&auth=sasl.SCRAM-SHA-1",
                           creds("alice", "wonderland"), 0)
    conn.close()
    with pytest.raises(libvirtError) as info:
        pyvirt.openAuth(f"test+unix:///default?socket={sasl_daemon.ro_path}&auth=sasl",
                        creds("alice", "wonderland"), pyvirt.VIR_CONNECT_RO)
    assert str(info.value) == "authentication failed: requested authentication type sasl " \
        "rejected"
