"""The event loop: libvirt's default implementation and the pluggable impl.

``virEventRegisterDefaultImpl()`` installs :class:`DefaultEventLoop` (poll over
file handles plus timers, like libvirt's ``vireventglib``-free default impl);
``virEventRegisterImpl(...)`` installs an application's six functions instead.
``virEventRunDefaultImpl()`` runs one iteration: it blocks until a handle is
ready, a timer is due, or another thread changes the loop (a wake-up pipe).

Driver events reach applications through :class:`EventDispatchQueue`: a driver
sink pushes a delivery from any thread, the queue arms a zero timer in the
registered impl, and the loop thread delivers - so callbacks always run inside
``virEventRunDefaultImpl()`` (or the application's own loop), never in the
driver's thread.
"""

from __future__ import annotations

import os
import select
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable

from pyvirt.constants import (VIR_EVENT_HANDLE_ERROR, VIR_EVENT_HANDLE_HANGUP,
                              VIR_EVENT_HANDLE_READABLE, VIR_EVENT_HANDLE_WRITABLE)
from pyvirt.errors import VIR_ERR_INTERNAL_ERROR, error

_TO_POLL = ((VIR_EVENT_HANDLE_READABLE, select.POLLIN),
            (VIR_EVENT_HANDLE_WRITABLE, select.POLLOUT),
            (VIR_EVENT_HANDLE_ERROR, select.POLLERR),
            (VIR_EVENT_HANDLE_HANGUP, select.POLLHUP))


def _poll_mask(events: int) -> int:
    return sum(p for v, p in _TO_POLL if events & v)


def _vir_events(revents: int) -> int:
    return sum(v for v, p in _TO_POLL if revents & p)


@dataclass
class _Handle:
    fd: int
    events: int
    cb: Callable[..., Any]
    opaque: Any
    ff: Callable[[Any], Any] | None


@dataclass
class _Timer:
    interval: int          # ms; -1 disabled, 0 every iteration
    due: float             # monotonic seconds
    cb: Callable[..., Any]
    opaque: Any
    ff: Callable[[Any], Any] | None


