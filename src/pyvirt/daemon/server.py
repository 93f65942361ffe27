"""pyvirtd's listeners: read-write and read-only unix sockets, and TCP.

:class:`Daemon` owns the worker pools, the listeners and the connected
clients. ``await daemon.start()`` binds; ``await daemon.stop()`` closes the
listeners, disconnects clients (their driver connections are closed, guests
keep running) and removes the sockets. ``run_until_stopped`` also stops after
``timeout`` seconds without clients (``pyvirtd -t``).
"""

from __future__ import annotations

import asyncio
import grp
import logging
import os
import socket
import ssl
import struct
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from pyvirt.daemon import tls
from pyvirt.daemon.client import ClientConnection
from pyvirt.daemon.config import DaemonConfig
from pyvirt.remote.access import Identity
from pyvirt.drivers.base import DriverConnection
from pyvirt.remote.dispatch import Dispatcher, audit_identity, open_in_daemon
from pyvirt.remote.sasl import AuthGate, FailureLimiter

if TYPE_CHECKING:    # SASL files, audit and access rules load only when configured
    from pyvirt.remote.access import AccessRules
    from pyvirt.security.audit import AuditLog

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Listener:
    """One bound endpoint: what kind of clients it serves."""

    kind: str            # "unix-rw", "unix-ro", "tcp", "tls"
    address: str         # socket path or host:port
    readonly: bool
    secure: bool


def load_drivers(uri: Any = None) -> None:
    """Register the drivers that may serve ``uri`` (every driver without one: the
    same set the library probes)."""
    from pyvirt.api._registry import load_drivers as _load
    _load(uri)


def open_on_demand(uri: Any, flags: int = 0, readonly: bool = False) -> DriverConnection:
    """CONNECT_OPEN's opener: import the drivers that may serve ``uri`` first, so
    a daemon serving ``test:///default`` never loads (or holds in memory) the
    QEMU and LXC drivers. Registering a driver starts nothing (its state is made
    on its first open), so loading late changes no behaviour."""
    load_drivers(uri)
    return open_in_daemon(uri, flags, readonly)


