"""Opening the byte stream a remote URI names, as libvirt's client does:
``unix`` (``?socket=``), ``tcp`` (port 16509), ``tls`` (port 16514; x509 files
at libvirt's default paths or ``?pkipath=``; ``?no_verify=1``), ``ssh`` (the
system ``ssh`` client running a relay on the remote host) and ``ext``
(``?command=``). Returns a connected socket and a clean-up callable."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
from dataclasses import dataclass
from typing import Any, Callable

from pyvirt.daemon.config import DaemonConfig
from pyvirt.errors import (VIR_ERR_INVALID_ARG, VIR_ERR_SYSTEM_ERROR, VIR_FROM_REMOTE,
                           VIR_FROM_RPC, error, libvirtError)
from pyvirt.remote import transport as _wire

TCP_PORT, TLS_PORT = 16509, 16514
#: URI parameters the client consumes (not passed on to the daemon)
CLIENT_PARAMS = frozenset({"name", "command", "socket", "auth", "netcat", "keyfile",
                           "no_verify", "no_tty", "pkipath", "known_hosts",
                           "known_hosts_verify", "sshauth", "tls_priority", "mode", "proxy",
                           "tls"})


@dataclass
class Opened:
    sock: socket.socket
    close: Callable[[], None]
    #: what the helper process said on stderr (ssh/ext), for error messages
    stderr: Callable[[], str] = lambda: ""


def default_socket(readonly: bool = False) -> str:
    """pyvirtd's socket for this user (libvirtd's layout). Root's is named as
    libvirt's client names it, ``/var/run/libvirt/...`` (the same directory as
    the daemon's ``/run/libvirt`` where /var/run is a link to /run)."""
    rw_path, ro_path = DaemonConfig().socket_paths()
    path = ro_path if readonly else rw_path
    if path.startswith("/run/") and os.path.realpath("/var/run") == "/run":
        path = "/var" + path
    return path


def _nothing() -> None:
    return None


def connect_unix(path: str) -> Opened:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError as err:
        sock.close()
        raise error(VIR_ERR_SYSTEM_ERROR, f"Failed to connect socket to '{path}': "
                    f"{err.strerror}", domain=VIR_FROM_RPC) from err
    return Opened(sock, _nothing)


def connect_tcp(host: str, port: int) -> Opened:
    try:
        sock = socket.create_connection((host, port))
    except OSError as err:
        raise error(VIR_ERR_SYSTEM_ERROR, f"unable to connect to server at '{host}:{port}': "
                    f"{err.strerror or err}", domain=VIR_FROM_RPC) from err
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return Opened(sock, _nothing)


def pki_files(uri: Any) -> tuple[str, str, str]:
    """(CA, client certificate, client key): ``?pkipath=DIR`` or libvirt's defaults
    (root: /etc/pki/CA/cacert.pem, /etc/pki/libvirt/clientcert.pem,
    /etc/pki/libvirt/private/clientkey.pem; others: ~/.pki/libvirt/*)."""
    pkipath = uri.param("pkipath")
    if pkipath:
        return (os.path.join(pkipath, "cacert.pem"), os.path.join(pkipath, "clientcert.pem"),
                os.path.join(pkipath, "clientkey.pem"))
    if os.geteuid() != 0:
        user = os.path.expanduser("~/.pki/libvirt")
        if os.path.exists(os.path.join(user, "cacert.pem")):
            return (os.path.join(user, "cacert.pem"), os.path.join(user, "clientcert.pem"),
                    os.path.join(user, "clientkey.pem"))
    return ("/etc/pki/CA/cacert.pem", "/etc/pki/libvirt/clientcert.pem",
            "/etc/pki/libvirt/private/clientkey.pem")


def connect_tls(uri: Any) -> Opened:
    ca_file, cert_file, key_file = pki_files(uri)
    for path in (ca_file, cert_file, key_file):
        if not os.path.exists(path):
            raise error(VIR_ERR_SYSTEM_ERROR, f"Cannot read CA certificate '{path}': "
                        "No such file or directory" if path == ca_file else
                        f"Cannot read certificate '{path}': No such file or directory",
                        domain=VIR_FROM_RPC)
    no_verify = uri.param("no_verify", "0") not in ("0", "")
    host = uri.host or "localhost"
    try:
        sock = _wire.connect_tls(host, uri.port or TLS_PORT, ca_file=ca_file,
                                 cert_file=cert_file, key_file=key_file,
                                 verify_hostname=not no_verify)
    except libvirtError:
        raise
    sock.settimeout(None)
    return Opened(sock, _nothing)


