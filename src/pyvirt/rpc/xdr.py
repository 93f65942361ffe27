"""XDR (RFC 4506) as declared types: each type packs a Python value into a
``bytearray`` and unpacks one from a buffer at an offset. No I/O, nothing
libvirt-specific.

Traps handled here once: ``char``/``short`` take a full 4-byte word; strings
and variable opaque data carry a length and pad to 4 bytes; fixed opaque
data (a UUID) has no length; optional data (``T *x``) is a 0/1 word then the
value; every variable length is checked against its declared maximum before
anything is allocated.

Decoding failures raise :class:`XdrError`; the caller decides what the peer
is told.

Values: integers are ``int``, ``bool`` is ``bool``, strings ``str`` (UTF-8),
opaque ``bytes``, arrays ``list``, optional ``None`` or the value, structs
whatever their ``build`` makes (``dict`` by default; a struct packs a dict,
a tuple/list in field order, or an object whose attributes carry the field
names), unions ``(discriminant, value)``.
"""

from __future__ import annotations

import operator
import struct
from typing import Any, Callable, Iterable

_I32 = struct.Struct(">i")
_U32 = struct.Struct(">I")
_I64 = struct.Struct(">q")
_U64 = struct.Struct(">Q")
_F64 = struct.Struct(">d")
_PAD = (b"", b"\0\0\0", b"\0\0", b"\0")


class XdrError(ValueError):
    """A buffer that does not decode as the declared type, or a value that
    does not fit it."""


class XdrType:
    """Base of the declared types."""

    name = "xdr"

    def pack(self, buf: bytearray, value: Any) -> None:
        raise NotImplementedError

    def unpack(self, data: bytes | memoryview, pos: int) -> tuple[Any, int]:
        raise NotImplementedError

    # helpers for whole buffers
    def encode(self, value: Any) -> bytes:
        buf = bytearray()
        self.pack(buf, value)
        return bytes(buf)

    def decode(self, data: bytes | memoryview, pos: int = 0, *, exact: bool = True) -> Any:
        value, end = self.unpack(data, pos)
        if exact and end != len(data):
            raise XdrError(f"{len(data) - end} trailing bytes after {self.name}")
        return value

    def __repr__(self) -> str:
        return f"<xdr {self.name}>"


def _need(data: bytes | memoryview, pos: int, size: int, what: str) -> None:
    if pos + size > len(data):
        raise XdrError(f"truncated {what}: need {size} bytes at {pos}, have {len(data) - pos}")


class _Number(XdrType):
    def __init__(self, name: str, codec: struct.Struct, low: int | float, high: int | float,
                 checked: bool = False):
        self.name = name
        self._codec = codec
        self._low, self._high = low, high
        self._size = codec.size
        self._checked = checked      # range narrower than the word: check it ourselves
        self._pack = codec.pack

    def pack(self, buf: bytearray, value: Any) -> None:
        if self._checked and (value is None or not self._low <= value <= self._high):
            raise XdrError(f"{self.name}: {value!r} out of range")
        try:
            buf += self._pack(value)
        except struct.error as err:
            if isinstance(value, float) and value.is_integer():   # 1024.0 from a division
                self.pack(buf, int(value))
                return
            raise XdrError(f"{self.name}: {value!r}: {err}") from None

    def unpack(self, data: bytes | memoryview, pos: int) -> tuple[Any, int]:
        end = pos + self._size
        if end > len(data):
            _need(data, pos, self._size, self.name)
        return self._codec.unpack_from(data, pos)[0], end


Int = _Number("int", _I32, -2**31, 2**31 - 1)
UInt = _Number("unsigned int", _U32, 0, 2**32 - 1)
Hyper = _Number("hyper", _I64, -2**63, 2**63 - 1)
UHyper = _Number("unsigned hyper", _U64, 0, 2**64 - 1)
Double = _Number("double", _F64, float("-inf"), float("inf"))
# char/short take a full word on the wire; only the range differs.
Char = _Number("char", _I32, -128, 127, checked=True)
UChar = _Number("unsigned char", _U32, 0, 255, checked=True)
Short = _Number("short", _I32, -2**15, 2**15 - 1, checked=True)
UShort = _Number("unsigned short", _U32, 0, 2**16 - 1, checked=True)


