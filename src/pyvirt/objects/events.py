"""Event subscriptions: who wants which events, and delivery to their sinks.

A driver state owns one :class:`EventBroker` per object family; connections
register sinks (``sink(event_id, ref, *payload)``) and get a callback id.
Events are delivered after the driver has released its locks, in the order
they were queued.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterator


Sink = Callable[..., None]


@dataclass(frozen=True)
class Subscription:
    callback_id: int
    event_id: int
    uuid: bytes | None       # only events about this object; None for all
    sink: Sink
    owner: Any               # the connection that registered it


class EventBroker:
    """Subscriptions of one family (domain, network or pool) and a queue of events."""

    def __init__(self, ids: Iterator[int] | None = None) -> None:
        """``ids`` hands out callback ids; brokers given the same one share a
        numbering (libvirt numbers domain, network and pool callbacks of a driver
        from one counter). By default each broker counts from 0."""
        self._lock = threading.Lock()
        self._subs: dict[int, Subscription] = {}
        self._ids = ids if ids is not None else itertools.count()
        self._queue: list[tuple[int, Any, tuple[Any, ...]]] = []
        self._flushing = threading.RLock()   # a sink may call back into the driver

    def register(self, event_id: int, uuid: bytes | None, sink: Sink, owner: Any) -> int:
        with self._lock:
            callback_id = next(self._ids)
            self._subs[callback_id] = Subscription(callback_id, event_id, uuid, sink, owner)
            return callback_id

    def deregister(self, callback_id: int, owner: Any = None) -> bool:
        with self._lock:
            sub = self._subs.get(callback_id)
            if sub is None or (owner is not None and sub.owner is not owner):
                return False
            del self._subs[callback_id]
            return True

    def deregister_owner(self, owner: Any) -> None:
        with self._lock:
            for cid in [c for c, s in self._subs.items() if s.owner is owner]:
                del self._subs[cid]

    def queue(self, event_id: int, ref: Any, *payload: Any) -> None:
        """Queue an event about ``ref`` (which has a ``uuid``) for delivery to the
        callbacks registered when it is flushed (dropped at once while none is)."""
        with self._lock:
            if self._subs:
                self._queue.append((event_id, ref, payload))

    def flush(self) -> None:
        """Deliver queued events to matching sinks, oldest first."""
        if not self._queue and not self._subs:  # nothing to deliver, nobody to wait for
            return
        with self._flushing:
            while True:
                with self._lock:
                    if not self._queue:
                        return
                    event_id, ref, payload = self._queue.pop(0)
                    subs = [s for s in self._subs.values()
                            if s.event_id == event_id
                            and (s.uuid is None or s.uuid == getattr(ref, "uuid", None))]
                for sub in subs:
                    try:
                        sub.sink(event_id, ref, *payload)
                    except Exception:  # a broken callback must not break the driver
                        import logging  # loaded when a callback first fails
                        logging.getLogger(__name__).exception(
                            "event callback %d failed", sub.callback_id)