class DefaultEventLoop:
    """Handles and timers served by ``poll``; safe to change from any thread."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._handles: dict[int, _Handle] = {}
        self._timers: dict[int, _Timer] = {}
        self._next_watch = 1
        self._next_timer = 1
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)

    # --- handles -------------------------------------------------------------
    def add_handle(self, fd: int, events: int, cb: Callable[..., Any], opaque: Any,
                   ff: Callable[[Any], Any] | None = None) -> int:
        with self._lock:
            watch = self._next_watch
            self._next_watch += 1
            self._handles[watch] = _Handle(fd, events, cb, opaque, ff)
        self.wake()
        return watch

    def update_handle(self, watch: int, events: int) -> None:
        with self._lock:
            handle = self._handles.get(watch)
            if handle is not None:
                handle.events = events
        self.wake()

    def remove_handle(self, watch: int) -> int:
        with self._lock:
            handle = self._handles.pop(watch, None)
        if handle is None:
            return -1
        if handle.ff is not None:
            handle.ff(handle.opaque)
        self.wake()
        return 0

    # --- timers --------------------------------------------------------------
    def add_timeout(self, timeout: int, cb: Callable[..., Any], opaque: Any,
                    ff: Callable[[Any], Any] | None = None) -> int:
        with self._lock:
            timer = self._next_timer
            self._next_timer += 1
            self._timers[timer] = _Timer(timeout, self._due(timeout), cb, opaque, ff)
        self.wake()
        return timer

    def update_timeout(self, timer: int, timeout: int) -> None:
        with self._lock:
            entry = self._timers.get(timer)
            if entry is not None:
                entry.interval = timeout
                entry.due = self._due(timeout)
        self.wake()

    def remove_timeout(self, timer: int) -> int:
        with self._lock:
            entry = self._timers.pop(timer, None)
        if entry is None:
            return -1
        if entry.ff is not None:
            entry.ff(entry.opaque)
        self.wake()
        return 0

    @staticmethod
    def _due(timeout: int) -> float:
        return time.monotonic() + max(timeout, 0) / 1000.0

    # --- running -------------------------------------------------------------
    def wake(self) -> None:
        """Interrupt a blocked :meth:`run_once` (from any thread)."""
        try:
            os.write(self._wake_w, b"\0")
        except BlockingIOError:
            pass

    def _poll_timeout_ms(self) -> int | None:
        dues = [t.due for t in self._timers.values() if t.interval >= 0]
        if not dues:
            return None
        return max(0, int((min(dues) - time.monotonic()) * 1000 + 0.999))

    def run_once(self) -> None:
        """One iteration: wait, then run due timers and ready handles."""
        poller = select.poll()
        poller.register(self._wake_r, select.POLLIN)
        with self._lock:
            watches = {}
            for watch, handle in self._handles.items():
                mask = _poll_mask(handle.events)
                if mask:
                    poller.register(handle.fd, mask)
                    watches.setdefault(handle.fd, []).append(watch)
            timeout = self._poll_timeout_ms()
        ready = poller.poll(timeout)
        self._drain_wake()
        self._run_timers()
        for fd, revents in ready:
            if fd == self._wake_r:
                continue
            for watch in watches.get(fd, ()):
                with self._lock:
                    handle = self._handles.get(watch)
                if handle is not None:
                    handle.cb(watch, fd, _vir_events(revents), handle.opaque)

    def _drain_wake(self) -> None:
        try:
            while os.read(self._wake_r, 512):
                pass
        except BlockingIOError:
            pass

    def _run_timers(self) -> None:
        now = time.monotonic()
        with self._lock:
            due = [(timer, entry) for timer, entry in self._timers.items()
                   if entry.interval >= 0 and entry.due <= now]
            for _timer, entry in due:
                entry.due = now + entry.interval / 1000.0
        for timer, entry in due:
            entry.cb(timer, entry.opaque)


@dataclass
class EventImpl:
    """The six functions of an event implementation (virEventRegisterImpl)."""

    add_handle: Callable[..., int]
    update_handle: Callable[..., Any]
    remove_handle: Callable[..., int]
    add_timeout: Callable[..., int]
    update_timeout: Callable[..., Any]
    remove_timeout: Callable[..., int]


_impl: EventImpl | None = None
_default_loop: DefaultEventLoop | None = None


def current_impl() -> EventImpl | None:
    return _impl


def default_loop() -> DefaultEventLoop | None:
    """The default loop, once ``virEventRegisterDefaultImpl()`` has created it."""
    return _default_loop


def virEventRegisterDefaultImpl() -> int:  # noqa: N802 - libvirt-python's name
    """Install (once) the default poll-based loop as the event implementation."""
    global _impl, _default_loop
    if _default_loop is None:
        _default_loop = DefaultEventLoop()
    loop = _default_loop
    _impl = EventImpl(loop.add_handle, loop.update_handle, loop.remove_handle,
                      loop.add_timeout, loop.update_timeout, loop.remove_timeout)
    return 0


def virEventRegisterImpl(addHandle, updateHandle, removeHandle,  # noqa: N802,N803
                         addTimeout, updateTimeout, removeTimeout) -> None:  # noqa: N803
    """Install an application's event implementation (six callables)."""
    global _impl
    _impl = EventImpl(addHandle, updateHandle, removeHandle,
                      addTimeout, updateTimeout, removeTimeout)


def virEventRunDefaultImpl() -> int:  # noqa: N802
    """Run one iteration of the default loop; -1 if it is not registered."""
    if _default_loop is None:
        raise error(VIR_ERR_INTERNAL_ERROR, "the default event loop is not registered")
    _default_loop.run_once()
    return 0