class _Bool(XdrType):
    name = "bool"

    def pack(self, buf: bytearray, value: Any) -> None:
        buf += _I32.pack(1 if value else 0)

    def unpack(self, data: bytes | memoryview, pos: int) -> tuple[Any, int]:
        _need(data, pos, 4, self.name)
        word = _I32.unpack_from(data, pos)[0]
        if word not in (0, 1):
            raise XdrError(f"bool: {word} is neither 0 nor 1")
        return bool(word), pos + 4


Bool = _Bool()


class Enum(XdrType):
    """An ``int`` restricted to declared values (decoded as plain ints)."""

    def __init__(self, name: str, values: Iterable[int]):
        self.name = name
        self.values = frozenset(values)

    def pack(self, buf: bytearray, value: Any) -> None:
        if value not in self.values:
            raise XdrError(f"{self.name}: {value!r} is not a declared value")
        buf += _I32.pack(int(value))

    def unpack(self, data: bytes | memoryview, pos: int) -> tuple[Any, int]:
        _need(data, pos, 4, self.name)
        value = _I32.unpack_from(data, pos)[0]
        if value not in self.values:
            raise XdrError(f"{self.name}: {value} is not a declared value")
        return value, pos + 4


class Void(XdrType):
    name = "void"

    def pack(self, buf: bytearray, value: Any) -> None:
        return None

    def unpack(self, data: bytes | memoryview, pos: int) -> tuple[Any, int]:
        return None, pos


VOID = Void()


class Opaque(XdrType):
    """``opaque x<max>``: length word, bytes, padding."""

    def __init__(self, maximum: int = 2**32 - 1, name: str = "opaque"):
        self.max = maximum
        self.name = f"{name}<{maximum}>"

    def pack(self, buf: bytearray, value: Any) -> None:
        if isinstance(value, str):
            raise XdrError(f"{self.name}: str given for opaque data")
        size = len(value)
        if size > self.max:
            raise XdrError(f"{self.name}: length {size} exceeds maximum {self.max}")
        buf += _U32.pack(size)
        buf += value
        buf += _PAD[size & 3]

    def _raw(self, data: bytes | memoryview, pos: int) -> tuple[bytes, int]:
        if pos + 4 > len(data):
            _need(data, pos, 4, self.name)
        size = _U32.unpack_from(data, pos)[0]
        if size > self.max:
            raise XdrError(f"{self.name}: length {size} exceeds maximum {self.max}")
        start = pos + 4
        end = start + size
        padded = end + ((4 - (size & 3)) & 3)
        if padded > len(data):
            raise XdrError(f"truncated {self.name}: need {padded - pos} bytes at {pos}")
        raw = data[start:end]
        return (raw if type(raw) is bytes else bytes(raw)), padded

    def unpack(self, data: bytes | memoryview, pos: int) -> tuple[Any, int]:
        return self._raw(data, pos)


class String(Opaque):
    """``string x<max>``: like opaque, decoded as UTF-8."""

    def __init__(self, maximum: int = 2**32 - 1):
        super().__init__(maximum, "string")

    def pack(self, buf: bytearray, value: Any) -> None:
        try:
            raw = value.encode("utf-8")
        except AttributeError:
            raise XdrError(f"{self.name}: {type(value).__name__} given for a string") from None
        size = len(raw)
        if size > self.max:
            raise XdrError(f"{self.name}: length {size} exceeds maximum {self.max}")
        buf += _U32.pack(size)
        buf += raw
        buf += _PAD[size & 3]

    def unpack(self, data: bytes | memoryview, pos: int) -> tuple[Any, int]:
        raw, end = self._raw(data, pos)
        try:
            return str(raw, "utf-8"), end
        except UnicodeDecodeError as err:
            raise XdrError(f"{self.name}: not UTF-8") from err


