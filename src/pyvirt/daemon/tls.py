"""TLS for pyvirtd's ``listen_tls`` listener, as libvirtd does it.

The server presents ``cert_file``/``key_file``, requires a client certificate
signed by ``ca_file`` (unless ``tls_no_verify_certificate``), matches the
client's Distinguished Name against ``tls_allowed_dn_list`` (shell globs,
libvirt's DN format: ``C=GB,ST=London,O=Example,CN=client``, in certificate
order) and, once satisfied, sends the one byte ``\\x01`` libvirt clients wait
for before speaking RPC. A refused client gets the connection closed.
"""

from __future__ import annotations

import fnmatch
import ssl
from typing import Any

from pyvirt.daemon.config import DaemonConfig

#: The byte a libvirt client reads after the handshake when it is accepted.
TLS_CONFIRMATION = b"\x01"

_SHORT_NAMES = {"countryName": "C", "stateOrProvinceName": "ST", "localityName": "L",
                "organizationName": "O", "organizationalUnitName": "OU", "commonName": "CN",
                "emailAddress": "EMAIL", "domainComponent": "DC", "userId": "UID"}


def server_context(config: DaemonConfig) -> ssl.SSLContext:
    """The server side SSLContext for ``config`` (raises OSError/ssl.SSLError)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(config.cert_file, config.key_file)
    context.load_verify_locations(config.ca_file)
    if config.crl_file:
        context.load_verify_locations(config.crl_file)
        context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    # No TLS 1.3 session tickets: libvirt's client reads the confirmation byte right
    # after the handshake and takes a ticket-only read (EAGAIN) as a failure.
    context.num_tickets = 0
    context.verify_mode = ssl.CERT_OPTIONAL if config.tls_no_verify_certificate \
        else ssl.CERT_REQUIRED
    return context


def distinguished_name(peercert: dict[str, Any] | None) -> str | None:
    """A client certificate's subject as libvirt prints it, or None without one."""
    if not peercert or "subject" not in peercert:
        return None
    parts = []
    for rdn in peercert["subject"]:
        for name, value in rdn:
            parts.append(f"{_SHORT_NAMES.get(name, name)}={value}")
    return ",".join(parts)


def dn_allowed(dn: str | None, allowed: list[str] | None, verify: bool = True) -> bool:
    """libvirt's rule: no list allows every verified client; else a glob must match."""
    if dn is None:
        return not verify
    if allowed is None:
        return True
    return any(fnmatch.fnmatchcase(dn, pattern) for pattern in allowed)
