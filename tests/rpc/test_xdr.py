"""XDR codec against hand-built bytes: the traps libvirt's wire is known for."""

from __future__ import annotations

import struct

import pytest

from pyvirt.rpc import xdr


def words(*values: int) -> bytes:
    return b"".join(struct.pack(">i", v) for v in values)


@pytest.mark.parametrize("kind, value, raw", [
    (xdr.Int, -2, b"\xff\xff\xff\xfe"),
    (xdr.UInt, 0xDEADBEEF, b"\xde\xad\xbe\xef"),
    (xdr.Hyper, -1, b"\xff" * 8),
    (xdr.UHyper, 2**40, b"\0\0\1\0\0\0\0\0"),
    (xdr.Double, 1.5, struct.pack(">d", 1.5)),
    (xdr.Bool, True, b"\0\0\0\1"),
])
def test_numbers_round_trip(kind, value, raw):
    assert kind.encode(value) == raw
    assert kind.decode(raw) == value


@pytest.mark.parametrize("kind, value", [(xdr.Char, -3), (xdr.UChar, 200), (xdr.Short, -300),
                                         (xdr.UShort, 65535)])
def test_char_and_short_take_a_whole_word(kind, value):
    raw = kind.encode(value)
    assert len(raw) == 4
    assert kind.decode(raw) == value


def test_numbers_out_of_range_are_refused():
    with pytest.raises(xdr.XdrError):
        xdr.UChar.encode(256)
    with pytest.raises(xdr.XdrError):
        xdr.UInt.encode(-1)
    with pytest.raises(xdr.XdrError):
        xdr.Int.encode(None)


def test_string_has_length_and_pads_to_four():
    assert xdr.String().encode("abcde") == b"\0\0\0\5abcde\0\0\0"
    assert xdr.String().encode("") == b"\0\0\0\0"
    assert xdr.String().encode("abcd") == b"\0\0\0\4abcd"
    assert xdr.String().decode(b"\0\0\0\5abcde\0\0\0") == "abcde"


def test_string_is_utf8():
    raw = xdr.String().encode("é")
    assert raw == b"\0\0\0\2\xc3\xa9\0\0"
    assert xdr.String().decode(raw) == "é"
    with pytest.raises(xdr.XdrError, match="UTF-8"):
        xdr.String().decode(b"\0\0\0\1\xff\0\0\0")


def test_string_longer_than_its_maximum_is_refused_before_reading():
    kind = xdr.String(8)
    with pytest.raises(xdr.XdrError, match="exceeds maximum"):
        kind.decode(b"\0\0\0\x09")           # the length alone is enough to refuse
    with pytest.raises(xdr.XdrError, match="exceeds maximum"):
        kind.encode("x" * 9)


def test_truncated_string_is_an_error():
    with pytest.raises(xdr.XdrError, match="truncated"):
        xdr.String().decode(b"\0\0\0\5abc")
    with pytest.raises(xdr.XdrError, match="truncated"):
        xdr.String().decode(b"\0\0\0\5abcde\0")     # padding missing


def test_fixed_opaque_uuid_has_no_length_word():
    uuid = bytes(range(16))
    kind = xdr.FixedOpaque(16)
    assert kind.encode(uuid) == uuid
    assert kind.decode(uuid) == uuid
    with pytest.raises(xdr.XdrError):
        kind.encode(b"short")


def test_fixed_opaque_pads():
    assert xdr.FixedOpaque(3).encode(b"abc") == b"abc\0"


def test_optional_is_a_presence_word_then_the_value():
    kind = xdr.Optional(xdr.String())
    assert kind.encode(None) == b"\0\0\0\0"
    assert kind.encode("ab") == b"\0\0\0\1\0\0\0\2ab\0\0"
    assert kind.decode(b"\0\0\0\0") is None
    assert kind.decode(b"\0\0\0\1\0\0\0\2ab\0\0") == "ab"
    with pytest.raises(xdr.XdrError, match="presence"):
        kind.decode(b"\0\0\0\2")


