"""pyvirtd's TLS listener: certificates made with the openssl CLI, driven by the real
virsh (GnuTLS) where installed and by Python's ssl client."""

from __future__ import annotations

import shutil
import socket
import subprocess

import pytest

from pyvirt.daemon import tls
from pyvirt.errors import libvirtError
from pyvirt.remote.client import RemoteClient

OPENSSL = shutil.which("openssl")
VIRSH = shutil.which("virsh")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="openssl CLI not installed")

LEAF_EXT = ("basicConstraints=critical,CA:FALSE\n"
            "keyUsage=critical,digitalSignature,keyEncipherment\n")
CLIENT_EXT = LEAF_EXT + "extendedKeyUsage=clientAuth\n"
SERVER_EXT = LEAF_EXT + "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n"


def openssl(*args: str, cwd) -> None:
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, capture_output=True)


def make_ca(directory, name: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", "cakey.pem", "-out", "cacert.pem", "-days", "2",
            "-subj", f"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)


def make_cert(ca_dir, directory, prefix: str, subject: str, ext: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{prefix}.ext").write_text(ext)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", f"{prefix}key.pem", "-out", f"{prefix}.csr", "-subj", subject,
            cwd=directory)
    openssl("x509", "-req", "-in", f"{prefix}.csr", "-CA", str(ca_dir / "cacert.pem"),
            "-CAkey", str(ca_dir / "cakey.pem"), "-CAcreateserial", "-out", f"{prefix}cert.pem",
            "-days", "2", "-extfile", f"{prefix}.ext", cwd=directory)
    shutil.copy(ca_dir / "cacert.pem", directory / "cacert.pem")


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    if OPENSSL is None:
        pytest.skip("openssl CLI not installed")
    base = tmp_path_factory.mktemp("pki")
    make_ca(base / "ca", "pyvirt test CA")
    make_cert(base / "ca", base / "server", "server", "/C=GB/O=pyvirt test/CN=127.0.0.1",
              SERVER_EXT)
    make_cert(base / "ca", base / "good", "client", "/C=GB/O=pyvirt test/CN=client1", CLIENT_EXT)
    make_cert(base / "ca", base / "intruder", "client", "/C=GB/O=pyvirt test/CN=intruder",
              CLIENT_EXT)
    make_ca(base / "rogue-ca", "rogue CA")
    make_cert(base / "rogue-ca", base / "rogue", "client", "/C=GB/O=pyvirt test/CN=client2",
              CLIENT_EXT)
    return base


@pytest.fixture
def tls_daemon(make_daemon, pki):
    return make_daemon(listen_tcp=False, listen_tls=True, tls_port=0,
                       key_file=str(pki / "server" / "serverkey.pem"),
                       cert_file=str(pki / "server" / "servercert.pem"),
                       ca_file=str(pki / "ca" / "cacert.pem"),
                       tls_allowed_dn_list=["C=GB,O=pyvirt test,CN=client*"])


def tls_port(running) -> int:
    return int(next(lst for lst in running.daemon.listeners if lst.kind == "tls")
               .address.rsplit(":", 1)[1])


def connect(running, pki, who: str) -> RemoteClient:
    return RemoteClient.tls("127.0.0.1", tls_port(running), ca_file=str(pki / "ca" / "cacert.pem"),
                            cert_file=str(pki / who / "clientcert.pem"),
                            key_file=str(pki / who / "clientkey.pem"), timeout=10)


def test_distinguished_name_in_certificate_order():
    peercert = {"subject": ((("countryName", "GB"),), (("organizationName", "Ex"),),
                            (("commonName", "c1"),))}
    assert tls.distinguished_name(peercert) == "C=GB,O=Ex,CN=c1"
    assert tls.distinguished_name(None) is None


def test_dn_allow_list_globs():
    assert tls.dn_allowed("C=GB,CN=a", None)
    assert tls.dn_allowed("C=GB,CN=a", ["C=GB,CN=*"])
    assert not tls.dn_allowed("C=GB,CN=a", ["C=US,*"])
    assert not tls.dn_allowed(None, None)
    assert tls.dn_allowed(None, None, verify=False)


@needs_openssl
def test_allowed_client_is_served(tls_daemon, pki):
    client = connect(tls_daemon, pki, "good")
    client.open()
    assert client.call("CONNECT_IS_SECURE") == 1
    assert client.call("CONNECT_GET_TYPE") == "TEST"
    client.close()


@needs_openssl
def test_client_dn_not_on_the_list_is_refused(tls_daemon, pki):
    with pytest.raises(libvirtError, match="server verification"):
        connect(tls_daemon, pki, "intruder")
    connect(tls_daemon, pki, "good").close()          # others unaffected


@needs_openssl
def test_certificate_from_another_ca_is_refused(tls_daemon, pki):
    with pytest.raises(libvirtError, match="TLS connection|server verification"):
        connect(tls_daemon, pki, "rogue")
    connect(tls_daemon, pki, "good").close()


@needs_openssl
def test_client_without_certificate_is_refused(tls_daemon, pki):
    with pytest.raises(libvirtError):
        RemoteClient.tls("127.0.0.1", tls_port(tls_daemon),
                         ca_file=str(pki / "ca" / "cacert.pem"), timeout=10)


@needs_openssl
def test_plain_tcp_talk_to_the_tls_port_is_dropped(tls_daemon, pki):
    sock = socket.create_connection(("127.0.0.1", tls_port(tls_daemon)), timeout=10)
    sock.sendall(b"\0\0\0\x1c" + b"\0" * 24)
    try:
        answer = sock.recv(100)
    except ConnectionResetError:
        answer = b""
    assert answer == b"" or answer[0] == 0x15        # closed, or a TLS alert then closed
    sock.close()
    connect(tls_daemon, pki, "good").close()


@needs_openssl
@pytest.mark.skipif(VIRSH is None, reason="real virsh not installed")
def test_real_virsh_over_tls(tls_daemon, pki):
    uri = f"test+tls://127.0.0.1:{tls_port(tls_daemon)}/default?pkipath={pki / 'good'}"
    remote = subprocess.run([VIRSH, "-c", uri, "list", "--all"], capture_output=True, text=True,
                            timeout=60)
    local = subprocess.run([VIRSH, "-c", "test:///default", "list", "--all"],
                           capture_output=True, text=True, timeout=60)
    assert (remote.returncode, remote.stdout, remote.stderr) == (
        local.returncode, local.stdout, local.stderr)
    refused = subprocess.run([VIRSH, "-c", uri.replace("good", "intruder"), "list"],
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1
    assert "server verification (of our certificate or IP address) failed" in refused.stderr


def test_missing_certificates_fail_the_start_and_leave_no_socket(make_daemon, tmp_path):
    with pytest.raises(OSError, match="cannot set up TLS"):
        make_daemon(listen_tcp=False, listen_tls=True, tls_port=0,
                    cert_file=str(tmp_path / "none.pem"), key_file=str(tmp_path / "none.pem"),
                    ca_file=str(tmp_path / "none.pem"))
    assert not (tmp_path / "run" / "libvirt-sock").exists()


@needs_openssl
def test_thread_safe_connection_over_tls(tls_daemon, pki):
    from pyvirt.remote.connection import RemoteConnection
    conn = RemoteConnection.tls("127.0.0.1", tls_port(tls_daemon),
                                ca_file=str(pki / "ca" / "cacert.pem"),
                                cert_file=str(pki / "good" / "clientcert.pem"),
                                key_file=str(pki / "good" / "clientkey.pem"))
    conn.call("CONNECT_OPEN", name="test:///default", flags=0)
    assert conn.call("CONNECT_IS_SECURE") == 1
    conn.close()
