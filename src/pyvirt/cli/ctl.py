"""The shell's state (vshControl): connection, output, and virsh's lookups.

Handlers receive a :class:`Ctl` and an :class:`~pyvirt.cli.parser.Invocation`;
they return ``True`` on success or raise :class:`CommandFailed`, whose lines
are printed as ``error: ...`` followed by the libvirt error's message.
"""

from __future__ import annotations

import re
import sys
import threading
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, TextIO

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
                     r"[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")


def _quiet_error_handler(_ctx, _err) -> None:
    return None


_EVENT_LOOP: list[threading.Thread] = []


def start_event_loop(lv: ModuleType) -> None:
    """virsh runs the default event loop in a thread from the start; so do we.
    Registered before the connection opens, as libvirt-python requires."""
    if _EVENT_LOOP or not hasattr(lv, "virEventRegisterDefaultImpl"):
        return
    lv.virEventRegisterDefaultImpl()

    def run() -> None:
        while True:
            lv.virEventRunDefaultImpl()

    thread = threading.Thread(target=run, name="pyvirsh-event-loop", daemon=True)
    _EVENT_LOOP.append(thread)
    thread.start()


class CommandFailed(Exception):
    """A handler's failure: virsh's own line, then the libvirt error (if any)."""

    def __init__(self, message: str | None, cause: Exception | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.cause = cause

    def lines(self) -> list[str]:
        out = [self.message] if self.message else []
        if self.cause is not None:
            get = getattr(self.cause, "get_error_message", None)
            out.append(get() if get else str(self.cause))
        return out


@dataclass
class Ctl:
    """One shell session: options from the command line and the connection."""

    binding: ModuleType
    uri: str | None = None
    readonly: bool = False
    quiet: bool = False
    timing: bool = False
    debug: int = -1
    escape: str = "^]"
    imode: bool = False
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    conn: Any = None
    keepalive: tuple[int, int] | None = None   # (interval, count) when -k/-K given

    # --- output ---------------------------------------------------------------
    def print(self, text: str) -> None:
        """vshPrint: always shown."""
        self.out.write(text)

    def print_extra(self, text: str) -> None:
        """vshPrintExtra: hidden by --quiet."""
        if not self.quiet:
            self.out.write(text)

    def call(self, failure: str | None, fn: Any, *args: Any) -> Any:
        """Run an API call; a libvirtError fails the command with ``failure`` then
        the error's message, as virsh reports it."""
        try:
            return fn(*args)
        except self.binding.libvirtError as err:
            raise CommandFailed(failure, err) from err

    def error(self, message: str) -> None:
        """vshError: ``error: message`` on stderr."""
        self.out.flush()
        self.err.write(f"error: {message}\n")
        self.err.flush()

    # --- connection -----------------------------------------------------------
    def connect(self) -> None:
        """Open the connection, read-only with --readonly, as virsh does."""
        if self.conn is not None:
            return
        lv = self.binding
        if hasattr(lv, "registerErrorHandler"):
            # virsh reports errors itself; silence the binding's default printer.
            lv.registerErrorHandler(_quiet_error_handler, None)
        start_event_loop(lv)
        # virsh opens with its default auth callback: a SASL daemon's credentials come
        # from auth.conf, else are asked for on the terminal
        from pyvirt.api._clientconf import default_auth
        flags = lv.VIR_CONNECT_RO if self.readonly else 0
        self.conn = lv.openAuth(self.uri, default_auth(), flags)
        if self.keepalive is not None:
            try:
                self.conn.setKeepAlive(*self.keepalive)
            except lv.libvirtError:
                self.error("Cannot setup keepalive on connection as requested, disconnecting")
                self.close()
                raise

    def connect_or_report(self) -> bool:
        """:meth:`connect`; on failure virsh's two error lines and False."""
        try:
            self.connect()
        except self.binding.libvirtError as err:
            self.error("failed to connect to the hypervisor")
            self.error(err.get_error_message())
            return False
        return True

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except self.binding.libvirtError:
                pass
            self.conn = None

    # --- lookups (virshCommandOpt*By) ---------------------------------------
    def domain(self, inv, opt: str = "domain"):
        """Find a domain by id, then uuid, then name; virsh shows no detail."""
        text = inv.get(opt)
        lv = self.binding
        tries = []
        if text.isdigit() and int(text) >= 0 and len(text) < 10:
            tries.append(lambda: self.conn.lookupByID(int(text)))
        if UUID_RE.match(text):
            tries.append(lambda: self.conn.lookupByUUIDString(text))
        tries.append(lambda: self.conn.lookupByName(text))
        for attempt in tries:
            try:
                return attempt()
            except lv.libvirtError:
                continue
        raise CommandFailed(f"failed to get domain '{text}'")

    def network(self, inv, opt: str = "network"):
        """Find a network by uuid, then name; the name lookup's error is shown."""
        text = inv.get(opt)
        return self._by_uuid_then_name(text, self.conn.networkLookupByUUIDString,
                                       self.conn.networkLookupByName,
                                       f"failed to get network '{text}'")

    def pool(self, inv, opt: str = "pool"):
        """Find a storage pool by uuid, then name."""
        text = inv.get(opt)
        return self._by_uuid_then_name(text, self.conn.storagePoolLookupByUUIDString,
                                       self.conn.storagePoolLookupByName,
                                       f"failed to get pool '{text}'")

    def volume(self, inv, opt: str = "vol", pool_opt: str | None = "pool"):
        """virshCommandOptVol: by name in the pool named by ``pool_opt``, else by key,
        else by path; the hint names ``pool_opt`` when it was not given."""
        text = inv.get(opt)
        lv = self.binding
        pool = self.pool(inv, pool_opt) if pool_opt and inv.has(pool_opt) else None
        last: Exception | None = None
        tries = []
        if pool is not None:
            tries.append(lambda: pool.storageVolLookupByName(text))
        tries.append(lambda: self.conn.storageVolLookupByKey(text))
        tries.append(lambda: self.conn.storageVolLookupByPath(text))
        for attempt in tries:
            try:
                return attempt()
            except lv.libvirtError as err:
                last = err
        hint = f", specifying --{pool_opt} might help" if pool_opt and pool is None else ""
        raise CommandFailed(f"failed to get vol '{text}'{hint}", last)

    def _by_uuid_then_name(self, text, by_uuid, by_name, failure: str):
        lv = self.binding
        if UUID_RE.match(text):
            try:
                return by_uuid(text)
            except lv.libvirtError:
                pass
        try:
            return by_name(text)
        except lv.libvirtError as err:
            raise CommandFailed(failure, err) from err
