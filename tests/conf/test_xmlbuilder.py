"""The XML builder: safe parsing, declared fields over the tree, formatting, coverage."""

from __future__ import annotations

import pytest
from lxml import etree

from pyvirt.conf.xmlbuilder import (
    MAX_XML_BYTES, XMLBuilder, XMLChildProperty, XMLProperty, format_element, parse_xml,
    reorder_attributes,
)
from pyvirt.errors import (
    VIR_ERR_XML_DETAIL, VIR_ERR_XML_ERROR, VIR_FROM_DOMAIN, VIR_FROM_XML, libvirtError,
)


class Listen(XMLBuilder):
    _root_name = "listen"
    address = XMLProperty("./@address")


class Gfx(XMLBuilder):
    _root_name = "graphics"
    _child_order = ("listen", "image", "gl")
    _attr_order = {"": ("type", "port", "autoport")}
    type = XMLProperty("./@type")
    port = XMLProperty("./@port", int)
    autoport = XMLProperty("./@autoport", bool)
    gl = XMLProperty("./gl/@enable", "onoff")
    compression = XMLProperty("./image/@compression")
    has_gl = XMLProperty("./gl", is_present=True)
    listens = XMLChildProperty(Listen)
    ports = XMLProperty("./extra/p/@n", int, multi=True)
    _known_paths = ("./note/@by",)
    _opaque_paths = ("./blob",)


def test_fields_read_write_delete() -> None:
    g = Gfx.from_xml("<graphics type='vnc' port='5900' autoport='no'/>")
    assert (g.type, g.port, g.autoport, g.gl, g.has_gl) == ("vnc", 5900, False, None, False)
    g.autoport = True
    g.port = None
    g.gl = True
    g.compression = "auto_glz"
    assert g.to_xml() == ("<graphics type='vnc' autoport='yes'>\n"
                          "  <image compression='auto_glz'/>\n  <gl enable='on'/>\n"
                          "</graphics>\n")
    g.compression = None  # removes the attribute, then the now-empty element
    g.has_gl = False
    assert g.to_xml() == "<graphics type='vnc' autoport='yes'/>\n"


def test_setting_orders_attributes_as_libvirt() -> None:
    g = Gfx.from_xml("<graphics autoport='yes'/>")
    g.port = 1
    g.type = "spice"
    assert g.to_xml() == "<graphics type='spice' port='1' autoport='yes'/>\n"


def test_hex_and_bad_int_values() -> None:
    g = Gfx.from_xml("<graphics port='0x10'/>")
    assert g.port == 16
    g = Gfx.from_xml("<graphics port='x'/>")
    with pytest.raises(libvirtError) as err:
        g.port
    assert err.value.get_error_code() == VIR_ERR_XML_DETAIL
    assert "attribute 'port' of <graphics>" in err.value.get_error_message()


def test_multi_property() -> None:
    g = Gfx.from_xml("<graphics><extra><p n='1'/><q/><p n='2'/></extra></graphics>")
    assert g.ports == [1, 2]
    g.ports = [5, 6, 7]
    assert g.ports == [5, 6, 7]
    assert g.to_xml().count("<p n=") == 3 and "<q/>" in g.to_xml()
    g.ports = []
    assert g.ports == [] and "<p " not in g.to_xml()


def test_children_and_insertion_order() -> None:
    g = Gfx.from_xml("<graphics type='vnc'><gl enable='on'/></graphics>")
    listen = Listen()
    listen.address = "::1"
    g.add_child(listen)
    assert [c.tag for c in g.node] == ["listen", "gl"]
    assert [item.address for item in g.listens] == ["::1"]
    g.remove_child(listen)
    assert g.listens == []


def test_unknown_parts_and_strip() -> None:
    g = Gfx.from_xml("<graphics type='vnc' bogus='1'><listen address='a' x='2'/>"
                     "<note by='me' when='now'/><blob any='thing'><deep/></blob>"
                     "<weird>text</weird></graphics>")
    parts = ["attribute 'bogus' of <graphics>", "attribute 'x' of <graphics/listen>",
             "attribute 'when' of <graphics/note>", "element <graphics/weird>"]
    assert g.unknown_parts() == parts
    assert g.strip_unknown() == parts
    assert g.unknown_parts() == []
    assert g.to_xml() == ("<graphics type='vnc'>\n  <listen address='a'/>\n  <note by='me'/>\n"
                          "  <blob any='thing'>\n    <deep/>\n  </blob>\n</graphics>\n")


def test_declared_properties_and_children() -> None:
    assert set(Gfx.declared_properties()) == {"type", "port", "autoport", "gl", "compression",
                                              "has_gl", "ports"}
    assert set(Gfx.declared_children()) == {"listens"}


def test_copy_is_deep() -> None:
    g = Gfx.from_xml("<graphics type='vnc'><listen address='a'/></graphics>")
    h = g.copy()
    assert h.to_xml() == g.to_xml() and h.node is not g.node
    h.type = "spice"
    h.listens[0].address = "b"
    assert (g.type, g.listens[0].address) == ("vnc", "a")


def test_wrong_root() -> None:
    with pytest.raises(libvirtError) as err:
        Gfx.from_xml("<video/>")
    assert (err.value.get_error_code(), err.value.get_error_domain()) == (
        VIR_ERR_XML_ERROR, VIR_FROM_XML)
    assert err.value.get_error_message() == (
        "XML error: expecting root element of 'graphics', not 'video'")


