"""The vocabulary :mod:`pyvirt.remote.protocol` is written in.

A procedure is declared once, as text close to ``remote_protocol.x``::

    proc(16, "DOMAIN_GET_INFO", "dom:dom",
         "state:uchar maxMem:uhyper memory:uhyper nrVirtCpu:ushort cpuTime:uhyper",
         acl="domain:read")

Fields are ``name:type``; a type is a name from :data:`TYPES`, ``T?`` for an
optional pointer (``remote_string``), ``T<MAX>`` for a variable array
(MAX a number or a constant of :data:`LIMITS`), ``char[N]`` for a fixed C
string and ``chars<MAX>`` for a variable one. From these come the XDR
structs (args, ret, event messages), and from the procedures the dispatch
table and the read-only and ACL checks.
"""

from __future__ import annotations

import re
from typing import Any

from pyvirt.drivers.base import (DomainRef, NetworkRef, SnapshotRef, StoragePoolRef,
                                 StorageVolRef)
from pyvirt.rpc import xdr

#: Limits from remote_protocol.x (libvirt 9.0).
LIMITS: dict[str, int] = {
    "STRING_MAX": 4194304,
    "DOMAIN_LIST_MAX": 16384,
    "NETWORK_LIST_MAX": 16384,
    "STORAGE_POOL_LIST_MAX": 16384,
    "STORAGE_VOL_LIST_MAX": 16384,
    "SNAPSHOT_LIST_MAX": 16384,
    "NAME_LIST_MAX": 16384,
    "AUTH_TYPE_LIST_MAX": 20,
    "NODE_MAX_CELLS": 1024,
    "SECURITY_MODEL_MAX": 257,
    "SECURITY_LABEL_MAX": 4097,
    "SECURITY_DOI_MAX": 257,
    "MEMORY_STATS_MAX": 1024,
    "ALL_DOMAIN_STATS_MAX": 262144,
    "CPU_STATS_MAX": 2048,
    "MESSAGES_MAX": 2048,
    "PARAMS_MAX": 64,
    "EVENT_PARAMS_MAX": 2048,
    "CPUMAP_MAX": 256,
    "CPUMAPS_MAX": 16384,
    "VCPUINFO_MAX": 16384,
    "SCHEDULER_PARAMETERS_MAX": 16,
    "DOMAIN_MEMORY_PARAMETERS_MAX": 16,
    "DOMAIN_BLKIO_PARAMETERS_MAX": 16,
    "SECURITY_LABEL_LIST_MAX": 64,
    "BLOCK_STATS_PARAMETERS_MAX": 16,
    "DISK_ERRORS_MAX": 256,
    "FSINFO_MAX": 256,
    "INTERFACE_MAX": 2048,
    "DHCP_LEASES_MAX": 65536,
    "SEND_KEY_MAX": 16,
}

REMOTE_PROGRAM = 0x20008086
REMOTE_PROTOCOL_VERSION = 1
KEEPALIVE_PROGRAM = 0x6B656570
KEEPALIVE_PROTOCOL_VERSION = 1
KEEPALIVE_PING = 1
KEEPALIVE_PONG = 2

# --- the shared structs of remote_protocol.x -------------------------------------
nonnull_string = xdr.String(LIMITS["STRING_MAX"])
remote_string = xdr.Optional(nonnull_string)
uuid = xdr.FixedOpaque(16)

nonnull_domain = xdr.Struct("remote_nonnull_domain",
                            [("name", nonnull_string), ("uuid", uuid), ("id", xdr.Int)],
                            build=DomainRef)
nonnull_network = xdr.Struct("remote_nonnull_network",
                             [("name", nonnull_string), ("uuid", uuid)], build=NetworkRef)
nonnull_storage_pool = xdr.Struct("remote_nonnull_storage_pool",
                                  [("name", nonnull_string), ("uuid", uuid)],
                                  build=StoragePoolRef)