class Daemon:
    """The server: listeners + clients + worker pools."""

    def __init__(self, config: DaemonConfig, *, listen: bool = False, timeout: int = 0,
                 dispatcher: Dispatcher | None = None):
        self.config = config
        self.listen = listen
        self.timeout = timeout
        self.dispatcher = dispatcher or Dispatcher(opener=open_on_demand,
                                                   audit=open_audit_log(config))
        self.workers = ThreadPoolExecutor(max(config.max_workers, 1), "pyvirtd-worker")
        self.prio_workers = ThreadPoolExecutor(max(config.prio_workers, 1), "pyvirtd-prio")
        self.listeners: list[Listener] = []
        self.clients: set[ClientConnection] = set()
        self._servers: list[asyncio.base_events.Server] = []
        self._unix_paths: list[str] = []
        self._stopped: asyncio.Event | None = None
        self._idle_since = 0.0
        self.access = load_access_rules(config.access_rules_file)
        #: SASL failures per user name, across all clients (brute-force limit)
        self.sasl_limiter = FailureLimiter()

    # --- start / stop ---------------------------------------------------------------
    async def start(self) -> None:
        """Bind every listener; on any failure, undo what was bound and raise."""
        self._stopped = asyncio.Event()
        self._idle_since = asyncio.get_running_loop().time()
        rw_path, ro_path = self.config.socket_paths()
        try:
            os.makedirs(os.path.dirname(rw_path), exist_ok=True)
            await self._start_unix(rw_path, self.config.unix_sock_rw_perms, readonly=False)
            await self._start_unix(ro_path, self.config.unix_sock_ro_perms, readonly=True)
            if self.listen and self.config.listen_tcp:
                await self._start_tcp()
            if self.listen and self.config.listen_tls:
                await self._start_tls()
        except BaseException:
            await self.stop()
            raise

    async def _start_unix(self, path: str, perms: int, readonly: bool) -> None:
        if os.path.exists(path):
            if _socket_in_use(path):
                raise OSError(f"{path} is in use by another daemon")
            os.unlink(path)
        server = await asyncio.get_running_loop().create_unix_server(
            self._client_factory("unix-ro" if readonly else "unix-rw", readonly=readonly,
                                 secure=True), path)
        os.chmod(path, perms)
        if self.config.unix_sock_group and not readonly:
            os.chown(path, -1, grp.getgrnam(self.config.unix_sock_group).gr_gid)
        self._servers.append(server)
        self._unix_paths.append(path)
        self.listeners.append(Listener("unix-ro" if readonly else "unix-rw", path, readonly, True))
        log.info("listening on %s%s", path, " (read-only)" if readonly else "")

    async def _start_tcp(self) -> None:
        host = self.config.listen_addr or None
        server = await asyncio.get_running_loop().create_server(
            self._client_factory("tcp", readonly=False, secure=False),
            host=host, port=self.config.tcp_port, reuse_address=True)
        self._servers.append(server)
        for sock in server.sockets:
            addr = sock.getsockname()
            self.listeners.append(Listener("tcp", f"{addr[0]}:{addr[1]}", False, False))
            log.info("listening on tcp %s:%s", addr[0], addr[1])

    async def _start_tls(self) -> None:
        try:
            context = tls.server_context(self.config)
        except (OSError, ssl.SSLError) as err:
            raise OSError(f"cannot set up TLS (cert_file {self.config.cert_file}, key_file "
                          f"{self.config.key_file}, ca_file {self.config.ca_file}): {err}") from err
        host = self.config.listen_addr or None
        server = await asyncio.get_running_loop().create_server(
            self._client_factory("tls", readonly=False, secure=True),
            host=host, port=self.config.tls_port, ssl=context, reuse_address=True,
            ssl_handshake_timeout=30)
        self._servers.append(server)
        for sock in server.sockets:
            addr = sock.getsockname()
            self.listeners.append(Listener("tls", f"{addr[0]}:{addr[1]}", False, True))
            log.info("listening on tls %s:%s", addr[0], addr[1])

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
        for client in list(self.clients):
            await client.close()
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()
        for path in self._unix_paths:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        self._unix_paths.clear()
        self.workers.shutdown(wait=False, cancel_futures=True)
        self.prio_workers.shutdown(wait=False, cancel_futures=True)
        if self.dispatcher.audit is not None:
            try:
                self.dispatcher.audit.sync()        # the last lines reach the disk
            except OSError as err:
                log.error("cannot sync the audit log: %s", err)
        if self._stopped is not None:
            self._stopped.set()

    def request_stop(self) -> None:
        """Ask the daemon to stop (safe from a signal handler on the loop)."""
        asyncio.get_running_loop().create_task(self.stop())

    async def run_until_stopped(self) -> None:
        assert self._stopped is not None, "start() first"
        loop = asyncio.get_running_loop()
        while not self._stopped.is_set():
            try:
                await asyncio.wait_for(self._stopped.wait(), timeout=0.25)
            except asyncio.TimeoutError:
                pass
            if (self.timeout > 0 and not self.clients
                    and loop.time() - self._idle_since >= self.timeout):
                log.info("no clients for %d seconds, exiting", self.timeout)
                await self.stop()

    # --- clients --------------------------------------------------------------------
    def _client_factory(self, kind: str, *, readonly: bool, secure: bool
                        ) -> Callable[[], ClientConnection]:
        """The protocol factory of one listener: a :class:`ClientConnection` per
        accepted connection, admitted by :meth:`_admit`."""
        config = self.config

        def make() -> ClientConnection:
            return ClientConnection(
                dispatcher=self.dispatcher, workers=self.workers,
                prio_workers=self.prio_workers, readonly=readonly, secure=secure,
                max_requests=config.max_client_requests,
                keepalive_interval=config.keepalive_interval,
                keepalive_count=config.keepalive_count, name=kind,
                admit=lambda client, transport: self._admit(client, transport, kind),
                gone=self._gone)
        return make

    def _admit(self, client: ClientConnection, transport: asyncio.BaseTransport,
               kind: str) -> bool:
        """A new connection: refuse it past ``max_clients`` or with a TLS DN not
        allowed; otherwise say who the client is and how it authenticates."""
        if len(self.clients) >= self.config.max_clients:
            log.error("Too many active clients (%d), dropping connection", len(self.clients))
            return False
        peer = transport.get_extra_info("peername") or _unix_peer(transport) or kind
        if kind == "tls" and not self._tls_accepted(transport, peer):
            return False
        identity = client_identity(transport, kind, with_groups=self.access is not None)
        client.name = f"{kind}:{peer}"
        client.identity = identity
        client.access = self.access
        client.auth = self._auth_gate(kind, identity)
        if self.config.max_stream_rate:
            client.max_stream_rate = self.config.max_stream_rate
        self.clients.add(client)
        log.debug("new client %s", client.name)
        return True

    def _gone(self, client: ClientConnection) -> None:
        self.clients.discard(client)
        if not self.clients:
            self._idle_since = asyncio.get_running_loop().time()
        log.debug("client %s gone", client.name)

    def _auth_gate(self, kind: str, identity: Identity) -> AuthGate:
        """The authentication a listener's clients go through (auth_unix_rw,
        auth_unix_ro, auth_tcp, auth_tls); SCRAM verifiers from sasl_passwd_file."""
        scheme = {"unix-rw": self.config.auth_unix_rw, "unix-ro": self.config.auth_unix_ro,
                  "tcp": self.config.auth_tcp, "tls": self.config.auth_tls}[kind]
        if scheme != "sasl":
            return AuthGate("none")
        path = self.config.sasl_passwd_file
        audit = self.dispatcher.audit

        def lookup(name: str, mechanism: str):
            from pyvirt.daemon import saslpasswd
            try:
                return saslpasswd.lookup(path, name, mechanism)
            except (OSError, ValueError) as err:
                log.error("cannot read sasl_passwd_file %s: %s", path, err)
                return None

        def on_result(procedure: str, name: str | None, err: Exception | None) -> None:
            if audit is None:
                return
            who = audit_identity(identity)
            if name:
                who["sasl_user"] = name
            try:
                audit.log_call(procedure, who, None, err, mutating=True)
            except OSError as failure:
                log.error("cannot write the audit log %s: %s", audit.path, failure)

        return AuthGate("sasl", lookup=lookup,
                        allowed_usernames=self.config.sasl_allowed_username_list,
                        limiter=self.sasl_limiter, on_result=on_result)

    def _tls_accepted(self, transport: asyncio.BaseTransport, peer: object) -> bool:
        """Check the client's certificate DN, then send libvirt's confirmation byte."""
        dn = tls.distinguished_name(transport.get_extra_info("peercert"))
        verify = not self.config.tls_no_verify_certificate
        if not tls.dn_allowed(dn, self.config.tls_allowed_dn_list, verify):
            log.error("Client's Distinguished Name %r is not on the list of allowed clients "
                      "(tls_allowed_dn_list); dropping %s", dn, peer)
            return False
        transport.write(tls.TLS_CONFIRMATION)
        return True


