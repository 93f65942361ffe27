"""format_element's libxml2 fast path must print exactly what the Python formatter
prints, and step aside for every document where the two would differ."""

from __future__ import annotations

import random

import pytest
from lxml import etree

from pyvirt.conf import xmlbuilder
from pyvirt.conf.xmlbuilder import format_element, parse_xml


def _slow(node: etree._Element, expand: frozenset[str] = frozenset(),
          opaque: frozenset[str] = frozenset(), ns_last: bool = False) -> str:
    out: list[str] = []
    xmlbuilder._format_into(node, 0, out, {}, expand, opaque, ns_last)
    return "".join(out)


DOMAIN = """<domain type='test'><name>vm</name><uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>
<memory unit='KiB'>8192</memory><os><type arch='i686'>hvm</type><boot dev='hd'/></os>
<devices><disk type='file' device='disk'><source file='/a &amp; b&lt;c&gt;.img'/>
<target dev='vda' bus='virtio'/></disk><interface type='network'>
<mac address='aa:bb:cc:dd:ee:ff'/><source network='default'/></interface></devices></domain>"""


def test_fast_path_matches_python_formatter_on_a_domain() -> None:
    root = parse_xml(DOMAIN)
    fast = xmlbuilder._format_by_libxml2(root, frozenset({"devices"}), frozenset({"metadata"}))
    assert fast is not None
    assert fast == _slow(root, frozenset({"devices"}), frozenset({"metadata"}))
    assert "<source file='/a &amp; b&lt;c&gt;.img'/>" in fast


def test_expanded_empty_element_keeps_libvirt_pair() -> None:
    root = parse_xml("<domain><name>x</name><devices/></domain>")
    text = format_element(root, expand_empty={"devices"})
    assert text == "<domain>\n  <name>x</name>\n  <devices>\n  </devices>\n</domain>\n"
    assert text == _slow(root, frozenset({"devices"}))


@pytest.mark.parametrize("xml", [
    "<a xmlns:q='urn:q'><q:b/></a>",                 # namespaces
    "<a><b k=\"it's\"/></a>",                        # apostrophe in a value
    "<a><b>it's</b></a>",                            # apostrophe in text
    "<a><b k='x&#10;y'/></a>",                       # newline in a value
    "<a>text<b/>tail</a>",                           # mixed content
    "<a><!-- note --><b/></a>",                      # comment
    "<a><b>say \"hi\"</b></a>",                      # double quote in text
    "<a><metadata><x/></metadata></a>",              # libxml2-dumped (opaque) part
])
def test_fast_path_declines_what_it_would_print_differently(xml: str) -> None:
    root = parse_xml(xml)
    assert xmlbuilder._format_by_libxml2(root, frozenset(), frozenset({"metadata"})) is None
    assert format_element(root, opaque={"metadata"}) == _slow(root, opaque=frozenset({"metadata"}))


def test_fast_path_declines_empty_and_blank_text_set_in_code() -> None:
    root = etree.Element("a")
    child = etree.SubElement(root, "b")
    root.text = ""                     # an empty text node turns libxml2's indenting off
    assert xmlbuilder._format_by_libxml2(root, frozenset(), frozenset()) is None
    root.text = "\n      "             # blank text libxml2 would keep verbatim
    assert xmlbuilder._format_by_libxml2(root, frozenset(), frozenset()) is None
    root.text, child.text = None, ""   # <b></b> where libvirt prints <b/>
    assert xmlbuilder._format_by_libxml2(root, frozenset(), frozenset()) is None
    assert format_element(root) == "<a>\n  <b/>\n</a>\n"


def _random_tree(rng: random.Random, depth: int = 0) -> etree._Element:
    pieces = ["a", " ", "\n", "'", '"', "<", ">", "&", "\u00e9", "/", "x:y"]

    def text() -> str | None:
        roll = rng.random()
        if roll < 0.4:
            return None
        if roll < 0.5:
            return ""
        return "".join(rng.choice(pieces) for _ in range(rng.randint(1, 3)))

    node = etree.Element(rng.choice(["a", "b", "devices", "metadata"]))
    for key in rng.sample(["k", "l", "m"], rng.randint(0, 3)):
        value = text()
        if value is not None:
            node.set(key, value)
    node.text = text()
    if depth < 3:
        for _ in range(rng.randint(0, 3)):
            kid = _random_tree(rng, depth + 1)
            kid.tail = text() if rng.random() < 0.3 else None
            node.append(kid)
    return node


def test_fast_path_agrees_with_python_formatter_on_random_trees() -> None:
    rng = random.Random(20261126)
    taken = 0
    for _ in range(3000):
        root = _random_tree(rng)
        for expand, opaque in ((frozenset(), frozenset()),
                               (frozenset({"devices"}), frozenset({"metadata"}))):
            fast = xmlbuilder._format_by_libxml2(root, expand, opaque)
            if fast is not None:
                taken += 1
                assert fast == _slow(root, expand, opaque), etree.tostring(root)
    assert taken > 100   # the comparison really exercised the fast path
