"""One client's state as the dispatcher sees it: its driver connection, whether
it is read-only, its event registrations. Owned by the daemon, used by
:mod:`pyvirt.remote.dispatch`."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from pyvirt.drivers.base import DriverConnection
from pyvirt.remote.access import AccessRules, Identity

log = logging.getLogger(__name__)

#: The entry point that drops a registration, per event family.
DEREGISTER = {"domain": "connect_domain_event_deregister_any",
              "network": "connect_network_event_deregister_any",
              "storage_pool": "connect_storage_pool_event_deregister_any"}


def _no_event(proc: int, body: bytes) -> None:
    """A closed session's event sender: events after the close go nowhere."""


@dataclass
class Session:
    """What the daemon knows about one client connection."""

    readonly: bool = False
    secure: bool = False                    # transport is unix socket or TLS
    send_event: Callable[[int, bytes], None] = _no_event
    conn: DriverConnection | None = None
    keepalive: bool = False                 # the client asked for feature 10
    close_callback: bool = False
    # (family, callback id) -> the table that registered it
    callbacks: dict[tuple[str, int], Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: who the client is (unix peer credentials, TLS DN, address) and the rules
    #: its calls are checked against (None: no access control, libvirt's default)
    identity: Identity = field(default_factory=Identity)
    access: AccessRules | None = None

    def close(self) -> None:
        """Drop event registrations and the driver connection (idempotent)."""
        with self.lock:
            conn, self.conn = self.conn, None
            callbacks, self.callbacks = self.callbacks, {}
            # the sender is the client connection's bound method: dropping it breaks
            # the client -> session -> client cycle (freed at once, no collector run)
            self.send_event = _no_event
        for (family, callback_id), table in callbacks.items():
            try:
                getattr(table, DEREGISTER[family])(callback_id)
            except Exception:  # the connection goes anyway
                log.debug("deregistering %s callback %d failed", family, callback_id)
        if conn is not None:
            conn.close()