class FixedOpaque(XdrType):
    """``opaque x[n]``: exactly n bytes, padded, no length word."""

    def __init__(self, size: int):
        self.size = size
        self.name = f"opaque[{size}]"
        self._padded = size + ((4 - (size & 3)) & 3)

    def pack(self, buf: bytearray, value: Any) -> None:
        if len(value) != self.size:
            raise XdrError(f"{self.name}: got {len(value)} bytes")
        buf += value
        buf += _PAD[self.size & 3]

    def unpack(self, data: bytes | memoryview, pos: int) -> tuple[Any, int]:
        end = pos + self._padded
        if end > len(data):
            _need(data, pos, self._padded, self.name)
        raw = data[pos:pos + self.size]
        return (raw if type(raw) is bytes else bytes(raw)), end


class FixedCharString(XdrType):
    """``char x[n]`` holding a C string: n words, value up to the first NUL."""

    def __init__(self, size: int):
        self.size = size
        self.name = f"char[{size}]"

    def pack(self, buf: bytearray, value: Any) -> None:
        raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        if len(raw) > self.size:
            raise XdrError(f"{self.name}: {len(raw)} bytes do not fit")
        raw = raw.ljust(self.size, b"\0")
        buf += struct.pack(f">{self.size}i", *(b - 256 if b > 127 else b for b in raw))

    def unpack(self, data: bytes | memoryview, pos: int) -> tuple[Any, int]:
        _need(data, pos, 4 * self.size, self.name)
        words = struct.unpack_from(f">{self.size}i", data, pos)
        raw = bytes(w & 0xFF for w in words).split(b"\0", 1)[0]
        return raw.decode("utf-8", "replace"), pos + 4 * self.size


class VarCharString(XdrType):
    """``char x<max>`` holding a C string: a length, then one word per char.
    Packing includes the terminating NUL, as libvirt's server does."""

    def __init__(self, maximum: int):
        self.max = maximum
        self.name = f"char<{maximum}>"

    def pack(self, buf: bytearray, value: Any) -> None:
        raw = value.encode("utf-8") + b"\0"
        if len(raw) > self.max:
            raise XdrError(f"{self.name}: {len(raw)} bytes exceed the maximum")
        buf += _U32.pack(len(raw))
        buf += struct.pack(f">{len(raw)}i", *(b - 256 if b > 127 else b for b in raw))

    def unpack(self, data: bytes | memoryview, pos: int) -> tuple[Any, int]:
        _need(data, pos, 4, self.name)
        size = _U32.unpack_from(data, pos)[0]
        if size > self.max:
            raise XdrError(f"{self.name}: length {size} exceeds maximum {self.max}")
        _need(data, pos + 4, 4 * size, self.name)
        words = struct.unpack_from(f">{size}i", data, pos + 4)
        raw = bytes(w & 0xFF for w in words).split(b"\0", 1)[0]
        return raw.decode("utf-8", "replace"), pos + 4 + 4 * size


class Optional(XdrType):
    """``T *x``: a 0/1 word, then T when 1. ``None`` is absent."""

    def __init__(self, inner: XdrType):
        self.inner = inner
        self.name = f"{inner.name} *"

    def pack(self, buf: bytearray, value: Any) -> None:
        if value is None:
            buf += b"\0\0\0\0"
        else:
            buf += b"\0\0\0\1"
            self.inner.pack(buf, value)

    def unpack(self, data: bytes | memoryview, pos: int) -> tuple[Any, int]:
        _need(data, pos, 4, self.name)
        flag = _U32.unpack_from(data, pos)[0]
        if flag == 0:
            return None, pos + 4
        if flag != 1:
            raise XdrError(f"{self.name}: presence word {flag} is neither 0 nor 1")
        return self.inner.unpack(data, pos + 4)


class Array(XdrType):
    """``T x<max>``: a count, then the items."""

    def __init__(self, inner: XdrType, maximum: int = 2**32 - 1):
        self.inner = inner
        self.max = maximum
        self.name = f"{inner.name}<{maximum}>"

    def pack(self, buf: bytearray, value: Any) -> None:
        items = list(value)
        if len(items) > self.max:
            raise XdrError(f"{self.name}: {len(items)} items exceed maximum {self.max}")
        buf += _U32.pack(len(items))
        if type(self.inner) is Struct:
            self.inner.pack_many(buf, items)
            return
        pack = self.inner.pack
        for item in items:
            pack(buf, item)

    def unpack(self, data: bytes | memoryview, pos: int) -> tuple[Any, int]:
        _need(data, pos, 4, self.name)
        count = _U32.unpack_from(data, pos)[0]
        if count > self.max:
            raise XdrError(f"{self.name}: count {count} exceeds maximum {self.max}")
        if count * 4 > len(data) - pos - 4 and not isinstance(self.inner, Void):
            raise XdrError(f"truncated {self.name}: {count} items cannot fit")
        pos += 4
        unpack = self.inner.unpack
        items = []
        for _ in range(count):
            item, pos = unpack(data, pos)
            items.append(item)
        return items, pos


