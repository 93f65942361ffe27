"""The QMP monitor: an async core over ``qemu.qmp`` and a sync facade.

``AsyncMonitor`` owns one ``qemu.qmp.QMPClient``: it connects (optionally
racing an "abort" future such as the QEMU process exiting), executes commands,
dispatches events to callbacks and notices end-of-file once, whether expected
(after ``quit`` or a guest power-off) or not. ``Monitor`` is the synchronous
facade the driver uses: the same object run on the shared :class:`LoopThread`;
it is not a second client.

Errors are ``libvirtError`` with ``VIR_FROM_QEMU``:

- a command QEMU rejects: ``internal error: unable to execute QEMU command
  'NAME': DESC`` (VIR_ERR_INTERNAL_ERROR; ``.qmp_class`` holds QEMU's class);
- any command after end-of-file: ``internal error: End of file from qemu
  monitor (vm='NAME')`` (VIR_ERR_INTERNAL_ERROR, as libvirt's qemuMonitorSend);
- connecting failed: VIR_ERR_INTERNAL_ERROR naming the socket and the cause.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import socket
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Iterable, Mapping

from qemu.qmp import EventListener, ExecInterruptedError, ExecuteError, QMPClient, QMPError
from qemu.qmp.protocol import Runstate

from pyvirt.drivers.qemu.loop import LoopThread
from pyvirt.errors import (VIR_ERR_INTERNAL_ERROR, VIR_ERR_OPERATION_INVALID, VIR_ERR_OPERATION_TIMEOUT,
                           VIR_FROM_QEMU, error, libvirtError)

log = logging.getLogger(__name__)

# qemu.qmp logs EOF after quit/power-off at INFO/ERROR; that is our normal path.
logging.getLogger("qemu.qmp").setLevel(logging.CRITICAL)

#: ``callback(event_name, data, timestamp)``; timestamp is seconds (float).
EventCallback = Callable[[str, dict, float], None]
#: ``callback(cause)``: None when the end was expected (close(), quit).
EofCallback = Callable[["BaseException | None"], None]


class MonitorState(enum.Enum):
    """Where the monitor connection is: IDLE → CONNECTING → READY → CLOSED."""

    IDLE = "idle"
    CONNECTING = "connecting"
    READY = "ready"
    CLOSED = "closed"


@dataclass
class _Subscription:
    callback: EventCallback
    names: frozenset[str] | None  # None: every event


class _DispatchListener(EventListener):
    """A listener that hands each event to callbacks and queues nothing."""

    def __init__(self, dispatch: Callable[[Mapping[str, Any]], None]) -> None:
        super().__init__()
        self._dispatch = dispatch

    def accept(self, event: Any) -> bool:
        self._dispatch(event)
        return False


def _timestamp(event: Mapping[str, Any]) -> float:
    ts = event.get("timestamp") or {}
    return float(ts.get("seconds", 0)) + float(ts.get("microseconds", 0)) / 1e6


@dataclass
class AsyncMonitor:
    """One QMP connection, async. Use from the loop that created it."""

    vm_name: str = ""
    state: MonitorState = MonitorState.IDLE
    greeting: Mapping[str, Any] | None = None
    _subs: list[_Subscription] = field(default_factory=list)
    _eof_callbacks: list[EofCallback] = field(default_factory=list)
    _client: QMPClient | None = None
    _expect_eof: bool = False
    _eof_cause: BaseException | None = None
    _watch: asyncio.Task | None = None
    _disconnecting: asyncio.Future | None = None

    # --- connection -------------------------------------------------------
    async def connect(self, address: str | socket.socket, timeout: float = 30.0,
                      abort: Awaitable[Any] | None = None) -> None:
        """Connect and negotiate; fail early if ``abort`` completes first."""
        if self.state is not MonitorState.IDLE:
            raise error(VIR_ERR_OPERATION_INVALID, "monitor is already connected",
                        domain=VIR_FROM_QEMU)
        self.state = MonitorState.CONNECTING
        client = QMPClient(self.vm_name or None)
        client.events.names = {"\0none"}   # the default listener would keep every event
        client.register_listener(_DispatchListener(self._dispatch))
        where = address if isinstance(address, str) else "fd socket"
        connecting = asyncio.ensure_future(client.connect(address))
        waits: set[Any] = {connecting}
        aborting = asyncio.ensure_future(abort) if abort is not None else None
        if aborting is not None:
            waits.add(aborting)
        done, _ = await asyncio.wait(waits, timeout=timeout,
                                     return_when=asyncio.FIRST_COMPLETED)
        if connecting not in done:
            connecting.cancel()
            await asyncio.gather(connecting, return_exceptions=True)
            self.state = MonitorState.CLOSED
            why = ("QEMU exited before the monitor answered" if aborting in done
                   else f"no QMP greeting within {timeout} s")
            raise error(VIR_ERR_INTERNAL_ERROR,
                        f"failed to connect to monitor socket {where}: {why}",
                        domain=VIR_FROM_QEMU)
        try:
            connecting.result()
        except QMPError as err:
            self.state = MonitorState.CLOSED
            cause = getattr(err, "exc", err)
            raise error(VIR_ERR_INTERNAL_ERROR,
                        f"failed to connect to monitor socket {where}: {cause}",
                        domain=VIR_FROM_QEMU) from err
        self._client = client
        self.greeting = dict(client.greeting._asdict()) if client.greeting else None
        self.state = MonitorState.READY
        self._watch = asyncio.get_running_loop().create_task(self._watch_eof())

    async def _disconnect(self) -> BaseException | None:
        """Disconnect exactly once, whoever asks first (EOF watcher or close());
        returns what ended the connection, if it was an error."""
        if self._disconnecting is None:
            self._disconnecting = asyncio.ensure_future(self._do_disconnect())
        return await asyncio.shield(self._disconnecting)

    async def _do_disconnect(self) -> BaseException | None:
        assert self._client is not None
        try:
            await self._client.disconnect()
        except (EOFError, OSError, QMPError) as err:
            return err
        return None

    async def _watch_eof(self) -> None:
        client = self._client
        assert client is not None
        while client.runstate is Runstate.RUNNING:
            await client.runstate_changed()
        cause = await self._disconnect()
        self.state = MonitorState.CLOSED
        self._eof_cause = None if self._expect_eof else (cause or EOFError("monitor closed"))
        log.debug("monitor of %r closed (cause: %r)", self.vm_name, self._eof_cause)
        for callback in list(self._eof_callbacks):
            try:
                callback(self._eof_cause)
            except Exception:  # noqa: BLE001 - one bad callback must not stop the rest
                log.exception("monitor EOF callback failed")

    async def close(self) -> None:
        """Disconnect (an expected end: EOF callbacks get ``None``)."""
        self._expect_eof = True
        if self._client is not None:
            await self._disconnect()
        if self._watch is not None:
            await asyncio.gather(self._watch, return_exceptions=True)
        self.state = MonitorState.CLOSED

    # --- commands ---------------------------------------------------------
    async def execute(self, cmd: str, args: Mapping[str, Any] | None = None,
                      timeout: float | None = None) -> Any:
        """Run one QMP command and return its ``return`` value."""
        if self.state is not MonitorState.READY or self._client is None \
                or self._client.runstate is not Runstate.RUNNING:
            raise self._eof_error()
        if cmd == "quit":
            self._expect_eof = True
        try:
            return await asyncio.wait_for(self._client.execute(cmd, args), timeout)
        except ExecuteError as err:
            exc = error(VIR_ERR_INTERNAL_ERROR,
                        f"unable to execute QEMU command '{cmd}': {err}",
                        domain=VIR_FROM_QEMU)
            exc.qmp_class = err.error_class  # type: ignore[attr-defined]
            raise exc from err
        except ExecInterruptedError as err:
            if cmd == "quit":
                return {}
            raise self._eof_error() from err
        except asyncio.TimeoutError:
            raise error(VIR_ERR_OPERATION_TIMEOUT,
                        f"QEMU command '{cmd}' got no reply within {timeout} s",
                        domain=VIR_FROM_QEMU) from None

    async def pass_fd(self, name: str, fd: int, timeout: float | None = None) -> None:
        """Hand ``fd`` to QEMU (SCM_RIGHTS) and name it ``name`` with ``getfd``, as
        libvirt does for a migration to a file; QEMU gets its own copy."""
        if self.state is not MonitorState.READY or self._client is None \
                or self._client.runstate is not Runstate.RUNNING:
            raise self._eof_error()
        try:
            self._client.send_fd_scm(fd)
        except (OSError, QMPError) as err:
            raise error(VIR_ERR_INTERNAL_ERROR, f"unable to pass a file descriptor to QEMU: "
                        f"{err}", domain=VIR_FROM_QEMU) from err
        await self.execute("getfd", {"fdname": name}, timeout)

    def _eof_error(self) -> libvirtError:
        return error(VIR_ERR_INTERNAL_ERROR,
                     f"End of file from qemu monitor (vm='{self.vm_name}')",
                     domain=VIR_FROM_QEMU)

    # --- events -----------------------------------------------------------
    def add_event_callback(self, callback: EventCallback,
                           names: Iterable[str] | str | None = None) -> _Subscription:
        """Call ``callback(name, data, timestamp)`` for events (all, or ``names``)."""
        if isinstance(names, str):
            names = [names]
        sub = _Subscription(callback, frozenset(names) if names is not None else None)
        self._subs.append(sub)
        return sub

    def remove_event_callback(self, sub: _Subscription) -> None:
        self._subs.remove(sub)

    def add_eof_callback(self, callback: EofCallback) -> None:
        """Call ``callback(cause)`` once when the connection ends."""
        self._eof_callbacks.append(callback)

    def expect_eof(self) -> None:
        """Mark the coming end-of-file as expected (QEMU is being stopped)."""
        self._expect_eof = True

    def _dispatch(self, event: Mapping[str, Any]) -> None:
        name = str(event.get("event"))
        data = dict(event.get("data") or {})
        stamp = _timestamp(event)
        if name == "SHUTDOWN":
            self._expect_eof = True  # QEMU is going away on purpose
        for sub in list(self._subs):
            if sub.names is None or name in sub.names:
                try:
                    sub.callback(name, data, stamp)
                except Exception:  # noqa: BLE001
                    log.exception("QMP event callback for %s failed", name)


class Monitor:
    """Synchronous facade over :class:`AsyncMonitor`, run on a :class:`LoopThread`.

    Callbacks run on the loop thread: keep them short, never call back into
    ``Monitor`` methods from them (that would wait on the thread they run on).
    """

    def __init__(self, vm_name: str = "", loop: LoopThread | None = None,
                 timeout: float = 30.0) -> None:
        self.loop = loop or LoopThread.shared()
        self.timeout = timeout
        self.core = AsyncMonitor(vm_name)

    @classmethod
    def open(cls, address: str | socket.socket, vm_name: str = "", *,
             loop: LoopThread | None = None, timeout: float = 30.0,
             abort: "asyncio.Future[Any] | None" = None) -> "Monitor":
        """Connect to QEMU's QMP socket and return a ready monitor."""
        mon = cls(vm_name, loop, timeout)
        mon.loop.run(mon.core.connect(address, timeout, abort), timeout + 5,
                     "connecting to the QEMU monitor")
        return mon

    @property
    def state(self) -> MonitorState:
        return self.core.state

    @property
    def greeting(self) -> Mapping[str, Any] | None:
        return self.core.greeting

    def execute(self, cmd: str, args: Mapping[str, Any] | None = None,
                timeout: float | None = None) -> Any:
        limit = timeout if timeout is not None else self.timeout
        return self.loop.run(self.core.execute(cmd, args, limit), limit + 5,
                             f"QEMU command '{cmd}'")

    def pass_fd(self, name: str, fd: int) -> None:
        """``getfd`` with ``fd`` attached: QEMU knows it as ``name`` (``fd:NAME``)."""
        self.loop.run(self.core.pass_fd(name, fd, self.timeout), self.timeout + 5,
                      "passing a file descriptor to QEMU")

    def add_event_callback(self, callback: EventCallback,
                           names: Iterable[str] | str | None = None) -> _Subscription:
        return self.core.add_event_callback(callback, names)

    def remove_event_callback(self, sub: _Subscription) -> None:
        self.core.remove_event_callback(sub)

    def add_eof_callback(self, callback: EofCallback) -> None:
        self.core.add_eof_callback(callback)

    def expect_eof(self) -> None:
        self.core.expect_eof()

    def close(self) -> None:
        if self.core.state is MonitorState.CLOSED:
            return
        self.loop.run(self.core.close(), self.timeout, "closing the QEMU monitor")
