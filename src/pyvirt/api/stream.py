"""``virStream``: a data channel between the application and a driver.

A local driver never sees the ``virStream``; it gets the stream's
:class:`StreamEnd` (passed as ``stream`` to entry points such as
``storage_vol_upload`` / ``storage_vol_download`` / ``domain_open_console``):

* driver -> application: ``end.write(data)``, then ``end.finish()`` (EOF), or
  ``end.abort(err)`` to make the application's next ``recv`` raise ``err``;
* application -> driver: ``end.on_data(receive, finish=None, abort=None,
  hole=None)`` installs callables the driver wants called with each
  ``send(data)``, on ``finish()``, on ``abort()`` and with each
  ``sendHole(length)``. Data sent before ``on_data`` is buffered.

Sparse streams (``VIR_STORAGE_VOL_UPLOAD/DOWNLOAD_SPARSE_STREAM``): the driver
sets ``end.sparse = True`` when it accepts the flag, then sends holes with
``end.write_hole(length)``; the application sees them as ``recvFlags(n,
VIR_STREAM_RECV_STOP_AT_HOLE) == -3`` then ``recvHole()``, or as zeros from a
plain ``recv``. ``sendHole`` on a stream that is not sparse fails as
libvirt's client does ("Skipping is not supported with this stream").

A stream no driver has taken yet answers like libvirt's unbound stream:
``send``/``recv``/``finish``/``eventAddCallback`` fail with VIR_ERR_NO_SUPPORT
(``abort`` succeeds). ``recv`` blocks until data or end of stream unless the
stream was made with ``VIR_STREAM_NONBLOCK`` (then it answers -2).
"""

from __future__ import annotations

import threading
from collections import deque
from typing import TYPE_CHECKING, Any, Callable

from pyvirt.api import event as _event
from pyvirt.api._lasterror import recorded
from pyvirt.constants import (VIR_STREAM_EVENT_ERROR, VIR_STREAM_EVENT_HANGUP,
                              VIR_STREAM_EVENT_READABLE, VIR_STREAM_EVENT_WRITABLE,
                              VIR_STREAM_NONBLOCK, VIR_STREAM_RECV_STOP_AT_HOLE)
from pyvirt.errors import (VIR_ERR_INTERNAL_ERROR, VIR_ERR_INVALID_ARG, VIR_ERR_NO_SUPPORT,
                           VIR_ERR_OPERATION_INVALID, VIR_FROM_REMOTE, VIR_FROM_RPC,
                           VIR_FROM_STREAMS, error, libvirtError)

if TYPE_CHECKING:
    from pyvirt.api.connect import virConnect

#: libvirt-python's virStorageVol.streamBufSize (one legacy RPC payload, 256 KiB - 24)
STREAM_BUF_SIZE = 262120
#: what recvFlags answers at a hole with VIR_STREAM_RECV_STOP_AT_HOLE
AT_HOLE = -3


class Hole:
    """A run of ``length`` zero bytes that travels as a length, not as data."""

    __slots__ = ("length",)

    def __init__(self, length: int) -> None:
        self.length = length

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Hole) and other.length == self.length

    def __repr__(self) -> str:
        return f"Hole({self.length})"


def _bad_flags(flags: int, function: str) -> libvirtError:
    """virCheckFlags' message (printed without its code's prefix), named as in
    libvirt's client, which serves every daemon-backed stream."""
    return libvirtError(f"unsupported flags (0x{flags:x}) in function {function}",
                        code=VIR_ERR_INVALID_ARG, domain=VIR_FROM_REMOTE)