def test_variable_array_count_and_limit():
    kind = xdr.Array(xdr.Int, 3)
    assert kind.encode([1, 2]) == words(2, 1, 2)
    assert kind.decode(words(2, 1, 2)) == [1, 2]
    with pytest.raises(xdr.XdrError, match="exceeds maximum"):
        kind.decode(words(4, 1, 2, 3, 4))
    with pytest.raises(xdr.XdrError):
        kind.encode([1, 2, 3, 4])


def test_huge_array_count_is_refused_without_allocating():
    kind = xdr.Array(xdr.Int)
    with pytest.raises(xdr.XdrError, match="cannot fit"):
        kind.decode(b"\x7f\xff\xff\xff")


def test_fixed_char_string_is_one_word_per_char():
    kind = xdr.FixedCharString(32)
    raw = kind.encode("i686")
    assert len(raw) == 128
    assert raw[:16] == words(ord("i"), ord("6"), ord("8"), ord("6"))
    assert raw[16:] == b"\0" * 112
    assert kind.decode(raw) == "i686"


def test_variable_char_string_counts_the_nul():
    kind = xdr.VarCharString(257)
    raw = kind.encode("ab")
    assert raw == words(3, ord("a"), ord("b"), 0)
    assert kind.decode(raw) == "ab"
    assert kind.decode(words(0)) == ""


def test_struct_packs_dict_tuple_or_attributes():
    kind = xdr.Struct("pair", [("a", xdr.Int), ("b", xdr.String())])
    expected = words(7) + b"\0\0\0\1x\0\0\0"
    assert kind.encode({"a": 7, "b": "x"}) == expected
    assert kind.encode((7, "x")) == expected

    class Obj:
        a, b = 7, "x"
    assert kind.encode(Obj()) == expected
    assert kind.decode(expected) == {"a": 7, "b": "x"}


def test_struct_errors_name_the_field():
    kind = xdr.Struct("pair", [("a", xdr.Int), ("b", xdr.String())])
    with pytest.raises(xdr.XdrError, match="pair.b"):
        kind.encode({"a": 1, "b": 5})
    with pytest.raises(xdr.XdrError, match="missing field"):
        kind.encode({"a": 1})


def test_struct_build_makes_the_value():
    kind = xdr.Struct("pair", [("a", xdr.Int), ("b", xdr.Int)], build=lambda a, b: a + b)
    assert kind.decode(words(2, 3)) == 5


def test_union_switches_on_the_discriminant():
    kind = xdr.Union("u", {1: xdr.Int, 7: xdr.String()})
    assert kind.encode((1, -1)) == words(1, -1)
    assert kind.decode(words(7) + b"\0\0\0\1z\0\0\0") == (7, "z")
    with pytest.raises(xdr.XdrError, match="no arm"):
        kind.decode(words(9, 0))


def test_trailing_bytes_are_an_error_when_exact():
    with pytest.raises(xdr.XdrError, match="trailing"):
        xdr.Int.decode(words(1, 2))
    assert xdr.Int.decode(words(1, 2), exact=False) == 1


def test_enum_accepts_declared_values_only():
    kind = xdr.Enum("color", [0, 1])
    assert kind.decode(words(1)) == 1
    with pytest.raises(xdr.XdrError):
        kind.decode(words(2))
    with pytest.raises(xdr.XdrError):
        kind.encode(5)


def test_fixed_array_has_no_count():
    kind = xdr.FixedArray(xdr.Int, 2)
    assert kind.encode([1, 2]) == words(1, 2)
    assert kind.decode(words(1, 2)) == [1, 2]
    with pytest.raises(xdr.XdrError):
        kind.encode([1])


def test_integral_float_packs_as_an_integer():
    assert xdr.UHyper.encode(1024.0) == xdr.UHyper.encode(1024)
    with pytest.raises(xdr.XdrError):
        xdr.UHyper.encode(1.5)


def test_struct_takes_tuple_subclasses_positionally():
    from collections import namedtuple
    Pair = namedtuple("Pair", "x y")
    kind = xdr.Struct("pair", [("a", xdr.Int), ("b", xdr.Int)])
    assert kind.encode(Pair(1, 2)) == words(1, 2)