nonnull_storage_vol = xdr.Struct("remote_nonnull_storage_vol",
                                 [("pool", nonnull_string), ("name", nonnull_string),
                                  ("key", nonnull_string)], build=StorageVolRef)
nonnull_domain_snapshot = xdr.Struct(
    "remote_nonnull_domain_snapshot", [("name", nonnull_string), ("dom", nonnull_domain)],
    build=lambda name, dom: SnapshotRef(dom, name), attrs={"dom": "domain"})

#: virTypedParameterType -> arm
TYPED_PARAM_INT, TYPED_PARAM_UINT, TYPED_PARAM_LLONG, TYPED_PARAM_ULLONG = 1, 2, 3, 4
TYPED_PARAM_DOUBLE, TYPED_PARAM_BOOLEAN, TYPED_PARAM_STRING = 5, 6, 7
typed_param_value = xdr.Union("remote_typed_param_value", {
    TYPED_PARAM_INT: xdr.Int, TYPED_PARAM_UINT: xdr.UInt, TYPED_PARAM_LLONG: xdr.Hyper,
    TYPED_PARAM_ULLONG: xdr.UHyper, TYPED_PARAM_DOUBLE: xdr.Double,
    TYPED_PARAM_BOOLEAN: xdr.Int, TYPED_PARAM_STRING: nonnull_string})
typed_param = xdr.Struct("remote_typed_param",
                         [("field", nonnull_string), ("value", typed_param_value)])

remote_error = xdr.Struct("remote_error", [
    ("code", xdr.Int), ("domain", xdr.Int), ("message", remote_string), ("level", xdr.Int),
    ("dom", xdr.Optional(nonnull_domain)), ("str1", remote_string), ("str2", remote_string),
    ("str3", remote_string), ("int1", xdr.Int), ("int2", xdr.Int),
    ("net", xdr.Optional(nonnull_network))])

domain_memory_stat = xdr.Struct("remote_domain_memory_stat",
                                [("tag", xdr.Int), ("val", xdr.UHyper)])
domain_stats_record = xdr.Struct("remote_domain_stats_record", [
    ("dom", nonnull_domain),
    ("params", xdr.Array(typed_param, LIMITS["ALL_DOMAIN_STATS_MAX"]))])

vcpu_info = xdr.Struct("remote_vcpu_info", [("number", xdr.UInt), ("state", xdr.Int),
                                            ("cpu_time", xdr.UHyper), ("cpu", xdr.Int)])
domain_disk_error = xdr.Struct("remote_domain_disk_error",
                               [("disk", nonnull_string), ("error", xdr.Int)])
domain_fsinfo = xdr.Struct("remote_domain_fsinfo", [
    ("mountpoint", nonnull_string), ("name", nonnull_string), ("fstype", nonnull_string),
    ("dev_aliases", xdr.Array(nonnull_string, 256))])
domain_ip_addr = xdr.Struct("remote_domain_ip_addr", [
    ("type", xdr.Int), ("addr", nonnull_string), ("prefix", xdr.UInt)])
domain_interface = xdr.Struct("remote_domain_interface", [
    ("name", nonnull_string), ("hwaddr", remote_string),
    ("addrs", xdr.Array(domain_ip_addr, 2048))])
network_dhcp_lease = xdr.Struct("remote_network_dhcp_lease", [
    ("iface", nonnull_string), ("expirytime", xdr.Hyper), ("type", xdr.Int),
    ("mac", remote_string), ("iaid", remote_string), ("ipaddr", nonnull_string),
    ("prefix", xdr.UInt), ("hostname", remote_string), ("clientid", remote_string)])

security_label = xdr.Struct("remote_domain_get_security_label_ret", [
    ("label", xdr.VarCharString(LIMITS["SECURITY_LABEL_MAX"])), ("enforcing", xdr.Int)])

graphics_address = xdr.Struct("remote_domain_event_graphics_address", [
    ("family", xdr.Int), ("node", nonnull_string), ("service", nonnull_string)])
