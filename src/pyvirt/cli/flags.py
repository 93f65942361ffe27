"""Options to API flag bits: the one loop every command's ``--opt`` → ``VIR_*`` mapping uses."""

from __future__ import annotations

from typing import Iterable

from pyvirt.cli.ctl import CommandFailed, Ctl
from pyvirt.cli.parser import Invocation


def option_flags(ctl: Ctl, inv: Invocation, prefix: str,
                 pairs: Iterable[tuple[str, str]]) -> int:
    """OR of the binding's ``prefix + const`` for each (option, const) the user gave."""
    flags = 0
    for opt, const in pairs:
        if inv.has(opt):
            flags |= getattr(ctl.binding, prefix + const)
    return flags


def affect_flags(ctl: Ctl, inv: Invocation, prefix: str = "VIR_DOMAIN_AFFECT_") -> int:
    """--config/--live/--current (and --persistent where declared) as flags;
    --current excludes the others."""
    lv = ctl.binding
    if inv.has("current"):
        for other in ("live", "config"):
            if inv.has(other):
                raise CommandFailed(f"Options --current and --{other} are mutually exclusive")
        return 0
    flags = 0
    if inv.has("config") or inv.has("persistent"):
        flags |= getattr(lv, prefix + "CONFIG")
    if inv.has("live"):
        flags |= getattr(lv, prefix + "LIVE")
    return flags


def device_affect_flags(ctl: Ctl, inv: Invocation, dom) -> tuple[int, bool]:
    """(flags, explicit) for attaching / detaching a device: :func:`affect_flags`, plus
    LIVE when --persistent meets a running domain; explicit when a flag or --current
    was given (virsh then calls the *Flags API). Each command checks its own
    mutually exclusive options first, in its own order."""
    flags = affect_flags(ctl, inv)
    if inv.has("persistent") and dom.isActive():
        flags |= ctl.binding.VIR_DOMAIN_AFFECT_LIVE
    return flags, bool(flags) or inv.has("current")


def list_flags(ctl: Ctl, inv: Invocation, prefix: str,
               filters: Iterable[tuple[str, str]]) -> int:
    """A list command's flags: --inactive / --all (else active only) plus its filters."""
    lv = ctl.binding
    active, inactive = getattr(lv, prefix + "ACTIVE"), getattr(lv, prefix + "INACTIVE")
    flags = 0
    if inv.has("inactive"):
        flags |= inactive
    if inv.has("all"):
        flags |= inactive | active
    return (flags or active) | option_flags(ctl, inv, prefix, filters)


# The filters net-list and pool-list share.
PERSISTENCE_AUTOSTART_FILTERS = (("persistent", "PERSISTENT"), ("transient", "TRANSIENT"),
                                 ("autostart", "AUTOSTART"), ("no-autostart", "NO_AUTOSTART"))
