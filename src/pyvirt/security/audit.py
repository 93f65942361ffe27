"""The audit log: one JSON line per mutating call, with who, what and the outcome.

A line::

    {"time": "2026-11-26T01:02:03.456789Z", "identity": {"uid": 0, "pid": 42,
     "user": "root", "transport": "unix"}, "procedure": "DOMAIN_CREATE",
     "object": {"type": "domain", "name": "vm1", "uuid": "…"},
     "outcome": "success"}                      # or "failure" with "error": {code, message}

Each line goes out in a single ``write()`` on an ``O_APPEND`` descriptor (under
an ``flock``), so concurrent writers never interleave and a crash leaves only
whole lines, at most the last one missing. :func:`is_mutating` says which
remote procedures count: everything but lookups, lists, gets and event
(de)registration. json, datetime and uuid are imported by the functions that
write a line: a daemon without an audit log never loads them.
"""

from __future__ import annotations

import fcntl
import os
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import datetime

_READ_ONLY_PREFIXES = ("CONNECT_LIST", "CONNECT_NUM_OF", "CONNECT_GET", "CONNECT_IS",
                       "CONNECT_SUPPORTS", "CONNECT_DOMAIN_EVENT", "CONNECT_NETWORK_EVENT",
                       "CONNECT_STORAGE_POOL_EVENT", "CONNECT_FIND", "CONNECT_BASELINE",
                       "CONNECT_COMPARE", "AUTH_", "NODE_GET", "NODE_LIST", "NODE_NUM_OF")
_READ_ONLY_WORDS = ("_LOOKUP_", "_GET_", "_LIST_", "_NUM_OF_", "_IS_", "_HAS_")
_READ_ONLY_EXACT = {"CONNECT_OPEN", "CONNECT_CLOSE", "CONNECT_REGISTER_CLOSE_CALLBACK",
                    "CONNECT_UNREGISTER_CLOSE_CALLBACK", "DOMAIN_SNAPSHOT_CURRENT",
                    "DOMAIN_OPEN_CONSOLE", "DOMAIN_SCREENSHOT", "CONNECT_EVENT_REGISTER_ANY"}


def is_mutating(procedure: str) -> bool:
    """Whether a remote procedure (``DOMAIN_CREATE``, ``REMOTE_PROC_…``) changes state."""
    name = procedure.upper().removeprefix("REMOTE_PROC_")
    if name in _READ_ONLY_EXACT or name.startswith(_READ_ONLY_PREFIXES):
        return False
    if any(word in f"_{name}_" for word in _READ_ONLY_WORDS):
        return False
    return not name.endswith(("_GET_XML_DESC", "_INFO", "_STATS"))


def record(procedure: str, identity: dict[str, Any], obj: dict[str, Any] | None,
           outcome: str, err: BaseException | None = None,
           when: datetime.datetime | None = None) -> dict[str, Any]:
    """The dict of one line (pure)."""
    import datetime
    stamp = (when or datetime.datetime.now(datetime.timezone.utc)).astimezone(
        datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    line: dict[str, Any] = {"time": stamp, "identity": dict(identity),
                            "procedure": procedure, "object": dict(obj or {}),
                            "outcome": outcome}
    if err is not None:
        code = getattr(err, "get_error_code", None)
        line["error"] = {"code": code() if callable(code) else None, "message": str(err)}
    return line


_OBJECT_KEYS = (("dom", "domain"), ("net", "network"), ("pool", "storage_pool"),
                ("vol", "storage_vol"), ("snap", "snapshot"))


def object_of(args: dict[str, Any]) -> dict[str, Any]:
    """The object a call acts on, from its decoded arguments (refs or dicts with
    ``name``/``uuid``); ``{}`` when it names none."""
    for key, kind in _OBJECT_KEYS:
        ref = args.get(key)
        if ref is None:
            continue
        get = ref.get if isinstance(ref, dict) else lambda a, r=ref: getattr(r, a, None)
        found: dict[str, Any] = {"type": kind}
        for attr in ("name", "uuid", "pool", "key"):
            value = get(attr)
            if isinstance(value, (bytes, bytearray)) and len(value) == 16:
                import uuid
                value = str(uuid.UUID(bytes=bytes(value)))
            if value is not None and not isinstance(value, (dict, list)):
                found[attr] = value if isinstance(value, (int, str)) else str(value)
        return found
    return {}


def identity_of(who: Any) -> dict[str, Any]:
    """The caller's identity as a dict, from the daemon's ``Identity`` (or any
    object or dict with ``pid``/``uid``/``gid``/``user``/``addr``/``dn``/``transport``)."""
    if who is None:
        return {}
    get = who.get if isinstance(who, dict) else lambda a: getattr(who, a, None)
    found = {}
    for attr in ("pid", "uid", "gid", "user", "addr", "dn", "transport"):
        value = get(attr)
        if value not in (None, "", -1):
            found[attr] = value if isinstance(value, (int, str)) else str(value)
    return found


def encode(line: dict[str, Any]) -> bytes:
    """One line of JSON, newline-terminated, with no newline inside."""
    import json
    return (json.dumps(line, sort_keys=True, separators=(",", ":"), default=str)
            + "\n").encode()


class AuditLog:
    """An append-only audit file (mode 0600).

    A line is in the file (the kernel's page cache) when :meth:`append` returns, so
    a killed daemon loses none; it reaches the disk by an fsync at most
    ``sync_delay`` seconds later (one fsync for every line written meanwhile:
    a sync per line would cost each audited call ~6 ms). ``sync_delay=0`` syncs
    every line before returning."""

    def __init__(self, path: str, sync_delay: float = 1.0) -> None:
        self.path = path
        self.sync_delay = sync_delay
        self._lock = threading.Lock()
        self._sync_timer: threading.Timer | None = None

    def append(self, line: dict[str, Any]) -> None:
        data = encode(line)
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC,
                         0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                written = os.write(fd, data)
                if written != len(data):
                    raise OSError(f"short write to audit log {self.path}")
                if self.sync_delay <= 0:
                    os.fsync(fd)
            finally:
                os.close(fd)
            if self.sync_delay > 0 and self._sync_timer is None:
                self._sync_timer = threading.Timer(self.sync_delay, self.sync)
                self._sync_timer.daemon = True
                self._sync_timer.start()

    def sync(self) -> None:
        """Make every line written so far durable (the timer's job; call at shutdown)."""
        with self._lock:
            timer, self._sync_timer = self._sync_timer, None
            if timer is not None:
                timer.cancel()
            try:
                fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                return
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def log_call(self, procedure: str, identity: dict[str, Any], obj: dict[str, Any] | None,
                 err: BaseException | None = None, *, mutating: bool | None = None) -> bool:
        """Append a line for a finished call when it mutates; True if written.

        The daemon calls this after each dispatch: ``err`` is the exception the
        call raised (None on success); ``mutating`` (the protocol table's own
        flag, when the caller has it) overrides :func:`is_mutating`."""
        if not (is_mutating(procedure) if mutating is None else mutating):
            return False
        self.append(record(procedure, identity, obj, "failure" if err else "success", err))
        return True

    def read(self) -> list[dict[str, Any]]:
        """Every whole line written so far (a torn last line is skipped)."""
        import json
        try:
            with open(self.path, "rb") as fh:
                raw = fh.read().split(b"\n")
        except FileNotFoundError:
            return []
        out = []
        for chunk in raw:
            if chunk:
                try:
                    out.append(json.loads(chunk))
                except ValueError:
                    continue
        return out