class FixedArray(XdrType):
    """``T x[n]``: exactly n items, no count."""

    def __init__(self, inner: XdrType, size: int):
        self.inner = inner
        self.size = size
        self.name = f"{inner.name}[{size}]"

    def pack(self, buf: bytearray, value: Any) -> None:
        items = list(value)
        if len(items) != self.size:
            raise XdrError(f"{self.name}: got {len(items)} items")
        for item in items:
            self.inner.pack(buf, item)

    def unpack(self, data: bytes | memoryview, pos: int) -> tuple[Any, int]:
        items = []
        for _ in range(self.size):
            item, pos = self.inner.unpack(data, pos)
            items.append(item)
        return items, pos


class Struct(XdrType):
    """``struct name { ... }``: fields in order.

    ``build(*values)`` makes the decoded value from the field values in order
    (a ``dict`` by default); packing takes a dict, a tuple/list in field order,
    or an object whose attributes are named like the fields (``attrs``
    renames: field -> attr).
    """

    def __init__(self, name: str, fields: list[tuple[str, XdrType]],
                 build: Callable[..., Any] | None = None,
                 attrs: dict[str, str] | None = None):
        self.name = name
        self.fields = list(fields)
        self.field_names = tuple(f for f, _ in self.fields)
        self._build = build
        self._attrs = [(attrs or {}).get(f, f) for f in self.field_names]
        self._packers = tuple(t.pack for _, t in self.fields)
        self._unpackers = tuple(t.unpack for _, t in self.fields)
        getter = operator.attrgetter(*self._attrs) if self._attrs else (lambda v: ())
        self._getter = getter if len(self._attrs) != 1 else (lambda v: (getter(v),))
        self._by_attrs: set[type] = set()    # types packed through their attributes
        #: straight-line packer, made on first use (most structs are never packed)
        self._fast_pack: Callable[[bytearray, Any], None] | None = None
        self._fast_pack_many: Callable[..., None] | None = None

    def values_of(self, value: Any) -> Any:
        """The field values of ``value`` in declaration order."""
        kind = type(value)
        if kind in self._by_attrs:
            return self._getter(value)
        if kind is dict:
            try:
                return [value[f] for f in self.field_names]
            except KeyError as err:
                raise XdrError(f"{self.name}: missing field {err.args[0]}") from None
        if kind is tuple or kind is list or isinstance(value, (tuple, list)):
            if len(value) != len(self.fields):
                raise XdrError(f"{self.name}: {len(value)} values for "
                               f"{len(self.fields)} fields")
            return value
        if isinstance(value, dict):
            return self.values_of(dict(value))
        try:
            values = self._getter(value)
        except AttributeError as err:
            raise XdrError(f"{self.name}: cannot pack {type(value).__name__}") from err
        self._by_attrs.add(kind)
        return values

    def pack(self, buf: bytearray, value: Any) -> None:
        values = self.values_of(value)
        fast = self._fast_pack
        if fast is None:
            fast = self._fast_pack = compile_struct_packer(self)
        try:
            fast(buf, values)
        except (XdrError, TypeError, AttributeError, struct.error):
            self._explain(values)
            raise

    def pack_many(self, buf: bytearray, items: list[Any]) -> None:
        """``pack`` each of ``items`` in turn (an array's body) in one loop made for
        this struct: the same bytes and errors, without two calls per item."""
        many = self._fast_pack_many
        if many is None:
            many = self._fast_pack_many = compile_struct_packer(self, many=True)
        start = len(buf)
        try:
            many(buf, items, self.values_of, self._getter, self._by_attrs)
        except (XdrError, TypeError, AttributeError, struct.error):
            del buf[start:]
            for item in items:      # again one by one: the failing field is named
                self.pack(buf, item)
            raise

    def _explain(self, values: Any) -> None:
        """Re-pack field by field to name the one that failed."""
        for (fname, ftype), fvalue in zip(self.fields, values):
            try:
                ftype.pack(bytearray(), fvalue)
            except (XdrError, TypeError, AttributeError, struct.error) as err:
                raise XdrError(f"{self.name}.{fname}: {err}") from None

    def unpack(self, data: bytes | memoryview, pos: int) -> tuple[Any, int]:
        values = []
        append = values.append
        for unpack in self._unpackers:
            value, pos = unpack(data, pos)
            append(value)
        if self._build is not None:
            return self._build(*values), pos
        return dict(zip(self.field_names, values)), pos


