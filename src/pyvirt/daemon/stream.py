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
  ERROR to ``abort`` (answered with OK, as libvirtd confirms an abort).

Sparse streams: a driver that accepts a SPARSE_STREAM flag sets
``stream.sparse = True``; ``write_hole(length)`` then sends a STREAM_HOLE
packet (``remote_stream_hole {hyper length; unsigned flags}``) and the
client's STREAM_HOLE packets go to the ``hole`` callable of ``on_data``. A
hole on a stream that is not sparse fails it with libvirt's "Unexpected
stream hole".

Rate limit (pyvirt's own ``max_stream_rate``): :meth:`limit_rate` caps the
data bytes per second of this stream, both ways, with a :class:`RateLimit`.
A download producer sees no room until the budget refills; an upload pauses
reading from this client's socket (``pause(seconds)``, set by the
connection), so other clients are never held up.

Nothing leaves before the call's reply: packets written during the driver
call are held until :meth:`opened`. Sending happens on the event loop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any, Callable

from pyvirt.errors import (VIR_ERR_OPERATION_INVALID, VIR_ERR_RPC, VIR_FROM_RPC,
                           VIR_FROM_STREAMS, error, libvirtError)
from pyvirt.remote.shapes import encode_error
from pyvirt.rpc.packet import (FrameError, Header, MessageStatus, MessageType,
                               decode_stream_hole, encode_message, encode_stream_hole)

log = logging.getLogger(__name__)

#: Largest data packet sent (libvirt's legacy payload size).
CHUNK = 262144
#: how much a stream may have queued towards its client before its producer waits
ROOM_BYTES = 4 << 20


class RateLimit:
    """A token bucket: ``rate`` bytes per second, bursts up to one second's worth
    (at least one chunk). ``charge`` may overdraw; ``delay`` says how long until
    the budget is back above zero. ``clock`` is injectable for tests."""

    def __init__(self, rate: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.capacity = max(rate, CHUNK)
        self._clock = clock
        self._tokens = float(self.capacity)
        self._last = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now

    def charge(self, nbytes: int) -> float:
        """Spend ``nbytes``; the seconds to wait before the next spend (0 = none)."""
        with self._lock:
            self._refill()
            self._tokens -= nbytes
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def delay(self) -> float:
        with self._lock:
            self._refill()
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate


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
        self._incoming: deque[bytes | int] = deque()   # data, or hole lengths
        self._receive: Callable[[bytes], Any] | None = None
        self._finish_cb: Callable[[], Any] | None = None
        self._abort_cb: Callable[[], Any] | None = None
        self._hole_cb: Callable[[int], Any] | None = None
        self._client_finished = False
        #: holes allowed (the driver accepted a SPARSE_STREAM flag)
        self.sparse = False
        self._rate: RateLimit | None = None
        #: stop reading this client's socket for so many seconds (set by the connection)
        self.pause: Callable[[float], None] = lambda seconds: None
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
        if self._rate is not None:
            self._rate.charge(len(data))
        for start in range(0, len(data), CHUNK):
            self._emit(self._frame(MessageStatus.CONTINUE, bytes(data[start:start + CHUNK])))

    def write_hole(self, length: int) -> None:
        """A STREAM_HOLE packet: ``length`` bytes of hole (sparse streams only)."""
        if length > 0:
            header = self._header
            self._emit(encode_message(Header(header.prog, header.vers, header.proc,
                                             MessageType.STREAM_HOLE, header.serial,
                                             MessageStatus.CONTINUE),
                                      encode_stream_hole(length)))

    def limit_rate(self, rate: int, clock: Callable[[], float] = time.monotonic) -> None:
        """At most ``rate`` data bytes per second on this stream (0: no limit)."""
        self._rate = RateLimit(rate, clock) if rate > 0 else None

    def room_delay(self) -> float:
        """Seconds until the rate limit lets a producer write again (0 = now)."""
        return 0.0 if self._rate is None or self.closed else self._rate.delay()

    def finish(self) -> None:
        self.sent_eof = True
        self._emit(self._frame(MessageStatus.CONTINUE, b""))

    def abort(self, err: libvirtError | None = None) -> None:
        err = err or error(VIR_ERR_OPERATION_INVALID, "stream aborted", domain=VIR_FROM_STREAMS)
        self._emit(self._frame(MessageStatus.ERROR, encode_error(err)))
        self._schedule(self._close)

    def on_data(self, receive: Callable[[bytes], Any], finish: Callable[[], Any] | None = None,
                abort: Callable[[], Any] | None = None,
                hole: Callable[[int], Any] | None = None) -> None:
        with self._lock:
            self._receive, self._finish_cb, self._abort_cb = receive, finish, abort
            self._hole_cb = hole
            pending, self._incoming = list(self._incoming), deque()
            finished = self._client_finished
        for data in pending:
            if isinstance(data, int):
                self._give_hole(data)
            else:
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

    def client_hole(self, body: bytes) -> None:
        """A STREAM_HOLE packet from the client (a sparse upload)."""
        if self.closed:
            return
        if not self.sparse:
            self._fail(error(VIR_ERR_RPC, "Unexpected stream hole", domain=VIR_FROM_RPC))
            return
        try:
            length, _flags = decode_stream_hole(body)
        except FrameError:
            self._fail(error(VIR_ERR_RPC, "Malformed stream hole packet", domain=VIR_FROM_RPC))
            return
        with self._lock:
            if self._receive is None:
                self._incoming.append(length)        # type: ignore[arg-type]
                return
        try:
            self._give_hole(length)
        except Exception as err:
            self._fail(err)

    def _give_hole(self, length: int) -> None:
        if self._hole_cb is not None:
            self._hole_cb(length)
        elif self._receive is not None:             # a driver without holes gets zeros
            self._receive(bytes(length))

    def client_gone(self) -> None:
        """The connection closed with the stream still open."""
        if not self.closed:
            self._call(self._abort_cb)
            self._close()

    # --- internals ------------------------------------------------------------------
    def _deliver(self, data: bytes) -> None:
        if self._rate is not None:
            wait = self._rate.charge(len(data))
            if wait > 0:
                self.pause(wait)
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
        """The client's ERROR: the driver aborts, then the zero-length OK confirms it
        (libvirtd's daemonStreamHandleAbort; only a failed abort answers ERROR)."""
        callback = self._abort_cb
        try:
            if callback is not None:
                callback()
        except Exception as err:
            log.debug("stream %d: abort failed: %s", self.serial, err)
            self._send(self._frame(MessageStatus.ERROR, encode_error(err)))
        else:
            self._send(self._frame(MessageStatus.OK, b""))
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
        if self.closed:
            return True
        if self._rate is not None and self._rate.delay() > 0:
            return False
        return self._queued < ROOM_BYTES and self.backlog() < ROOM_BYTES

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
