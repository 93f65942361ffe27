"""Hypothesis strategies for values of declared XDR types (pyvirt.rpc.xdr), so
every procedure's args struct can be generated valid, encoded, then damaged."""

from __future__ import annotations

from functools import lru_cache

from hypothesis import strategies as st

from pyvirt.rpc import xdr

_SMALL = 4          # longest generated array
_C_TEXT = st.text(st.characters(min_codepoint=1, max_codepoint=127), max_size=12)


#: names and UUIDs of test:///default's objects, so generated calls reach them
KNOWN_NAMES = ("test", "default", "default-pool", "test:///default", "")
KNOWN_UUIDS = (bytes.fromhex("6695eb01f6a4830479aa97f2502e193f"),)


@lru_cache(maxsize=None)
def values_for(kind: xdr.XdrType, known: bool = False) -> st.SearchStrategy:
    """A strategy for values ``kind`` packs (and unpacks back to the same bytes);
    ``known``: strings and UUIDs lean towards test:///default's objects."""
    if known and isinstance(kind, xdr.String):
        return st.one_of(st.sampled_from(KNOWN_NAMES), st.text(max_size=16))
    if known and isinstance(kind, xdr.FixedOpaque) and kind.size == 16:
        return st.one_of(st.sampled_from(KNOWN_UUIDS), st.binary(min_size=16, max_size=16))
    if kind is xdr.Double:
        return st.floats(allow_nan=False)
    if isinstance(kind, xdr._Number):
        return st.integers(int(kind._low), int(kind._high))
    if kind is xdr.Bool:
        return st.booleans()
    if isinstance(kind, xdr.Enum):
        return st.sampled_from(sorted(kind.values))
    if isinstance(kind, xdr.Void):
        return st.none()
    if isinstance(kind, xdr.String):
        return st.text(max_size=min(kind.max, 16))
    if isinstance(kind, xdr.Opaque):
        return st.binary(max_size=min(kind.max, 16))
    if isinstance(kind, xdr.FixedOpaque):
        return st.binary(min_size=kind.size, max_size=kind.size)
    if isinstance(kind, xdr.FixedCharString):
        return _C_TEXT.filter(lambda s: len(s) <= kind.size)
    if isinstance(kind, xdr.VarCharString):
        return _C_TEXT.filter(lambda s: len(s) < kind.max)
    if isinstance(kind, xdr.Optional):
        return st.one_of(st.none(), values_for(kind.inner, known))
    if isinstance(kind, xdr.Array):
        return st.lists(values_for(kind.inner, known), max_size=min(kind.max, _SMALL))
    if isinstance(kind, xdr.FixedArray):
        return st.lists(values_for(kind.inner, known), min_size=kind.size, max_size=kind.size)
    if isinstance(kind, xdr.Struct):
        return st.fixed_dictionaries({name: values_for(ftype, known) for name, ftype in kind.fields})
    if isinstance(kind, xdr.Union):
        arms = sorted(kind.arms.items())
        return st.one_of([st.tuples(st.just(disc), values_for(arm, known)) for disc, arm in arms])
    raise TypeError(f"no strategy for {kind!r}")


@st.composite
def damaged_bytes(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` cut, extended, or with words overwritten by hostile lengths."""
    kind = draw(st.sampled_from(("truncate", "extend", "word", "word", "flip", "none")))
    if kind == "truncate" and data:
        return data[:draw(st.integers(0, len(data) - 1))]
    if kind == "extend":
        return data + draw(st.binary(min_size=1, max_size=16))
    if kind == "word" and len(data) >= 4:
        at = draw(st.integers(0, (len(data) - 4) // 4)) * 4
        word = draw(st.sampled_from((0, 1, 2, 3, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF,
                                     0x3FFFFFFF, 4194304, 4194305, 16385, 65536)))
        return data[:at] + word.to_bytes(4, "big") + data[at + 4:]
    if kind == "flip" and data:
        at = draw(st.integers(0, len(data) - 1))
        return data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1:]
    return data
