"""Tuning and security procedures over the wire, against a fake hypervisor table,
and the audit hook of the Dispatcher."""

from __future__ import annotations

import pytest
from tuning_fake import TuningTables

from pyvirt.drivers.base import DomainRef, DriverConnection
from pyvirt.errors import VIR_ERR_NO_DOMAIN, VIR_ERR_OPERATION_DENIED, error, libvirtError
from pyvirt.remote.access import Identity
from pyvirt.remote.dispatch import Dispatcher
from pyvirt.remote.protocol import TABLE
from pyvirt.remote.session import Session
from pyvirt.remote.shapes import params_dict, typed_params
from pyvirt.security.audit import AuditLog

BY_NAME = {p.name: p for p in TABLE.procedures.values()}
UUID = bytes(range(16))
class FakeTuning(TuningTables):
    """The tuning tables plus security labels."""

    def domain_get_security_label(self, ref):
        return ["+107:+107", 1]

    def domain_get_security_label_list(self, ref):
        return [["+107:+107", 1], ["unconfined", 0]]

    def node_get_security_model(self):
        return ["dac", "0"]


class Caller:
    def __init__(self, table: FakeTuning, audit: AuditLog | None = None,
                 readonly: bool = False, identity: Identity | None = None):
        conn = DriverConnection(uri="fake:///", hypervisor=table)
        self.dispatcher = Dispatcher(opener=lambda *a, **k: conn, audit=audit)
        self.session = Session(readonly=readonly, identity=identity or Identity())
        self("CONNECT_OPEN", name="fake:///", flags=0)

    def __call__(self, name, /, **args):
        proc = BY_NAME[name]
        body = proc.args.encode(args) if proc.args else b""
        reply = self.dispatcher.dispatch(self.session, proc.number, body)
        if proc.ret is None:
            return None
        value = proc.ret.decode(reply)
        return value[proc.ret.field_names[0]] if len(proc.ret.fields) == 1 else value


@pytest.fixture
def table():
    return FakeTuning()


@pytest.fixture
def call(table):
    return Caller(table)


DOM = DomainRef("vm", UUID, 1)


@pytest.mark.parametrize("name,number", [
    ("DOMAIN_SET_MEMORY_PARAMETERS", 197), ("DOMAIN_GET_MEMORY_PARAMETERS", 198),
    ("DOMAIN_SET_BLKIO_PARAMETERS", 205), ("DOMAIN_GET_BLKIO_PARAMETERS", 206),
    ("DOMAIN_GET_SCHEDULER_TYPE", 56), ("DOMAIN_GET_SCHEDULER_PARAMETERS", 57),
    ("DOMAIN_SET_SCHEDULER_PARAMETERS", 58), ("DOMAIN_SET_SCHEDULER_PARAMETERS_FLAGS", 219),
    ("DOMAIN_GET_SCHEDULER_PARAMETERS_FLAGS", 223), ("DOMAIN_GET_SECURITY_LABEL", 121),
    ("DOMAIN_GET_SECURITY_LABEL_LIST", 278), ("NODE_GET_SECURITY_MODEL", 122),
])
def test_numbers_are_remote_protocol_x(name, number):
    assert BY_NAME[name].number == number


def test_memory_parameters_count_first_then_values(call, table):
    count = call("DOMAIN_GET_MEMORY_PARAMETERS", dom=DOM, nparams=0, flags=4)
    assert count == {"params": [], "nparams": 4}
    ret = call("DOMAIN_GET_MEMORY_PARAMETERS", dom=DOM, nparams=4, flags=4)
    assert params_dict(ret["params"]) == table.memory
    assert ret["nparams"] == 4
    assert ret["params"][0]["value"][0] == 4            # ULLONG on the wire
    assert table.calls[-1] == ("get_memory", 4)


def test_memory_parameters_set_reaches_the_driver(call, table):
    call("DOMAIN_SET_MEMORY_PARAMETERS", dom=DOM,
         params=typed_params({"hard_limit": 1048576}), flags=2)
    assert table.memory["hard_limit"] == 1048576
    assert table.calls[-1] == ("set_memory", {"hard_limit": 1048576}, 2)


def test_blkio_parameters_round_trip_with_strings(call, table):
    call("DOMAIN_SET_BLKIO_PARAMETERS", dom=DOM,
         params=typed_params({"weight": 300, "device_weight": "/dev/sda,10"}), flags=0)
    ret = call("DOMAIN_GET_BLKIO_PARAMETERS", dom=DOM, nparams=2, flags=4)
    assert params_dict(ret["params"]) == {"weight": 300, "device_weight": "/dev/sda,10"}


