"""The hosts the manager shows: one pyvirt connection per URI, opened lazily.

A host is addressed by its index in the ``--uri`` list (``/hosts/0/...``).
The opener is ``pyvirt.open`` (users-file mode, one shared connection per URI)
or a per-login ``openAuth`` with the user's credentials (daemon mode).
Every call goes through the public ``pyvirt`` API only.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable

import pyvirt


class UnknownHost(LookupError):
    """No host has this number (the page answers 404)."""


@dataclass
class Host:
    """One URI and its (lazily opened) connection."""

    index: int
    uri: str
    _conn: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    last_error: str | None = None
    opener: Callable[[str], Any] | None = None     # None: pyvirt.open

    @property
    def conn(self) -> "pyvirt.virConnect":
        """The open connection (opened on first use, reopened after close)."""
        with self._lock:
            if self._conn is None:
                try:
                    self._conn = (self.opener or pyvirt.open)(self.uri)
                except pyvirt.libvirtError as err:
                    self.last_error = str(err)
                    raise
                self.last_error = None
                try:
                    self._conn.registerCloseCallback(self._on_close, None)
                except pyvirt.libvirtError:
                    pass
            return self._conn

    def adopt(self, conn: Any) -> None:
        """Use ``conn`` (already open, e.g. by a login) as this host's connection."""
        with self._lock:
            self._conn, self.last_error = conn, None
        try:
            conn.registerCloseCallback(self._on_close, None)
        except pyvirt.libvirtError:
            pass

    def _on_close(self, conn: Any, reason: int, _opaque: Any) -> None:
        """A remote connection dropped: the next use opens a fresh one."""
        with self._lock:
            if self._conn is conn:
                self._conn = None
                self.last_error = f"connection closed (reason {reason})"

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.unregisterCloseCallback()
                conn.close()
            except pyvirt.libvirtError:
                pass


class HostList:
    """The configured hosts, in ``--uri`` order."""

    def __init__(self, uris: list[str],
                 opener: Callable[[str], Any] | None = None) -> None:
        self.hosts = [Host(i, uri, opener=opener) for i, uri in enumerate(uris)]

    def __iter__(self):
        return iter(self.hosts)

    def __len__(self) -> int:
        return len(self.hosts)

    def get(self, index: int | str) -> Host:
        try:
            number = int(index)
            if number < 0:
                raise IndexError(number)
            return self.hosts[number]
        except (ValueError, IndexError):
            raise UnknownHost(f"no host number '{index}' (this manager has "
                              f"{len(self.hosts)})") from None

    def close_all(self) -> None:
        for host in self.hosts:
            host.close()