# --- parsing untrusted text ---------------------------------------------------------
@pytest.mark.parametrize("text", [
    '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
    '<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>',
    '<!DOCTYPE x SYSTEM "http://example.com/x.dtd"><x/>',
])
def test_dtds_and_entities_refused(text) -> None:
    with pytest.raises(libvirtError) as err:
        parse_xml(text, "(t)", domain=VIR_FROM_DOMAIN)
    assert err.value.get_error_code() == VIR_ERR_XML_DETAIL
    assert err.value.get_error_domain() == VIR_FROM_DOMAIN


def test_size_limit() -> None:
    with pytest.raises(libvirtError) as err:
        parse_xml("<x>" + "a" * MAX_XML_BYTES + "</x>")
    assert err.value.get_error_code() == VIR_ERR_XML_ERROR


def test_syntax_error_reads_like_libvirt() -> None:
    with pytest.raises(libvirtError) as err:
        parse_xml("<a>\n<b x=1/></a>", "(domain_definition)")
    assert err.value.get_error_message() == (
        "(domain_definition):2: AttValue: \" or ' expected\n<b x=1/></a>\n-----^")
    with pytest.raises(libvirtError) as err:
        parse_xml("   ", "(domain_definition)")
    assert err.value.get_error_message() == (
        "(domain_definition):1: Start tag expected, '<' not found\n   \n---^")
    with pytest.raises(libvirtError) as err:
        parse_xml("", "(domain_definition)")
    assert err.value.get_error_message() == "(domain_definition):1: Document is empty\n(null)\n^"
    with pytest.raises(libvirtError) as err:           # the error line is empty: "(null)"
        parse_xml("<domain\n", "(domain_definition)")
    assert err.value.get_error_message() == (
        "(domain_definition):2: Couldn't find end of Start Tag domain line 1\n(null)\n^")
    with pytest.raises(libvirtError) as err:           # no 80-column window; tabs kept
        parse_xml("\t<a>" + "x" * 100 + "</b>", "(domain_definition)")
    assert err.value.get_error_message().endswith("\n\t" + "-" * 107 + "^")


# --- formatting -----------------------------------------------------------------------
def test_formatting_style() -> None:
    root = parse_xml("<a q=\"it's &amp; &quot;x&quot;\"><b>1 &lt; 2</b><!-- c --><e/></a>")
    assert format_element(root) == ("<a q='it&apos;s &amp; &quot;x&quot;'>\n"
                                    "  <b>1 &lt; 2</b>\n  <!-- c -->\n  <e/>\n</a>\n")


def test_mixed_content_kept_on_one_line() -> None:
    root = parse_xml("<a><d>some <i>mixed</i> text</d></a>")
    assert format_element(root) == "<a>\n  <d>some <i>mixed</i> text</d>\n</a>\n"


def test_namespaces_expand_and_verbatim() -> None:
    root = parse_xml("<r xmlns:m='urn:m' t='1'><devices/><meta><m:x a='1'><m:y/></m:x>"
                     "</meta><m:z/></r>")
    assert format_element(root, expand_empty={"devices"}, opaque={"meta"}, ns_last=True) == (
        "<r t='1' xmlns:m='urn:m'>\n  <devices>\n  </devices>\n  <meta>\n"
        "    <m:x xmlns:m=\"urn:m\" a=\"1\">\n      <m:y/>\n    </m:x>\n  </meta>\n  <m:z/>\n</r>\n")
    assert format_element(root).startswith("<r xmlns:m='urn:m' t='1'>")


def test_reorder_attributes() -> None:
    node = etree.fromstring("<a z='1' b='2' c='3'/>")
    reorder_attributes(node, ("c", "b"))
    assert list(node.attrib) == ["c", "b", "z"]


def test_each_thread_parses_with_its_own_parser_and_errors_do_not_leak() -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    start = threading.Barrier(4)

    def parse_many(index: int) -> list[str]:
        start.wait()
        seen = []
        for round_ in range(200):
            if round_ % 3 == 0:
                with pytest.raises(libvirtError) as err:
                    parse_xml(f"<t{index}>", "(doc)")
                seen.append(err.value.get_error_message().split(":")[1])
            else:
                seen.append(parse_xml(f"<t{index}><v>{round_}</v></t{index}>").findtext("v"))
        return seen

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(parse_many, range(4)))
    for seen in results:
        assert seen == ["1" if r % 3 == 0 else str(r) for r in range(200)]


def test_finding_unknown_parts_leaves_no_reference_cycles() -> None:
    import gc

    from pyvirt.conf.domain import DomainDef

    xml = ("<domain type='test'><name>a</name><memory>8192</memory><frob x='1'/>"
           "<os><type>hvm</type><odd/></os><devices><disk type='file' bogus='1'>"
           "<source file='/x.img'/><target dev='vda'/></disk></devices></domain>")
    gc.collect()
    gc.disable()
    try:
        parts = DomainDef.from_xml(xml).unknown_parts()
        assert len(parts) == 3
        assert gc.collect() == 0            # nothing was left for the collector
    finally:
        gc.enable()
