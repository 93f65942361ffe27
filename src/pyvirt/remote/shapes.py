"""Conversions between driver values and the wire's shapes: typed parameters,
memory stat tags, CPU maps, ``remote_error``. Pure functions."""

from __future__ import annotations

from typing import Any

from pyvirt.errors import VIR_ERR_INTERNAL_ERROR, VIR_FROM_REMOTE, error, libvirtError
from pyvirt.remote import schema

#: virDomainMemoryStatTags by the names libvirt-python uses.
MEMORY_STAT_TAGS = {"swap_in": 0, "swap_out": 1, "major_fault": 2, "minor_fault": 3,
                    "unused": 4, "available": 5, "actual": 6, "rss": 7, "usable": 8,
                    "last_update": 9, "disk_caches": 10, "hugetlb_pgalloc": 11,
                    "hugetlb_pgfail": 12}


def encode_error(err: BaseException) -> bytes:
    """The ``remote_error`` body for ``err`` (any exception)."""
    if not isinstance(err, libvirtError):
        err = error(VIR_ERR_INTERNAL_ERROR, f"{type(err).__name__}: {err}",
                    domain=VIR_FROM_REMOTE)
    code, domain, message, level, str1, str2, str3, int1, int2 = err.err
    return schema.remote_error.encode({
        "code": code, "domain": domain, "message": message, "level": level, "dom": None,
        "str1": str1, "str2": str2, "str3": str3, "int1": int1 or 0, "int2": int2 or 0,
        "net": None})


_U, _LL, _ULL, _I = (schema.TYPED_PARAM_UINT, schema.TYPED_PARAM_LLONG,
                     schema.TYPED_PARAM_ULLONG, schema.TYPED_PARAM_INT)

#: Tuning fields whose virTypedParameterType libvirt fixes (memory, blkio and
#: scheduler parameters); other integers get the narrowest type that holds them.
FIELD_TYPES = {
    "hard_limit": _ULL, "soft_limit": _ULL, "swap_hard_limit": _ULL, "min_guarantee": _ULL,
    "weight": _U, "cap": _U, "cpu_shares": _ULL, "global_period": _ULL, "global_quota": _LL,
    "vcpu_period": _ULL, "vcpu_quota": _LL, "emulator_period": _ULL, "emulator_quota": _LL,
    "iothread_period": _ULL, "iothread_quota": _LL, "reservation": _LL, "limit": _LL,
    "shares": _I,
}
_RANGES = {_I: (-2**31, 2**31), _U: (0, 2**32), _LL: (-2**63, 2**63), _ULL: (0, 2**64)}


def typed_params(values: dict[str, Any]) -> list[dict[str, Any]]:
    """A dict (or (type, value) pairs) as ``remote_typed_param`` values."""
    params = []
    for name, value in values.items():
        known = FIELD_TYPES.get(name)
        if isinstance(value, tuple):
            kind, value = value
        elif known is not None and isinstance(value, int) and not isinstance(value, bool) \
                and _RANGES[known][0] <= value < _RANGES[known][1]:
            kind = known
        elif isinstance(value, bool):
            kind, value = schema.TYPED_PARAM_BOOLEAN, int(value)
        elif isinstance(value, float):
            kind = schema.TYPED_PARAM_DOUBLE
        elif isinstance(value, str):
            kind = schema.TYPED_PARAM_STRING
        elif -2**31 <= value < 2**31:
            kind = schema.TYPED_PARAM_INT
        elif 0 <= value < 2**32:
            kind = schema.TYPED_PARAM_UINT
        elif value < 0:
            kind = schema.TYPED_PARAM_LLONG
        else:
            kind = schema.TYPED_PARAM_ULLONG
        params.append({"field": name, "value": (kind, value)})
    return params


def params_dict(params: list[dict[str, Any]]) -> dict[str, Any]:
    """``remote_typed_param`` values as the {field: value} dict drivers take."""
    return {p["field"]: p["value"][1] for p in params}


def pack_cpumaps(maps: list[bytes], count: int, maplen: int) -> bytes:
    """CPU maps packed as libvirt's server does: ``count`` slots of ``maplen`` bytes."""
    out = bytearray(count * maplen)
    for index, cpumap in enumerate(maps[:count]):
        chunk = bytes(cpumap)[:maplen]
        out[index * maplen:index * maplen + len(chunk)] = chunk
    return bytes(out)