MIXED = xdr.Struct("mixed", [("name", xdr.String(8)), ("uuid", xdr.FixedOpaque(6)),
                             ("id", xdr.Int), ("size", xdr.UHyper), ("blob", xdr.Opaque(5)),
                             ("ok", xdr.Bool), ("small", xdr.Short),
                             ("more", xdr.Optional(xdr.Int))])


def field_by_field(kind: xdr.Struct, values: list) -> bytes:
    buf = bytearray()
    for (_, ftype), value in zip(kind.fields, values):
        ftype.pack(buf, value)
    return bytes(buf)


@pytest.mark.parametrize("values", [
    ["", b"abcdef", 0, 0, b"", False, 0, None],
    ["vm-ü", b"\0" * 6, -5, 2**64 - 1, b"12345", True, -2, 7],
    ["12345678", b"uuuuuu", 2**31 - 1, 1024.0, bytearray(b"xy"), 1, 300, None],
])
def test_compiled_struct_packer_writes_what_each_field_type_writes(values):
    assert MIXED.encode(values) == field_by_field(MIXED, values)
    assert list(MIXED.decode(MIXED.encode(values)).values())[0] == values[0]


@pytest.mark.parametrize("index, bad, message", [
    (0, "123456789", "mixed.name: string<8>: length 9 exceeds maximum 8"),
    (0, 5, "mixed.name: string<8>: int given for a string"),
    (1, b"short", "mixed.uuid: opaque[6]: got 5 bytes"),
    (2, 2**31, "mixed.id: int: 2147483648"),
    (2, None, "mixed.id: int: None"),
    (3, 1.5, "mixed.size: unsigned hyper: 1.5"),
    (4, "text", "mixed.blob: opaque<5>: str given for opaque data"),
    (4, b"123456", "mixed.blob: opaque<5>: length 6 exceeds maximum 5"),
    (6, 2**15, "mixed.small: short: 32768 out of range"),
])
def test_compiled_struct_packer_fails_like_the_field_types(index, bad, message):
    values = ["vm", b"abcdef", 1, 2, b"", True, 3, None]
    values[index] = bad
    with pytest.raises(xdr.XdrError) as err:
        MIXED.encode(values)
    assert str(err.value).startswith(message)


def test_struct_packs_objects_of_a_type_seen_before_by_attributes():
    kind = xdr.Struct("ref", [("name", xdr.String()), ("id", xdr.Int)])

    class Ref:
        def __init__(self, name, id_):
            self.name, self.id = name, id_
    assert kind.encode(Ref("a", 1)) == kind.encode(("a", 1))
    assert kind.encode(Ref("b", 2)) == kind.encode({"name": "b", "id": 2})
    assert kind.encode(("c", 3)) == words(1) + b"c\0\0\0" + words(3)


def test_array_of_structs_packs_each_item_as_the_struct_does():
    class Row:
        def __init__(self, values):
            (self.name, self.uuid, self.id, self.size, self.blob, self.ok, self.small,
             self.more) = values
    rows = [["", b"abcdef", 0, 0, b"", False, 0, None],
            ["vm-ü", b"\0" * 6, -5, 2**64 - 1, b"12345", True, -2, 7]]
    items = [rows[0], Row(rows[1]), dict(zip(MIXED.field_names, rows[0])), Row(rows[0])]
    packed = xdr.Array(MIXED).encode(items)
    assert packed == words(4) + b"".join(MIXED.encode(item) for item in items)
    assert xdr.Array(xdr.Struct("empty", [])).encode([(), ()]) == words(2)


def test_array_of_structs_names_the_failing_field():
    good = ["vm", b"abcdef", 1, 2, b"", True, 3, None]
    bad = ["vm", b"abcdef", 1, 2, b"", True, 2**15, None]
    with pytest.raises(xdr.XdrError, match="mixed.small: short: 32768 out of range"):
        xdr.Array(MIXED).encode([good, bad])
