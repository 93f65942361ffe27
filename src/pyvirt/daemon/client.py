"""One client connection of pyvirtd: frames in, replies and events out.

The asyncio side only moves bytes: :class:`FrameSplitter` cuts messages,
headers are checked, calls go to a worker pool (high-priority procedures to
their own small pool, as libvirtd does) so a long driver call never blocks
this or any other client, and at most ``max_client_requests`` calls of one
client run at once (the next frame is not read until one finishes). The
exception: high-priority calls into a driver table that declares
``calls_never_block`` (an in-memory driver) run right on the loop, saving
two thread hops per call.
Events come from driver threads and are queued onto the loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import Executor, Future

from pyvirt.daemon.stream import WireStream
from pyvirt.errors import VIR_ERR_RPC, VIR_FROM_RPC, error
from pyvirt.remote.access import AccessRules, Identity
from pyvirt.remote.dispatch import Dispatcher
from pyvirt.remote.session import Session
from pyvirt.remote.shapes import encode_error
from pyvirt.remote.protocol import (KEEPALIVE_PING, KEEPALIVE_PONG, KEEPALIVE_PROGRAM,
                                    KEEPALIVE_PROTOCOL_VERSION, REMOTE_PROGRAM,
                                    REMOTE_PROTOCOL_VERSION)
from pyvirt.rpc.packet import (MESSAGE_MAX, FrameError, FrameSplitter, Header, Message,
                               MessageStatus, MessageType, encode_message)

log = logging.getLogger(__name__)

_READ_SIZE = 256 * 1024
#: Output a client may leave unread before it is disconnected (two maximal messages).
_MAX_QUEUED_OUTPUT = 2 * (MESSAGE_MAX + 4)


class ClientConnection:
    """Serves one connected client until it goes away or the daemon stops."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *,
                 dispatcher: Dispatcher, workers: Executor, prio_workers: Executor,
                 readonly: bool, secure: bool, max_requests: int = 5,
                 keepalive_interval: int = 5, keepalive_count: int = 5, name: str = "client",
                 identity: Identity | None = None, access: AccessRules | None = None):
        self.reader = reader
        self.writer = writer
        self.name = name
        self.dispatcher = dispatcher
        self.workers = workers
        self.prio_workers = prio_workers
        self.loop = asyncio.get_running_loop()
        self.session = Session(readonly=readonly, secure=secure, send_event=self._event_from_thread,
                               identity=identity or Identity(), access=access)
        self._slots = asyncio.Semaphore(max_requests)
        self._calls: set[Future] = set()
        self._closed = False
        self._keepalive_interval = keepalive_interval
        self._keepalive_count = keepalive_count
        self._last_heard = time.monotonic()
        self._streams: dict[int, WireStream] = {}

    # --- lifecycle -----------------------------------------------------------------
    async def serve(self) -> None:
        splitter = FrameSplitter()
        keepalive = asyncio.create_task(self._keepalive())
        try:
            while not self._closed:
                data = await self.reader.read(_READ_SIZE)
                if not data:
                    break
                self._last_heard = time.monotonic()
                try:
                    messages = splitter.feed(data)
                except FrameError as err:
                    log.warning("%s: dropping connection: %s", self.name, err)
                    break
                for message in messages:
                    await self._handle(message)
        except (OSError, asyncio.IncompleteReadError):   # reset, TLS error...
            pass
        finally:
            keepalive.cancel()
            await self.close()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for call in list(self._calls):
            call.cancel()
        for stream in list(self._streams.values()):
            stream.client_gone()
        try:
            self.writer.close()
        except Exception:  # already gone
            pass
        try:
            await self.loop.run_in_executor(self.prio_workers, self.session.close)
        except RuntimeError:            # pools already shut down: the daemon is stopping
            self.session.close()

    # --- incoming -----------------------------------------------------------------------
    async def _handle(self, message: Message) -> None:
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
            if stream is None or header.type == MessageType.STREAM_HOLE:
                log.debug("%s: dropping stream packet for serial %d", self.name, header.serial)
                return
            stream.client_packet(header.status, message.body)
            return
        if header.type == MessageType.CALL_WITH_FDS:
            # fd passing is not served; libvirtd drops a client whose fds are missing
            log.warning("%s: call with fds (unsupported): closing", self.name)
            await self.close()
            return
        if header.type != MessageType.CALL:
            log.debug("%s: ignoring message of type %d", self.name, header.type)
            return
        if header.status != MessageStatus.OK:
            self._send_error(header, error(VIR_ERR_RPC,
                                           f"Unexpected message status {header.status}",
                                           domain=VIR_FROM_RPC))
            return
        await self._slots.acquire()
        self._start_call(header, message.body)

    def _start_call(self, header: Header, body: bytes) -> None:
        """Hand a call to a worker; the worker encodes the whole reply frame and the
        loop only writes it (one thread hop each way)."""
        proc = self.dispatcher.table.procedures.get(header.proc)
        pool = self.prio_workers if proc is not None and proc.high_priority else self.workers
        stream = self._open_stream(header) if proc is not None and proc.stream else None
        if stream is None and self.dispatcher.runs_inline(self.session, header.proc):
            frame, _, _ = self._run_call(header, body, None)
            self._slots.release()
            self._send(frame)
            return
        try:
            future = pool.submit(self._run_call, header, body, stream)
        except RuntimeError:            # pools shut down: the daemon is stopping
            self._slots.release()
            return
        self._calls.add(future)
        future.add_done_callback(self._call_done)

    def _run_call(self, header: Header, body: bytes, stream: WireStream | None
                  ) -> tuple[bytes, WireStream | None, bool]:
        """On a worker: dispatch and encode the reply frame."""
        try:
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
        self._slots.release()
        if future.cancelled():
            return
        frame, stream, ok = future.result()
        self._send(frame)
        if stream is not None:
            stream.opened() if ok else stream.failed()

    def _open_stream(self, header: Header) -> WireStream:
        stream = WireStream(header.prog, header.vers, header.proc, header.serial, self._send,
                            lambda fn: self.loop.call_soon_threadsafe(fn),
                            lambda s: self._streams.pop(s.serial, None))
        stream.backlog = lambda: self.writer.transport.get_write_buffer_size()
        self._streams[header.serial] = stream
        return stream

    def _keepalive_message(self, header: Header) -> None:
        if header.type != MessageType.MESSAGE:
            return
        if header.proc == KEEPALIVE_PING:
            self._send(encode_message(Header(KEEPALIVE_PROGRAM, KEEPALIVE_PROTOCOL_VERSION,
                                             KEEPALIVE_PONG, MessageType.MESSAGE, 0,
                                             MessageStatus.OK)))

    async def _keepalive(self) -> None:
        """Ping a client that asked for keepalive; drop it after too many silences."""
        interval = self._keepalive_interval
        if interval <= 0:
            return
        missed = 0
        while not self._closed:
            await asyncio.sleep(interval)
            if not self.session.keepalive:
                continue
            if time.monotonic() - self._last_heard < interval:
                missed = 0
                continue
            missed += 1
            if self._keepalive_count and missed > self._keepalive_count:
                log.warning("%s: no keepalive response, closing", self.name)
                await self.close()
                return
            self._send(encode_message(Header(KEEPALIVE_PROGRAM, KEEPALIVE_PROTOCOL_VERSION,
                                             KEEPALIVE_PING, MessageType.MESSAGE, 0,
                                             MessageStatus.OK)))

    # --- outgoing -----------------------------------------------------------------------
    def _send(self, frame: bytes) -> None:
        if self._closed or self.writer.is_closing():
            return
        self.writer.write(frame)
        if self.writer.transport.get_write_buffer_size() > _MAX_QUEUED_OUTPUT:
            # a client that reads nothing while events pile up: drop it, not the daemon
            log.warning("%s: more than %d bytes waiting to be read, closing", self.name,
                        _MAX_QUEUED_OUTPUT)
            self.writer.transport.abort()

    def _send_error(self, header: Header, err: BaseException) -> None:
        self._send(encode_message(header.reply(MessageStatus.ERROR), encode_error(err)))

    def _event_from_thread(self, proc: int, body: bytes) -> None:
        frame = encode_message(Header(REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION, proc,
                                      MessageType.MESSAGE, 0, MessageStatus.OK), body)
        try:
            self.loop.call_soon_threadsafe(self._send, frame)
        except RuntimeError:  # loop closed: the daemon is stopping
            pass
