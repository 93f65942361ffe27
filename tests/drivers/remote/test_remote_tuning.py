"""The remote driver's tuning entry points: libvirt's count-first habit for
memory/blkio parameters, security label lists, and the scheduler over a pyvirtd."""

from __future__ import annotations

import pyvirt
from pyvirt.drivers.base import DomainRef
from pyvirt.drivers.remote.reshape import TYPED_PARAM_STRING_OKAY, ReshapedEntries
from pyvirt.remote.shapes import typed_params

DOM = DomainRef("vm", bytes(16), 1)


class ScriptedRpc:
    """Answers ``call`` from a dict of values, recording every call."""

    def __init__(self, values: dict):
        self.values = values
        self.calls: list[tuple[str, dict]] = []

    def call(self, procedure: str, **args):
        self.calls.append((procedure, args))
        if procedure == "DOMAIN_GET_SECURITY_LABEL_LIST":
            return {"labels": [{"label": "+0:+0", "enforcing": 1}], "ret": 1}
        if args["nparams"] == 0:
            return {"params": [], "nparams": len(self.values)}
        return {"params": typed_params(self.values), "nparams": len(self.values)}


def _entries(rpc: ScriptedRpc) -> ReshapedEntries:
    entries = ReshapedEntries()
    entries._rpc = rpc
    return entries


def test_memory_parameters_ask_for_the_count_then_the_values():
    rpc = ScriptedRpc({"hard_limit": 9007199254740991, "soft_limit": 1024})
    got = _entries(rpc).domain_get_memory_parameters(DOM, 2)
    assert got == {"hard_limit": 9007199254740991, "soft_limit": 1024}
    assert [(p, a["nparams"], a["flags"]) for p, a in rpc.calls] == [
        ("DOMAIN_GET_MEMORY_PARAMETERS", 0, 2 | TYPED_PARAM_STRING_OKAY),
        ("DOMAIN_GET_MEMORY_PARAMETERS", 2, 2 | TYPED_PARAM_STRING_OKAY)]


def test_blkio_parameters_with_no_values_make_one_call():
    rpc = ScriptedRpc({})
    assert _entries(rpc).domain_get_blkio_parameters(DOM) == {}
    assert len(rpc.calls) == 1


def test_security_label_list_is_label_enforcing_pairs():
    assert _entries(ScriptedRpc({})).domain_get_security_label_list(DOM) == [["+0:+0", 1]]


def test_scheduler_over_the_daemon(unix_uri):
    conn = pyvirt.open(unix_uri)
    try:
        dom = conn.lookupByName("test")
        assert dom.schedulerType() == ("fair", 1)
        assert dom.schedulerParameters() == {"weight": 50}
        dom.setSchedulerParameters({"weight": 60})
    finally:
        conn.close()
