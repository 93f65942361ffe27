"""``virStream``: a data channel between the application and a driver.

A local driver never sees the ``virStream``; it gets the stream's
:class:`StreamEnd` (passed as ``stream`` to entry points such as
``storage_vol_upload`` / ``storage_vol_download`` / ``domain_open_console``):

* driver -> application: ``end.write(data)``, then ``end.finish()`` (EOF), or
  ``end.abort(err)`` to make the application's next ``recv`` raise ``err``;
* application -> driver: ``end.on_data(receive, finish=None, abort=None)``
  installs callables the driver wants called with each ``send(data)``, on
  ``finish()`` and on ``abort()``. Data sent before ``on_data`` is buffered.

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
                              VIR_STREAM_NONBLOCK)
from pyvirt.errors import (VIR_ERR_INTERNAL_ERROR, VIR_ERR_NO_SUPPORT, VIR_ERR_OPERATION_INVALID,
                           VIR_FROM_STREAMS, error, libvirtError)

if TYPE_CHECKING:
    from pyvirt.api.connect import virConnect

STREAM_BUF_SIZE = 262144


class StreamEnd:
    """The driver's side of a stream (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._incoming: deque[bytes] = deque()     # driver -> application
        self._eof = False
        self._error: libvirtError | None = None
        self._outgoing: deque[bytes] = deque()     # application -> driver, unclaimed
        self._receive: Callable[[bytes], Any] | None = None
        self._on_finish: Callable[[], Any] | None = None
        self._on_abort: Callable[[], Any] | None = None
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
                abort: Callable[[], Any] | None = None) -> None:
        self._receive, self._on_finish, self._on_abort = receive, finish, abort
        while self._outgoing:
            receive(self._outgoing.popleft())
        if self.finished_by_app and finish is not None:
            finish()

    def sent_data(self) -> bytes:
        """Everything the application sent that no ``on_data`` receiver took."""
        data = b"".join(self._outgoing)
        self._outgoing.clear()
        return data

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

    def _app_recv(self, nbytes: int, block: bool) -> bytes | int:
        with self._lock:
            while True:
                if self._error is not None:
                    raise self._error
                if self._incoming:
                    chunk = self._incoming.popleft()
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
        end = self._bound("virStreamRecvFlags")
        return end._app_recv(nbytes, not self._flags & VIR_STREAM_NONBLOCK)

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