def open_audit_log(config: DaemonConfig) -> AuditLog | None:
    """The audit log ``config`` asks for (``audit_log``, ``audit_logging``); its
    directory is made if missing. None when auditing is off."""
    path = config.audit_path()
    if path is None:
        return None
    os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
    log.info("audit log: %s", path)
    from pyvirt.security.audit import AuditLog
    return AuditLog(path)


def load_access_rules(path: str) -> AccessRules | None:
    """The ``access_rules_file`` (empty: no access control, as libvirtd without
    an access driver). A file that cannot be read or parsed stops the start."""
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as err:
        raise OSError(f"cannot read access_rules_file {path}: {err.strerror}") from err
    from pyvirt.remote.access import parse_rules
    rules = parse_rules(text, path)
    log.info("access control: %d rules from %s", len(rules.rules), path)
    return rules


def client_identity(transport: asyncio.BaseTransport, kind: str, with_groups: bool = True
                    ) -> Identity:
    """Who a new client is: SO_PEERCRED on unix sockets, the certificate's DN on
    TLS, the peer address on TCP and TLS. The supplementary groups (a passwd and
    group lookup) only ``with_groups``: access rules are the only reader."""
    who = Identity()
    peer = transport.get_extra_info("peername")
    if kind in ("tcp", "tls") and isinstance(peer, tuple):
        who.addr = str(peer[0])
    if kind == "tls":
        who.dn = tls.distinguished_name(transport.get_extra_info("peercert"))
    creds = _peer_creds(transport)
    if creds is not None:
        who.pid, who.uid, who.gid = creds
        who.groups = {who.gid}
        if not with_groups:
            return who
        try:
            import pwd
            who.groups = set(os.getgrouplist(pwd.getpwuid(who.uid).pw_name, who.gid))
        except (KeyError, OSError):
            who.groups = {who.gid}
    return who


def _peer_creds(transport: asyncio.BaseTransport) -> tuple[int, int, int] | None:
    sock = transport.get_extra_info("socket")
    if sock is None or sock.family != socket.AF_UNIX or not hasattr(socket, "SO_PEERCRED"):
        return None
    try:
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except OSError:
        return None
    pid, uid, gid = struct.unpack("3i", creds)
    return pid, uid, gid


def _unix_peer(transport: asyncio.BaseTransport) -> str | None:
    """``pid=P,uid=U,gid=G`` of a unix socket client (SO_PEERCRED), for the logs."""
    creds = _peer_creds(transport)
    return None if creds is None else "pid={},uid={},gid={}".format(*creds)


def _socket_in_use(path: str) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
        return True
    except OSError:
        return False
    finally:
        probe.close()
