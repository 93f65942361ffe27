"""``net-event`` and ``pool-event``: wait for network / storage pool events and print
them as virsh does (the waiting itself is ``event.py``'s)."""

from __future__ import annotations

from typing import Any, Callable

from pyvirt.cli.command import NUMBER, STRING, Opt, command, flag
from pyvirt.cli.ctl import CommandFailed, Ctl
from pyvirt.cli.event import EventWaiter, _timeout
from pyvirt.cli.parser import Invocation

NETWORK_EVENTS = ["lifecycle"]
NETWORK_LIFECYCLE = ["Defined", "Undefined", "Started", "Stopped"]
POOL_EVENTS = ["lifecycle", "refresh"]
POOL_LIFECYCLE = ["Defined", "Undefined", "Started", "Stopped", "Created", "Deleted"]


def _word(words: list[str], index: int) -> str:
    return words[index] if 0 <= index < len(words) else "unknown"


def _event_opts(kind: str, what: str) -> tuple[Opt, ...]:
    return (Opt(kind, STRING, f"filter by {what} name or uuid"),
            Opt("event", STRING, "which event type to wait for"),
            flag("loop", "loop until timeout or interrupt, rather than one-shot"),
            Opt("timeout", NUMBER, "timeout seconds"),
            flag("list", "list valid event types"),
            flag("timestamp", "show timestamp for each printed event"))


def wait_for_events(ctl: Ctl, inv: Invocation, kind: str, names: list[str],
                    lookup: Callable[..., Any], register: Callable[..., int],
                    deregister: Callable[[int], Any],
                    callback: Callable[[EventWaiter, str], Callable[..., None]]) -> bool:
    """--list the event types; else register the one wanted event on the object
    named by --<kind> (or on all), wait like ``event``, report the count."""
    if _check_event(inv, names):
        ctl.print("".join(f"{name}\n" for name in names))
        return True
    target = _lookup_or_all(ctl, inv, kind, lookup)
    timeout = _timeout(inv)
    waiter = EventWaiter(ctl, inv.has("loop"), inv.has("timestamp"))
    event_id = names.index(inv.get("event"))
    try:
        handle = register(target, event_id, callback(waiter, names[event_id]), None)
    except ctl.binding.libvirtError as err:
        raise CommandFailed("failed to register event", err) from err
    try:
        return waiter.wait(timeout) or inv.has("loop")
    finally:
        try:
            deregister(handle)
        except ctl.binding.libvirtError:
            pass


def _check_event(inv: Invocation, names: list[str]) -> bool:
    """True when the command only lists; errors as virsh for a missing/unknown type."""
    if inv.has("list"):
        return True
    wanted = inv.get("event")
    if wanted is None:
        raise CommandFailed("either --list or --event <type> is required")
    if wanted not in names:
        raise CommandFailed(f"unknown event type {wanted}")
    return False


def _lookup_or_all(ctl: Ctl, inv: Invocation, kind: str, lookup: Callable[..., Any]) -> Any:
    """virsh 9.0 reports a failed lookup and then listens to every object."""
    if not inv.has(kind):
        return None
    try:
        return lookup(inv, kind)
    except CommandFailed as failed:
        for line in failed.lines():
            ctl.error(line)
        return None


@command("net-event", "network", "Network Events",
         "List event types, or wait for network events to occur",
         *_event_opts("network", "network"))
def cmd_net_event(ctl: Ctl, inv: Invocation) -> bool:
    def callback(waiter: EventWaiter, name: str):
        def on_lifecycle(_conn, obj, event, _detail, _opaque):
            waiter.emit(f"event '{name}' for network {obj.name()}: "
                        f"{_word(NETWORK_LIFECYCLE, event)}")
        return on_lifecycle

    return wait_for_events(ctl, inv, "network", NETWORK_EVENTS, ctl.network,
                           ctl.conn.networkEventRegisterAny,
                           ctl.conn.networkEventDeregisterAny, callback)


@command("pool-event", "pool", "Storage Pool Events",
         "List event types, or wait for storage pool events to occur",
         *_event_opts("pool", "storage pool"))
def cmd_pool_event(ctl: Ctl, inv: Invocation) -> bool:
    def callback(waiter: EventWaiter, name: str):
        if name == "refresh":
            def on_refresh(_conn, obj, _opaque):
                waiter.emit(f"event '{name}' for storage pool {obj.name()}")
            return on_refresh

        def on_lifecycle(_conn, obj, event, _detail, _opaque):
            waiter.emit(f"event '{name}' for storage pool {obj.name()}: "
                        f"{_word(POOL_LIFECYCLE, event)}")
        return on_lifecycle

    return wait_for_events(ctl, inv, "pool", POOL_EVENTS, ctl.pool,
                           ctl.conn.storagePoolEventRegisterAny,
                           ctl.conn.storagePoolEventDeregisterAny, callback)