graphics_identity = xdr.Struct("remote_domain_event_graphics_identity", [
    ("type", nonnull_string), ("name", nonnull_string)])

TYPES: dict[str, xdr.XdrType] = {
    "int": xdr.Int, "uint": xdr.UInt, "hyper": xdr.Hyper, "uhyper": xdr.UHyper,
    "char": xdr.Char, "uchar": xdr.UChar, "short": xdr.Short, "ushort": xdr.UShort,
    "double": xdr.Double, "string": nonnull_string, "uuid": uuid, "opaque": xdr.Opaque(),
    "dom": nonnull_domain, "net": nonnull_network, "pool": nonnull_storage_pool,
    "vol": nonnull_storage_vol, "snap": nonnull_domain_snapshot, "param": typed_param,
    "memstat": domain_memory_stat, "statsrecord": domain_stats_record,
    "vcpuinfo": vcpu_info, "diskerror": domain_disk_error, "fsinfo": domain_fsinfo,
    "iface": domain_interface, "lease": network_dhcp_lease, "seclabel": security_label,
    "gaddr": graphics_address, "gident": graphics_identity,
}

_FIELD = re.compile(r"^(?P<name>\w+):(?P<type>\w+)"
                    r"(?:(?P<opt>\?)|<(?P<max>\w+)>|\[(?P<fixed>\d+)\])?$")


def parse_type(spec: str) -> xdr.XdrType:
    """``"dom?"``, ``"string<NAME_LIST_MAX>"``, ``"char[32]"``... -> an XDR type."""
    match = _FIELD.match("x:" + spec)
    if match is None:
        raise ValueError(f"bad type spec {spec!r}")
    base, opt, maximum, fixed = match["type"], match["opt"], match["max"], match["fixed"]
    if base == "char" and fixed:
        return xdr.FixedCharString(int(fixed))
    if base == "chars":
        return xdr.VarCharString(_limit(maximum))
    if base == "opaque" and maximum:
        return xdr.Opaque(_limit(maximum))
    inner = TYPES[base]
    if opt:
        return xdr.Optional(inner)
    if maximum:
        return xdr.Array(inner, _limit(maximum))
    if fixed:
        return xdr.FixedArray(inner, int(fixed))
    return inner


def _limit(text: str | None) -> int:
    if text is None:
        raise ValueError("missing maximum")
    return int(text) if text.isdigit() else LIMITS[text]


def parse_fields(spec: str) -> list[tuple[str, xdr.XdrType]]:
    fields = []
    for token in spec.split():
        name, _, type_spec = token.partition(":")
        fields.append((name, parse_type(type_spec)))
    return fields


def make_struct(name: str, spec: str | None) -> xdr.Struct | None:
    if spec is None:
        return None
    return xdr.Struct(name, parse_fields(spec))


#: ACL permissions a read-only client may use (everything else mutates).
_READ_PERMISSIONS = ("getattr", "read", "search_", "none")


