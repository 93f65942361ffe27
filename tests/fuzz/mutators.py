"""Hypothesis strategies that turn valid seed documents into hostile ones.

Structural mutations on the parsed tree (drop, duplicate, move or rename an
element; drop, add or replace an attribute; replace text), with values picked
from :data:`ODD_VALUES` or generated, then byte-level damage on the serialized
document (truncation, a DTD or entity spliced in, a flipped byte). Plus raw
bytes. Values no XML serializer accepts are skipped, not reported.
"""

from __future__ import annotations

import copy
from pathlib import Path

from hypothesis import strategies as st
from lxml import etree

DATA = Path(__file__).resolve().parents[1] / "data" / "conf"

#: values that have broken parsers before: numbers at and past every width,
#: empty, signs, units, unicode direction marks, paths, format strings
ODD_VALUES = (
    "", " ", "0", "-0", "-1", "1", "2147483647", "2147483648", "4294967295", "4294967296",
    "9223372036854775807", "9223372036854775808", "18446744073709551615",
    "18446744073709551616", "99999999999999999999999999999999999999", "-99999999999999999999",
    "0x", "0xffffffffffffffff", "0x1g", "1e309", "1.5", "nan", "inf", "-inf", "1 KiB", "KiB",
    "yes", "no", "on", "off", "true", "none", "default", "\u202e\u0644\U0001F600", "\u00e9t\u00e9",
    "a" * 4096, "../../../etc/passwd", "/dev/null", "%s%n%x", "${x}", "'\"<>&",
    "00:11:22:33:44:55", "ff:ff:ff:ff:ff:ff", "zz:zz", "256.256.256.256", "::1", "fe80::1%eth0",
    "192.168.0.1/33", "c7a5fdbd-edaf-9455-926a-d65c16db1809", "c7a5fdbd", "0" * 36,
    "qemu", "kvm", "test", "hvm", "x86_64", "file", "block", "network", "bridge", "qcow2",
)

_VALUE_CHARS = st.characters(blacklist_categories=("Cs", "Cc"))
values = st.one_of(st.sampled_from(ODD_VALUES), st.text(_VALUE_CHARS, max_size=40),
                   st.integers(-2**70, 2**70).map(str))
names = st.one_of(st.sampled_from(("name", "type", "unit", "dev", "bus", "model", "port",
                                   "id", "uuid", "mode", "index", "value", "size", "address",
                                   "start", "end", "ip", "mac", "path", "format", "file")),
                  st.from_regex(r"\A[a-z][a-z0-9_-]{0,12}\Z"))

_DAMAGE = (b"<!DOCTYPE d [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>", b"&e;", b"&lt;",
           b"<![CDATA[x]]>", b"<!-- -->", b"<?pi x?>", b"\xff\xfe", b"\x00", b"</a>", b"<a>",
           b"&#0;", b"&#x110000;", b"\xc3\x28", b"<x:y xmlns:x='urn:x'/>")


def seeds(*patterns: str) -> list[bytes]:
    """The seed documents under tests/data/conf matching ``patterns``."""
    found: list[bytes] = []
    for pattern in patterns:
        found.extend(p.read_bytes() for p in sorted(DATA.glob(pattern)))
    if not found:
        raise FileNotFoundError(f"no seed documents match {patterns}")
    return found


@st.composite
def mutated_tree(draw: st.DrawFn, seed: bytes) -> bytes:
    """``seed`` with 1-6 structural mutations, serialized."""
    root = etree.fromstring(seed, etree.XMLParser(remove_blank_text=True))
    for _ in range(draw(st.integers(1, 6))):
        elements = list(root.iter(etree.Element))
        target = elements[draw(st.integers(0, len(elements) - 1))]
        op = draw(st.sampled_from(("drop", "dup", "move", "rename", "attr-set", "attr-drop",
                                   "attr-add", "text", "deep", "many")))
        parent = target.getparent()
        try:
            if op == "drop" and parent is not None:
                parent.remove(target)
            elif op == "dup" and parent is not None:
                parent.insert(parent.index(target), copy.deepcopy(target))
            elif op == "move" and parent is not None:
                other = elements[draw(st.integers(0, len(elements) - 1))]
                if target not in other.iterancestors() and other is not target:
                    other.append(copy.deepcopy(target))
            elif op == "rename" and parent is not None:
                target.tag = draw(names)
            elif op == "attr-set" and target.attrib:
                key = draw(st.sampled_from(sorted(target.attrib)))
                target.set(key, draw(values))
            elif op == "attr-drop" and target.attrib:
                del target.attrib[draw(st.sampled_from(sorted(target.attrib)))]
            elif op == "attr-add":
                target.set(draw(names), draw(values))
            elif op == "text":
                target.text = draw(values)
            elif op == "deep":
                node = target
                for _ in range(draw(st.integers(1, 300))):
                    node = etree.SubElement(node, target.tag)
            elif op == "many" and parent is not None:
                for _ in range(draw(st.integers(2, 200))):
                    parent.append(copy.deepcopy(target))
        except (ValueError, TypeError):     # lxml refuses the value: not a document
            continue
    return etree.tostring(root)


@st.composite
def damaged(draw: st.DrawFn, document: bytes) -> bytes:
    """Byte-level damage to a document, sometimes none."""
    kind = draw(st.sampled_from(("none", "none", "truncate", "splice", "flip", "prefix")))
    if kind == "truncate" and document:
        return document[:draw(st.integers(0, len(document) - 1))]
    if kind == "splice":
        at = draw(st.integers(0, len(document)))
        return document[:at] + draw(st.sampled_from(_DAMAGE)) + document[at:]
    if kind == "flip" and document:
        at = draw(st.integers(0, len(document) - 1))
        return document[:at] + bytes([document[at] ^ draw(st.integers(1, 255))]) + document[at + 1:]
    if kind == "prefix":
        return draw(st.sampled_from((b"\xef\xbb\xbf", b"<?xml version='1.0' encoding='latin1'?>",
                                     b"<?xml version='1.1'?>", b" \n", b"\x00"))) + document
    return document


def documents(seed_docs: list[bytes]) -> st.SearchStrategy[bytes | str]:
    """Mutated seeds (bytes or str, as callers pass both) and raw bytes."""
    trees = [doc for doc in seed_docs if _well_formed(doc)]
    mutated = st.sampled_from(trees).flatmap(mutated_tree).flatmap(damaged)
    as_text = mutated.map(lambda raw: raw.decode("utf-8", "replace"))
    return st.one_of(mutated, mutated, as_text, st.binary(max_size=512),
                     st.sampled_from(seed_docs))


def _well_formed(doc: bytes) -> bool:
    try:
        etree.fromstring(doc)
    except etree.XMLSyntaxError:
        return False
    return True
