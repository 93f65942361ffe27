"""pyvirt-certs: the files, their layout and their extensions; then the real
virsh and pyvirt's remote driver over TLS with them, and access rules that
tell two client certificates apart by their DN."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

import pyvirt
from pyvirt.api._registry import load_drivers
from pyvirt.daemon import certs
from pyvirt.daemon.config import DaemonConfig
from pyvirt.daemon.thread import DaemonThread
from pyvirt.drivers import base
from pyvirt.drivers.remote import RemoteDriver


def _cert(path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(open(path, "rb").read())


def test_one_command_makes_ca_server_and_client(tmp_path, capsys):
    assert certs.main(["-d", str(tmp_path), "127.0.0.1", "host.example",
                       "--client-cn", "admin"]) == 0
    layout = certs.Layout.in_dir(str(tmp_path))
    assert capsys.readouterr().out.split() == [layout.ca_cert, layout.ca_key,
                                               layout.server_cert, layout.server_key,
                                               layout.client_cert, layout.client_key]
    ca, server, client = (_cert(p) for p in (layout.ca_cert, layout.server_cert,
                                             layout.client_cert))
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert server.issuer == ca.subject == client.issuer
    sans = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(v) for v in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert sans.get_values_for_type(x509.DNSName) == ["host.example"]
    usage = client.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert stat.S_IMODE(os.stat(layout.client_key).st_mode) == 0o600


def test_an_existing_ca_is_reused(tmp_path):
    certs.main(["-d", str(tmp_path), "a", "--client-cn", "one"])
    first = _cert(tmp_path / "cacert.pem")
    certs.main(["-d", str(tmp_path), "--no-server", "--client-cn", "two"])
    assert _cert(tmp_path / "cacert.pem") == first
    assert _cert(tmp_path / "clientcert.pem").issuer == first.subject


def test_default_layout_is_libvirts(monkeypatch, tmp_path):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert certs.Layout.default().server_key == "/etc/pki/libvirt/private/serverkey.pem"
    assert certs.Layout.default().ca_cert == "/etc/pki/CA/cacert.pem"
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert certs.Layout.default().client_cert == str(tmp_path / ".pki/libvirt/clientcert.pem")


@pytest.fixture
def tls_daemon(tmp_path):
    pki = tmp_path / "pki"
    certs.main(["-d", str(pki), "127.0.0.1", "localhost", "--client-cn", "ops"])
    other = tmp_path / "other"
    other.mkdir()
    for name in ("cacert.pem", "cakey.pem"):
        shutil.copy(pki / name, other / name)
    certs.main(["-d", str(other), "--no-server", "--client-cn", "guest"])
    rules = tmp_path / "access.rules"
    rules.write_text("allow dn:*CN=ops *\nallow dn:*CN=guest connect:*\n"
                     "allow dn:*CN=guest domain:getattr\nallow dn:*CN=guest domain:read\n")
    running = DaemonThread(DaemonConfig(
        unix_sock_dir=str(tmp_path / "run"), listen_tcp=False, listen_tls=True, tls_port=0,
        listen_addr="127.0.0.1", ca_file=str(pki / "cacert.pem"),
        cert_file=str(pki / "servercert.pem"), key_file=str(pki / "serverkey.pem"),
        access_rules_file=str(rules))).start()
    yield running.port("tls"), pki, other
    running.stop()


@pytest.mark.skipif(shutil.which("virsh") is None, reason="needs the real virsh")
def test_real_virsh_over_tls_with_the_certificates(tls_daemon):
    port, pki, other = tls_daemon
    uri = f"test+tls://127.0.0.1:{port}/default?pkipath={pki}"
    remote = subprocess.run(["virsh", "-c", uri, "list", "--all"], capture_output=True,
                            text=True, timeout=30)
    local = subprocess.run(["virsh", "-c", "test:///default", "list", "--all"],
                           capture_output=True, text=True, timeout=30)
    assert remote.returncode == 0, remote.stderr
    assert remote.stdout == local.stdout
    guest = f"test+tls://127.0.0.1:{port}/default?pkipath={other}"
    denied = subprocess.run(["virsh", "-c", guest, "suspend", "test"], capture_output=True,
                            text=True, timeout=30)
    assert denied.returncode == 1
    assert denied.stderr.endswith("error: access denied: 'Test' denied access\n")


def test_pyvirt_remote_driver_over_tls(tls_daemon):
    port, pki, other = tls_daemon
    load_drivers()
    added = not any(d.name == "remote" for d in base.registered_drivers())
    if added:
        base.register_driver(RemoteDriver())
    try:
        conn = pyvirt.open(f"test+tls://127.0.0.1:{port}/default?pkipath={pki}")
        assert conn.isEncrypted() == 1 and conn.isSecure() == 1
        assert [d.name() for d in conn.listAllDomains(0)] == ["test"]
        conn.close()
        guest = pyvirt.open(f"test+tls://127.0.0.1:{port}/default?pkipath={other}")
        with pytest.raises(pyvirt.libvirtError) as err:
            guest.lookupByName("test").suspend()
        assert err.value.get_error_code() == pyvirt.VIR_ERR_ACCESS_DENIED
        guest.close()
    finally:
        if added:
            base._REGISTRY[:] = [d for d in base._REGISTRY if d.name != "remote"]
