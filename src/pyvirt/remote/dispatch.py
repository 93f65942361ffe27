"""Procedure -> driver entry point, made from the protocol table.

:class:`Dispatcher` decodes a call's args, checks the session (open,
read-only), calls the driver table entry named after the procedure, and
encodes the ret struct. A failure is a ``libvirtError``; :func:`encode_error`
turns it into the ``remote_error`` body of an error reply. No I/O here: the
daemon moves the bytes, and calls :meth:`Dispatcher.dispatch` on a worker.

Most procedures need no code: args are passed to the entry point in
declaration order (``need_results`` dropped), and the result fills the ret
struct (one field: the value; several: a tuple/list in order or a dict; list-all
procedures: ``(items, count)``). The few that differ are handlers below.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable

from pyvirt import uri as _uri
from pyvirt.drivers.base import DriverConnection, registered_drivers
from pyvirt.errors import (VIR_ERR_INTERNAL_ERROR, VIR_ERR_INVALID_ARG, VIR_ERR_NO_CONNECT,
                           VIR_ERR_NO_SUPPORT,
                           VIR_ERR_OPERATION_DENIED, VIR_ERR_RPC, VIR_FROM_DOMAIN,
                           VIR_FROM_DOMAIN_SNAPSHOT, VIR_FROM_NONE,
                           VIR_FROM_NETWORK, VIR_FROM_REMOTE, VIR_FROM_RPC, VIR_FROM_STORAGE,
                           error, libvirtError)
from pyvirt.remote import access, schema
from pyvirt.remote.protocol import FEATURE_PROGRAM_KEEPALIVE, FEATURES, TABLE
from pyvirt.remote.schema import Procedure, ProtocolTable
from pyvirt.remote.session import DEREGISTER, Session
from pyvirt.remote.shapes import (MEMORY_STAT_TAGS, encode_error, pack_cpumaps, params_dict,
                                  typed_params)
from pyvirt.rpc.xdr import XdrError
from pyvirt.security.audit import AuditLog, identity_of, object_of

__all__ = ["Dispatcher", "Session", "encode_error", "typed_params"]

log = logging.getLogger(__name__)

VIR_CONNECT_RO = 1
TYPED_PARAM_STRING_OKAY = 1 << 2
REMOTE_AUTH_NONE = 0

#: Handlers that only read or set the session: they never block, whatever the
#: driver (the handshake's AUTH_LIST and SUPPORTS_FEATURE run before any is open).
_SESSION_HANDLERS = {60, 66, 149, 360, 361}
#: Handlers as cheap as the generic path when the driver's calls never block
#: (CONNECT_CLOSE closes the driver connection).
_INLINE_HANDLERS = {2}

#: Procedures a client may call before CONNECT_OPEN.
_BEFORE_OPEN = {1, 2, 60, 66, 360, 361}

#: Flags a read-only connection may not pass (VIR_DOMAIN_XML_SECURE|MIGRATABLE...).
_SECURE_FLAGS = {14: 0x1 | 0x8, 186: 0x1, 235: 0x1}

#: An entry point a driver may lack, and the one to call instead with the
#: arguments rewritten.
_FALLBACKS: dict[str, tuple[str, Callable[[list[Any]], list[Any]]]] = {
    "domain_define_xml": ("domain_define_xml_flags", lambda a: a + [0]),
    "domain_create": ("domain_create_with_flags", lambda a: a + [0]),
    "domain_destroy": ("domain_destroy_flags", lambda a: a + [0]),
    "domain_shutdown": ("domain_shutdown_flags", lambda a: a + [0]),
    "domain_undefine": ("domain_undefine_flags", lambda a: a + [0]),
    "domain_attach_device": ("domain_attach_device_flags", lambda a: a + [1]),
    "domain_detach_device": ("domain_detach_device_flags", lambda a: a + [1]),
    "domain_set_memory": ("domain_set_memory_flags", lambda a: a + [1]),
    "domain_set_vcpus": ("domain_set_vcpus_flags", lambda a: a + [1]),
    "domain_save": ("domain_save_flags", lambda a: a + [None, 0]),
    "domain_restore": ("domain_restore_flags", lambda a: a + [None, 0]),
    "network_define_xml": ("network_define_xml_flags", lambda a: a + [0]),
    "network_create_xml": ("network_create_xml_flags", lambda a: a + [0]),
    "storage_vol_get_info_flags": ("storage_vol_get_info", lambda a: a[:1]),
}


def audit_identity(who: Any) -> dict[str, Any]:
    """The audit record's identity: the peer's, plus the SASL user name."""
    found = identity_of(who)
    sasl_user = getattr(who, "sasl_user", None)
    if sasl_user:
        found["sasl_user"] = sasl_user
    return found


def open_in_daemon(uri: Any, flags: int = 0, readonly: bool = False) -> DriverConnection:
    """``open_connection`` without the remote driver: like libvirtd, the daemon
    only opens drivers that run in it (never a loop back to a daemon)."""
    for driver in registered_drivers():
        if driver.name == "remote":
            continue
        conn = driver.open(uri, flags, readonly)
        if conn is not None:
            conn.readonly = conn.readonly or readonly
            return conn
    raise error(VIR_ERR_NO_CONNECT, str(uri))


#: list-all procedures and the ACL object of their items
_LISTED_KIND = {"CONNECT_LIST_ALL_DOMAINS": "domain", "CONNECT_LIST_ALL_NETWORKS": "network",
                "CONNECT_LIST_ALL_STORAGE_POOLS": "storage_pool",
                "STORAGE_POOL_LIST_ALL_VOLUMES": "storage_vol"}

#: libvirt's driver names (virConnectDriver.name), which its access errors quote
_DRIVER_NAMES = {"test": "Test", "qemu": "QEMU", "lxc": "LXC", "network": "bridge",
                 "storage": "storage"}


def _driver_name(uri: str | None) -> str:
    scheme = (uri or "").split(":", 1)[0].split("+", 1)[0]
    return _DRIVER_NAMES.get(scheme, scheme or "remote")


def _listed_name(item: Any) -> str | None:
    return getattr(item, "name", None)


def _opens_test_default(proc: Procedure, body: bytes) -> bool:
    """Whether a CONNECT_OPEN body names ``test:///default`` (in memory: opening
    it never blocks; the first open in a process imports the test driver)."""
    try:
        return proc.args.decode(body, exact=False)["name"] == "test:///default"
    except XdrError:
        return False


def _not_open() -> Exception:
    return error(VIR_ERR_INTERNAL_ERROR, "hypervisor connection not open", domain=VIR_FROM_RPC)


#: virDomainEventID / virNetworkEventID / virStoragePoolEventID counts (libvirt 9.0).
_EVENT_ID_LAST = {"domain": 27, "network": 1, "storage_pool": 2}
_EVENT_NOUN = {"domain": "domain", "network": "network", "storage_pool": "storage pool"}


_REGISTER = {"domain": "connect_domain_event_register_any",
             "network": "connect_network_event_register_any",
             "storage_pool": "connect_storage_pool_event_register_any"}


def _api_error_domain(proc: Procedure) -> int:
    """The error domain of the public API file behind ``proc`` (libvirt-domain.c...)."""
    for word, domain in (("SNAPSHOT", VIR_FROM_DOMAIN_SNAPSHOT), ("DOMAIN", VIR_FROM_DOMAIN),
                         ("NETWORK", VIR_FROM_NETWORK), ("STORAGE", VIR_FROM_STORAGE)):
        if word in proc.name:
            return domain
    return VIR_FROM_NONE                # libvirt-host.c


def _family_of(method: str) -> str:
    if "network" in method:
        return "network"
    if "storage" in method:
        return "storage"
    return "hypervisor"


class Dispatcher:
    """Runs calls of the remote program against a session's driver tables."""

    def __init__(self, table: ProtocolTable = TABLE,
                 opener: Callable[..., DriverConnection] = open_in_daemon,
                 audit: AuditLog | None = None):
        self.table = table
        self._open = opener
        #: where mutating calls are recorded (None: not recorded)
        self.audit = audit
        self._handlers: dict[int, Callable[[Session, Procedure, dict[str, Any]], Any]] = {
            1: self._connect_open, 2: self._connect_close, 60: self._supports_feature,
            66: self._auth_list, 149: self._is_secure, 360: self._close_callback,
            361: self._close_callback, 159: self._memory_stats, 262: self._cpu_stats,
            344: self._all_domain_stats, 20: self._vcpus, 230: self._vcpu_pin_info,
            198: self._typed_params_get, 206: self._typed_params_get,
            257: self._typed_params_get,
            278: self._security_label_list, 194: self._block_info, 263: self._disk_errors,
            349: self._fsinfo,
            353: self._interface_addresses, 243: self._block_stats_flags, 293: self._cpu_map,
            358: self._rename,
            316: self._register("domain", "dom"), 313: self._register("network", "net"),
            368: self._register("storage_pool", "pool"),
            317: self._deregister("domain"), 314: self._deregister("network"),
            369: self._deregister("storage_pool"),
        }

    # --- the entry ---------------------------------------------------------------
    def dispatch(self, session: Session, number: int, body: bytes, stream: Any = None) -> bytes:
        """Run procedure ``number`` with the encoded ``body``; the encoded ret.

        A stream procedure needs ``stream``: the daemon's end of the data
        channel, handed to the entry point where libvirt puts it."""
        proc = self.table.procedures.get(number)
        if proc is None:
            raise error(VIR_ERR_RPC, f"unknown procedure: {number}", domain=VIR_FROM_RPC)
        if self.audit is None or not proc.mutating:
            return self._run(session, proc, self.decode_args(proc, body), stream)
        args: dict[str, Any] = {}
        try:
            args = self.decode_args(proc, body)
            ret = self._run(session, proc, args, stream)
        except Exception as err:
            self._audit(session, proc, args, err)
            raise
        self._audit(session, proc, args, None)
        return ret

    def _audit(self, session: Session, proc: Procedure, args: dict[str, Any],
               err: BaseException | None) -> None:
        """Record a finished mutating call; a failing audit log is logged, never fatal."""
        try:
            self.audit.log_call(proc.name, audit_identity(session.identity), object_of(args),
                                err, mutating=proc.mutating)
        except OSError as failure:
            log.error("cannot write the audit log %s: %s", self.audit.path, failure)

    def _run(self, session: Session, proc: Procedure, args: dict[str, Any],
             stream: Any) -> bytes:
        """The call itself: session checks, access rules, entry point, reply."""
        number = proc.number
        if session.conn is None and number not in _BEFORE_OPEN:
            raise _not_open()
        if session.readonly:
            self._check_read_only(proc, args)
        if proc.stream is not None and stream is None:
            raise error(VIR_ERR_NO_SUPPORT, f"{proc.api} needs a stream", domain=VIR_FROM_REMOTE)
        check_after = False
        if session.access is not None:
            obj = access.object_name(args)
            check_after = obj is None and proc.object_kind != "connect"
            if not check_after:
                self._check_access(session, proc, args, obj)
        handler = self._handlers.get(number)
        try:
            if proc.stream is not None:
                result = self._generic(session, proc, args, stream)
            elif handler is not None:
                result = handler(session, proc, args)
            else:
                result = self._generic(session, proc, args)
            if session.access is not None:
                if check_after:             # lookups by UUID or id: the object is the answer
                    self._check_access(session, proc, args, access.object_name({}, result))
                result = self._visible(session, proc, args, result)
            return self.encode_ret(proc, args, result)
        except libvirtError:
            raise
        except XdrError as err:
            raise error(VIR_ERR_INTERNAL_ERROR, f"cannot encode the reply of {proc.api}: {err}",
                        domain=VIR_FROM_REMOTE) from err

    @staticmethod
    def _check_access(session: Session, proc: Procedure, args: dict[str, Any],
                      obj: str | None) -> None:
        """The session's access rules must allow every ACL permission of ``proc``."""
        uri = args.get("name") if proc.number == 1 else (
            session.conn.uri if session.conn is not None else None)
        try:
            session.access.check(session.identity, proc.acl, obj, _driver_name(uri))
        except libvirtError as err:
            log.warning("access denied to %s: %s", proc.api, getattr(err, "why", err))
            raise

    @staticmethod
    def _visible(session: Session, proc: Procedure, args: dict[str, Any], result: Any) -> Any:
        """List-all answers keep only the objects the caller may see (libvirt's
        ``*:getattr`` filter)."""
        if proc.args is None or "need_results" not in proc.args.field_names:
            return result
        kind = _LISTED_KIND.get(proc.name)
        if kind is None:
            return result
        rules, who = session.access, session.identity
        return [item for item in result
                if rules.allowed(who, f"{kind}:getattr", _listed_name(item))]

    @staticmethod
    def _check_read_only(proc: Procedure, args: dict[str, Any]) -> None:
        """libvirt's read-only rules: mutating procedures, and secure XML."""
        domain = _api_error_domain(proc)
        if proc.mutating:
            raise error(VIR_ERR_OPERATION_DENIED, f"read only access prevents {proc.api}",
                        domain=domain)
        secure = _SECURE_FLAGS.get(proc.number)
        if secure is not None and args.get("flags", 0) & secure:
            raise error(VIR_ERR_OPERATION_DENIED, f"{proc.api} with secure flag", domain=domain)

    @staticmethod
    def decode_args(proc: Procedure, body: bytes) -> dict[str, Any]:
        if proc.args is None:
            return {}                   # libvirtd ignores a void call's payload
        try:
            return proc.args.decode(body, exact=False)
        except XdrError as err:
            raise error(VIR_ERR_RPC, "Unable to decode message payload",
                        domain=VIR_FROM_RPC) from err

    @staticmethod
    def encode_ret(proc: Procedure, args: dict[str, Any], result: Any) -> bytes:
        ret = proc.ret
        if ret is None:
            return b""
        if proc.args is not None and "need_results" in proc.args.field_names:
            items = list(result)
            return ret.encode([items if args["need_results"] else [], len(items)])
        if len(ret.fields) == 1:
            if ret.field_names[0] == "params" and isinstance(result, dict):
                result = typed_params(result)
            return ret.encode([result])
        return ret.encode(result if isinstance(result, dict) else list(result))

    def runs_inline(self, session: Session, number: int, body: bytes = b"") -> bool:
        """True when ``number`` may run on the caller's thread (the daemon's loop):
        a call into a driver table that declares ``calls_never_block = True``
        (in-memory drivers), unless its entry point is one of the table's
        ``calls_that_block`` (file I/O) or the call is audited (the audit log
        syncs each line to disk); the handshake's session-only handlers; and
        CONNECT_OPEN of ``test:///default`` (``body``: the call's args), the
        in-memory driver every test client opens. Saves two thread hops."""
        proc = self.table.procedures.get(number)
        conn = session.conn
        if number in _SESSION_HANDLERS and proc is not None:
            return True
        if number == 1 and conn is None:
            return _opens_test_default(proc, body)
        if proc is None or proc.stream is not None or conn is None:
            return False
        if number in self._handlers and number not in _INLINE_HANDLERS:
            return False
        if self.audit is not None and proc.mutating:
            return False
        kind = type(getattr(conn, _family_of(proc.method), None))
        if not getattr(kind, "calls_never_block", False):
            return False
        return proc.method not in getattr(kind, "calls_that_block", ())

    # --- generic call ------------------------------------------------------------
    def entry_point(self, session: Session, proc: Procedure,
                    method: str | None = None) -> tuple[Callable[..., Any], Callable]:
        """The bound driver method for ``proc`` and an args rewriter."""
        name = method or proc.method
        conn = session.conn
        for candidate, rewrite in ((name, lambda a: a), _FALLBACKS.get(name, (None, None))):
            if candidate is None:
                continue
            table = getattr(conn, _family_of(candidate)) if conn is not None else None
            if table is not None and getattr(type(table), candidate, None) is not None:
                return getattr(table, candidate), rewrite
        raise error(VIR_ERR_NO_SUPPORT, proc.api, domain=_api_error_domain(proc))

    def _generic(self, session: Session, proc: Procedure, args: dict[str, Any],
                 stream: Any = None) -> Any:
        func, rewrite = self.entry_point(session, proc)
        if "params" in args and not args["params"]:     # an empty array arrives as NULL
            # libvirt's virCheckNonNullArg: the bare message, no "invalid argument: "
            raise libvirtError(f"params in {proc.api} must not be NULL",
                               code=VIR_ERR_INVALID_ARG, domain=_api_error_domain(proc))
        values = [params_dict(v) if k == "params" else v
                  for k, v in args.items() if k != "need_results"]
        if stream is not None:
            values.insert(proc.stream_at, stream)
        return func(*rewrite(values))

    # --- handshake ------------------------------------------------------------------
    def _connect_open(self, session: Session, proc: Procedure, args: dict[str, Any]) -> None:
        if session.conn is not None:
            raise error(VIR_ERR_INTERNAL_ERROR, "connection already open", domain=VIR_FROM_RPC)
        name = args["name"] or _uri.resolve(None)
        if not name:
            raise _uri.no_default_uri()
        flags = args["flags"]
        if session.readonly:
            flags |= VIR_CONNECT_RO
        parsed = _uri.parse(name)
        session.conn = self._open(parsed, flags, bool(flags & VIR_CONNECT_RO))
        session.readonly = bool(flags & VIR_CONNECT_RO)    # asked for by the client too

    @staticmethod
    def _connect_close(session: Session, proc: Procedure, args: dict[str, Any]) -> None:
        session.close()

    @staticmethod
    def _supports_feature(session: Session, proc: Procedure, args: dict[str, Any]) -> int:
        feature = args["feature"]
        if feature == FEATURE_PROGRAM_KEEPALIVE:
            session.keepalive = True
            return 1
        if session.conn is None:
            raise _not_open()
        return FEATURES.get(feature, 0)

    @staticmethod
    def _auth_list(session: Session, proc: Procedure, args: dict[str, Any]) -> list[int]:
        return [REMOTE_AUTH_NONE]

    @staticmethod
    def _is_secure(session: Session, proc: Procedure, args: dict[str, Any]) -> int:
        return int(session.secure)

    @staticmethod
    def _close_callback(session: Session, proc: Procedure, args: dict[str, Any]) -> None:
        session.close_callback = proc.number == 360

    # --- shapes the generic rule does not cover ---------------------------------------
    def _memory_stats(self, session: Session, proc: Procedure, args: dict[str, Any]) -> list:
        func, _ = self.entry_point(session, proc)
        stats = func(args["dom"], args["maxStats"], args["flags"])
        if isinstance(stats, dict):
            stats = [(MEMORY_STAT_TAGS[k], v) for k, v in stats.items() if k in MEMORY_STAT_TAGS]
        return [{"tag": tag, "val": val} for tag, val in stats][:args["maxStats"]]

    def _cpu_stats(self, session: Session, proc: Procedure, args: dict[str, Any]) -> dict:
        func, _ = self.entry_point(session, proc)
        nparams, start, ncpus = args["nparams"], args["start_cpu"], args["ncpus"]
        if nparams == 0 and ncpus == 0:     # "how many CPUs?"
            info = self.entry_point(session, proc, "node_get_info")[0]()
            return {"params": [], "nparams": int(info[2])}
        # the client adds VIR_TYPED_PARAM_STRING_OKAY; CPU stats hold no strings
        flags = args["flags"] & ~TYPED_PARAM_STRING_OKAY
        per_cpu = func(args["dom"], start, max(ncpus, 1), flags)
        width = max((len(s) for s in per_cpu), default=0)
        if nparams == 0:
            return {"params": [], "nparams": width}
        if width > nparams:
            raise error(VIR_ERR_INVALID_ARG, f"nparams too small, need {width}",
                        domain=VIR_FROM_REMOTE)
        params = [param for stats in per_cpu for param in typed_params(stats)]
        return {"params": params, "nparams": width}

    def _all_domain_stats(self, session: Session, proc: Procedure, args: dict[str, Any]) -> list:
        func, _ = self.entry_point(session, proc)
        records = func(args["doms"] or None, args["stats"], args["flags"])
        return [{"dom": ref, "params": typed_params(stats)} for ref, stats in records]

    def _vcpus(self, session: Session, proc: Procedure, args: dict[str, Any]) -> dict:
        func, _ = self.entry_point(session, proc)
        _check_cpumap_sizes("maxinfo", args["maxinfo"], args["maplen"])
        if args["maxinfo"] <= 0:
            raise _public_arg_error("maxinfo", "virDomainGetVcpus", "must be greater than zero")
        if args["maplen"] < 0:                 # no buffer for the maps: maplen must be 0
            raise _public_arg_error("maplen", "virDomainGetVcpus", "must be zero")
        info, maps = func(args["dom"], args["maxinfo"], args["maplen"])
        info = list(info)[:args["maxinfo"]]
        return {"info": [tuple(i) for i in info],
                "cpumaps": pack_cpumaps(list(maps), args["maxinfo"], args["maplen"])}

    def _vcpu_pin_info(self, session: Session, proc: Procedure, args: dict[str, Any]) -> dict:
        func, _ = self.entry_point(session, proc)
        _check_cpumap_sizes("ncpumaps", args["ncpumaps"], args["maplen"])
        function = "virDomainGetVcpuPinInfo"
        if args["maplen"] <= 0:                # libvirtd passes no buffer then
            raise _public_arg_error("cpumaps", function, "must not be NULL")
        if args["ncpumaps"] <= 0:
            raise _public_arg_error("ncpumaps", function, "must be greater than zero")
        maps = list(func(args["dom"], args["ncpumaps"], args["maplen"], args["flags"]))
        count = min(len(maps), args["ncpumaps"])
        return {"cpumaps": pack_cpumaps(maps, count, args["maplen"]), "num": count}

    def _block_info(self, session: Session, proc: Procedure, args: dict[str, Any]) -> list:
        func, _ = self.entry_point(session, proc)
        capacity, allocation, physical = func(args["dom"], args["path"], args["flags"])
        return [allocation, capacity, physical]

    def _disk_errors(self, session: Session, proc: Procedure, args: dict[str, Any]) -> dict:
        func, _ = self.entry_point(session, proc)
        errors = func(args["dom"], args["maxerrors"], args["flags"])
        pairs = list(errors.items()) if isinstance(errors, dict) else [tuple(e) for e in errors]
        if args["maxerrors"] == 0:
            return {"errors": [], "nerrors": len(pairs)}
        pairs = pairs[:args["maxerrors"]]
        return {"errors": pairs, "nerrors": len(pairs)}

    def _fsinfo(self, session: Session, proc: Procedure, args: dict[str, Any]) -> dict:
        func, _ = self.entry_point(session, proc)
        info = [(m, n, t, list(a)) for m, n, t, a in func(args["dom"], args["flags"])]
        return {"info": info, "ret": len(info)}

    def _interface_addresses(self, session: Session, proc: Procedure,
                             args: dict[str, Any]) -> list:
        func, _ = self.entry_point(session, proc)
        result = func(args["dom"], args["source"], args["flags"])
        return [{"name": name, "hwaddr": iface.get("hwaddr"),
                 "addrs": [{"type": a["type"], "addr": a["addr"], "prefix": a["prefix"]}
                           for a in iface.get("addrs") or []]}
                for name, iface in result.items()]

    def _block_stats_flags(self, session: Session, proc: Procedure,
                           args: dict[str, Any]) -> dict:
        func, _ = self.entry_point(session, proc)
        flags = args["flags"] & ~TYPED_PARAM_STRING_OKAY
        stats = func(args["dom"], args["path"], args["nparams"], flags)
        if args["nparams"] == 0:
            return {"params": [], "nparams": len(stats)}
        params = typed_params(dict(list(stats.items())[:args["nparams"]]))
        return {"params": params, "nparams": len(params)}

    def _typed_params_get(self, session: Session, proc: Procedure,
                          args: dict[str, Any]) -> dict:
        """GET_MEMORY/BLKIO/INTERFACE_PARAMETERS: ``nparams == 0`` asks for the count only."""
        func, _ = self.entry_point(session, proc)
        if "device" in args:     # the count comes before the device is looked up (libvirt)
            device = args["device"] if args["nparams"] else None
            values = func(args["dom"], device, args["flags"])
        else:
            values = func(args["dom"], args["flags"])
        if args["nparams"] == 0:
            return {"params": [], "nparams": len(values)}
        params = typed_params(dict(list(values.items())[:args["nparams"]]))
        return {"params": params, "nparams": len(params)}

    def _security_label_list(self, session: Session, proc: Procedure,
                             args: dict[str, Any]) -> dict:
        func, _ = self.entry_point(session, proc)
        labels = [{"label": label, "enforcing": int(enforcing)}
                  for label, enforcing in func(args["dom"])]
        return {"labels": labels, "ret": len(labels)}

    def _cpu_map(self, session: Session, proc: Procedure, args: dict[str, Any]) -> dict:
        func, _ = self.entry_point(session, proc)
        cpumap, online, count = func(bool(args["need_map"]), bool(args["need_online"]),
                                     args["flags"])
        return {"cpumap": bytes(cpumap or b"") if args["need_map"] else b"",
                "online": (online or 0) if args["need_online"] else 0, "ret": count}

    def _rename(self, session: Session, proc: Procedure, args: dict[str, Any]) -> int:
        func, _ = self.entry_point(session, proc)
        func(args["dom"], args["new_name"], args["flags"])
        return 0

    # --- events ------------------------------------------------------------------------
    def _register(self, family: str, object_field: str) -> Callable:
        def handler(session: Session, proc: Procedure, args: dict[str, Any]) -> int:
            table = self.entry_point(session, proc, _REGISTER[family])[0].__self__
            event_id = args["eventID"]
            if not 0 <= event_id < _EVENT_ID_LAST[family]:
                noun = "" if family == "domain" else f"{_EVENT_NOUN[family]} "
                raise error(VIR_ERR_INTERNAL_ERROR, f"unsupported {noun}event ID {event_id}",
                            domain=VIR_FROM_RPC)
            message = self.table.event_for(family, event_id)
            ready = threading.Event()
            cell: list[int] = []

            def sink(_event_id: int, ref: Any, *payload: Any) -> None:
                ready.wait(5)
                if message is None or not cell:
                    return
                if not access.may_see_event(session.access, session.identity, family,
                                            getattr(ref, "name", None)):
                    return              # libvirt's remoteRelay*EventCheckACL
                try:
                    body = self.event_body(message, cell[0], ref, payload)
                except (XdrError, ValueError, TypeError) as err:
                    log.warning("cannot encode %s event: %s", message.name, err)
                    return
                session.send_event(message.number, body)

            try:
                callback_id = getattr(table, _REGISTER[family])(
                    event_id, args[object_field], sink)
                cell.append(callback_id)
            finally:
                ready.set()
            with session.lock:
                session.callbacks[(family, callback_id)] = table
            return callback_id
        return handler

    def _deregister(self, family: str) -> Callable:
        def handler(session: Session, proc: Procedure, args: dict[str, Any]) -> None:
            callback_id = args["callbackID"]
            if (family, callback_id) not in session.callbacks:
                raise error(VIR_ERR_INTERNAL_ERROR,
                            f"{_EVENT_NOUN[family]} event callback {callback_id} not registered",
                            domain=VIR_FROM_RPC)
            table = self.entry_point(session, proc, DEREGISTER[family])[0].__self__
            getattr(table, DEREGISTER[family])(callback_id)
            with session.lock:
                session.callbacks.pop((family, callback_id), None)
        return handler

    @staticmethod
    def event_body(message: schema.EventMessage, callback_id: int, ref: Any,
                   payload: tuple[Any, ...]) -> bytes:
        """The encoded MESSAGE body of an event for ``callback_id``."""
        names = message.payload_fields
        if len(payload) < len(names):
            raise ValueError(f"{message.name}: {len(payload)} values for {len(names)} fields")
        values: dict[str, Any] = {"callbackID": callback_id}
        for name in ("dom", "net", "pool"):
            values[name] = ref
        for name, value in zip(names, payload):
            values[name] = typed_params(value) if name == "params" else value
        return message.body.encode({k: values[k] for k in message.body.field_names})


def _check_cpumap_sizes(count_name: str, count: int, maplen: int) -> None:
    """libvirtd's bounds on a vCPU info/pin request, checked before any buffer is made."""
    if count > schema.LIMITS["VCPUINFO_MAX"]:
        raise error(VIR_ERR_INTERNAL_ERROR, f"{count_name} > REMOTE_VCPUINFO_MAX",
                    domain=VIR_FROM_RPC)
    if count * maplen > schema.LIMITS["CPUMAPS_MAX"]:
        raise error(VIR_ERR_INTERNAL_ERROR, "maxinfo * maplen > REMOTE_CPUMAPS_MAX",
                    domain=VIR_FROM_RPC)


def _public_arg_error(arg: str, function: str, rule: str) -> Exception:
    """The argument checks of libvirt's public API (virCheck*Arg), which libvirtd runs."""
    return error(VIR_ERR_INVALID_ARG, f"{arg} in {function} {rule}", domain=VIR_FROM_DOMAIN)
