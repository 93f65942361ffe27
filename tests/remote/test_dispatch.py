"""Dispatch of remote procedures onto the in-memory test driver (no sockets)."""

from __future__ import annotations

import pytest

from pyvirt.api._registry import load_drivers
from pyvirt.errors import (VIR_ERR_INTERNAL_ERROR, VIR_ERR_NO_DOMAIN, VIR_ERR_NO_SUPPORT,
                           VIR_ERR_OPERATION_DENIED, VIR_ERR_OPERATION_INVALID, VIR_ERR_RPC,
                           VIR_FROM_DOMAIN, VIR_FROM_RPC, libvirtError)
from pyvirt.remote import schema
from pyvirt.remote.client import decode_error
from pyvirt.remote.dispatch import Dispatcher
from pyvirt.remote.session import Session
from pyvirt.remote.shapes import encode_error, typed_params
from pyvirt.remote.protocol import TABLE

load_drivers()

BY_NAME = {p.name: p for p in TABLE.procedures.values()}

DOM_XML = """<domain type='test'><name>beta</name><memory>1048576</memory>
<vcpu>1</vcpu><os><type>hvm</type></os></domain>"""


class Caller:
    """Calls procedures by name through a Dispatcher, as the daemon would."""

    def __init__(self, session: Session):
        self.dispatcher = Dispatcher()
        self.session = session

    def __call__(self, name, /, **args):
        proc = BY_NAME[name]
        body = proc.args.encode(args) if proc.args else b""
        reply = self.dispatcher.dispatch(self.session, proc.number, body)
        if proc.ret is None:
            assert reply == b""
            return None
        value = proc.ret.decode(reply)
        return value[proc.ret.field_names[0]] if len(proc.ret.fields) == 1 else value


@pytest.fixture
def events():
    return []


@pytest.fixture
def call(events):
    session = Session(send_event=lambda proc, body: events.append((proc, body)))
    caller = Caller(session)
    caller("AUTH_LIST")
    caller("CONNECT_OPEN", name="test:///default", flags=0)
    yield caller
    session.close()


@pytest.fixture
def ro_call():
    session = Session(readonly=True)
    caller = Caller(session)
    caller("CONNECT_OPEN", name="test:///default", flags=0)
    yield caller
    session.close()


def test_handshake_as_virsh_does_it():
    caller = Caller(Session())
    assert caller("AUTH_LIST") == [0]
    assert caller("CONNECT_SUPPORTS_FEATURE", feature=10) == 1
    assert caller.session.keepalive
    caller("CONNECT_OPEN", name="test:///default", flags=0)
    assert caller("CONNECT_SUPPORTS_FEATURE", feature=14) == 1
    assert caller("CONNECT_SUPPORTS_FEATURE", feature=15) == 1
    assert caller("CONNECT_SUPPORTS_FEATURE", feature=999) == 0
    caller("CONNECT_REGISTER_CLOSE_CALLBACK")
    assert caller.session.close_callback
    caller("CONNECT_UNREGISTER_CLOSE_CALLBACK")
    caller("CONNECT_CLOSE")
    assert caller.session.conn is None


def test_calls_before_open_fail_like_libvirtd():
    caller = Caller(Session())
    with pytest.raises(libvirtError) as info:
        caller("CONNECT_GET_TYPE")
    assert info.value.err[:3] == (VIR_ERR_INTERNAL_ERROR, VIR_FROM_RPC,
                                  "internal error: hypervisor connection not open")
    with pytest.raises(libvirtError):
        caller("CONNECT_SUPPORTS_FEATURE", feature=14)


def test_connection_host_calls(call):
    assert call("CONNECT_GET_TYPE") == "TEST"
    assert call("CONNECT_GET_VERSION") == 2
    info = call("NODE_GET_INFO")
    assert info["model"] == "i686" and info["cpus"] == 16
    assert call("CONNECT_GET_CAPABILITIES").lstrip().startswith("<capabilities>")
    assert call("NODE_GET_SECURITY_MODEL") == {"model": "testSecurity", "doi": ""}
    assert call("CONNECT_IS_SECURE") == 0


def test_list_all_domains_and_count_only(call):
    result = call("CONNECT_LIST_ALL_DOMAINS", need_results=1, flags=0)
    assert [d.name for d in result["domains"]] == ["test"]
    assert result["ret"] == 1
    count_only = call("CONNECT_LIST_ALL_DOMAINS", need_results=0, flags=0)
    assert count_only == {"domains": [], "ret": 1}


