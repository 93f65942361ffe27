"""Lifecycle events from pyvirt, fanned out to WebSocket subscribers.

One thread runs pyvirt's default event loop (``virEventRunDefaultImpl``);
each host gets one ``domainEventRegisterAny(LIFECYCLE)`` registration, and
its callback hands each event to every subscriber's asyncio queue at once.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any

import pyvirt

from .hosts import Host
from .states import EVENT_NAMES, state_class, state_name

_loop_lock = threading.Lock()
_loop_thread: threading.Thread | None = None


def ensure_event_loop() -> None:
    """Register pyvirt's default event implementation and run it in a daemon thread."""
    global _loop_thread
    with _loop_lock:
        if _loop_thread is not None:
            return
        pyvirt.virEventRegisterDefaultImpl()

        def run() -> None:
            while True:
                pyvirt.virEventRunDefaultImpl()

        _loop_thread = threading.Thread(target=run, name="pyvirt-web-events", daemon=True)
        _loop_thread.start()


@dataclass(eq=False)
class Subscriber:
    """One WebSocket's inbox: messages for the hosts it watches."""

    hosts: frozenset[int]
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)

    def deliver(self, message: dict[str, Any]) -> None:
        """Queue ``message`` from any thread."""
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, message)
        except RuntimeError:          # the subscriber's loop has closed
            pass


class EventHub:
    """Subscribers by host, and the per-host lifecycle registrations."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watch_lock = threading.Lock()
        self._subscribers: set[Subscriber] = set()
        self._registered: dict[int, tuple[Any, int]] = {}   # host -> (conn, callback id)

    def subscribe(self, sub: Subscriber) -> None:
        with self._lock:
            self._subscribers.add(sub)

    def unsubscribe(self, sub: Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(sub)

    def subscribers_of(self, host: int) -> list[Subscriber]:
        with self._lock:
            return [s for s in self._subscribers if host in s.hosts]

    def publish(self, host: int, message: dict[str, Any]) -> None:
        for sub in self.subscribers_of(host):
            sub.deliver(message)

    def watch(self, host: Host) -> None:
        """Register for ``host``'s lifecycle events (once per connection)."""
        with self._watch_lock:                  # one registration, however many sockets
            conn = host.conn
            with self._lock:
                known = self._registered.get(host.index)
                if known is not None and known[0] is conn:
                    return
            ensure_event_loop()
            callback_id = conn.domainEventRegisterAny(
                None, pyvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._on_lifecycle, host.index)
            with self._lock:
                self._registered[host.index] = (conn, callback_id)

    def unwatch_all(self) -> None:
        with self._lock:
            registered, self._registered = self._registered, {}
        for conn, callback_id in registered.values():
            try:
                conn.domainEventDeregisterAny(callback_id)
            except pyvirt.libvirtError:
                pass

    def _on_lifecycle(self, _conn: Any, dom: Any, event: int, detail: int,
                      host_index: int) -> None:
        message = lifecycle_message(host_index, dom, event, detail)
        self.publish(host_index, message)


def lifecycle_message(host_index: int, dom: Any, event: int, detail: int) -> dict[str, Any]:
    """The JSON pushed for one lifecycle event (the state read back at once)."""
    message: dict[str, Any] = {"type": "lifecycle", "host": host_index, "domain": dom.name(),
                               "event": EVENT_NAMES.get(event, str(event)),
                               "detail": detail}
    if event == pyvirt.VIR_DOMAIN_EVENT_UNDEFINED:
        message.update(state="undefined", state_class="gone")
        return message
    try:
        state = dom.state()[0]
        message.update(state=state_name(state), state_class=state_class(state))
    except pyvirt.libvirtError:
        message.update(state="undefined", state_class="gone")
    return message