def _require_impl() -> EventImpl:
    if _impl is None:
        raise error(VIR_ERR_INTERNAL_ERROR, "no event implementation registered")
    return _impl


def virEventAddHandle(fd: int, events: int, cb: Callable[..., Any],  # noqa: N802
                      opaque: Any) -> int:
    """Watch ``fd`` for ``events``; ``cb(watch, fd, events, opaque)``."""
    return _require_impl().add_handle(fd, events, cb, opaque)


def virEventUpdateHandle(watch: int, events: int) -> None:  # noqa: N802
    _require_impl().update_handle(watch, events)


def virEventRemoveHandle(watch: int) -> int:  # noqa: N802
    ret = _require_impl().remove_handle(watch)
    if ret is not None and ret < 0:
        raise error(VIR_ERR_INTERNAL_ERROR, "virEventRemoveHandle() failed")
    return 0


def virEventAddTimeout(timeout: int, cb: Callable[..., Any], opaque: Any) -> int:  # noqa: N802
    """A timer firing every ``timeout`` ms (0: every iteration, -1: disabled)."""
    return _require_impl().add_timeout(timeout, cb, opaque)


def virEventUpdateTimeout(timer: int, timeout: int) -> None:  # noqa: N802
    _require_impl().update_timeout(timer, timeout)


def virEventRemoveTimeout(timer: int) -> int:  # noqa: N802
    ret = _require_impl().remove_timeout(timer)
    if ret is not None and ret < 0:
        raise error(VIR_ERR_INTERNAL_ERROR, "virEventRemoveTimeout() failed")
    return 0


def virEventInvokeFreeCallback(opaque: Any) -> None:  # noqa: N802
    """libvirt-python's hook for custom impls; nothing to free here."""


def _eventInvokeHandleCallback(watch: int, fd: int, event: int, opaque: Any,  # noqa: N802
                               opaquecompat: Any = None) -> None:
    """For custom impls written against libvirt-python: the callback is a plain callable."""
    cb, data = opaque if isinstance(opaque, tuple) and len(opaque) == 2 else (None, None)
    if cb is not None:
        cb(watch, fd, event, data)


def _eventInvokeTimeoutCallback(timer: int, opaque: Any,  # noqa: N802
                                opaquecompat: Any = None) -> None:
    cb, data = opaque if isinstance(opaque, tuple) and len(opaque) == 2 else (None, None)
    if cb is not None:
        cb(timer, data)


class EventDispatchQueue:
    """Deliveries pushed by driver sinks, run by the event loop through one timer.

    Created when a connection registers its first event callback; creating it
    fails like libvirt ("could not initialize domain event timer") when no
    event implementation is registered.
    """

    def __init__(self) -> None:
        impl = _impl
        if impl is None:
            raise error(VIR_ERR_INTERNAL_ERROR, "could not initialize domain event timer")
        self._impl = impl
        self._lock = threading.Lock()
        self._pending: deque[Callable[[], Any]] = deque()
        self._timer = impl.add_timeout(-1, self._flush, None)
        if self._timer is None or self._timer < 0:
            raise error(VIR_ERR_INTERNAL_ERROR, "could not initialize domain event timer")

    def push(self, delivery: Callable[[], Any]) -> None:
        """Queue one callback invocation (any thread); the loop runs it soon."""
        with self._lock:
            self._pending.append(delivery)
        self._impl.update_timeout(self._timer, 0)

    def _flush(self, _timer: int, _opaque: Any) -> None:
        self._impl.update_timeout(self._timer, -1)
        while True:
            with self._lock:
                if not self._pending:
                    return
                delivery = self._pending.popleft()
            try:
                delivery()
            except Exception:  # an application callback failed: report, keep going
                import traceback  # only when a callback fails
                traceback.print_exc(file=sys.stderr)

    def close(self) -> None:
        self._impl.remove_timeout(self._timer)