def test_scheduler_procedures(call, table):
    assert call("DOMAIN_GET_SCHEDULER_TYPE", dom=DOM) == {"type": "posix", "nparams": 2}
    got = call("DOMAIN_GET_SCHEDULER_PARAMETERS_FLAGS", dom=DOM, nparams=2, flags=1)
    assert params_dict(got) == {"cpu_shares": 1024, "vcpu_quota": -1}
    call("DOMAIN_SET_SCHEDULER_PARAMETERS_FLAGS", dom=DOM,
         params=typed_params({"cpu_shares": 2048}), flags=1)
    assert params_dict(call("DOMAIN_GET_SCHEDULER_PARAMETERS", dom=DOM, nparams=2)) == \
        {"cpu_shares": 2048, "vcpu_quota": -1}


def test_security_label_list_and_model(call):
    ret = call("DOMAIN_GET_SECURITY_LABEL_LIST", dom=DOM)
    assert ret == {"labels": [{"label": "+107:+107", "enforcing": 1},
                              {"label": "unconfined", "enforcing": 0}], "ret": 2}
    assert call("DOMAIN_GET_SECURITY_LABEL", dom=DOM) == {"label": "+107:+107",
                                                           "enforcing": 1}
    assert call("NODE_GET_SECURITY_MODEL") == {"model": "dac", "doi": "0"}


def test_read_only_session_may_read_but_not_set_tuning(table):
    caller = Caller(table, readonly=True)
    assert caller("DOMAIN_GET_MEMORY_PARAMETERS", dom=DOM, nparams=0, flags=0)["nparams"] == 4
    with pytest.raises(libvirtError) as info:
        caller("DOMAIN_SET_BLKIO_PARAMETERS", dom=DOM, params=typed_params({"weight": 5}),
               flags=0)
    assert info.value.get_error_code() == VIR_ERR_OPERATION_DENIED


# --- the audit hook --------------------------------------------------------------------

def test_mutating_calls_are_audited_with_identity_and_outcome(table, tmp_path):
    audit = AuditLog(str(tmp_path / "audit.log"))
    caller = Caller(table, audit=audit, identity=Identity(uid=1234, pid=99))
    caller("DOMAIN_GET_MEMORY_PARAMETERS", dom=DOM, nparams=0, flags=0)   # a read: not logged
    caller("DOMAIN_SET_MEMORY_PARAMETERS", dom=DOM,
           params=typed_params({"soft_limit": 1024}), flags=0)
    lines = audit.read()
    assert len(lines) == 1
    assert lines[0]["procedure"] == "DOMAIN_SET_MEMORY_PARAMETERS"
    assert lines[0]["identity"] == {"uid": 1234, "pid": 99}
    assert lines[0]["object"]["name"] == "vm"
    assert lines[0]["object"]["uuid"] == "00010203-0405-0607-0809-0a0b0c0d0e0f"
    assert lines[0]["outcome"] == "success"


def test_failed_and_denied_calls_are_audited(table, tmp_path):
    audit = AuditLog(str(tmp_path / "audit.log"))

    def broken(ref, values, flags=0):
        raise error(VIR_ERR_NO_DOMAIN, "no domain with matching uuid")
    table.domain_set_blkio_parameters = broken
    caller = Caller(table, audit=audit)
    with pytest.raises(libvirtError):
        caller("DOMAIN_SET_BLKIO_PARAMETERS", dom=DOM, params=typed_params({"weight": 5}),
               flags=0)
    ro = Caller(table, audit=audit, readonly=True)
    with pytest.raises(libvirtError):
        ro("DOMAIN_SET_MEMORY_PARAMETERS", dom=DOM, params=typed_params({"soft_limit": 1}),
           flags=0)
    failed, denied = audit.read()
    assert failed["outcome"] == "failure"
    assert failed["error"]["code"] == VIR_ERR_NO_DOMAIN
    assert denied["procedure"] == "DOMAIN_SET_MEMORY_PARAMETERS"
    assert denied["error"]["code"] == VIR_ERR_OPERATION_DENIED
    assert "read only access prevents" in denied["error"]["message"]


def test_an_unwritable_audit_log_does_not_fail_the_call(table, tmp_path, caplog):
    audit = AuditLog(str(tmp_path / "missing-dir" / "audit.log"))
    caller = Caller(table, audit=audit)
    caller("DOMAIN_SET_MEMORY_PARAMETERS", dom=DOM,
           params=typed_params({"soft_limit": 2048}), flags=0)
    assert table.memory["soft_limit"] == 2048
    assert "cannot write the audit log" in caplog.text


def test_without_an_audit_log_nothing_is_written(table, tmp_path):
    caller = Caller(table)
    caller("DOMAIN_SET_MEMORY_PARAMETERS", dom=DOM,
           params=typed_params({"soft_limit": 1}), flags=0)
    assert caller.dispatcher.audit is None
    assert list(tmp_path.iterdir()) == []