class Procedure:
    """One remote procedure: number, name, args/ret structs and its rules.

    ``args`` and ``ret`` (``remote_<name>_args``/``_ret``; None: nothing on the
    wire) are made from their text on first use: a daemon start reads the whole
    table, while its clients call a handful of procedures."""

    __slots__ = ("number", "name", "args", "ret", "acl", "high_priority", "stream",
                 "stream_at", "method", "api", "_args_spec", "_ret_spec")

    def __init__(self, number: int, name: str, args: str | None, ret: str | None,
                 acl: tuple[str, ...] = (), high_priority: bool = False,
                 stream: str | None = None, stream_at: int = 1, method: str = "",
                 api: str = ""):
        self.number = number
        self.name = name                    # REMOTE_PROC_ without the prefix
        self._args_spec, self._ret_spec = args, ret
        self.acl = acl                      # "object:permission" as in remote_protocol.x
        self.high_priority = high_priority
        self.stream = stream                # "read" (daemon -> client) or "write"
        self.stream_at = stream_at          # where the stream goes in the entry point's args
        self.method = method                # driver entry point (snake case of name)
        self.api = api                      # the public API name (virDomainCreate)

    def __getattr__(self, attr: str) -> Any:
        # only reached while the slot is empty: later reads are plain slot reads
        # (two threads may both make a struct: equal ones, either serves)
        if attr == "args":
            self.args = make_struct(f"remote_{self.name.lower()}_args", self._args_spec)
            return self.args
        if attr == "ret":
            self.ret = make_struct(f"remote_{self.name.lower()}_ret", self._ret_spec)
            return self.ret
        raise AttributeError(f"'Procedure' object has no attribute {attr!r}")

    @property
    def mutating(self) -> bool:
        """True when a read-only connection may not call it."""
        return any(not perm.split(":")[-1].startswith(_READ_PERMISSIONS)
                   for perm in self.acl if perm != "none")

    @property
    def object_kind(self) -> str:
        """The ACL object of the first rule: domain, network, storage_pool, connect..."""
        return self.acl[0].split(":")[0] if self.acl else "connect"

    def __repr__(self) -> str:
        return f"<Procedure {self.number} {self.name}>"


class EventMessage:
    """An event the daemon sends (type MESSAGE): its procedure and ``body``
    (``remote_<name>_msg``, made from its text on first use)."""

    __slots__ = ("number", "name", "body", "event_id", "family", "_body_spec")

    def __init__(self, number: int, name: str, body: str, event_id: int | None = None,
                 family: str = "domain"):
        self.number = number
        self.name = name
        self._body_spec = body
        self.event_id = event_id            # the virDomainEventID etc. it delivers
        self.family = family                # domain, network, storage_pool

    def __getattr__(self, attr: str) -> Any:
        if attr == "body":                  # only while the slot is empty (see Procedure)
            self.body = xdr.Struct(f"remote_{self.name.lower()}_msg",
                                   parse_fields(self._body_spec))
            return self.body
        raise AttributeError(f"'EventMessage' object has no attribute {attr!r}")

    @property
    def payload_fields(self) -> tuple[str, ...]:
        """Fields after the callback id and the object: the event's own values."""
        return tuple(f for f in self.body.field_names
                     if f not in ("callbackID", "dom", "net", "pool"))

    def __repr__(self) -> str:
        return f"<EventMessage {self.number} {self.name}>"


_UPPER_WORDS = {"XML": "XML", "UUID": "UUID", "ID": "ID", "CPU": "CPU", "NMI": "NMI",
                "MAC": "MAC", "PM": "PM", "OS": "OS", "URI": "URI", "IO": "IO",
                "DHCP": "DHCP"}


def api_name(name: str) -> str:
    """``DOMAIN_LOOKUP_BY_UUID`` -> ``virDomainLookupByUUID``."""
    words = name.split("_")
    return "vir" + "".join(_UPPER_WORDS.get(w, w.capitalize()) for w in words)


class ProtocolTable:
    """All declared procedures and event messages, by number."""

    def __init__(self) -> None:
        self.procedures: dict[int, Procedure] = {}
        self.events: dict[int, EventMessage] = {}

    def proc(self, number: int, name: str, args: str | None = None, ret: str | None = None,
             acl: str = "", high: bool = False, stream: str | None = None,
             stream_at: int = 1, method: str | None = None) -> Procedure:
        if number in self.procedures:
            raise ValueError(f"procedure {number} declared twice")
        procedure = Procedure(number, name, args, ret, tuple(acl.split()), high, stream,
                              stream_at, method or name.lower(), api_name(name))
        self.procedures[number] = procedure
        return procedure

    def event(self, number: int, name: str, body: str, event_id: int | None = None,
              family: str = "domain") -> EventMessage:
        message = EventMessage(number, name, body, event_id, family)
        self.events[number] = message
        return message

    def event_for(self, family: str, event_id: int) -> EventMessage | None:
        for message in self.events.values():
            if message.family == family and message.event_id == event_id:
                return message
        return None
