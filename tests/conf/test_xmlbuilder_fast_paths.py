"""The define path's fast paths give what the one-step-at-a-time code gave.

Each test pits a shortcut against a plain reference written here (the walk
``sort_children`` did before it was compiled into a plan, ``_insert_ordered`` one
child at a time, a full attribute rebuild), over the golden documents and over
shuffled copies of them, and checks that a skipped step had nothing to do.
"""

from __future__ import annotations

import copy
import pathlib
import random

import pytest
from lxml import etree

from pyvirt.conf.devices import DEVICE_BY_TAG, Devices
from pyvirt.conf.domain import DOMAIN_ORDER, DomainDef, MemoryProperty, _drop_blank_leaf_text
from pyvirt.conf.xmlbuilder import (
    ChildIndex, XMLBuilder, XMLChildProperty, XMLProperty, first_child, _insert_ordered,
    reorder_attributes, sort_by_order,
)
from pyvirt.objects.events import EventBroker

DATA = pathlib.Path(__file__).resolve().parent.parent / "data" / "conf" / "domain"
INPUTS = sorted(p for p in DATA.glob("*.xml") if not p.name.endswith(".out.xml"))


# --- a plain reference for sort_children: the walk it did before its plan -----------
def reference_sort(model: XMLBuilder) -> None:
    sort_by_order(model.node, model._child_order)
    for path, order in getattr(model, "_nested_order", {}).items():
        for node in model.find_all(path.split("/")):
            sort_by_order(node, order)
    for path, order in model._attr_order.items():
        for node in model.find_all(path.split("/")) if path else [model.node]:
            reorder_attributes(node, order)
    by_parent: dict[tuple[str, ...], dict[str, list[tuple[type, bool]]]] = {}
    for child in model.declared_children().values():
        by_tag = by_parent.setdefault(tuple(child.parents), {})
        by_tag.setdefault(child.cls._root_name, []).append((child.cls, child.is_single))
    for parents, by_tag in by_parent.items():
        parent = model.find_path(parents)
        if parent is None:
            continue
        seen: set[str] = set()
        for node in parent:
            kinds = by_tag.get(node.tag)
            if kinds is None:
                continue
            first = node.tag not in seen
            seen.add(node.tag)
            for cls, is_single in kinds:
                if first or not is_single:
                    reference_sort(cls(node=node))


def shuffled(root: etree._Element, seed: int) -> etree._Element:
    """A copy with every element's children and attributes in a random order."""
    rng = random.Random(seed)
    dup = copy.deepcopy(root)
    for node in dup.iter(etree.Element):
        children = list(node)
        rng.shuffle(children)
        for child in children:
            node.remove(child)
        for child in children:
            node.append(child)
        items = list(node.attrib.items())
        rng.shuffle(items)
        node.attrib.clear()
        for key, value in items:
            node.set(key, value)
    return dup


def text_of(node: etree._Element) -> bytes:
    return etree.tostring(node)


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: p.stem)
@pytest.mark.parametrize("seed", range(4))
def test_compiled_sort_plan_matches_the_plain_walk(path: pathlib.Path, seed: int) -> None:
    root = shuffled(etree.fromstring(path.read_bytes(),
                                     etree.XMLParser(remove_blank_text=True)), seed)
    ours, theirs = DomainDef(node=copy.deepcopy(root)), DomainDef(node=copy.deepcopy(root))
    ours.sort_children()
    reference_sort(theirs)
    assert text_of(ours.node) == text_of(theirs.node)
    ranks = [DOMAIN_ORDER.index(c.tag) for c in ours.node if c.tag in DOMAIN_ORDER]
    assert ranks == sorted(ranks)


def test_sort_plan_reaches_a_model_nested_in_itself() -> None:
    doc = ("<disk type='file'><target dev='vda'/><source file='/a'/>"
           "<backingStore index='1' type='file'><source file='/b'/><format type='raw'/>"
           "<backingStore type='file'><source file='/c'/><format type='qcow2'/>"
           "</backingStore></backingStore></disk>")
    ours, theirs = (DEVICE_BY_TAG["disk"](node=etree.fromstring(doc)) for _ in range(2))
    ours.sort_children()
    reference_sort(theirs)
    assert text_of(ours.node) == text_of(theirs.node)
    inner = ours.node.find("backingStore/backingStore")
    assert [c.tag for c in inner] == ["format", "source"]


def test_sorting_in_order_children_moves_nothing() -> None:
    root = etree.fromstring("<a><x/><y/><!-- c --><z/></a>")
    before = list(root)
    sort_by_order(root, ("x", "y", "z"))
    assert list(root) == before   # the very same elements, untouched
    sort_by_order(root, ("z", "y", "x"))
    assert [c.tag if isinstance(c.tag, str) else "#" for c in root] == ["z", "y", "#", "x"]


def test_reorder_attributes_in_order_keeps_the_attributes() -> None:
    node = etree.fromstring("<a type='x' port='1' extra='2'/>")
    reorder_attributes(node, ("type", "port"))
    assert node.keys() == ["type", "port", "extra"]
    reorder_attributes(node, ("port", "type"))
    assert node.keys() == ["port", "type", "extra"]


