"""``virStream``: a data channel between the application and a driver.

A local driver never sees the ``virStream``; it gets the stream's
:class:`StreamEnd` (passed as ``stream`` to entry points such as
``storage_vol_upload`` / ``storage_vol_download`` / ``domain_open_console``):

* driver -> application: ``end.write(data)``, then ``end.finish()`` (EOF), or
  ``end.abort(err)`` to make the application's next ``recv`` raise ``err``;
* application -> driver: ``end.on_data(receive, finish=None, abort=None)``
  installs callables the driver wants called with each ``send(data)``, on
  ``finish()`` and on ``abort()``. Data sent before ``on_data`` is buffered.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import TYPE_CHECKING, Any, Callable

from pyvirt.api._lasterror import recorded
from pyvirt.errors import VIR_ERR_OPERATION_INVALID, VIR_FROM_STREAMS, error, libvirtError

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
        self.finished_by_app = False
        self.aborted_by_app = False

    # --- used by drivers -----------------------------------------------------
    def write(self, data: bytes) -> None:
        with self._lock:
            if data:
                self._incoming.append(bytes(data))
            self._lock.notify_all()

    def finish(self) -> None:
        with self._lock:
            self._eof = True
            self._lock.notify_all()

    def abort(self, err: libvirtError | None = None) -> None:
        with self._lock:
            self._error = err or error(VIR_ERR_OPERATION_INVALID, "stream aborted",
                                       domain=VIR_FROM_STREAMS)
            self._lock.notify_all()

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
    def _app_send(self, data: bytes) -> None:
        if self._receive is not None:
            self._receive(data)
        else:
            self._outgoing.append(data)

    def _app_recv(self, nbytes: int) -> bytes | int:
        with self._lock:
            if self._error is not None:
                raise self._error
            if not self._incoming:
                return b"" if self._eof else -2
            chunk = self._incoming.popleft()
            if len(chunk) > nbytes:
                self._incoming.appendleft(chunk[nbytes:])
                chunk = chunk[:nbytes]
            return chunk

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
        self._closed = False

    def _check_open(self, func: str) -> None:
        if self._closed:
            raise error(VIR_ERR_OPERATION_INVALID, "stream is closed", domain=VIR_FROM_STREAMS,
                        str3=func)

    def c_pointer(self) -> int:
        return id(self)

    def connect(self) -> "virConnect":
        return self._conn

    def send(self, data: bytes) -> int:
        """Send ``data`` to the driver; returns the number of bytes taken."""
        self._check_open("virStreamSend")
        self._end._app_send(bytes(data))
        return len(data)

    def recv(self, nbytes: int) -> bytes:
        """Up to ``nbytes`` bytes; ``b""`` at end of stream; -2 if none are ready yet."""
        self._check_open("virStreamRecv")
        return self._end._app_recv(nbytes)  # type: ignore[return-value]

    def recvFlags(self, nbytes: int, flags: int = 0) -> bytes | int:  # noqa: N802
        return self.recv(nbytes)

    def finish(self) -> int:
        self._check_open("virStreamFinish")
        self._closed = True
        self._end._app_finish()
        return 0

    def abort(self) -> int:
        self._check_open("virStreamAbort")
        self._closed = True
        self._end._app_abort()
        return 0

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
