"""The daemon's auth gate (AUTH_LIST, AUTH_SASL_INIT/START/STEP) driven through
its encoded procedures, as a client's bytes would: libvirtd's answers and
error codes, the attempt limits, the allow list."""

from __future__ import annotations

import pytest

from pyvirt.errors import VIR_ERR_AUTH_FAILED, VIR_ERR_RPC, VIR_FROM_RPC, libvirtError
from pyvirt.remote.protocol import TABLE
from pyvirt.remote.sasl import (AuthGate, FailureLimiter, from_wire, to_wire,
                                username_allowed)
from pyvirt.remote.sasl_scram import ScramClient, make_verifier

VERIFIERS = {(name, mech): make_verifier(mech, pw, b"s" * 16)
             for name, pw in (("alice", "wonderland"), ("bob", "builder"))
             for mech in ("SCRAM-SHA-256", "SCRAM-SHA-1")}


def call(gate: AuthGate, name: str, **args):
    proc = TABLE.procedures[next(n for n, p in TABLE.procedures.items() if p.name == name)]
    body = proc.args.encode(args) if proc.args is not None else b""
    value = proc.ret.decode(gate.dispatch(proc.number, body))
    return value[proc.ret.field_names[0]] if len(proc.ret.fields) == 1 else value


def sasl_gate(**kw) -> AuthGate:
    results = kw.pop("results", None)
    return AuthGate("sasl", lookup=lambda n, m: VERIFIERS.get((n, m)),
                    on_result=(lambda *a: results.append(a)) if results is not None else None,
                    **kw)


def login(gate: AuthGate, name: str, password: str, mech: str = "SCRAM-SHA-256",
          init: bool = True):
    if init:
        assert mech in call(gate, "AUTH_SASL_INIT").split(",")
    client = ScramClient(mech, name, password, "clientnonce")
    started = call(gate, "AUTH_SASL_START", mech=mech, nil=0, data=to_wire(client.first()))
    assert started["complete"] == 0 and started["nil"] == 0
    stepped = call(gate, "AUTH_SASL_STEP", nil=0,
                   data=to_wire(client.final(from_wire(started["data"]))))
    client.verify(from_wire(stepped["data"]))
    return stepped


def test_auth_list_names_the_listener_scheme():
    assert call(AuthGate("none"), "AUTH_LIST") == [0]
    assert call(sasl_gate(), "AUTH_LIST") == [1]


def test_every_other_call_is_refused_until_authenticated():
    gate = sasl_gate()
    for number in (1, 3, 60, 273):
        with pytest.raises(libvirtError) as info:
            gate.check(number)
        assert info.value.get_error_code() == VIR_ERR_RPC
        assert info.value.get_error_domain() == VIR_FROM_RPC
        assert str(info.value) == "authentication required"
    gate.check(66)                      # AUTH_LIST is always allowed
    AuthGate("none").check(1)


@pytest.mark.parametrize("mech", ["SCRAM-SHA-256", "SCRAM-SHA-1"])
def test_a_right_password_authenticates(mech):
    results = []
    gate = sasl_gate(results=results)
    assert call(gate, "AUTH_SASL_INIT") == "SCRAM-SHA-256,SCRAM-SHA-1"
    stepped = login(gate, "alice", "wonderland", mech, init=False)
    assert stepped["complete"] == 1
    assert gate.authenticated and gate.username == "alice"
    gate.check(1)
    assert results == [("AUTH_SASL_STEP", "alice", None)]


def _failed(info) -> None:
    assert info.value.get_error_code() == VIR_ERR_AUTH_FAILED
    assert info.value.get_error_domain() == VIR_FROM_RPC
    assert str(info.value) == "authentication failed: authentication failed"


def test_a_wrong_password_is_libvirts_sanitized_failure_and_audited():
    results = []
    gate = sasl_gate(results=results)
    with pytest.raises(libvirtError) as info:
        login(gate, "alice", "guess")
    _failed(info)
    assert "wrong password" in info.value.why
    assert not gate.authenticated and gate.failures == 1
    assert results[0][:2] == ("AUTH_SASL_STEP", "alice") and results[0][2] is info.value
    login(gate, "alice", "wonderland")     # a new exchange may follow a failure
    assert gate.username == "alice"