def test_define_start_destroy_cycle(call, events):
    dom = call("DOMAIN_DEFINE_XML", xml=DOM_XML)
    assert dom.name == "beta" and dom.id == -1
    call("DOMAIN_CREATE", dom=dom)
    fresh = call("DOMAIN_LOOKUP_BY_UUID", uuid=dom.uuid)
    assert fresh.id > 0
    assert call("DOMAIN_GET_STATE", dom=fresh, flags=0) == {"state": 1, "reason": 1}
    info = call("DOMAIN_GET_INFO", dom=fresh)
    assert info["maxMem"] == 1048576 and info["nrVirtCpu"] == 1
    call("DOMAIN_DESTROY", dom=fresh)
    with pytest.raises(libvirtError) as err:
        call("DOMAIN_DESTROY", dom=fresh)
    assert err.value.get_error_code() == VIR_ERR_OPERATION_INVALID
    assert str(err.value) == "Requested operation is not valid: domain is not running"
    call("DOMAIN_UNDEFINE", dom=fresh)


def test_driver_errors_keep_code_and_domain(call):
    with pytest.raises(libvirtError) as err:
        call("DOMAIN_LOOKUP_BY_NAME", name="nope")
    assert err.value.get_error_code() == VIR_ERR_NO_DOMAIN
    decoded = decode_error(encode_error(err.value))
    assert decoded.err == err.value.err


def test_unknown_procedure_is_an_rpc_error_as_libvirtd_says_it():
    with pytest.raises(libvirtError) as err:
        Dispatcher().dispatch(Session(), 9999, b"")
    assert err.value.get_error_code() == VIR_ERR_RPC
    assert str(err.value) == "unknown procedure: 9999"


def test_garbage_args_are_an_rpc_error(call):
    with pytest.raises(libvirtError) as err:
        call.dispatcher.dispatch(call.session, 23, b"\0\0\0\x09abc")
    assert err.value.get_error_code() == VIR_ERR_RPC
    # like libvirtd, bytes after the args (or a void call's payload) are ignored
    assert call.dispatcher.dispatch(call.session, 3, b"junk") == b"\0\0\0\4TEST"


def test_read_only_session_is_denied_mutations(ro_call):
    dom = ro_call("DOMAIN_LOOKUP_BY_NAME", name="test")
    assert ro_call("DOMAIN_GET_INFO", dom=dom)["state"] == 1
    with pytest.raises(libvirtError) as err:
        ro_call("DOMAIN_DESTROY", dom=dom)
    assert err.value.get_error_code() == VIR_ERR_OPERATION_DENIED
    assert err.value.get_error_domain() == VIR_FROM_DOMAIN
    assert str(err.value) == "operation forbidden: read only access prevents virDomainDestroy"


def test_networks_and_pools(call):
    nets = call("CONNECT_LIST_ALL_NETWORKS", need_results=1, flags=0)
    net = nets["nets"][0]
    assert net.name == "default"
    assert call("NETWORK_IS_ACTIVE", net=net) == 1
    assert call("NETWORK_GET_AUTOSTART", net=net) in (0, 1)
    pools = call("CONNECT_LIST_ALL_STORAGE_POOLS", need_results=1, flags=0)
    pool = pools["pools"][0]
    assert pool.name == "default-pool"
    info = call("STORAGE_POOL_GET_INFO", pool=pool)
    assert info["state"] == 2
    vols = call("STORAGE_POOL_LIST_ALL_VOLUMES", pool=pool, need_results=1, flags=0)
    assert vols["ret"] == len(vols["vols"])


def test_domain_stats_are_typed_params(call):
    records = call("CONNECT_GET_ALL_DOMAIN_STATS", doms=[], stats=0, flags=0)
    record = records[0]
    assert record["dom"].name == "test"
    assert {"field": "state.state", "value": (1, 1)} in record["params"]


def test_lifecycle_event_reaches_the_session(call, events):
    callback_id = call("CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY", eventID=0, dom=None)
    dom = call("DOMAIN_LOOKUP_BY_NAME", name="test")
    call("DOMAIN_SUSPEND", dom=dom)
    call("DOMAIN_RESUME", dom=dom)
    lifecycle = [TABLE.events[318].body.decode(body) for proc, body in events if proc == 318]
    assert [(e["callbackID"], e["dom"].name, e["event"]) for e in lifecycle] == [
        (callback_id, "test", 3), (callback_id, "test", 4)]
    call("CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY", callbackID=callback_id)
    events.clear()
    call("DOMAIN_SUSPEND", dom=dom)
    call("DOMAIN_RESUME", dom=dom)
    assert events == []


