"""``pyvirt-certs``: a CA, a server certificate and a client certificate for
libvirt's TLS transport in one command, laid out where libvirtd/pyvirtd and
libvirt clients look for them.

Layouts (``--dir`` puts all six files in one directory, which is what a
client's ``?pkipath=DIR`` and pyvirtd's ``ca_file``/``cert_file``/``key_file``
can point at)::

    root (default)                              --dir DIR / non-root ~/.pki/libvirt
    /etc/pki/CA/cacert.pem                      cacert.pem
    /etc/pki/CA/private/cakey.pem               cakey.pem
    /etc/pki/libvirt/servercert.pem             servercert.pem
    /etc/pki/libvirt/private/serverkey.pem      serverkey.pem
    /etc/pki/libvirt/clientcert.pem             clientcert.pem
    /etc/pki/libvirt/private/clientkey.pem      clientkey.pem

An existing CA (certificate and key) is reused, so running it again for
another host or client adds certificates signed by the same CA. The
certificates pass libvirt's sanity checks: the CA has ``CA:TRUE`` and
``keyCertSign``; the server certificate is for TLS WWW server with the hosts as
subject alternative names (DNS names or IP addresses); the client certificate
is for TLS WWW client. Private keys are written mode 0600.
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import os
import socket
import sys
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Layout:
    """Where each file goes."""

    ca_cert: str
    ca_key: str
    server_cert: str
    server_key: str
    client_cert: str
    client_key: str

    @classmethod
    def in_dir(cls, directory: str) -> "Layout":
        def path(name: str) -> str:
            return os.path.join(directory, name)
        return cls(path("cacert.pem"), path("cakey.pem"), path("servercert.pem"),
                   path("serverkey.pem"), path("clientcert.pem"), path("clientkey.pem"))

    @classmethod
    def system(cls) -> "Layout":
        return cls("/etc/pki/CA/cacert.pem", "/etc/pki/CA/private/cakey.pem",
                   "/etc/pki/libvirt/servercert.pem", "/etc/pki/libvirt/private/serverkey.pem",
                   "/etc/pki/libvirt/clientcert.pem", "/etc/pki/libvirt/private/clientkey.pem")

    @classmethod
    def default(cls) -> "Layout":
        """libvirt's places: the system ones for root, ~/.pki/libvirt otherwise."""
        if os.geteuid() == 0:
            return cls.system()
        return cls.in_dir(os.path.expanduser("~/.pki/libvirt"))


def _name(org: str, common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _builder(subject: x509.Name, issuer: x509.Name, public_key, days: int
             ) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
            .public_key(public_key).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key),
                           critical=False))


def make_ca(org: str, days: int) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _new_key()
    name = _name(org, f"{org} CA")
    cert = (_builder(name, name, key.public_key(), days)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False,
                                         decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return cert, key


def _alt_names(hosts: list[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def make_leaf(ca_cert: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, org: str,
              common_name: str, *, server: bool, hosts: list[str], days: int
              ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A server (TLS WWW server, hosts as SANs) or client certificate signed by the CA."""
    key = _new_key()
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (_builder(_name(org, common_name), ca_cert.subject, key.public_key(), days)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                            key_encipherment=True, data_encipherment=False,
                                            key_agreement=False, key_cert_sign=False,
                                            crl_sign=False, encipher_only=False,
                                            decipher_only=False), critical=True)
               .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   ca_key.public_key()), critical=False))
    if server and hosts:
        builder = builder.add_extension(x509.SubjectAlternativeName(_alt_names(hosts)),
                                        critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


def _write(path: str, data: bytes, private: bool) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600 if private else 0o644)


def _pem_cert(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def load_or_make_ca(layout: Layout, org: str, days: int
                    ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey, bool]:
    """The CA at ``layout`` (reused when both files exist), and whether it is new."""
    if os.path.exists(layout.ca_cert) and os.path.exists(layout.ca_key):
        with open(layout.ca_cert, "rb") as handle:
            cert = x509.load_pem_x509_certificate(handle.read())
        with open(layout.ca_key, "rb") as handle:
            key = serialization.load_pem_private_key(handle.read(), password=None)
        return cert, key, False
    cert, key = make_ca(org, days)
    _write(layout.ca_key, _pem_key(key), private=True)
    _write(layout.ca_cert, _pem_cert(cert), private=False)
    return cert, key, True


def create(layout: Layout, hosts: list[str], client_cn: str, org: str = "pyvirt",
           days: int = 3650, server: bool = True, client: bool = True) -> list[str]:
    """Make what is missing of the CA, then the server and client certificates;
    the paths written."""
    ca_cert, ca_key, new_ca = load_or_make_ca(layout, org, days)
    written = [layout.ca_cert, layout.ca_key] if new_ca else []
    if server:
        cert, key = make_leaf(ca_cert, ca_key, org, hosts[0], server=True, hosts=hosts,
                              days=days)
        _write(layout.server_key, _pem_key(key), private=True)
        _write(layout.server_cert, _pem_cert(cert), private=False)
        written += [layout.server_cert, layout.server_key]
    if client:
        cert, key = make_leaf(ca_cert, ca_key, org, client_cn, server=False, hosts=[],
                              days=days)
        _write(layout.client_key, _pem_key(key), private=True)
        _write(layout.client_cert, _pem_cert(cert), private=False)
        written += [layout.client_cert, layout.client_key]
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="pyvirt-certs",
        description="create a CA, a server and a client certificate for libvirt's TLS")
    parser.add_argument("hosts", nargs="*",
                        help="server host names / IP addresses (default: this host's name)")
    parser.add_argument("-d", "--dir", help="put every file in DIR (a client's ?pkipath=DIR) "
                        "instead of libvirt's default places")
    parser.add_argument("--client-cn", default=None,
                        help="the client certificate's common name (default: the host name)")
    parser.add_argument("--org", default="pyvirt", help="organisation in the DNs")
    parser.add_argument("--days", type=int, default=3650, help="validity in days")
    parser.add_argument("--no-server", action="store_true", help="skip the server certificate")
    parser.add_argument("--no-client", action="store_true", help="skip the client certificate")
    args = parser.parse_args(argv)
    hosts = args.hosts or [socket.getfqdn()]
    layout = Layout.in_dir(args.dir) if args.dir else Layout.default()
    try:
        written = create(layout, hosts, args.client_cn or socket.gethostname(), args.org,
                         args.days, server=not args.no_server, client=not args.no_client)
    except (OSError, ValueError) as err:
        print(f"pyvirt-certs: {err}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
