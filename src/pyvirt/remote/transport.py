"""Opening the byte stream to a daemon: unix socket, TCP, or TLS with libvirt's
confirmation byte (the daemon sends ``\\x01`` once it accepted our certificate)."""

from __future__ import annotations

import socket
import ssl

from pyvirt.errors import VIR_ERR_RPC, VIR_FROM_REMOTE, error


def connect_unix(path: str, timeout: float | None = None) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
    except OSError as err:
        sock.close()
        raise error(VIR_ERR_RPC, f"Failed to connect socket to '{path}': {err.strerror}",
                    domain=VIR_FROM_REMOTE) from err
    return sock


def connect_tcp(host: str, port: int, timeout: float | None = None) -> socket.socket:
    try:
        return socket.create_connection((host, port), timeout=timeout)
    except OSError as err:
        raise error(VIR_ERR_RPC, f"unable to connect to server at '{host}:{port}': "
                    f"{err.strerror or err}", domain=VIR_FROM_REMOTE) from err


def connect_tls(host: str, port: int, *, ca_file: str, cert_file: str | None = None,
                key_file: str | None = None, verify_hostname: bool = True,
                timeout: float | None = None) -> socket.socket:
    """TLS handshake, then wait for the daemon's one-byte confirmation."""
    context = ssl.create_default_context(cafile=ca_file)
    context.check_hostname = verify_hostname
    if not verify_hostname:
        context.verify_mode = ssl.CERT_REQUIRED
    if cert_file:
        context.load_cert_chain(cert_file, key_file)
    raw = connect_tcp(host, port, timeout)
    try:
        sock = context.wrap_socket(raw, server_hostname=host)
        confirmation = sock.recv(1)
    except (OSError, ssl.SSLError) as err:
        raw.close()
        raise error(VIR_ERR_RPC, f"TLS connection to {host}:{port} failed: {err}",
                    domain=VIR_FROM_REMOTE) from err
    if confirmation != b"\x01":
        sock.close()
        raise error(VIR_ERR_RPC, "server verification (of our certificate or IP address) "
                    "failed", domain=VIR_FROM_REMOTE)
    return sock
