"""A thread-safe client connection to a libvirt daemon: the core a remote driver
builds on.

One reader thread owns the socket's input: replies wake the caller waiting on
their serial, event MESSAGEs go to ``on_event(name, body)`` (called on the
reader thread: hand off quickly), keepalive PINGs are answered, and stream
packets go to their :class:`ClientStream`. Any number of threads may
:meth:`RemoteConnection.call` at once; each waits only for its own reply.
When the daemon goes away every waiter gets ``VIR_ERR_RPC`` and
``on_close()`` runs once.

Encoding and decoding come from the protocol table, as in the daemon.
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
from typing import Any, Callable

from pyvirt.errors import (VIR_ERR_INTERNAL_ERROR, VIR_ERR_RPC, VIR_FROM_REMOTE, VIR_FROM_RPC,
                           error, libvirtError)
from pyvirt.remote import transport
from pyvirt.remote.client import decode_error
from pyvirt.remote.protocol import (KEEPALIVE_PING, KEEPALIVE_PONG, KEEPALIVE_PROGRAM,
                                    KEEPALIVE_PROTOCOL_VERSION, REMOTE_PROGRAM,
                                    REMOTE_PROTOCOL_VERSION, TABLE)
from pyvirt.remote.schema import ProtocolTable
from pyvirt.rpc.packet import (FrameError, FrameSplitter, Header, Message, MessageStatus,
                               MessageType, decode_stream_hole, encode_message,
                               encode_stream_hole)

log = logging.getLogger(__name__)


class _Waiter:
    __slots__ = ("done", "message")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.message: Message | None = None


class StreamHole(int):
    """What ``ClientStream.recv`` returns for a STREAM_HOLE packet: its length."""


class ClientStream:
    """The client's end of a stream opened by a stream procedure (upload,
    download, console). ``recv()`` returns data, ``b""`` at end of data, or a
    :class:`StreamHole` (sparse streams)."""

    def __init__(self, conn: "RemoteConnection", proc: int, serial: int):
        self._conn = conn
        self._proc = proc
        self.serial = serial
        self._incoming: queue.Queue[bytes | StreamHole | libvirtError] = queue.Queue()
        self._finished = threading.Event()
        self._finish_answer: Message | None = None

    def send(self, data: bytes) -> None:
        self._conn._send(Header(REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION, self._proc,
                                MessageType.STREAM, self.serial, MessageStatus.CONTINUE), data)

    def recv(self, timeout: float | None = None) -> bytes | StreamHole:
        item = self._incoming.get(timeout=timeout)
        if isinstance(item, libvirtError):
            raise item
        return item

    def finish(self, timeout: float | None = 30) -> None:
        """Send OK and wait for the daemon's OK (or its error)."""
        self._conn._send(Header(REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION, self._proc,
                                MessageType.STREAM, self.serial, MessageStatus.OK))
        self._wait_answer(timeout)

    def abort(self, timeout: float | None = 30) -> None:
        self._conn._send(Header(REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION, self._proc,
                                MessageType.STREAM, self.serial, MessageStatus.ERROR))
        try:
            self._wait_answer(timeout)
        except libvirtError:
            pass                                  # "stream aborted at client request"

    def _wait_answer(self, timeout: float | None) -> None:
        if not self._finished.wait(timeout):
            raise error(VIR_ERR_RPC, "no answer to the end of the stream",
                        domain=VIR_FROM_REMOTE)
        self._conn._streams.pop(self.serial, None)
        answer = self._finish_answer
        if answer is not None and answer.header.status == MessageStatus.ERROR:
            raise decode_error(answer.body)

    def send_hole(self, length: int, flags: int = 0) -> None:
        """A STREAM_HOLE packet: ``length`` bytes of hole (sparse uploads)."""
        self._conn._send(Header(REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION, self._proc,
                                MessageType.STREAM_HOLE, self.serial, MessageStatus.CONTINUE),
                         encode_stream_hole(length, flags))

    def _packet(self, message: Message) -> None:
        status = message.header.status
        if message.header.type == MessageType.STREAM_HOLE:
            try:
                self._incoming.put(StreamHole(decode_stream_hole(message.body)[0]))
            except FrameError:
                self._incoming.put(error(VIR_ERR_INTERNAL_ERROR, "Malformed stream hole packet",
                                         domain=VIR_FROM_RPC))
        elif status == MessageStatus.CONTINUE:
            self._incoming.put(message.body)      # b"" is the end of data
        elif status == MessageStatus.ERROR and not self._finished.is_set():
            err = decode_error(message.body)
            self._incoming.put(err)
            self._finish_answer = message
            self._finished.set()
        else:
            self._finish_answer = message
            self._finished.set()


