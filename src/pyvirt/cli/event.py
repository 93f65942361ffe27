"""Domain Events: ``event`` waits for domain events and prints them as virsh does."""

from __future__ import annotations

import threading
import time

from pyvirt.cli.command import NUMBER, STRING, Opt, command, flag
from pyvirt.cli.ctl import CommandFailed, Ctl
from pyvirt.cli.parser import Invocation

GRP = "events"

# virsh's event names, in VIR_DOMAIN_EVENT_ID_* order.
EVENT_NAMES = ["lifecycle", "reboot", "rtc-change", "watchdog", "io-error", "graphics",
               "io-error-reason", "control-error", "block-job", "disk-change",
               "tray-change", "pm-wakeup", "pm-suspend", "balloon-change",
               "pm-suspend-disk", "device-removed", "block-job-2", "tunable",
               "agent-lifecycle", "device-added", "migration-iteration", "job-completed",
               "device-removal-failed", "metadata-change", "block-threshold",
               "memory-failure", "memory-device-size-change"]

LIFECYCLE = [
    ("Defined", ["Added", "Updated", "Renamed", "From snapshot"]),
    ("Undefined", ["Removed", "Renamed"]),
    ("Started", ["Booted", "Migrated", "Restored", "Snapshot", "Event wakeup"]),
    ("Suspended", ["Paused", "Migrated", "I/O Error", "Watchdog", "Restored", "Snapshot",
                   "API error", "Post-copy", "Post-copy Error"]),
    ("Resumed", ["Unpaused", "Migrated", "Snapshot", "Post-copy", "Post-copy Error"]),
    ("Stopped", ["Shutdown", "Destroyed", "Crashed", "Migrated", "Saved", "Failed",
                 "Snapshot"]),
    ("Shutdown", ["Finished", "Finished after guest request",
                  "Finished after host request"]),
    ("PMSuspended", ["Memory", "Disk"]),
    ("Crashed", ["Panicked", "Crashed"]),
]


def lifecycle_words(event: int, detail: int) -> str:
    """``Started Booted`` for (VIR_DOMAIN_EVENT_STARTED, _BOOTED)."""
    if not 0 <= event < len(LIFECYCLE):
        return "unknown unknown"
    name, details = LIFECYCLE[event]
    return f"{name} {details[detail] if 0 <= detail < len(details) else 'unknown'}"


class EventWaiter:
    """Counts events and wakes the waiting command, as virsh's event data does."""

    def __init__(self, ctl: Ctl, loop: bool, timestamp: bool) -> None:
        self.ctl, self.loop, self.timestamp = ctl, loop, timestamp
        self.count = 0
        self.done = threading.Event()

    def emit(self, text: str) -> None:
        if self.timestamp:
            now = time.time()
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now))
            text = f"{stamp}.{int(now * 1000) % 1000:03d}+0000: {text}"
        self.ctl.print(text + "\n")
        self.ctl.out.flush()
        self.count += 1
        if not self.loop:
            self.done.set()

    def wait(self, timeout: float | None) -> bool:
        """Wait for the first event (or ^C, or the timeout) and print virsh's
        closing lines; True unless the wait timed out."""
        try:
            fired = self.done.wait(timeout)
        except KeyboardInterrupt:
            fired = True
            self.ctl.print("event loop interrupted\n")
        if not fired:
            self.ctl.print("event loop timed out\n")
        self.ctl.print(f"events received: {self.count}\n")
        return fired

    def callback(self, event_id: int):
        name = EVENT_NAMES[event_id]
        if name == "lifecycle":
            def on_lifecycle(conn, dom, event, detail, opaque):
                self.emit(f"event 'lifecycle' for domain '{dom.name()}': "
                          f"{lifecycle_words(event, detail)}")
            return on_lifecycle

        def on_other(conn, dom, *args):
            self.emit(f"event '{name}' for domain '{dom.name()}'")
        return on_other


@command("event", GRP, "Domain Events",
         "List event types, or wait for domain events to occur",
         Opt("domain", STRING, "filter by domain name, id or uuid"),
         Opt("event", STRING, "which event type to wait for"),
         flag("all", "wait for all events instead of just one type"),
         flag("loop", "loop until timeout or interrupt, rather than one-shot"),
         Opt("timeout", NUMBER, "timeout seconds"),
         flag("list", "list valid event types"),
         flag("timestamp", "show timestamp for each printed event"))
def cmd_event(ctl: Ctl, inv: Invocation) -> bool:
    if inv.has("list"):
        ctl.print("".join(f"{name}\n" for name in EVENT_NAMES))
        return True
    wanted = inv.get("event")
    if wanted is None and not inv.has("all"):
        raise CommandFailed("one of --list, --all, or --event <type> is required")
    if wanted is not None and wanted not in EVENT_NAMES:
        raise CommandFailed(f"unknown event type {wanted}")
    timeout = _timeout(inv)
    dom = ctl.domain(inv) if inv.has("domain") else None
    waiter = EventWaiter(ctl, inv.has("loop"), inv.has("timestamp"))
    ids = range(len(EVENT_NAMES)) if inv.has("all") else [EVENT_NAMES.index(wanted)]
    handles = []
    try:
        for event_id in ids:
            try:
                handles.append(ctl.conn.domainEventRegisterAny(
                    dom, event_id, waiter.callback(event_id), None))
            except ctl.binding.libvirtError as err:
                if inv.has("all"):
                    continue
                raise CommandFailed("failed to register event", err) from err
        fired = waiter.wait(timeout)
        if not fired and not inv.has("loop"):
            return False
    finally:
        for handle in handles:
            try:
                ctl.conn.domainEventDeregisterAny(handle)
            except ctl.binding.libvirtError:
                pass
    return True


def _timeout(inv: Invocation) -> float | None:
    if not inv.has("timeout"):
        return None
    text = inv.get("timeout")
    if not text.isdigit() or int(text) < 1 or int(text) > 2**31 // 1000:
        raise CommandFailed(f"Numeric value '{text}' for <timeout> option is malformed or "
                            "out of range")
    return float(int(text))
