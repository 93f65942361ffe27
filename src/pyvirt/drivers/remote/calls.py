"""Driver entry points made from the protocol table: each one encodes its
arguments into the procedure's args struct, sends it through a
:class:`~pyvirt.remote.connection.RemoteConnection` and shapes the reply the
way a local driver answers (the inverse of the daemon's generic rule in
:mod:`pyvirt.remote.dispatch`).

Generic rule: positional arguments fill the args fields in declaration order
(``need_results`` is always 1, a ``params`` dict becomes typed parameters);
the ret struct gives its one value, the items of a list-all, or a list of its
fields. Procedures whose wire shape differs from the driver's have a reshaper
in :mod:`pyvirt.drivers.remote.reshape`.
"""

from __future__ import annotations

from typing import Any, Callable

from pyvirt.remote.protocol import TABLE
from pyvirt.remote.schema import Procedure, ProtocolTable
from pyvirt.remote.shapes import params_dict, typed_params


def encode_values(proc: Procedure, values: tuple[Any, ...]) -> dict[str, Any]:
    """Positional driver arguments -> the args struct's fields."""
    names = [n for n in (proc.args.field_names if proc.args is not None else ())
             if n != "need_results"]
    if len(values) > len(names):
        raise TypeError(f"{proc.method}() takes {len(names)} arguments, got {len(values)}")
    args: dict[str, Any] = {}
    given = dict(zip(names, values))
    for name in (proc.args.field_names if proc.args is not None else ()):
        if name == "need_results":
            args[name] = 1
        elif name in given:
            value = given[name]
            args[name] = typed_params(value) if name == "params" and isinstance(value, dict) \
                else value
        else:
            args[name] = 0 if name == "flags" else None
        if name in _COUNT_FIELDS and (args[name] is None or args[name] < 0):
            args[name] = _list_max(proc)       # "all of them": the daemon refuses < 0
    return args


#: "at most N names/ids" arguments; a local driver takes -1 as "all"
_COUNT_FIELDS = ("maxnames", "maxids")


def _list_max(proc: Procedure) -> int:
    """The maximum length of ``proc``'s answer array (its limit in the protocol)."""
    field = proc.ret.fields[0][1] if proc.ret is not None else None
    return getattr(field, "max", 0)


def shape_ret(proc: Procedure, ret: Any) -> Any:
    """The decoded ret -> what a local driver's entry point returns."""
    if proc.ret is None:
        return None
    fields = proc.ret.field_names
    if len(fields) == 1:
        return params_dict(ret) if fields[0] == "params" else ret
    if proc.args is not None and "need_results" in proc.args.field_names:
        return list(ret[fields[0]])
    return [ret[name] for name in fields]


def make_entry(proc: Procedure) -> Callable[..., Any]:
    """The generic entry point for ``proc``."""
    def entry(self: Any, *values: Any) -> Any:
        return shape_ret(proc, self._rpc.call(proc.name, **encode_values(proc, values)))
    entry.__name__ = proc.method
    entry.__qualname__ = f"RemoteTables.{proc.method}"
    entry.__doc__ = f"{proc.api} over the wire (procedure {proc.number})."
    return entry


def generated_entries(table: ProtocolTable = TABLE,
                      skip: set[str] | frozenset[str] = frozenset()) -> dict[str, Callable]:
    """One entry point per procedure of ``table`` (streams and events excepted)."""
    entries = {}
    for proc in table.procedures.values():
        if proc.stream is None and proc.method not in skip:
            entries[proc.method] = make_entry(proc)
    return entries
