"""One client connection of pyvirtd: frames in, replies and events out.

:class:`ClientConnection` is the connection's asyncio protocol: the loop
hands it bytes (``data_received``) and it answers on the transport, with no
reader task or stream buffer between (one loop turn per call). The asyncio
side only moves bytes: :class:`FrameSplitter` cuts messages, headers are
checked, calls go to a worker pool (high-priority procedures to their own
small pool, as libvirtd does) so a long driver call never blocks this or any
other client, and at most ``max_client_requests`` calls of one client run at
once; as many more wait in order, and only past that is reading paused. So
keepalive PINGs are read and answered while calls run, and a silence is not
counted against a client that waits for our replies. The exception:
high-priority calls into a driver table that declares ``calls_never_block``
(an in-memory driver) run right on the loop, saving two thread hops per call.
Events come from driver threads and are queued onto the loop.

The daemon decides, when a connection is made, whether to serve it and who
the client is (``admit``), and hears when it is gone (``gone``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from concurrent.futures import Executor, Future
from typing import Callable

from pyvirt.daemon.stream import WireStream
from pyvirt.errors import VIR_ERR_RPC, VIR_FROM_RPC, error
from pyvirt.remote.access import AccessRules, Identity
from pyvirt.remote.sasl import AuthGate
from pyvirt.remote.dispatch import Dispatcher
from pyvirt.remote.session import Session
from pyvirt.remote.shapes import encode_error
from pyvirt.remote.protocol import (KEEPALIVE_PING, KEEPALIVE_PONG, KEEPALIVE_PROGRAM,
                                    KEEPALIVE_PROTOCOL_VERSION, REMOTE_PROGRAM,
                                    REMOTE_PROTOCOL_VERSION)
from pyvirt.rpc.packet import (MESSAGE_MAX, FrameError, FrameSplitter, Header, Message,
                               MessageStatus, MessageType, encode_message)

log = logging.getLogger(__name__)

#: Output a client may leave unread before it is disconnected (two maximal messages).
_MAX_QUEUED_OUTPUT = 2 * (MESSAGE_MAX + 4)


class ClientConnection(asyncio.Protocol):
    """Serves one connected client until it goes away or the daemon stops.

    ``admit(client, transport)`` runs when the connection is made: False turns
    the client away (the transport is closed); otherwise it may set ``name``,
    ``identity``, ``access``, ``auth`` and ``max_stream_rate`` first.
    ``gone(client)`` runs once when the connection is over."""

    def __init__(self, *, dispatcher: Dispatcher, workers: Executor, prio_workers: Executor,
                 readonly: bool, secure: bool, max_requests: int = 5,
                 keepalive_interval: int = 5, keepalive_count: int = 5, name: str = "client",
                 identity: Identity | None = None, access: AccessRules | None = None,
                 auth: AuthGate | None = None,
                 admit: Callable[["ClientConnection", asyncio.BaseTransport], bool] | None = None,
                 gone: Callable[["ClientConnection"], None] | None = None):
        self.name = name
        self.dispatcher = dispatcher
        self.workers = workers
        self.prio_workers = prio_workers
        self.readonly = readonly
        self.secure = secure
        self.identity = identity or Identity()
        self.access = access
        #: the listener's authentication (auth_unix_rw, auth_tls...): SASL state
        self.auth = auth or AuthGate("none")
        self._admit = admit
        self._gone = gone
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.session: Session | None = None
        self._splitter = FrameSplitter()
        self._max_requests = max(max_requests, 1)
        self._running = 0                   # calls started and not yet answered
        self._waiting: deque[tuple[Header, bytes]] = deque()   # read, not started
        self._calls: set[Future] = set()
        self._closed = False
        self._flooded = False               # reading paused: too many calls waiting
        self._rate_paused = False           # reading paused: an upload over its rate
        self._reading_paused = False
        self._keepalive_interval = keepalive_interval
        self._keepalive_count = keepalive_count
        self._keepalive_timer: asyncio.TimerHandle | None = None
        self._keepalive_missed = 0
        self._last_heard = time.monotonic()
        self._streams: dict[int, WireStream] = {}

    # --- lifecycle (asyncio.Protocol) ------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        if self._admit is not None and not self._admit(self, transport):
            self._closed = True
            transport.close()
            return
        self.session = Session(readonly=self.readonly, secure=self.secure,
                               send_event=self._event_from_thread, identity=self.identity,
                               access=self.access)
        self._keepalive_next()

    def data_received(self, data: bytes) -> None:
        if self._closed:
            return
        self._last_heard = time.monotonic()
        try:
            messages = self._splitter.feed(data)
        except FrameError as err:
            log.warning("%s: dropping connection: %s", self.name, err)
            self._close_soon()
            return
        for message in messages:
            self._handle(message)
            if self._closed:
                return
        if len(self._waiting) > self._max_requests:
            self._flooded = True            # a flood: stop reading until calls finish
            self._update_reading()

    def eof_received(self) -> bool:
        return False                        # the transport closes; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self._close_soon()

    def _close_soon(self) -> None:
        """Stop serving now; the driver connection is closed by a task."""
        if not self._closed:
            self._stop_serving()
            self.loop.create_task(self._close_session())

    async def close(self) -> None:
        if self._closed:
            return
        self._stop_serving()
        await self._close_session()

    def _stop_serving(self) -> None:
        self._closed = True
        if self._keepalive_timer is not None:
            self._keepalive_timer.cancel()
        for call in list(self._calls):
            call.cancel()
        for stream in list(self._streams.values()):
            stream.client_gone()
        try:
            self.transport.close()
        except Exception:  # already gone
            pass
        if self._gone is not None:
            self._gone(self)

    async def _close_session(self) -> None:
        session = self.session
        if session.conn is None or self.dispatcher.runs_inline(session, 2):
            session.close()             # closed by CONNECT_CLOSE already, or in memory
            return
        try:
            await self.loop.run_in_executor(self.prio_workers, session.close)
        except RuntimeError:            # pools already shut down: the daemon is stopping
            session.close()

    def _update_reading(self) -> None:
        """Pause reading while flooded or over a stream's rate, resume when neither."""
        pause = self._flooded or self._rate_paused
        if pause == self._reading_paused or self._closed or self.transport.is_closing():
            return
        self._reading_paused = pause
        if pause:
            self.transport.pause_reading()
        else:
            self.transport.resume_reading()

    # --- incoming -----------------------------------------------------------------------
    def _handle(self, message: Message) -> None:
        header = message.header
        if header.prog == KEEPALIVE_PROGRAM:
            self._keepalive_message(header)
            return
        is_call = header.type in (MessageType.CALL, MessageType.CALL_WITH_FDS)
        if header.prog != REMOTE_PROGRAM or header.vers != REMOTE_PROTOCOL_VERSION:
            if is_call:
                self._send_error(header, error(
                    VIR_ERR_RPC, f"Cannot find program {header.prog} version {header.vers}",
                    domain=VIR_FROM_RPC))
            else:
                log.info("%s: dropping message of unknown program %#x version %d",
                         self.name, header.prog, header.vers)
            return
        if header.type in (MessageType.STREAM, MessageType.STREAM_HOLE):
            stream = self._streams.get(header.serial)
            if stream is None:
                log.debug("%s: dropping stream packet for serial %d", self.name, header.serial)
                return
            if header.type == MessageType.STREAM_HOLE:
                stream.client_hole(message.body)
            else:
                stream.client_packet(header.status, message.body)
            return
        if header.type == MessageType.CALL_WITH_FDS:
            # fd passing is not served; libvirtd drops a client whose fds are missing
            log.warning("%s: call with fds (unsupported): closing", self.name)
            self._close_soon()
            return
        if header.type != MessageType.CALL:
            log.debug("%s: ignoring message of type %d", self.name, header.type)
            return
        if header.status != MessageStatus.OK:
            self._send_error(header, error(VIR_ERR_RPC,
                                           f"Unexpected message status {header.status}",
                                           domain=VIR_FROM_RPC))
            return
        self._waiting.append((header, message.body))
        self._start_waiting()

    def _start_waiting(self) -> None:
        """Start waiting calls in order while fewer than ``max_requests`` run."""
        while self._waiting and self._running < self._max_requests and not self._closed:
            header, body = self._waiting.popleft()
            self._running += 1
            if self._start_call(header, body):
                self._running -= 1
        if self._flooded and len(self._waiting) <= self._max_requests:
            self._flooded = False
            self._update_reading()

    def _start_call(self, header: Header, body: bytes) -> bool:
        """Hand a call to a worker; the worker encodes the whole reply frame and the
        loop only writes it (one thread hop each way). True when the call is
        already over (it ran inline, or the daemon is stopping)."""
        proc = self.dispatcher.table.procedures.get(header.proc)
        pool = self.prio_workers if proc is not None and proc.high_priority else self.workers
        stream = self._open_stream(header) if proc is not None and proc.stream else None
        if stream is None and self.dispatcher.runs_inline(self.session, header.proc, body):
            frame, _, _ = self._run_call(header, body, None)
            self._send(frame)
            self._drop_if_auth_exhausted()
            return True
        try:
            future = pool.submit(self._run_call, header, body, stream)
        except RuntimeError:            # pools shut down: the daemon is stopping
            return True
        self._calls.add(future)
        future.add_done_callback(self._call_done)
        return False

    def _run_call(self, header: Header, body: bytes, stream: WireStream | None
                  ) -> tuple[bytes, WireStream | None, bool]:
        """On a worker: dispatch and encode the reply frame."""
        try:
            if self.auth.handles(header.proc):
                reply = self.auth.dispatch(header.proc, body)
                self.session.identity.sasl_user = self.auth.username
            else:
                self.auth.check(header.proc)
                reply = self.dispatcher.dispatch(self.session, header.proc, body, stream)
            return encode_message(header.reply(), reply), stream, True
        except Exception as err:  # every failure is answered
            log.debug("%s: proc %d failed: %s", self.name, header.proc, err)
            return (encode_message(header.reply(MessageStatus.ERROR), encode_error(err)),
                    stream, False)

    def _call_done(self, future: "Future[tuple[bytes, WireStream | None, bool]]") -> None:
        try:
            self.loop.call_soon_threadsafe(self._finish_call, future)
        except RuntimeError:            # loop closed
            pass

    def _finish_call(self, future: "Future[tuple[bytes, WireStream | None, bool]]") -> None:
        self._calls.discard(future)
        self._running -= 1
        if future.cancelled():
            return
        frame, stream, ok = future.result()
        self._send(frame)
        if stream is not None:
            stream.opened() if ok else stream.failed()
        self._drop_if_auth_exhausted()
        self._start_waiting()

    def _drop_if_auth_exhausted(self) -> None:
        """After too many failed SASL exchanges the client goes (its last error
        reply is flushed first)."""
        if self.auth.exhausted and not self._closed:
            log.warning("%s: %d failed authentications, closing", self.name,
                        self.auth.failures)
            self._close_soon()

    def _open_stream(self, header: Header) -> WireStream:
        stream = WireStream(header.prog, header.vers, header.proc, header.serial, self._send,
                            lambda fn: self.loop.call_soon_threadsafe(fn),
                            lambda s: self._streams.pop(s.serial, None))
        stream.backlog = self.transport.get_write_buffer_size
        self._limit_stream(stream)
        self._streams[header.serial] = stream
        return stream

    #: pyvirt's ``max_stream_rate``: data bytes per second per stream (0: no limit)
    max_stream_rate = 0

    def _limit_stream(self, stream: WireStream) -> None:
        """Apply the stream rate limit; an upload over it pauses reading this
        client's socket only (other clients go on)."""
        if not self.max_stream_rate:
            return
        stream.limit_rate(self.max_stream_rate)
        resume: list[asyncio.TimerHandle] = []

        def pause(seconds: float) -> None:
            """Stop reading until the budget is back (one timer: the latest wins)."""
            self._rate_paused = True
            self._update_reading()
            while resume:
                resume.pop().cancel()
            resume.append(self.loop.call_later(seconds, self._rate_resume))

        stream.pause = pause

    def _rate_resume(self) -> None:
        self._rate_paused = False
        self._update_reading()

    def _keepalive_message(self, header: Header) -> None:
        if header.type != MessageType.MESSAGE:
            return
        if header.proc == KEEPALIVE_PING:
            self._send(encode_message(Header(KEEPALIVE_PROGRAM, KEEPALIVE_PROTOCOL_VERSION,
                                             KEEPALIVE_PONG, MessageType.MESSAGE, 0,
                                             MessageStatus.OK)))

    def _owes_replies(self) -> bool:
        """Whether the client waits on us: calls running or waiting, or output not
        yet taken by the transport. Its silence then is no missed pong."""
        return bool(self._running or self._waiting
                    or self.transport.get_write_buffer_size())

    def _keepalive_next(self) -> None:
        """Look again in one keepalive interval (none when keepalive_interval <= 0)."""
        if self._keepalive_interval > 0 and not self._closed:
            self._keepalive_timer = self.loop.call_later(self._keepalive_interval,
                                                         self._keepalive_tick)

    def _keepalive_tick(self) -> None:
        """Ping a client that asked for keepalive; drop it after too many silences
        (a silence while it waits for our replies does not count)."""
        if self._closed:
            return
        if not self.session.keepalive:
            self._keepalive_next()
            return
        if time.monotonic() - self._last_heard < self._keepalive_interval:
            self._keepalive_missed = 0
            self._keepalive_next()
            return
        if self._owes_replies():
            self._keepalive_missed = 0
        else:
            self._keepalive_missed += 1
        if self._keepalive_count and self._keepalive_missed > self._keepalive_count:
            log.warning("%s: no keepalive response, closing", self.name)
            self._close_soon()
            return
        self._send(encode_message(Header(KEEPALIVE_PROGRAM, KEEPALIVE_PROTOCOL_VERSION,
                                         KEEPALIVE_PING, MessageType.MESSAGE, 0,
                                         MessageStatus.OK)))
        self._keepalive_next()

    # --- outgoing -----------------------------------------------------------------------
    def _send(self, frame: bytes) -> None:
        transport = self.transport
        if self._closed or transport.is_closing():
            return
        transport.write(frame)
        if transport.get_write_buffer_size() > _MAX_QUEUED_OUTPUT:
            # a client that reads nothing while events pile up: drop it, not the daemon
            log.warning("%s: more than %d bytes waiting to be read, closing", self.name,
                        _MAX_QUEUED_OUTPUT)
            transport.abort()

    def _send_error(self, header: Header, err: BaseException) -> None:
        self._send(encode_message(header.reply(MessageStatus.ERROR), encode_error(err)))

    def _event_from_thread(self, proc: int, body: bytes) -> None:
        frame = encode_message(Header(REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION, proc,
                                      MessageType.MESSAGE, 0, MessageStatus.OK), body)
        try:
            self.loop.call_soon_threadsafe(self._send, frame)
        except RuntimeError:  # loop closed: the daemon is stopping
            pass
