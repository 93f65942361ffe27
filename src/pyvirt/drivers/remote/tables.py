"""``RemoteTables``: the hypervisor, network and storage tables of one remote
connection, all in one object (the daemon serves the three families on one
socket). Entry points come from the protocol table (:mod:`.calls`), a few are
reshaped (:mod:`.reshape`); events, streams, keepalive and the connection's
own facts are here."""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable

from pyvirt.drivers.base import HypervisorConnection, NetworkConnection, StorageConnection
from pyvirt.drivers.remote.calls import encode_values, generated_entries
from pyvirt.drivers.remote.reshape import RESHAPED, ReshapedEntries
from pyvirt.errors import VIR_ERR_RPC, VIR_FROM_REMOTE, VIR_FROM_RPC, error, libvirtError
from pyvirt.remote.connection import ClientStream, RemoteConnection, StreamHole
from pyvirt.remote.protocol import TABLE
from pyvirt.remote.shapes import params_dict

log = logging.getLogger(__name__)

#: virConnectCloseReason
CLOSE_REASON_EOF, CLOSE_REASON_KEEPALIVE = 1, 2

#: procedures the connection itself uses (never driver entry points)
_HANDSHAKE = frozenset({"connect_open", "connect_close", "connect_supports_feature",
                        "auth_list", "connect_is_secure", "connect_register_close_callback",
                        "connect_unregister_close_callback", "connect_get_uri"})

#: family -> (register procedure, deregister procedure, object field)
_EVENT_PROCS = {
    "domain": ("CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY",
               "CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY", "dom"),
    "network": ("CONNECT_NETWORK_EVENT_REGISTER_ANY", "CONNECT_NETWORK_EVENT_DEREGISTER_ANY",
                "net"),
    "storage_pool": ("CONNECT_STORAGE_POOL_EVENT_REGISTER_ANY",
                     "CONNECT_STORAGE_POOL_EVENT_DEREGISTER_ANY", "pool"),
}
_REGISTER_METHODS = {p[0].lower() for p in _EVENT_PROCS.values()} | \
                    {p[1].lower() for p in _EVENT_PROCS.values()}
_EVENTS_BY_NAME = {m.name: m for m in TABLE.events.values()}


class _Generated:
    """Holds the generated entry points (a base class, so hand-written ones win)."""


for _name, _func in generated_entries(TABLE, RESHAPED | _HANDSHAKE | _REGISTER_METHODS).items():
    setattr(_Generated, _name, _func)


