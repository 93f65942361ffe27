"""The domain lifecycle state machine: one transition table, one guard.

Each :class:`Action` maps the states it may start from to the state it leads
to, with the reason libvirt records and the lifecycle event (event, detail) it
emits. :func:`apply` checks the current state against the table and raises
libvirt's error for a refused transition, so "start a running domain" fails in
exactly one place with one message.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from pyvirt.errors import (
    VIR_ERR_INTERNAL_ERROR, VIR_ERR_OPERATION_INVALID, VIR_FROM_DOMAIN, VIR_FROM_TEST,
    error,
)
from pyvirt.objects import numbers as n
from pyvirt.objects.numbers import DomainEvent as E, DomainState as S

if TYPE_CHECKING:
    from pyvirt.objects.domain_obj import DomainObj


class Action(Enum):
    START = "start"
    RESTORE = "restore"
    DESTROY = "destroy"
    SHUTDOWN = "shutdown"
    SUSPEND = "suspend"
    RESUME = "resume"
    REBOOT = "reboot"
    RESET = "reset"
    SAVE = "save"
    MANAGED_SAVE = "managed_save"
    CRASH = "crash"


@dataclass(frozen=True)
class Transition:
    to: S
    reason: int
    event: int | None          # lifecycle event, None when none is emitted
    detail: int = 0


_ACTIVE = (S.RUNNING, S.BLOCKED, S.PAUSED, S.SHUTDOWN, S.CRASHED, S.PMSUSPENDED)
_RUNNING = (S.RUNNING, S.BLOCKED)

# How each refusal reads (code, libvirt error domain, message template).
_NOT_RUNNING = (VIR_ERR_OPERATION_INVALID, VIR_FROM_DOMAIN, "domain is not running")
_REFUSALS: dict[Action, tuple[int, int, str]] = {
    Action.START: (VIR_ERR_INTERNAL_ERROR, VIR_FROM_TEST, "Domain '{name}' is already running"),
    Action.RESTORE: (VIR_ERR_INTERNAL_ERROR, VIR_FROM_TEST, "Domain '{name}' is already running"),
    Action.DESTROY: _NOT_RUNNING,
    Action.SHUTDOWN: (VIR_ERR_INTERNAL_ERROR, VIR_FROM_TEST, "domain '{name}' not running"),
    Action.SUSPEND: (VIR_ERR_INTERNAL_ERROR, VIR_FROM_TEST, "domain '{name}' not running"),
    Action.RESUME: (VIR_ERR_INTERNAL_ERROR, VIR_FROM_TEST, "domain '{name}' not paused"),
    Action.REBOOT: _NOT_RUNNING,
    Action.RESET: _NOT_RUNNING,
    Action.SAVE: _NOT_RUNNING,
    Action.MANAGED_SAVE: _NOT_RUNNING,
    Action.CRASH: _NOT_RUNNING,
}


def _from(states: tuple[S, ...], t: Transition) -> dict[S, Transition]:
    return {s: t for s in states}


#: The one transition table: action -> {from state: transition}.
TRANSITIONS: dict[Action, dict[S, Transition]] = {
    Action.START: {S.SHUTOFF: Transition(S.RUNNING, n.RunningReason.BOOTED, E.STARTED,
                                         n.STARTED_BOOTED)},
    Action.RESTORE: {S.SHUTOFF: Transition(S.RUNNING, n.RunningReason.RESTORED, E.STARTED,
                                           n.STARTED_RESTORED)},
    Action.DESTROY: _from(_ACTIVE, Transition(S.SHUTOFF, n.ShutoffReason.DESTROYED, E.STOPPED,
                                              n.STOPPED_DESTROYED)),
    Action.SHUTDOWN: _from(_ACTIVE, Transition(S.SHUTOFF, n.ShutoffReason.SHUTDOWN, E.STOPPED,
                                               n.STOPPED_SHUTDOWN)),
    Action.SUSPEND: _from(_RUNNING, Transition(S.PAUSED, n.PausedReason.USER, E.SUSPENDED,
                                               n.SUSPENDED_PAUSED)),
    Action.RESUME: {S.PAUSED: Transition(S.RUNNING, n.RunningReason.UNPAUSED, E.RESUMED,
                                         n.RESUMED_UNPAUSED)},
    Action.REBOOT: _from(_RUNNING, Transition(S.RUNNING, n.RunningReason.BOOTED, None)),
    Action.RESET: _from(_RUNNING, Transition(S.RUNNING, n.RunningReason.BOOTED, None)),
    Action.SAVE: _from(_ACTIVE, Transition(S.SHUTOFF, n.ShutoffReason.SAVED, E.STOPPED,
                                           n.STOPPED_SAVED)),
    Action.MANAGED_SAVE: _from(_ACTIVE, Transition(S.SHUTOFF, n.ShutoffReason.SAVED, E.STOPPED,
                                                   n.STOPPED_SAVED)),
    Action.CRASH: _from(_ACTIVE, Transition(S.CRASHED, 0, E.CRASHED, 0)),
}


def check(dom: "DomainObj", action: Action) -> Transition:
    """The transition ``action`` makes from ``dom``'s state, or libvirt's refusal."""
    step = TRANSITIONS[action].get(dom.state)
    if step is None:
        code, where, template = _REFUSALS[action]
        raise error(code, template.format(name=dom.name), domain=where)
    return step


def apply(dom: "DomainObj", action: Action) -> Transition:
    """Check, then move ``dom`` to the new state and reason; returns the step taken."""
    step = check(dom, action)
    dom.set_state(step.to, step.reason)
    return step
