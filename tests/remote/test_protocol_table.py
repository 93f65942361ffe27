"""The protocol table makes each procedure's structs on first use: every
declaration must still make valid structs, and the same ones on every use."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

from pyvirt.remote import schema
from pyvirt.remote.protocol import TABLE
from pyvirt.rpc import xdr


@pytest.mark.parametrize("number", sorted(TABLE.procedures))
def test_every_procedure_makes_its_structs(number):
    proc = TABLE.procedures[number]
    for struct, spec, kind in ((proc.args, proc._args_spec, "args"),
                               (proc.ret, proc._ret_spec, "ret")):
        if spec is None:
            assert struct is None
        else:
            assert isinstance(struct, xdr.Struct)
            assert struct.name == f"remote_{proc.name.lower()}_{kind}"
            assert struct.field_names == tuple(t.split(":")[0] for t in spec.split())
    assert proc.args is proc.args and proc.ret is proc.ret      # made once


@pytest.mark.parametrize("number", sorted(TABLE.events))
def test_every_event_makes_its_body(number):
    message = TABLE.events[number]
    assert message.body is message.body
    assert message.body.name == f"remote_{message.name.lower()}_msg"
    assert message.body.field_names[0] in ("callbackID", "reason")


def made(obj, attr: str) -> bool:
    """Whether the slot ``attr`` holds a value yet (reading the slot itself, which
    does not make it)."""
    try:
        type(obj).__dict__[attr].__get__(obj, type(obj))
    except AttributeError:
        return False
    return True


def test_a_struct_is_made_on_first_use_only():
    proc = schema.ProtocolTable().proc(16, "DOMAIN_GET_INFO", "dom:dom", "state:uchar")
    assert not made(proc, "args") and not made(proc, "ret")
    assert proc.args.name == "remote_domain_get_info_args"
    assert made(proc, "args") and not made(proc, "ret")
    message = schema.ProtocolTable().event(318, "DOMAIN_EVENT_CALLBACK_REBOOT",
                                           "callbackID:int dom:dom")
    assert not made(message, "body")
    assert message.payload_fields == () and made(message, "body")


def test_loading_the_table_makes_no_struct():
    probe = ("import sys\n"
             "from pyvirt.remote.protocol import TABLE\n"
             f"{inspect.getsource(made)}\n"
             "print(sum(made(p, a) for p in TABLE.procedures.values() for a in ('args', 'ret')),\n"
             "      sum(made(m, 'body') for m in TABLE.events.values()))\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=60, check=True).stdout.split()
    assert out == ["0", "0"]


def test_a_bad_declaration_fails_when_its_struct_is_made():
    table = schema.ProtocolTable()
    proc = table.proc(9999, "BROKEN", "x:nosuchtype")
    with pytest.raises(KeyError):
        proc.args
    with pytest.raises(ValueError, match="declared twice"):
        table.proc(9999, "BROKEN")


def test_rules_are_read_without_making_structs():
    proc = schema.ProtocolTable().proc(12, "DOMAIN_DESTROY", "dom:nosuchtype", None,
                                       "domain:stop", high=True)
    assert (proc.mutating, proc.object_kind, proc.high_priority, proc.method, proc.api) == (
        True, "domain", True, "domain_destroy", "virDomainDestroy")