class StreamEnd:
    """The driver's side of a stream (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._incoming: deque[bytes | Hole] = deque()     # driver -> application
        self._hole = 0                                     # hole being read (recvHole)
        self._eof = False
        self._error: libvirtError | None = None
        self._outgoing: deque[bytes | Hole] = deque()     # application -> driver, unclaimed
        self._receive: Callable[[bytes], Any] | None = None
        self._on_finish: Callable[[], Any] | None = None
        self._on_abort: Callable[[], Any] | None = None
        self._on_hole: Callable[[int], Any] | None = None
        #: holes allowed: set by the driver that accepted a SPARSE_STREAM flag
        self.sparse = False
        self._listener: Callable[[], None] | None = None
        self.attached = False
        self.finished_by_app = False
        self.aborted_by_app = False

    # --- used by drivers -----------------------------------------------------
    def write(self, data: bytes) -> None:
        with self._lock:
            if data:
                self._incoming.append(bytes(data))
            self._lock.notify_all()
        self._notify()

    def write_hole(self, length: int) -> None:
        """Tell the application ``length`` bytes of hole come next (sparse streams)."""
        if length <= 0:
            return
        with self._lock:
            self._incoming.append(Hole(length))
            self._lock.notify_all()
        self._notify()

    def finish(self) -> None:
        with self._lock:
            self._eof = True
            self._lock.notify_all()
        self._notify()

    def abort(self, err: libvirtError | None = None) -> None:
        with self._lock:
            self._error = err or error(VIR_ERR_OPERATION_INVALID, "stream aborted",
                                       domain=VIR_FROM_STREAMS)
            self._lock.notify_all()
        self._notify()

    def on_data(self, receive: Callable[[bytes], Any], finish: Callable[[], Any] | None = None,
                abort: Callable[[], Any] | None = None,
                hole: Callable[[int], Any] | None = None) -> None:
        self._receive, self._on_finish, self._on_abort = receive, finish, abort
        self._on_hole = hole
        while self._outgoing:
            item = self._outgoing.popleft()
            if isinstance(item, Hole):
                self._deliver_hole(item.length)
            else:
                receive(item)
        if self.finished_by_app and finish is not None:
            finish()

    def sent_data(self) -> bytes:
        """Everything the application sent that no ``on_data`` receiver took
        (holes as zeros)."""
        data = b"".join(bytes(i.length) if isinstance(i, Hole) else i for i in self._outgoing)
        self._outgoing.clear()
        return data

    def _deliver_hole(self, length: int) -> None:
        if self._on_hole is not None:
            self._on_hole(length)
        elif self._receive is not None:        # a driver without holes gets zeros
            self._receive(bytes(length))

    # --- used by virStream ---------------------------------------------------
    def _notify(self) -> None:
        listener = self._listener
        if listener is not None:
            listener()

    def _pending_events(self, wanted: int) -> int:
        with self._lock:
            events = 0
            if self._incoming or self._eof:
                events |= VIR_STREAM_EVENT_READABLE
            if self._eof:
                events |= VIR_STREAM_EVENT_HANGUP
            if self._error is not None:
                events |= VIR_STREAM_EVENT_ERROR
        events |= VIR_STREAM_EVENT_WRITABLE
        return events & (wanted | VIR_STREAM_EVENT_ERROR | VIR_STREAM_EVENT_HANGUP)

    def _app_send(self, data: bytes) -> None:
        if self._error is not None:
            raise self._error
        if self._receive is not None:
            self._receive(data)
        else:
            self._outgoing.append(data)

    def _app_send_hole(self, length: int, flags: int = 0) -> None:
        if not self.sparse:
            raise error(VIR_ERR_OPERATION_INVALID, "Skipping is not supported with this stream",
                        domain=VIR_FROM_RPC)
        if self._error is not None:
            raise self._error
        if self._receive is not None:
            self._deliver_hole(length)
        else:
            self._outgoing.append(Hole(length))

    def _app_recv_hole(self) -> int:
        """The length of the hole ``recvFlags`` stopped at (0 when none), as
        libvirt's client: the hole is consumed."""
        if not self.sparse:
            raise error(VIR_ERR_OPERATION_INVALID, "Holes are not supported with this stream",
                        domain=VIR_FROM_RPC)
        with self._lock:
            length, self._hole = self._hole, 0
            return length

    def _app_recv(self, nbytes: int, block: bool, stop_at_hole: bool = False) -> bytes | int:
        with self._lock:
            while True:
                if self._error is not None:
                    raise self._error
                if not self._hole and self._incoming and isinstance(self._incoming[0], Hole):
                    self._hole = self._incoming.popleft().length      # type: ignore[union-attr]
                if self._hole:
                    if stop_at_hole:
                        return AT_HOLE
                    size = min(nbytes, self._hole)
                    self._hole -= size
                    return bytes(size)
                if self._incoming:
                    chunk = self._incoming.popleft()
                    assert isinstance(chunk, bytes)
                    if len(chunk) > nbytes:
                        self._incoming.appendleft(chunk[nbytes:])
                        chunk = chunk[:nbytes]
                    return chunk
                if self._eof:
                    return b""
                if not block:
                    return -2
                self._lock.wait()

    def _app_finish(self) -> None:
        self.finished_by_app = True
        if self._error is not None:
            raise self._error
        if self._on_finish is not None:
            self._on_finish()

    def _app_abort(self) -> None:
        self.aborted_by_app = True
        if self._on_abort is not None:
            self._on_abort()