def test_session_close_deregisters_events(events):
    session = Session(send_event=lambda proc, body: events.append(proc))
    caller = Caller(session)
    caller("CONNECT_OPEN", name="test:///default", flags=0)
    other = Caller(Session())
    other("CONNECT_OPEN", name="test:///default", flags=0)
    caller("CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY", eventID=0, dom=None)
    session.close()
    dom = other("DOMAIN_LOOKUP_BY_NAME", name="test")
    other("DOMAIN_SUSPEND", dom=dom)
    other("DOMAIN_RESUME", dom=dom)
    other.session.close()
    assert events == []


def test_snapshots_round_trip(call):
    dom = call("DOMAIN_LOOKUP_BY_NAME", name="test")
    snap = call("DOMAIN_SNAPSHOT_CREATE_XML", dom=dom,
                xml_desc="<domainsnapshot><name>s1</name></domainsnapshot>", flags=0)
    assert snap.name == "s1" and snap.domain.name == "test"
    listed = call("DOMAIN_LIST_ALL_SNAPSHOTS", dom=dom, need_results=1, flags=0)
    assert [s.name for s in listed["snapshots"]] == ["s1"]
    assert call("DOMAIN_SNAPSHOT_NUM", dom=dom, flags=0) == 1
    assert "<name>s1</name>" in call("DOMAIN_SNAPSHOT_GET_XML_DESC", snap=snap, flags=0)
    call("DOMAIN_SNAPSHOT_DELETE", snap=snap, flags=0)
    assert call("DOMAIN_SNAPSHOT_NUM", dom=dom, flags=0) == 0


def test_typed_params_pick_libvirt_types():
    params = typed_params({"i": 1, "u": 2**31, "l": -2**40, "ul": 2**40, "d": 0.5,
                           "b": True, "s": "x", "explicit": (schema.TYPED_PARAM_ULLONG, 1)})
    kinds = {p["field"]: p["value"][0] for p in params}
    assert kinds == {"i": 1, "u": 2, "l": 3, "ul": 4, "d": 5, "b": 6, "s": 7, "explicit": 4}


def test_stream_procedures_answer_no_support_for_now(call):
    pool = call("STORAGE_POOL_LOOKUP_BY_NAME", name="default-pool")
    with pytest.raises(libvirtError) as err:
        call("STORAGE_VOL_DOWNLOAD", vol=("default-pool", "x", "k"), offset=0, length=0, flags=0)
    assert err.value.get_error_code() == VIR_ERR_NO_SUPPORT
    assert pool.name == "default-pool"


def test_vcpus_and_pin_info_pack_maps(call):
    dom = call("DOMAIN_LOOKUP_BY_NAME", name="test")
    result = call("DOMAIN_GET_VCPUS", dom=dom, maxinfo=2, maplen=2)
    assert [v["number"] for v in result["info"]] == [0, 1]
    assert len(result["cpumaps"]) == 4
    pins = call("DOMAIN_GET_VCPU_PIN_INFO", dom=dom, ncpumaps=2, maplen=1, flags=0)
    assert pins["num"] == 2 and len(pins["cpumaps"]) == 2


def test_scheduler_params_cross_as_typed_params(call):
    dom = call("DOMAIN_LOOKUP_BY_NAME", name="test")
    assert call("DOMAIN_GET_SCHEDULER_TYPE", dom=dom) == {"type": "fair", "nparams": 1}
    params = call("DOMAIN_GET_SCHEDULER_PARAMETERS_FLAGS", dom=dom, nparams=1, flags=0)
    assert params == [{"field": "weight", "value": (schema.TYPED_PARAM_UINT, 50)}]
    assert call("DOMAIN_SET_SCHEDULER_PARAMETERS_FLAGS", dom=dom, flags=0,
                params=[{"field": "weight", "value": (schema.TYPED_PARAM_UINT, 70)}]) is None
    with pytest.raises(libvirtError) as err:        # the params reach the driver as a dict
        call("DOMAIN_SET_SCHEDULER_PARAMETERS", dom=dom,
             params=[{"field": "cap", "value": (schema.TYPED_PARAM_UINT, 1)}])
    assert "'cap'" in str(err.value)
    assert call("DOMAIN_GET_SCHEDULER_PARAMETERS", dom=dom, nparams=1)[0]["field"] == "weight"


