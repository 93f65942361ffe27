"""Domain states and lifecycle events as words, as virsh prints them."""

from __future__ import annotations

import pyvirt

STATE_NAMES = {
    pyvirt.VIR_DOMAIN_NOSTATE: "no state",
    pyvirt.VIR_DOMAIN_RUNNING: "running",
    pyvirt.VIR_DOMAIN_BLOCKED: "idle",
    pyvirt.VIR_DOMAIN_PAUSED: "paused",
    pyvirt.VIR_DOMAIN_SHUTDOWN: "in shutdown",
    pyvirt.VIR_DOMAIN_SHUTOFF: "shut off",
    pyvirt.VIR_DOMAIN_CRASHED: "crashed",
    pyvirt.VIR_DOMAIN_PMSUSPENDED: "pmsuspended",
}

EVENT_NAMES = {
    pyvirt.VIR_DOMAIN_EVENT_DEFINED: "Defined",
    pyvirt.VIR_DOMAIN_EVENT_UNDEFINED: "Undefined",
    pyvirt.VIR_DOMAIN_EVENT_STARTED: "Started",
    pyvirt.VIR_DOMAIN_EVENT_SUSPENDED: "Suspended",
    pyvirt.VIR_DOMAIN_EVENT_RESUMED: "Resumed",
    pyvirt.VIR_DOMAIN_EVENT_STOPPED: "Stopped",
    pyvirt.VIR_DOMAIN_EVENT_SHUTDOWN: "Shutdown",
    pyvirt.VIR_DOMAIN_EVENT_PMSUSPENDED: "PMSuspended",
    pyvirt.VIR_DOMAIN_EVENT_CRASHED: "Crashed",
}


def state_name(state: int) -> str:
    return STATE_NAMES.get(state, "unknown")


def state_class(state: int) -> str:
    """A CSS-friendly word: running, paused or shutoff (what the buttons key on)."""
    if state in (pyvirt.VIR_DOMAIN_RUNNING, pyvirt.VIR_DOMAIN_BLOCKED):
        return "running"
    if state in (pyvirt.VIR_DOMAIN_PAUSED, pyvirt.VIR_DOMAIN_PMSUSPENDED):
        return "paused"
    if state == pyvirt.VIR_DOMAIN_SHUTDOWN:
        return "running"
    return "shutoff"