# --- ChildIndex: the same places as _insert_ordered, one walk ------------------------
@pytest.mark.parametrize("seed", range(25))
def test_child_index_inserts_where_insert_ordered_does(seed: int) -> None:
    rng = random.Random(seed)
    order = ("name", "uuid", "memory", "vcpu", "os", "clock", "on_crash", "devices")
    start = [rng.choice(order + ("unknown", "#comment")) for _ in range(rng.randrange(8))]

    def fresh() -> etree._Element:
        root = etree.Element("domain")
        for tag in start:
            root.append(etree.Comment("c") if tag == "#comment" else etree.Element(tag))
        return root

    ours, theirs = fresh(), fresh()
    index = ChildIndex(ours, order)
    for tag in rng.sample(order + ("other",), 5):
        assert (index.first(tag) is None) == (first_child(theirs, tag) is None)
        index.first_or_add(tag, "t")
        if first_child(theirs, tag) is None:
            child = etree.Element(tag)
            child.text = "t"
            _insert_ordered(theirs, child, order)
    assert text_of(ours) == text_of(theirs)


# --- child lists are filtered by tag inside lxml: the same children ---------------
class Box(XMLBuilder):
    _root_name = "box"
    items = XMLChildProperty(lambda: Item)
    first = XMLChildProperty(lambda: Item, is_single=True)
    nested = XMLChildProperty(lambda: Item, "./inner")


class Item(XMLBuilder):
    _root_name = "item"
    name = XMLProperty("./@name")


def test_child_lists_skip_namespaced_lookalikes_and_comments() -> None:
    box = Box(node=etree.fromstring(
        "<box xmlns:q='urn:q'><q:item name='ns'/><!-- item --><item name='a'/>"
        "<other/><item name='b'/><inner><item name='c'/></inner></box>"))
    assert [i.name for i in box.items] == ["a", "b"]
    assert box.first.name == "a"
    assert [i.name for i in box.nested] == ["c"]
    assert Box(node=etree.fromstring("<box/>")).first is None


def test_first_child_by_exact_name_in_long_and_short_lists() -> None:
    many = etree.fromstring("<a xmlns:q='urn:q'>" + "<x/>" * 6 + "<q:t/><t n='1'/></a>")
    assert first_child(many, "t").get("n") == "1"
    assert first_child(many, "{urn:q}t") is many[6]
    few = etree.fromstring("<a><x/><t n='2'/></a>")
    assert first_child(few, "t").get("n") == "2"
    assert first_child(few, "missing") is None


def test_devices_by_tag_equals_each_kind_list() -> None:
    dom = DomainDef.from_xml((DATA / "full-vm.xml").read_text())
    devices = dom.devices
    groups = devices.by_tag()
    for tag, kind in DEVICE_BY_TAG.items():
        listed = getattr(devices, kind._list_name) if kind._list_name else []
        assert [d.node for d in groups.get(tag, [])] == [d.node for d in listed]
    assert isinstance(devices, Devices)


# --- memory sizes: an element already canonical is left alone ------------------------
@pytest.mark.parametrize("attrs", [
    "unit='KiB'", "slots='4' unit='KiB'", "unit='KiB' slots='4'", "unit='MiB'", "",
    "dumpCore='on' unit='KiB'", "unit='KiB' dumpCore='on'", "slots='2' dumpCore='on' unit='KiB'",
])
@pytest.mark.parametrize("text", ["1024", " 1024 ", "2048"])
def test_memory_write_matches_a_full_rebuild(attrs: str, text: str) -> None:
    node = etree.fromstring(f"<memory {attrs}>{text}</memory>")
    expected = copy.deepcopy(node)
    extra = [(k, v) for k, v in expected.attrib.items() if k != "unit"]
    expected.attrib.clear()
    for key, value in extra:
        expected.set(key, value)
    expected.set("unit", "KiB")
    reorder_attributes(expected, ("slots", "unit"))
    expected.text = "1024"
    MemoryProperty.write_kib(node, 1024)
    assert text_of(node) == text_of(expected)


# --- blank text: libvirt keeps <description> and <metadata> as written ---------------
def test_blank_leaf_text_dropped_except_description_and_metadata() -> None:
    for _ in range(20):   # the same answer every time (no identity of lxml proxies)
        root = etree.fromstring(
            "<domain><description>\n  </description><metadata><m:a xmlns:m='urn:m'>"
            "<b>\n</b></m:a></metadata><devices><video><model type='qxl'>\n  </model>"
            "</video></devices><title> </title></domain>")
        _drop_blank_leaf_text(root)
        assert root.findtext("description") == "\n  "
        assert root.find("metadata/{urn:m}a/b").text == "\n"
        assert root.find("devices/video/model").text is None
        assert root.findtext("title") == " "


# --- events: flushing with nothing queued and nobody listening takes no lock ---------
def test_event_flush_delivers_and_skips_when_idle() -> None:
    broker = EventBroker()
    broker.flush()   # idle: nothing to do
    seen: list[tuple] = []
    broker.register(0, None, lambda *args: seen.append(args), owner=None)
    broker.queue(0, "ref", 1, 2)
    broker.flush()
    assert seen == [(0, "ref", 1, 2)]
    broker.flush()
    assert seen == [(0, "ref", 1, 2)]