def compile_struct_packer(struct_type: Struct, many: bool = False) -> Callable[..., None]:
    """The packer of ``struct_type``'s field values, as straight-line code made
    once per struct: strings, opaque data and plain ints are packed inline (the
    same bytes and the same failures as their types' ``pack``), other fields
    through their type's ``pack``. Saves a call and a loop step per field.
    ``many``: ``pack(buf, items, values_of, getter, by_attrs)`` packs each item
    of a list, the attribute getter called inline for types already seen."""
    names: dict[str, Any] = {"_U32": _U32.pack, "_PAD": _PAD, "XdrError": XdrError}
    if many:
        lines = ["def pack(buf, items, values_of, getter, by_attrs):",
                 "  for item in items:",
                 "    values = getter(item) if type(item) in by_attrs else values_of(item)"]
    else:
        lines = ["def pack(buf, values):"]
    if struct_type.fields:
        lines.append("    " + ", ".join(f"v{i}" for i in range(len(struct_type.fields)))
                     + ", = values")
    else:
        lines.append("    pass" if many else "    return None")
    for index, (_, ftype) in enumerate(struct_type.fields):
        value, kind = f"v{index}", type(ftype)
        names[f"T{index}"] = ftype.pack
        if kind is String or kind is Opaque:
            names[f"M{index}"] = ftype.max
            if kind is String:
                lines.append(f"    r = {value}.encode('utf-8')")
            else:
                lines += [f"    if isinstance({value}, str): raise XdrError('str given')",
                          f"    r = {value}"]
            lines += ["    n = len(r)",
                      f"    if n > M{index}: raise XdrError('length exceeds maximum')",
                      "    buf += _U32(n)", "    buf += r", "    buf += _PAD[n & 3]"]
        elif kind is FixedOpaque:
            names[f"S{index}"] = ftype.size
            lines += [f"    if len({value}) != S{index}: raise XdrError('wrong size')",
                      f"    buf += {value}"]
            if ftype.size & 3:
                lines.append(f"    buf += _PAD[{ftype.size & 3}]")
        elif kind is _Number and not ftype._checked:
            names[f"P{index}"] = ftype._pack
            lines += [f"    if type({value}) is int: buf += P{index}({value})",
                      f"    else: T{index}(buf, {value})"]
        else:
            lines.append(f"    T{index}(buf, {value})")
    exec(compile("\n".join(lines), f"<xdr packer {struct_type.name}>", "exec"), names)
    return names["pack"]


class Union(XdrType):
    """``union switch (int d) { case ...: T x; }``; value ``(d, arm value)``."""

    def __init__(self, name: str, arms: dict[int, XdrType], default: XdrType | None = None):
        self.name = name
        self.arms = dict(arms)
        self.default = default

    def _arm(self, disc: int) -> XdrType:
        arm = self.arms.get(disc, self.default)
        if arm is None:
            raise XdrError(f"{self.name}: no arm for discriminant {disc}")
        return arm

    def pack(self, buf: bytearray, value: Any) -> None:
        disc, inner = value
        arm = self._arm(disc)
        buf += _I32.pack(disc)
        arm.pack(buf, inner)

    def unpack(self, data: bytes | memoryview, pos: int) -> tuple[Any, int]:
        _need(data, pos, 4, self.name)
        disc = _I32.unpack_from(data, pos)[0]
        inner, pos = self._arm(disc).unpack(data, pos + 4)
        return (disc, inner), pos