class RemoteTables(ReshapedEntries, _Generated, HypervisorConnection, NetworkConnection,
                   StorageConnection):
    """One open remote connection, seen as the three driver tables."""

    def __init__(self, uri: str, transport: str, closer: Callable[[], None] | None = None):
        self.uri = uri
        self.transport = transport
        self._closer = closer
        self._rpc: RemoteConnection | None = None
        self._sinks: dict[tuple[str, int], tuple[int, Callable[..., None]]] = {}
        self._early: dict[tuple[str, int], list[tuple[Any, list[Any]]]] = {}
        self._events_lock = threading.Lock()
        self._keepalive: threading.Thread | None = None
        self._keepalive_stop = threading.Event()
        self._closed = False
        self._close_callback: Callable[[int], None] | None = None
        self._keepalive_expired = False
        self.secure = False

    def attach(self, rpc: RemoteConnection) -> None:
        self._rpc = rpc

    # --- the connection itself --------------------------------------------------
    def connect_get_uri(self) -> str:
        """libvirt answers the URI the client opened, transport included."""
        return self.uri

    def connect_is_alive(self) -> bool:
        return not self._closed and self._rpc is not None and not self._rpc._closed

    def connect_is_encrypted(self) -> bool:
        return self.transport in ("tls", "ssh", "libssh", "libssh2")

    def connect_is_secure(self) -> bool:
        if self.transport in ("tls", "ssh", "unix", "libssh", "libssh2"):
            return True
        return bool(self._rpc.call("CONNECT_IS_SECURE"))

    def connect_close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._keepalive_stop.set()
        try:
            if self._rpc is not None and not self._rpc._closed:
                self._rpc.call("CONNECT_CLOSE", timeout=10)
        except libvirtError:
            pass
        finally:
            if self._rpc is not None:
                self._rpc.close()
            if self._closer is not None:
                self._closer()

    def connect_set_keep_alive(self, interval: int, count: int) -> int:
        """Ping every ``interval`` s; drop the connection after ``count`` unanswered."""
        self._keepalive_stop.set()
        if interval <= 0:
            return 0
        stop = self._keepalive_stop = threading.Event()

        def run() -> None:
            # any message from the daemon is a sign of life (libvirt's
            # virKeepAliveCheckMessage), not only a PONG: a reply or a stream
            # packet queued ahead of the PONG is no missed answer
            missed, seen = 0, self._rpc.heard
            while not stop.wait(interval):
                if self._rpc.heard != seen:
                    missed, seen = 0, self._rpc.heard
                elif missed >= count:
                    log.warning("no keepalive answer from the daemon: closing")
                    self._keepalive_expired = True
                    self._rpc.close()
                    return
                try:
                    self._rpc.ping()
                except libvirtError:
                    return
                missed += 1

        self._keepalive = threading.Thread(target=run, name="pyvirt-remote-keepalive",
                                           daemon=True)
        self._keepalive.start()
        return 0

    def connect_register_close_callback(self, callback: Callable[[int], None]) -> None:
        """``callback(reason)`` once when the connection drops under us
        (VIR_CONNECT_CLOSE_REASON_EOF, or _KEEPALIVE); not on our own close."""
        self._close_callback = callback

    def connect_unregister_close_callback(self) -> None:
        self._close_callback = None

    def on_connection_lost(self) -> None:
        """The reader saw the end of the connection (called on its thread)."""
        callback = self._close_callback
        if self._closed or callback is None:
            return
        try:
            callback(CLOSE_REASON_KEEPALIVE if self._keepalive_expired else CLOSE_REASON_EOF)
        except Exception:
            log.exception("close callback failed")

    # --- events -----------------------------------------------------------------
    def _register(self, family: str, event_id: int, obj: Any, sink: Callable) -> int:
        register, _, field = _EVENT_PROCS[family]
        callback_id = self._rpc.call(register, eventID=event_id, **{field: obj})
        key = (family, callback_id)
        with self._events_lock:
            self._sinks[key] = (event_id, sink)
            early = self._early.pop(key, [])
        for ref, payload in early:
            sink(event_id, ref, *payload)
        return callback_id

    def _deregister(self, family: str, callback_id: int) -> None:
        self._rpc.call(_EVENT_PROCS[family][1], callbackID=callback_id)
        with self._events_lock:
            self._sinks.pop((family, callback_id), None)

    def connect_domain_event_register_any(self, event_id: int, dom: Any,
                                          sink: Callable) -> int:
        return self._register("domain", event_id, dom, sink)

    def connect_domain_event_deregister_any(self, callback_id: int) -> None:
        self._deregister("domain", callback_id)

    def connect_network_event_register_any(self, event_id: int, net: Any,
                                           sink: Callable) -> int:
        return self._register("network", event_id, net, sink)

    def connect_network_event_deregister_any(self, callback_id: int) -> None:
        self._deregister("network", callback_id)

    def connect_storage_pool_event_register_any(self, event_id: int, pool: Any,
                                                sink: Callable) -> int:
        return self._register("storage_pool", event_id, pool, sink)

    def connect_storage_pool_event_deregister_any(self, callback_id: int) -> None:
        self._deregister("storage_pool", callback_id)

    def on_event(self, name: str, body: dict[str, Any]) -> None:
        """An event MESSAGE from the reader thread -> the sink registered for it."""
        message = _EVENTS_BY_NAME.get(name)
        if message is None or "callbackID" not in body:
            return
        ref = next((body[f] for f in ("dom", "net", "pool") if f in body), None)
        payload = [params_dict(body[f]) if f == "params" else body[f]
                   for f in message.payload_fields]
        key = (message.family, body["callbackID"])
        with self._events_lock:
            entry = self._sinks.get(key)
            if entry is None:                     # the register reply is still on its way
                self._early.setdefault(key, []).append((ref, payload))
                return
        event_id, sink = entry
        sink(event_id, ref, *payload)

    # --- streams ----------------------------------------------------------------
    def _stream_call(self, name: str, values: tuple[Any, ...]) -> None:
        proc = next(p for p in TABLE.procedures.values() if p.name == name)
        values = list(values)
        end = values.pop(proc.stream_at)
        stream = self._rpc.open_stream(name, **encode_values(proc, tuple(values)))
        if name in ("STORAGE_VOL_UPLOAD", "STORAGE_VOL_DOWNLOAD"):
            end.sparse = bool(values[-1] & 1)     # VIR_STORAGE_VOL_*_SPARSE_STREAM
        bridge_stream(stream, end, reads=proc.stream == "read",
                      writes=proc.stream == "write" or name == "DOMAIN_OPEN_CONSOLE")

    def domain_open_console(self, dom: Any, dev_name: str | None, stream: Any,
                            flags: int = 0) -> None:
        self._stream_call("DOMAIN_OPEN_CONSOLE", (dom, dev_name, stream, flags))

    def storage_vol_upload(self, vol: Any, stream: Any, offset: int, length: int,
                           flags: int = 0) -> None:
        self._stream_call("STORAGE_VOL_UPLOAD", (vol, stream, offset, length, flags))

    def storage_vol_download(self, vol: Any, stream: Any, offset: int, length: int,
                             flags: int = 0) -> None:
        self._stream_call("STORAGE_VOL_DOWNLOAD", (vol, stream, offset, length, flags))


def bridge_stream(stream: ClientStream, end: Any, *, reads: bool, writes: bool) -> None:
    """Join the wire stream to the API's ``StreamEnd``: daemon data -> ``end.write``
    (a pump thread), application data -> STREAM packets."""
    if writes:
        end.on_data(stream.send, finish=stream.finish, abort=stream.abort,
                    hole=stream.send_hole)
    if not reads:
        return

    def pump() -> None:
        try:
            while True:
                data = stream.recv()
                if isinstance(data, StreamHole):
                    _give_hole(end, data)
                    continue
                if not data:
                    stream.finish()
                    end.finish()
                    return
                end.write(data)
        except libvirtError as err:
            end.abort(err)
        except Exception as err:  # the reader died under us
            end.abort(error(VIR_ERR_RPC, str(err), domain=VIR_FROM_REMOTE))

    threading.Thread(target=pump, name="pyvirt-remote-stream", daemon=True).start()


def _give_hole(end: Any, length: int) -> None:
    """A STREAM_HOLE from the daemon: a hole for a sparse stream, else libvirt's
    client error."""
    if not getattr(end, "sparse", False):
        raise error(VIR_ERR_RPC, "Unexpected stream hole", domain=VIR_FROM_RPC)
    end.write_hole(int(length))