@pytest.mark.parametrize("steps", [
    [("AUTH_SASL_START", {"mech": "SCRAM-SHA-256", "nil": 1, "data": []})],   # no INIT
    [("AUTH_SASL_INIT", {}), ("AUTH_SASL_INIT", {})],                          # INIT twice
    [("AUTH_SASL_INIT", {}), ("AUTH_SASL_START", {"mech": "PLAIN", "nil": 1, "data": []})],
    [("AUTH_SASL_INIT", {}), ("AUTH_SASL_STEP", {"nil": 1, "data": []})],    # STEP first
    [("AUTH_SASL_INIT", {}),
     ("AUTH_SASL_START", {"mech": "SCRAM-SHA-256", "nil": 1, "data": []})],  # no data
])
def test_out_of_order_or_unknown_requests_fail_like_libvirtd(steps):
    gate = sasl_gate()
    with pytest.raises(libvirtError) as info:
        for name, args in steps:
            call(gate, name, **args)
    _failed(info)


def test_sasl_procedures_on_a_listener_without_sasl_fail():
    with pytest.raises(libvirtError) as info:
        call(AuthGate("none"), "AUTH_SASL_INIT")
    _failed(info)


def test_exhausted_after_max_failures():
    gate = sasl_gate(max_failures=3)
    for _ in range(3):
        assert not gate.exhausted
        with pytest.raises(libvirtError):
            login(gate, "bob", "nope")
    assert gate.exhausted


def test_no_more_exchanges_once_authenticated():
    gate = sasl_gate()
    login(gate, "alice", "wonderland")
    with pytest.raises(libvirtError):
        call(gate, "AUTH_SASL_INIT")
    assert gate.username == "alice"


def test_allowed_username_list_globs():
    assert username_allowed("alice", None)
    assert username_allowed("alice", ["al*", "bob"])
    assert not username_allowed("mallory", ["al*", "bob"])
    gate = sasl_gate(allowed_usernames=["bob"])
    with pytest.raises(libvirtError) as info:
        login(gate, "alice", "wonderland")
    _failed(info)
    assert "sasl_allowed_username_list" in info.value.why
    login(sasl_gate(allowed_usernames=["bob"]), "bob", "builder")


def test_limiter_locks_a_user_after_repeated_failures_across_clients():
    now = [1000.0]
    limiter = FailureLimiter(limit=3, window=60, lockout=30, clock=lambda: now[0])
    for _ in range(3):
        with pytest.raises(libvirtError):
            login(sasl_gate(limiter=limiter), "alice", "guess")
    assert limiter.locked("alice") and not limiter.locked("bob")
    with pytest.raises(libvirtError) as info:          # even the right password
        login(sasl_gate(limiter=limiter), "alice", "wonderland")
    assert "locked" in info.value.why
    login(sasl_gate(limiter=limiter), "bob", "builder")
    now[0] += 31
    login(sasl_gate(limiter=limiter), "alice", "wonderland")


def test_limiter_forgets_failures_outside_the_window():
    now = [0.0]
    limiter = FailureLimiter(limit=2, window=10, lockout=30, clock=lambda: now[0])
    limiter.failed("alice")
    now[0] = 11
    limiter.failed("alice")
    assert not limiter.locked("alice")


def test_a_failing_lookup_fails_the_exchange_not_the_daemon():
    def broken(name, mech):
        raise OSError("disk on fire")
    gate = AuthGate("sasl", lookup=broken)
    with pytest.raises(libvirtError) as info:
        login(gate, "alice", "wonderland")
    _failed(info)


def test_wire_bytes_round_trip_as_signed_chars():
    data = bytes(range(256))
    assert all(-128 <= v <= 127 for v in to_wire(data))
    assert from_wire(to_wire(data)) == data


def test_undecodable_payload_is_an_rpc_error():
    with pytest.raises(libvirtError) as info:
        sasl_gate().dispatch(68, b"\x00")
    assert info.value.get_error_code() == VIR_ERR_RPC


def test_access_rules_match_the_sasl_user_name():
    from pyvirt.remote.access import Identity, parse_rules
    rules = parse_rules("allow sasl:ops-* domain:*\nallow sasl:alice *\ndeny * *\n")
    alice, ops, anonymous = Identity(uid=0, sasl_user="alice"), Identity(sasl_user="ops-1"), \
        Identity(uid=0)
    assert rules.allowed(alice, "connect:write", None)
    assert rules.allowed(ops, "domain:start", "vm") and not rules.allowed(ops, "connect:write",
                                                                          None)
    assert not rules.allowed(anonymous, "domain:read", "vm")
    assert "sasl=alice" in alice.describe()