def test_guest_information_shapes(call):
    dom = call("DOMAIN_LOOKUP_BY_NAME", name="test")
    info = call("DOMAIN_GET_BLOCK_INFO", dom=dom, path="vda", flags=0)
    assert set(info) == {"allocation", "capacity", "physical"}
    fs = call("DOMAIN_GET_FSINFO", dom=dom, flags=0)
    assert fs["ret"] == len(fs["info"]) > 0
    ifaces = call("DOMAIN_INTERFACE_ADDRESSES", dom=dom, source=0, flags=0)
    assert ifaces[0]["addrs"][0]["prefix"] == 24
    errors = call("DOMAIN_GET_DISK_ERRORS", dom=dom, maxerrors=0, flags=0)
    assert errors["errors"] == [] and errors["nerrors"] >= 1
    assert call("DOMAIN_GET_TIME", dom=dom, flags=0)["nseconds"] >= 0
    cpumap = call("NODE_GET_CPU_MAP", need_map=1, need_online=1, flags=0)
    assert (cpumap["ret"], cpumap["online"], cpumap["cpumap"]) == (8, 3, b"\x15")


def test_missing_entry_point_names_the_public_api(call):
    net = call("NETWORK_LOOKUP_BY_NAME", name="default")
    with pytest.raises(libvirtError) as err:
        call("NETWORK_GET_DHCP_LEASES", net=net, mac=None, need_results=1, flags=0)
    assert err.value.get_error_code() == VIR_ERR_NO_SUPPORT
    assert str(err.value).endswith(": virNetworkGetDHCPLeases")


def test_fallback_entry_points(call):
    dom = call("DOMAIN_DEFINE_XML", xml=DOM_XML)          # -> domain_define_xml_flags
    call("DOMAIN_CREATE", dom=dom)
    fresh = call("DOMAIN_LOOKUP_BY_NAME", name="beta")
    call("DOMAIN_DESTROY", dom=fresh)
    call("DOMAIN_UNDEFINE", dom=fresh)
    with pytest.raises(libvirtError):
        call("DOMAIN_LOOKUP_BY_NAME", name="beta")


def test_read_only_session_may_not_ask_for_secure_xml(ro_call):
    dom = ro_call("DOMAIN_LOOKUP_BY_NAME", name="test")
    assert "<domain" in ro_call("DOMAIN_GET_XML_DESC", dom=dom, flags=0)
    for flags in (1, 8):
        with pytest.raises(libvirtError) as err:
            ro_call("DOMAIN_GET_XML_DESC", dom=dom, flags=flags)
        assert str(err.value) == "operation forbidden: virDomainGetXMLDesc with secure flag"
        assert err.value.get_error_code() == VIR_ERR_OPERATION_DENIED


def _zero(kind):
    """A harmless value of an XDR type: empty, zero, or a ref to nothing."""
    from pyvirt.rpc import xdr
    if isinstance(kind, xdr.Optional):
        return None
    if isinstance(kind, (xdr.Array,)):
        return []
    if isinstance(kind, xdr.String):
        return "nope"
    if isinstance(kind, xdr.FixedOpaque):
        return b"\0" * kind.size
    if isinstance(kind, xdr.Opaque):
        return b""
    if isinstance(kind, xdr.Struct):
        return kind.decode(kind.encode({n: _zero(t) for n, t in kind.fields}))
    return 0


@pytest.mark.parametrize("number", sorted(n for n, p in TABLE.procedures.items()
                                          if n not in (1, 2) and p.stream is None))
def test_every_procedure_answers_or_fails_as_libvirt_error(call, number):
    """Bogus-but-well-formed args: a result or a libvirtError, never a crash."""
    proc = TABLE.procedures[number]
    body = proc.args.encode({n: _zero(t) for n, t in proc.args.fields}) if proc.args else b""
    try:
        call.dispatcher.dispatch(call.session, number, body)
    except libvirtError as err:
        expected = ("not open", "not registered")      # libvirtd's internal errors too
        assert err.get_error_code() != VIR_ERR_INTERNAL_ERROR or \
            any(text in str(err) for text in expected), f"{proc.name}: {err}"


def test_client_asking_read_only_on_a_read_write_socket_gets_it():
    caller = Caller(Session())
    caller("CONNECT_OPEN", name="test:///default", flags=1)       # VIR_CONNECT_RO
    dom = caller("DOMAIN_LOOKUP_BY_NAME", name="test")
    with pytest.raises(libvirtError) as err:
        caller("DOMAIN_SUSPEND", dom=dom)
    assert err.value.get_error_code() == VIR_ERR_OPERATION_DENIED
    caller.session.close()