@recorded
class virStream:  # noqa: N801 - libvirt-python's name
    """libvirt-python's virStream: send/recv bytes, finish or abort."""

    def __init__(self, conn: "virConnect", _obj: Any = None) -> None:
        self._conn = conn
        self._end = _obj if _obj is not None else StreamEnd()
        self._flags = 0
        self._closed = False
        self._event: tuple[int, Callable[..., Any], Any] | None = None
        self._timer: int | None = None
        self._impl: _event.EventImpl | None = None
        if conn is not None:
            conn._adopt(self)

    def _bound(self, func: str) -> StreamEnd:
        """The driver end, or libvirt's answer for a stream no driver took."""
        if not self._end.attached:
            raise error(VIR_ERR_NO_SUPPORT, func, domain=VIR_FROM_STREAMS)
        if self._closed:
            raise error(VIR_ERR_OPERATION_INVALID, "stream is not open",
                        domain=VIR_FROM_STREAMS)
        return self._end

    def _attach(self) -> StreamEnd:
        """Hand the driver end to a driver entry point (upload, download, console)."""
        self._end.attached = True
        return self._end

    def _bind(self, call: Callable[[StreamEnd], Any]) -> None:
        """Run ``call(end)`` (a driver entry point taking the stream); if it fails
        the stream stays unbound, as libvirt's does."""
        end = self._attach()
        try:
            call(end)
        except BaseException:
            end.attached = False
            raise

    def c_pointer(self) -> int:
        return id(self)

    def connect(self) -> "virConnect":
        return self._conn

    def send(self, data: bytes) -> int:
        """Send ``data`` to the driver; returns the number of bytes taken."""
        self._bound("virStreamSend")._app_send(bytes(data))
        return len(data)

    def recv(self, nbytes: int) -> bytes:
        """Up to ``nbytes`` bytes; ``b""`` at end of stream; -2 (non-blocking) when none
        are ready. A blocking stream waits for the driver."""
        end = self._bound("virStreamRecv")
        return end._app_recv(nbytes, not self._flags & VIR_STREAM_NONBLOCK)  # type: ignore

    def recvFlags(self, nbytes: int, flags: int = 0) -> bytes | int:  # noqa: N802
        """``recv`` with flags: with ``VIR_STREAM_RECV_STOP_AT_HOLE`` a sparse stream
        answers -3 at a hole (then ``recvHole()`` gives its length) instead of zeros."""
        end = self._bound("virStreamRecvFlags")
        if flags & ~VIR_STREAM_RECV_STOP_AT_HOLE:
            raise _bad_flags(flags, "remoteStreamRecvFlags")
        return end._app_recv(nbytes, not self._flags & VIR_STREAM_NONBLOCK,
                             bool(flags & VIR_STREAM_RECV_STOP_AT_HOLE))

    def recvHole(self, flags: int = 0) -> int:  # noqa: N802
        """The length of the hole the last ``recvFlags`` stopped at (sparse streams)."""
        end = self._bound("virStreamRecvHole")
        if flags:
            raise _bad_flags(flags, "remoteStreamRecvHole")
        return end._app_recv_hole()

    def sendHole(self, length: int, flags: int = 0) -> int:  # noqa: N802
        """Tell the driver ``length`` bytes of hole come next (sparse streams)."""
        self._bound("virStreamSendHole")._app_send_hole(length, flags)
        return 0

    def finish(self) -> int:
        end = self._bound("virStreamFinish")
        self._closed = True
        self._drop_event()
        end._app_finish()
        return 0

    def abort(self) -> int:
        if self._end.attached and not self._closed:
            self._closed = True
            self._drop_event()
            self._end._app_abort()
        return 0

    # --- stream events (console clients) -------------------------------------
    def eventAddCallback(self, events: int,  # noqa: N802
                         cb: Callable[["virStream", int, Any], None], opaque: Any) -> None:
        """Call ``cb(stream, events, opaque)`` from the event loop while the stream
        is readable / writable / hung up / in error (``VIR_STREAM_EVENT_*``)."""
        end = self._bound("virStreamEventAddCallback")
        impl = _event.current_impl()
        if impl is None:
            raise error(VIR_ERR_INTERNAL_ERROR, "no event implementation registered",
                        domain=VIR_FROM_STREAMS)
        if self._event is not None:
            raise error(VIR_ERR_INTERNAL_ERROR, "multiple stream callbacks not supported",
                        domain=VIR_FROM_STREAMS)
        self._impl = impl
        self._event = (events, cb, opaque)
        self._timer = impl.add_timeout(-1, self._dispatch_event, None)
        end._listener = self._arm
        self._arm()

    def eventUpdateCallback(self, events: int) -> None:  # noqa: N802
        self._bound("virStreamEventUpdateCallback")
        if self._event is None:
            raise error(VIR_ERR_INTERNAL_ERROR, "no stream callback registered",
                        domain=VIR_FROM_STREAMS)
        _old, cb, opaque = self._event
        self._event = (events, cb, opaque)
        self._arm()

    def eventRemoveCallback(self) -> None:  # noqa: N802
        self._bound("virStreamEventRemoveCallback")
        if self._event is None:
            raise error(VIR_ERR_INTERNAL_ERROR, "no stream callback registered",
                        domain=VIR_FROM_STREAMS)
        self._drop_event()

    def _arm(self) -> None:
        if self._event is not None and self._impl is not None and self._timer is not None:
            ready = self._end._pending_events(self._event[0])
            self._impl.update_timeout(self._timer, 0 if ready else -1)

    def _dispatch_event(self, _timer: int, _opaque: Any) -> None:
        if self._event is None:
            return
        wanted, cb, opaque = self._event
        ready = self._end._pending_events(wanted)
        if not ready:
            self._arm()
            return
        cb(self, ready, opaque)
        self._arm()

    def _drop_event(self) -> None:
        if self._timer is not None and self._impl is not None:
            self._impl.remove_timeout(self._timer)
        self._end._listener = None
        self._event = self._timer = self._impl = None

    # --- whole-stream helpers (libvirt-python's own, in Python) ---------------
    def sendAll(self, handler: Callable[["virStream", int, Any], bytes],  # noqa: N802
                opaque: Any) -> None:
        """Call ``handler(stream, nbytes, opaque)`` and send until it returns empty."""
        while True:
            try:
                got = handler(self, STREAM_BUF_SIZE, opaque)
            except BaseException:
                try:
                    self.abort()
                except libvirtError:
                    pass
                raise
            if not got:
                break
            self.send(got)

    def recvAll(self, handler: Callable[["virStream", bytes, Any], int],  # noqa: N802
                opaque: Any) -> None:
        """Receive to end of stream, passing each chunk to ``handler(stream, data, opaque)``."""
        while True:
            got = self.recv(STREAM_BUF_SIZE)
            if got == -2:
                raise libvirtError("cannot use recvAll with nonblocking stream")
            if len(got) == 0:
                break
            try:
                ret = handler(self, got, opaque)
                if isinstance(ret, int) and ret < 0:
                    raise RuntimeError(f"recvAll handler returned {ret}")
            except BaseException:
                try:
                    self.abort()
                except libvirtError:
                    pass
                raise

    def sparseRecvAll(self, handler: Callable[["virStream", bytes, Any], Any],  # noqa: N802
                      holeHandler: Callable[["virStream", int, Any], Any],  # noqa: N803
                      opaque: Any) -> None:
        """Receive to end of stream: data to ``handler(stream, data, opaque)``, each
        hole's length to ``holeHandler(stream, length, opaque)`` (libvirt-python's loop)."""
        while True:
            got = self.recvFlags(STREAM_BUF_SIZE, VIR_STREAM_RECV_STOP_AT_HOLE)
            if got == -2:
                raise libvirtError("cannot use sparseRecvAll with nonblocking stream")
            if got == AT_HOLE:
                length = self.recvHole()
                ret_hole = holeHandler(self, length, opaque)
                if isinstance(ret_hole, int) and ret_hole < 0:
                    self.abort()
                    raise RuntimeError(f"holeHandler handler returned {ret_hole}")
                continue
            if isinstance(got, int):
                raise ValueError(got)
            if not isinstance(got, bytes):
                raise TypeError(type(got))
            if len(got) == 0:
                break
            ret_data = handler(self, got, opaque)
            if isinstance(ret_data, int) and ret_data < 0:
                self.abort()
                raise RuntimeError(f"sparseRecvAll handler returned {ret_data}")

    def sparseSendAll(self, handler: Callable[["virStream", int, Any], Any],  # noqa: N802
                      holeHandler: Callable[["virStream", Any], Any],  # noqa: N803
                      skipHandler: Callable[["virStream", int, Any], int],  # noqa: N803
                      opaque: Any) -> None:
        """Send to the end of the source: ``holeHandler(stream, opaque)`` says
        ``[inData, sectionLen]``; holes go as ``sendHole`` then ``skipHandler``,
        data as ``handler(stream, nbytes, opaque)`` (libvirt-python's loop)."""
        while True:
            in_data, section = holeHandler(self, opaque)
            if not in_data and section > 0:
                if self.sendHole(section) < 0 or skipHandler(self, section, opaque) < 0:
                    self.abort()
                continue
            want = min(STREAM_BUF_SIZE, section)
            got = handler(self, want, opaque)
            if isinstance(got, int) and got < 0:
                self.abort()
                raise RuntimeError(f"sparseSendAll handler returned {got}")
            if not got:
                break
            self.send(got)
