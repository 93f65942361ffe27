"""The lifecycle table and its guard."""

import pytest

from pyvirt.errors import (
    VIR_ERR_INTERNAL_ERROR, VIR_ERR_OPERATION_INVALID, VIR_FROM_DOMAIN, VIR_FROM_TEST,
    libvirtError,
)
from pyvirt.objects import lifecycle
from pyvirt.objects.domain_obj import DomainObj
from pyvirt.objects.lifecycle import Action
from pyvirt.objects.numbers import DomainEvent, DomainState as S


def make(state=S.SHUTOFF):
    dom = DomainObj(name="vm", uuid=b"\x01" * 16, persistent_def=object())
    dom.set_state(state, 0)
    return dom


@pytest.mark.parametrize("action, start, end, reason, event, detail", [
    (Action.START, S.SHUTOFF, S.RUNNING, 1, DomainEvent.STARTED, 0),
    (Action.RESTORE, S.SHUTOFF, S.RUNNING, 3, DomainEvent.STARTED, 2),
    (Action.DESTROY, S.RUNNING, S.SHUTOFF, 2, DomainEvent.STOPPED, 1),
    (Action.DESTROY, S.PAUSED, S.SHUTOFF, 2, DomainEvent.STOPPED, 1),
    (Action.SHUTDOWN, S.RUNNING, S.SHUTOFF, 1, DomainEvent.STOPPED, 0),
    (Action.SHUTDOWN, S.PAUSED, S.SHUTOFF, 1, DomainEvent.STOPPED, 0),
    (Action.SUSPEND, S.RUNNING, S.PAUSED, 1, DomainEvent.SUSPENDED, 0),
    (Action.RESUME, S.PAUSED, S.RUNNING, 5, DomainEvent.RESUMED, 0),
    (Action.REBOOT, S.RUNNING, S.RUNNING, 1, None, 0),
    (Action.RESET, S.RUNNING, S.RUNNING, 1, None, 0),
    (Action.SAVE, S.RUNNING, S.SHUTOFF, 5, DomainEvent.STOPPED, 4),
    (Action.MANAGED_SAVE, S.PAUSED, S.SHUTOFF, 5, DomainEvent.STOPPED, 4),
])
def test_allowed_transitions(action, start, end, reason, event, detail):
    dom = make(start)
    step = lifecycle.apply(dom, action)
    assert (dom.state, dom.reason) == (end, reason)
    assert (step.event, step.detail) == (event, detail)


@pytest.mark.parametrize("action, start, code, where, message", [
    (Action.START, S.RUNNING, VIR_ERR_INTERNAL_ERROR, VIR_FROM_TEST,
     "internal error: Domain 'vm' is already running"),
    (Action.DESTROY, S.SHUTOFF, VIR_ERR_OPERATION_INVALID, VIR_FROM_DOMAIN,
     "Requested operation is not valid: domain is not running"),
    (Action.SHUTDOWN, S.SHUTOFF, VIR_ERR_INTERNAL_ERROR, VIR_FROM_TEST,
     "internal error: domain 'vm' not running"),
    (Action.SUSPEND, S.PAUSED, VIR_ERR_INTERNAL_ERROR, VIR_FROM_TEST,
     "internal error: domain 'vm' not running"),
    (Action.RESUME, S.RUNNING, VIR_ERR_INTERNAL_ERROR, VIR_FROM_TEST,
     "internal error: domain 'vm' not paused"),
    (Action.REBOOT, S.PAUSED, VIR_ERR_OPERATION_INVALID, VIR_FROM_DOMAIN,
     "Requested operation is not valid: domain is not running"),
    (Action.MANAGED_SAVE, S.SHUTOFF, VIR_ERR_OPERATION_INVALID, VIR_FROM_DOMAIN,
     "Requested operation is not valid: domain is not running"),
])
def test_refused_transitions_leave_state(action, start, code, where, message):
    dom = make(start)
    with pytest.raises(libvirtError) as info:
        lifecycle.apply(dom, action)
    assert info.value.get_error_code() == code
    assert info.value.get_error_domain() == where
    assert str(info.value) == message
    assert dom.state == start


def test_every_action_has_a_refusal_and_rows():
    for action in Action:
        assert action in lifecycle.TRANSITIONS
        assert lifecycle.TRANSITIONS[action]