def test_event_bodies_follow_libvirt_python_payloads():
    dom = schema.nonnull_domain.decode(schema.nonnull_domain.encode(("vm", bytes(16), 3)))
    graphics = TABLE.event_for("domain", 5)
    body = Dispatcher.event_body(graphics, 7, dom, (
        0, {"family": 0, "node": "127.0.0.1", "service": "5900"},
        {"family": 0, "node": "127.0.0.1", "service": "40000"}, "none", [("x509dname", "CN=a")]))
    decoded = graphics.body.decode(body)
    assert decoded["remote"]["service"] == "40000"
    assert decoded["subject"] == [{"type": "x509dname", "name": "CN=a"}]
    pm = TABLE.event_for("domain", 11)           # PMWAKEUP: reason comes before dom
    assert pm.body.field_names == ("callbackID", "reason", "dom")
    assert pm.body.decode(Dispatcher.event_body(pm, 1, dom, (0,)))["dom"].name == "vm"
    tunable = TABLE.event_for("domain", 17)
    body = Dispatcher.event_body(tunable, 1, dom, ({"cputune.vcpu0": "0-1"},))
    decoded = tunable.body.decode(body)
    assert decoded["params"] == [{"field": "cputune.vcpu0", "value": (7, "0-1")}]


@pytest.mark.parametrize("name, domain", [
    ("CONNECT_GET_DOMAIN_CAPABILITIES", 20), ("NETWORK_GET_DHCP_LEASES", 19),
    ("DOMAIN_SNAPSHOT_CURRENT", 35), ("STORAGE_VOL_WIPE", 18), ("NODE_GET_CPU_MAP", 0)])
def test_missing_entry_points_report_the_api_files_error_domain(name, domain):
    from pyvirt.remote.dispatch import _api_error_domain
    assert _api_error_domain(BY_NAME[name]) == domain


def test_inline_runs_only_for_never_blocking_tables_and_their_quick_calls(tmp_path):
    from pyvirt.drivers.base import DriverConnection, HypervisorConnection
    from pyvirt.security.audit import AuditLog

    class Quick(HypervisorConnection):
        calls_never_block = True
        calls_that_block = frozenset({"domain_save_flags"})

    class Plain(HypervisorConnection):
        pass

    dispatcher = Dispatcher()
    quick = Session(conn=DriverConnection(uri="x:///", hypervisor=Quick()))
    plain = Session(conn=DriverConnection(uri="x:///", hypervisor=Plain()))
    assert dispatcher.runs_inline(quick, 23)           # DOMAIN_LOOKUP_BY_NAME: high
    assert dispatcher.runs_inline(quick, 14)           # DOMAIN_GET_XML_DESC: low, in memory
    assert dispatcher.runs_inline(quick, 11)           # DOMAIN_DEFINE_XML, not audited
    assert not dispatcher.runs_inline(quick, 232)      # DOMAIN_SAVE_FLAGS: writes a file
    assert not dispatcher.runs_inline(quick, 316)      # event registration: own handler
    assert not dispatcher.runs_inline(quick, 201)      # streams never
    assert not dispatcher.runs_inline(plain, 23)
    assert not dispatcher.runs_inline(plain, 14)
    assert not dispatcher.runs_inline(Session(), 3)    # not open yet
    assert dispatcher.runs_inline(Session(), 66)       # AUTH_LIST: the session only
    open_args = TABLE.procedures[1].args
    assert dispatcher.runs_inline(Session(), 1, open_args.encode(
        {"name": "test:///default", "flags": 0}))      # CONNECT_OPEN: in memory
    assert not dispatcher.runs_inline(Session(), 1, open_args.encode(
        {"name": "qemu:///system", "flags": 0}))
    assert not dispatcher.runs_inline(Session(), 1, b"\0\0")   # garbage: the worker answers
    assert dispatcher.runs_inline(plain, 60)           # SUPPORTS_FEATURE: the session only
    assert dispatcher.runs_inline(quick, 2)            # CONNECT_CLOSE of an in-memory driver
    assert not dispatcher.runs_inline(plain, 2)
    audited = Dispatcher(audit=AuditLog(str(tmp_path / "audit.log")))
    assert not audited.runs_inline(quick, 11)          # each audit line is synced to disk
    assert audited.runs_inline(quick, 23)


def test_empty_params_array_is_libvirts_null_check(call):
    dom = call("DOMAIN_LOOKUP_BY_NAME", name="test")
    with pytest.raises(libvirtError) as err:
        call("DOMAIN_SET_SCHEDULER_PARAMETERS", dom=dom, params=[])
    assert err.value.err[:3] == (
        8, 20, "params in virDomainSetSchedulerParameters must not be NULL")


def test_a_closed_session_drops_its_event_sender():
    sent = []
    session = Session(send_event=lambda proc, body: sent.append(proc))
    session.send_event(1, b"")
    session.close()
    session.send_event(2, b"")               # after the close: goes nowhere
    assert sent == [1]