class RemoteConnection:
    """A connected socket speaking the remote program (see module docstring)."""

    def __init__(self, sock: socket.socket, table: ProtocolTable = TABLE, *,
                 on_event: Callable[[str, dict[str, Any]], None] | None = None,
                 on_close: Callable[[], None] | None = None):
        self.sock = sock
        self.table = table
        self._by_name = {p.name: p for p in table.procedures.values()}
        self.on_event = on_event
        self.on_close = on_close
        self._serial = 0
        self._lock = threading.Lock()            # serial + waiters
        self._write_lock = threading.Lock()
        self._waiters: dict[int, _Waiter] = {}
        self._streams: dict[int, ClientStream] = {}
        self._closed = False
        self.pongs = 0
        #: messages received of any kind: what keepalive counts as a sign of life
        self.heard = 0
        self._reader = threading.Thread(target=self._read_loop, name="pyvirt-remote-reader",
                                        daemon=True)
        self._reader.start()

    @classmethod
    def unix(cls, path: str, **kwargs: Any) -> "RemoteConnection":
        return cls(transport.connect_unix(path), **kwargs)

    @classmethod
    def tcp(cls, host: str, port: int, **kwargs: Any) -> "RemoteConnection":
        return cls(transport.connect_tcp(host, port), **kwargs)

    @classmethod
    def tls(cls, host: str, port: int, *, ca_file: str, cert_file: str | None = None,
            key_file: str | None = None, verify_hostname: bool = True,
            **kwargs: Any) -> "RemoteConnection":
        sock = transport.connect_tls(host, port, ca_file=ca_file, cert_file=cert_file,
                                     key_file=key_file, verify_hostname=verify_hostname)
        sock.settimeout(None)
        return cls(sock, **kwargs)

    # --- calls ----------------------------------------------------------------------
    def call(self, name: str, /, timeout: float | None = None, **args: Any) -> Any:
        """Call procedure ``name``; the decoded ret (one field: its value)."""
        proc = self._by_name[name]
        body = proc.args.encode(args) if proc.args is not None else b""
        reply = self.call_raw(proc.number, body, timeout=timeout)
        if proc.ret is None:
            return None
        value = proc.ret.decode(reply, exact=False)
        return value[proc.ret.field_names[0]] if len(proc.ret.fields) == 1 else value

    def open_stream(self, name: str, /, **args: Any) -> ClientStream:
        """Call a stream procedure; its stream, ready once the reply came back."""
        proc = self._by_name[name]
        serial, waiter = self._register()
        stream = ClientStream(self, proc.number, serial)
        self._streams[serial] = stream
        try:
            self._call_registered(proc.number, serial, waiter, proc.args.encode(args), None)
        except BaseException:
            self._streams.pop(serial, None)
            raise
        return stream

    def call_raw(self, number: int, body: bytes = b"", *, timeout: float | None = None) -> bytes:
        serial, waiter = self._register()
        return self._call_registered(number, serial, waiter, body, timeout)

    def ping(self) -> None:
        self._send(Header(KEEPALIVE_PROGRAM, KEEPALIVE_PROTOCOL_VERSION, KEEPALIVE_PING,
                          MessageType.MESSAGE, 0, MessageStatus.OK))

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._reader.join(10)
        self.sock.close()

    # --- internals ------------------------------------------------------------------
    def _register(self) -> tuple[int, _Waiter]:
        with self._lock:
            if self._closed:
                raise error(VIR_ERR_RPC, "connection closed", domain=VIR_FROM_REMOTE)
            self._serial += 1
            waiter = _Waiter()
            self._waiters[self._serial] = waiter
            return self._serial, waiter

    def _call_registered(self, number: int, serial: int, waiter: _Waiter, body: bytes,
                         timeout: float | None) -> bytes:
        try:
            self._send(Header(REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION, number,
                              MessageType.CALL, serial, MessageStatus.OK), body)
            if not waiter.done.wait(timeout):
                raise error(VIR_ERR_RPC, f"no reply to procedure {number}",
                            domain=VIR_FROM_REMOTE)
        finally:
            with self._lock:
                self._waiters.pop(serial, None)
        reply = waiter.message
        if reply is None:
            raise error(VIR_ERR_RPC, "connection closed by the daemon", domain=VIR_FROM_REMOTE)
        if reply.header.status == MessageStatus.ERROR:
            raise decode_error(reply.body)
        return reply.body

    def _send(self, header: Header, body: bytes = b"") -> None:
        frame = encode_message(header, body)
        with self._write_lock:
            try:
                self.sock.sendall(frame)
            except OSError as err:
                raise error(VIR_ERR_RPC, f"cannot send to the daemon: {err}",
                            domain=VIR_FROM_REMOTE) from err

    def _read_loop(self) -> None:
        splitter = FrameSplitter()
        try:
            while True:
                data = self.sock.recv(262144)
                if not data:
                    break
                for message in splitter.feed(data):
                    self._route(message)
        except (OSError, FrameError) as err:
            log.debug("remote connection reader stops: %s", err)
        finally:
            self._shut()

    def _route(self, message: Message) -> None:
        self.heard += 1
        header = message.header
        if header.prog == KEEPALIVE_PROGRAM:
            if header.proc == KEEPALIVE_PING:
                self._send(Header(KEEPALIVE_PROGRAM, KEEPALIVE_PROTOCOL_VERSION,
                                  KEEPALIVE_PONG, MessageType.MESSAGE, 0, MessageStatus.OK))
            elif header.proc == KEEPALIVE_PONG:
                self.pongs += 1
            return
        if header.type == MessageType.REPLY:
            with self._lock:
                waiter = self._waiters.get(header.serial)
            if waiter is not None:
                waiter.message = message
                waiter.done.set()
        elif header.type in (MessageType.STREAM, MessageType.STREAM_HOLE):
            stream = self._streams.get(header.serial)
            if stream is not None:
                stream._packet(message)
        elif header.type == MessageType.MESSAGE:
            event = self.table.events.get(header.proc)
            if event is not None and self.on_event is not None:
                try:
                    self.on_event(event.name, event.body.decode(message.body, exact=False))
                except Exception:
                    log.exception("event handler failed for %s", event.name)

    def _shut(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            waiters, self._waiters = list(self._waiters.values()), {}
        for waiter in waiters:
            waiter.done.set()                     # message None: "connection closed"
        for stream in list(self._streams.values()):
            stream._incoming.put(error(VIR_ERR_RPC, "connection closed by the daemon",
                                       domain=VIR_FROM_REMOTE))
            stream._finished.set()
        if self.on_close is not None:
            try:
                self.on_close()
            except Exception:
                log.exception("close callback failed")
