"""The daemon's end of a stream (vol-upload, vol-download, console).

A stream procedure (208, 209, 201) is an ordinary call whose reply opens a
data channel on the call's procedure and serial. Drivers see a
:class:`WireStream`, which has the same driver-facing methods as
``pyvirt.api.stream.StreamEnd``:

* driver -> client: ``write(data)`` sends STREAM/CONTINUE packets;
  ``finish()`` sends the empty CONTINUE packet that means end of data, the
  client then sends OK and the daemon echoes OK; ``abort(err)`` sends
  STREAM/ERROR with a ``remote_error``.
* client -> driver: ``on_data(receive, finish, abort)``; CONTINUE packets go
  to ``receive``, the client's OK to ``finish`` (then OK is echoed), its
  ERROR to ``abort`` (answered with ERROR "stream aborted at client request").

Nothing leaves before the call's reply: packets written during the driver
call are held until :meth:`opened`. Sending happens on the event loop.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Any, Callable

from pyvirt.errors import (VIR_ERR_OPERATION_INVALID, VIR_ERR_RPC, VIR_FROM_RPC,
                           VIR_FROM_STREAMS, error, libvirtError)
from pyvirt.remote.shapes import encode_error
from pyvirt.rpc.packet import Header, MessageStatus, MessageType, encode_message

log = logging.getLogger(__name__)

#: Largest data packet sent (libvirt's legacy payload size).
CHUNK = 262144
#: how much a stream may have queued towards its client before its producer waits
ROOM_BYTES = 4 << 20


class WireStream:
    """One open stream of one client (see module docstring)."""

    def __init__(self, prog: int, vers: int, proc: int, serial: int,
                 send: Callable[[bytes], None], schedule: Callable[[Callable[[], None]], None],
                 on_closed: Callable[["WireStream"], None]):
        self._header = Header(prog, vers, proc, MessageType.STREAM, serial, 0)
        self._send = send                    # loop thread only
        self._schedule = schedule            # run a callable on the loop thread
        self._on_closed = on_closed
        self._lock = threading.Lock()
        self._held: list[bytes] | None = []  # frames waiting for the reply
        self._incoming: deque[bytes] = deque()
        self._receive: Callable[[bytes], Any] | None = None
        self._finish_cb: Callable[[], Any] | None = None
        self._abort_cb: Callable[[], Any] | None = None
        self._client_finished = False
        self._queued = 0                     # bytes scheduled but not yet handed to the socket
        #: bytes waiting in the client's transport buffer (set by the connection)
        self.backlog: Callable[[], int] = lambda: 0
        self.sent_eof = False
        self.closed = False

    @property
    def serial(self) -> int:
        return self._header.serial

    # --- driver side ------------------------------------------------------------
    def write(self, data: bytes) -> None:
        for start in range(0, len(data), CHUNK):
            self._emit(self._frame(MessageStatus.CONTINUE, bytes(data[start:start + CHUNK])))

    def finish(self) -> None:
        self.sent_eof = True
        self._emit(self._frame(MessageStatus.CONTINUE, b""))

    def abort(self, err: libvirtError | None = None) -> None:
        err = err or error(VIR_ERR_OPERATION_INVALID, "stream aborted", domain=VIR_FROM_STREAMS)
        self._emit(self._frame(MessageStatus.ERROR, encode_error(err)))
        self._schedule(self._close)

    def on_data(self, receive: Callable[[bytes], Any], finish: Callable[[], Any] | None = None,
                abort: Callable[[], Any] | None = None) -> None:
        with self._lock:
            self._receive, self._finish_cb, self._abort_cb = receive, finish, abort
            pending, self._incoming = list(self._incoming), deque()
            finished = self._client_finished
        for data in pending:
            receive(data)
        if finished and finish is not None:
            finish()

    # --- daemon side (loop thread) -----------------------------------------------
    def opened(self) -> None:
        """The call's reply went out: release what the driver already wrote."""
        with self._lock:
            held, self._held = self._held or [], None
        for frame in held:
            self._send(frame)

    def failed(self) -> None:
        """The opening call failed: the stream never existed."""
        with self._lock:
            self._held = None
        self._close()

    def client_packet(self, status: int, body: bytes) -> None:
        """A STREAM packet from the client for this stream."""
        if self.closed:
            return
        if status == MessageStatus.CONTINUE:
            if body:
                self._deliver(body)
        elif status == MessageStatus.OK:
            self._client_done()
        elif status == MessageStatus.ERROR:
            self._client_abort()

    def client_gone(self) -> None:
        """The connection closed with the stream still open."""
        if not self.closed:
            self._call(self._abort_cb)
            self._close()

    # --- internals ------------------------------------------------------------------
    def _deliver(self, data: bytes) -> None:
        with self._lock:
            receive = self._receive
            if receive is None:
                self._incoming.append(data)
                return
        try:
            receive(data)
        except Exception as err:
            self._fail(err)

    def _client_done(self) -> None:
        """The client's OK: end of its data (upload, console) or its answer to our
        end of data (download). The driver's finish runs, then OK is echoed."""
        with self._lock:
            self._client_finished = True
            finish = self._finish_cb if self._receive is not None else None
        if finish is not None:
            try:
                finish()
            except Exception as err:
                self._fail(err)
                return
        self._send(self._frame(MessageStatus.OK, b""))
        self._close()

    def _client_abort(self) -> None:
        self._call(self._abort_cb)
        self._send(self._frame(MessageStatus.ERROR, encode_error(
            error(VIR_ERR_RPC, "stream aborted at client request", domain=VIR_FROM_RPC))))
        self._close()

    def _fail(self, err: BaseException) -> None:
        log.debug("stream %d failed: %s", self.serial, err)
        self._send(self._frame(MessageStatus.ERROR, encode_error(err)))
        self._close()

    @staticmethod
    def _call(callback: Callable[[], Any] | None) -> None:
        if callback is not None:
            try:
                callback()
            except Exception:
                log.debug("stream callback failed", exc_info=True)

    def _frame(self, status: int, body: bytes) -> bytes:
        header = self._header
        return encode_message(Header(header.prog, header.vers, header.proc, header.type,
                                     header.serial, status), body)

    def has_room(self) -> bool:
        """Whether a producer (a volume download) may write more now: at most a few MiB
        wait between it and the client's socket, so a download never piles up in memory."""
        return self.closed or (self._queued < ROOM_BYTES and self.backlog() < ROOM_BYTES)

    def _emit(self, frame: bytes) -> None:
        """Queue a frame from any thread, after the reply."""
        with self._lock:
            if self._held is not None:
                self._held.append(frame)
                return
            self._queued += len(frame)

        def send() -> None:
            with self._lock:
                self._queued -= len(frame)
            self._send(frame)

        self._schedule(send)

    def _close(self) -> None:
        if not self.closed:
            self.closed = True
            self._on_closed(self)