def ssh_remote_command(uri: Any, readonly: bool, daemon_uri: str) -> str:
    """What runs on the remote host: a relay to the daemon socket, as libvirt's
    ``proxy=auto``: a helper when there is one (``pyvirt-ssh-helper``, then
    ``virt-ssh-helper``), else ``nc -U SOCKET``. An explicit ``?socket=`` is
    reached with netcat."""
    explicit = uri.param("socket")
    socket_path = explicit or ("/run/libvirt/libvirt-sock-ro" if readonly
                               else "/run/libvirt/libvirt-sock")
    netcat = f"exec {shlex.quote(uri.param('netcat') or 'nc')} -U {shlex.quote(socket_path)}"
    if explicit:
        return "sh -c " + shlex.quote(netcat)
    args = ("-r " if readonly else "") + shlex.quote(daemon_uri)
    script = (f"if which pyvirt-ssh-helper >/dev/null 2>&1; then "
              f"exec pyvirt-ssh-helper {args}; "
              f"elif which virt-ssh-helper >/dev/null 2>&1; then exec virt-ssh-helper {args}; "
              f"else {netcat}; fi")
    return "sh -c " + shlex.quote(script)


def ssh_argv(uri: Any, readonly: bool, daemon_uri: str) -> list[str]:
    argv = [os.environ.get("PYVIRT_SSH", "ssh")]
    if uri.port:
        argv += ["-p", str(uri.port)]
    if uri.user:
        argv += ["-l", uri.user]
    keyfile = uri.param("keyfile")
    if keyfile:
        argv += ["-i", keyfile]
    if uri.param("no_tty", "0") not in ("0", ""):
        argv += ["-T"]
    if uri.param("no_verify", "0") not in ("0", ""):
        argv += ["-o", "StrictHostKeyChecking=no"]
    known_hosts = uri.param("known_hosts")
    if known_hosts:
        argv += ["-o", f"UserKnownHostsFile={known_hosts}"]
    argv += ["-e", "none", "-o", "BatchMode=yes", "--", uri.host or "localhost",
             ssh_remote_command(uri, readonly, daemon_uri)]
    return argv


def connect_command(argv: list[str]) -> Opened:
    """Run ``argv`` with a socket as its stdin/stdout: the daemon is at the other end."""
    ours, theirs = socket.socketpair()
    try:
        proc = subprocess.Popen(argv, stdin=theirs, stdout=theirs, stderr=subprocess.PIPE,
                                start_new_session=True)
    except OSError as err:
        ours.close()
        theirs.close()
        raise error(VIR_ERR_SYSTEM_ERROR, f"Cannot run '{argv[0]}': {err.strerror}",
                    domain=VIR_FROM_RPC) from err
    theirs.close()

    def close() -> None:
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()

    def stderr() -> str:
        if proc.stderr is None:
            return ""
        try:
            proc.wait(2)
        except subprocess.TimeoutExpired:
            return ""
        return proc.stderr.read().decode(errors="replace").strip()

    return Opened(ours, close, stderr)


def open_transport(uri: Any, readonly: bool, daemon_uri: str) -> Opened:
    """Connect as ``uri``'s transport says (no transport: unix if local, else TLS)."""
    transport = uri.transport or ("tls" if uri.host else "unix")
    if transport == "unix":
        if uri.host:
            raise error(VIR_ERR_INVALID_ARG, "using unix socket and remote server "
                        f"'{uri.host}' is not supported.", domain=VIR_FROM_REMOTE)
        return connect_unix(uri.param("socket") or default_socket(readonly))
    if transport == "tcp":
        return connect_tcp(uri.host or "localhost", uri.port or TCP_PORT)
    if transport == "tls":
        return connect_tls(uri)
    if transport in ("ssh", "libssh", "libssh2"):
        return connect_command(ssh_argv(uri, readonly, daemon_uri))
    if transport == "ext":
        command = uri.param("command")
        if not command:
            raise error(VIR_ERR_INVALID_ARG, "remote command required for ext transport",
                        domain=VIR_FROM_REMOTE)
        return connect_command(shlex.split(command))
    raise error(VIR_ERR_INVALID_ARG, "remote_open: transport in URL not recognised (should be "
                "tls|unix|ssh|ext|tcp|libssh2|libssh)", domain=VIR_FROM_REMOTE)
