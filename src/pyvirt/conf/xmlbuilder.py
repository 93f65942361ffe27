"""Declared XML fields over a live lxml tree: the document is the truth.

A model class names its root element and declares fields as XPath-like paths
relative to its node::

    class Graphics(XMLBuilder):
        _root_name = "graphics"
        _child_order = ("listen", "image")
        type = XMLProperty("./@type")
        port = XMLProperty("./@port", kind=int)
        listen = XMLProperty("./listen/@address")

Reading a field reads the tree; writing it edits the tree (creating the missing
elements in libvirt's order, ``_child_order``); deleting (``None``) removes it.
Whatever no class declares stays in the tree untouched, so parse → edit →
format never loses data. Formatting reproduces libvirt's style: two-space
indentation and single-quoted attributes.

No I/O: parsing takes a string, formatting returns one. The parser refuses
DTDs and entities, never touches the network and refuses absurd sizes.
"""

from __future__ import annotations

import re
from typing import Any, Callable, ClassVar, Iterator, TypeVar

from lxml import etree

from pyvirt.errors import VIR_ERR_XML_DETAIL, VIR_ERR_XML_ERROR, VIR_FROM_XML, error

#: Largest XML document accepted (libvirt's remote string limit is 4 MiB too).
MAX_XML_BYTES = 4 * 1024 * 1024

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
    huge_tree=False, remove_comments=False, remove_blank_text=True,
)

T = TypeVar("T", bound="XMLBuilder")


def parse_xml(text: str | bytes, what: str = "(xml)") -> etree._Element:
    """Parse untrusted XML into an element, or raise libvirt's XML error.

    ``what`` names the document in messages, e.g. ``(domain_definition)`` as
    libvirt does.
    """
    if text is None:
        raise error(VIR_ERR_XML_ERROR, "missing XML document", domain=VIR_FROM_XML)
    raw = text.encode() if isinstance(text, str) else text
    if len(raw) > MAX_XML_BYTES:
        raise error(VIR_ERR_XML_ERROR,
                    f"{what}: document of {len(raw)} bytes exceeds the limit of {MAX_XML_BYTES}",
                    domain=VIR_FROM_XML)
    if re.search(rb"<!(DOCTYPE|ENTITY)", raw):
        raise error(VIR_ERR_XML_DETAIL, f"{what}: DTDs and entities are not allowed",
                    domain=VIR_FROM_XML)
    if not raw.strip():
        raise error(VIR_ERR_XML_ERROR, f"{what}: empty XML document", domain=VIR_FROM_XML)
    try:
        root = etree.fromstring(raw, _PARSER)
    except etree.XMLSyntaxError as err:
        line = err.position[0] if err.position else 0
        raise error(VIR_ERR_XML_DETAIL, f"{what}:{line}: {err.msg}",
                    domain=VIR_FROM_XML) from err
    return root


# --- value converters -----------------------------------------------------------
def _to_bool_yes_no(raw: str) -> bool:
    return raw in ("yes", "on", "1", "true")


_KINDS: dict[Any, tuple[Callable[[str], Any], Callable[[Any], str]]] = {
    str: (str, str),
    int: (lambda s: int(s, 0) if s.lower().startswith("0x") else int(s), str),
    bool: (_to_bool_yes_no, lambda v: "yes" if v else "no"),
    "onoff": (_to_bool_yes_no, lambda v: "on" if v else "off"),
}


def _split_path(xpath: str) -> tuple[list[str], str | None]:
    """'./a/b/@c' -> (['a', 'b'], 'c'); './a' -> (['a'], None); '.' -> ([], None)."""
    parts = [p for p in xpath.split("/") if p not in (".", "")]
    attr = None
    if parts and parts[-1].startswith("@"):
        attr = parts.pop()[1:]
    return parts, attr


class XMLProperty:
    """A field: one attribute or one element's text, at a path under the node.

    ``kind`` is ``str``, ``int``, ``bool`` (yes/no) or ``"onoff"``; ``is_present``
    makes a flag that is true when the element exists (``<acpi/>``).
    """

    def __init__(self, xpath: str, kind: Any = str, *, is_present: bool = False,
                 doc: str = "") -> None:
        self.xpath = xpath
        self.kind = kind
        self.is_present = is_present
        self.elements, self.attr = _split_path(xpath)
        self.__doc__ = doc or xpath
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: "XMLBuilder | None", owner: type | None = None) -> Any:
        if obj is None:
            return self
        node = obj.find_path(self.elements)
        if self.is_present:
            return node is not None
        if node is None:
            return None
        raw = node.get(self.attr) if self.attr else node.text
        if raw is None:
            return None
        parse = _KINDS[self.kind][0]
        try:
            return parse(raw.strip() if self.kind is not str else raw)
        except ValueError as err:
            raise error(VIR_ERR_XML_DETAIL,
                        f"invalid value '{raw}' for {obj.describe_path(self.xpath)}",
                        domain=VIR_FROM_XML) from err

    def __set__(self, obj: "XMLBuilder", value: Any) -> None:
        if self.is_present:
            if value:
                obj.make_path(self.elements)
            else:
                obj.remove_path(self.elements)
            return
        if value is None:
            node = obj.find_path(self.elements)
            if node is None:
                return
            if self.attr:
                node.attrib.pop(self.attr, None)
                obj.prune_empty(self.elements)
            else:
                obj.remove_path(self.elements)
            return
        text = _KINDS[self.kind][1](value)
        node = obj.make_path(self.elements)
        if self.attr:
            node.set(self.attr, text)
        else:
            node.text = text


class XMLChildProperty:
    """A list (or, with ``is_single``, one) of child models under the node."""

    def __init__(self, cls: Callable[[], type["XMLBuilder"]] | type["XMLBuilder"],
                 relative_xpath: str = ".", *, is_single: bool = False) -> None:
        self._cls = cls
        self.parents, _ = _split_path(relative_xpath)
        self.is_single = is_single
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @property
    def cls(self) -> type["XMLBuilder"]:
        c = self._cls
        return c if isinstance(c, type) else c()

    def __get__(self, obj: "XMLBuilder | None", owner: type | None = None) -> Any:
        if obj is None:
            return self
        parent = obj.find_path(self.parents)
        cls = self.cls
        kids = [] if parent is None else [cls(node=n) for n in parent
                                         if isinstance(n.tag, str) and n.tag == cls._root_name]
        if self.is_single:
            return kids[0] if kids else None
        return kids


class XMLBuilder:
    """A view onto one element of a parsed document."""

    _root_name: ClassVar[str] = ""
    #: libvirt's order for this element's children, used when creating new ones.
    _child_order: ClassVar[tuple[str, ...]] = ()
    #: The name used in error messages, e.g. "(domain_definition)".
    _doc_label: ClassVar[str] = "(xml)"

    def __init__(self, node: etree._Element | None = None) -> None:
        if node is None:
            node = etree.Element(self._root_name)
        self.node = node

    # --- construction / formatting -----------------------------------------
    @classmethod
    def from_xml(cls: type[T], text: str | bytes) -> T:
        root = parse_xml(text, cls._doc_label)
        if cls._root_name and root.tag != cls._root_name:
            raise error(VIR_ERR_XML_ERROR,
                        f"unexpected root element <{root.tag}>, expecting <{cls._root_name}>",
                        domain=VIR_FROM_XML)
        return cls(node=root)

    def to_xml(self) -> str:
        """libvirt-style text: 2-space indent, single-quoted attributes, final newline."""
        return format_element(self.node)

    def copy(self: T) -> T:
        return type(self)(node=_deepcopy(self.node))

    # --- declared fields (for the meta-test and for unknown-XML reports) ----
    @classmethod
    def declared_properties(cls) -> dict[str, XMLProperty]:
        found: dict[str, XMLProperty] = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                if isinstance(value, XMLProperty):
                    found[name] = value
        return found

    @classmethod
    def declared_children(cls) -> dict[str, XMLChildProperty]:
        found: dict[str, XMLChildProperty] = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                if isinstance(value, XMLChildProperty):
                    found[name] = value
        return found

    # --- children ---------------------------------------------------------
    def add_child(self, child: "XMLBuilder", relative_xpath: str = ".") -> "XMLBuilder":
        parent = self.make_path(_split_path(relative_xpath)[0])
        _insert_ordered(parent, child.node, _order_for(self, parent))
        return child

    def remove_child(self, child: "XMLBuilder") -> None:
        parent = child.node.getparent()
        if parent is not None:
            parent.remove(child.node)

    # --- tree helpers used by the descriptors -------------------------------
    def find_path(self, elements: list[str]) -> etree._Element | None:
        node = self.node
        for tag in elements:
            node = _first_child(node, tag)
            if node is None:
                return None
        return node

    def make_path(self, elements: list[str]) -> etree._Element:
        node = self.node
        for tag in elements:
            child = _first_child(node, tag)
            if child is None:
                child = etree.Element(tag)
                _insert_ordered(node, child, _order_for(self, node))
            node = child
        return node

    def remove_path(self, elements: list[str]) -> None:
        node = self.find_path(elements)
        if node is not None and node is not self.node:
            node.getparent().remove(node)
            self.prune_empty(elements[:-1])

    def prune_empty(self, elements: list[str]) -> None:
        """Remove now-empty elements along a path, deepest first."""
        for depth in range(len(elements), 0, -1):
            node = self.find_path(elements[:depth])
            if node is None or node is self.node:
                continue
            if len(node) or node.attrib or (node.text and node.text.strip()):
                return
            node.getparent().remove(node)

    def describe_path(self, xpath: str) -> str:
        elements, attr = _split_path(xpath)
        where = "/".join([self.node.tag, *elements])
        return f"attribute '{attr}' of <{where}>" if attr else f"element <{where}>"


def _first_child(node: etree._Element, tag: str) -> etree._Element | None:
    for child in node:
        if child.tag == tag:
            return child
    return None


def _order_for(model: XMLBuilder, parent: etree._Element) -> tuple[str, ...]:
    return model._child_order if parent is model.node else ()


def _insert_ordered(parent: etree._Element, child: etree._Element,
                    order: tuple[str, ...]) -> None:
    """Insert ``child`` before the first sibling that libvirt prints after it."""
    if child.tag in order:
        rank = order.index(child.tag)
        for index, sibling in enumerate(parent):
            tag = sibling.tag if isinstance(sibling.tag, str) else None
            if tag in order and order.index(tag) > rank:
                parent.insert(index, child)
                return
    parent.append(child)


def _deepcopy(node: etree._Element) -> etree._Element:
    import copy
    return copy.deepcopy(node)


def iter_elements(node: etree._Element) -> Iterator[etree._Element]:
    """Element children only (no comments or processing instructions)."""
    return (c for c in node if isinstance(c.tag, str))


# --- libvirt-style formatting -----------------------------------------------------
def _escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_attr(text: str) -> str:
    return (_escape_text(text).replace("'", "&apos;").replace('"', "&quot;")
            .replace("\n", "&#10;"))


def _qname(node: etree._Element, name: str) -> str:
    q = etree.QName(name)
    if q.namespace is None:
        return name
    for prefix, uri in node.nsmap.items():
        if uri == q.namespace and prefix is not None:
            return f"{prefix}:{q.localname}"
    return q.localname


def format_element(node: etree._Element, indent: int = 0) -> str:
    out: list[str] = []
    _format_into(node, indent, out, parent_nsmap={})
    return "".join(out)


def _format_into(node: etree._Element, indent: int, out: list[str],
                 parent_nsmap: dict[str | None, str]) -> None:
    pad = "  " * indent
    if not isinstance(node.tag, str):  # comment / PI
        out.append(pad + etree.tostring(node, encoding="unicode").strip() + "\n")
        return
    tag = _qname(node, node.tag)
    attrs = []
    for prefix, uri in node.nsmap.items():
        if parent_nsmap.get(prefix) != uri:
            name = f"xmlns:{prefix}" if prefix else "xmlns"
            attrs.append(f"{name}='{_escape_attr(uri)}'")
    for key, value in node.attrib.items():
        attrs.append(f"{_qname(node, key)}='{_escape_attr(value)}'")
    head = "<" + " ".join([tag, *attrs])
    children = list(node)
    text = node.text if node.text and (not children or node.text.strip()) else None
    if not children:
        if text is None:
            out.append(f"{pad}{head}/>\n")
        else:
            out.append(f"{pad}{head}>{_escape_text(text)}</{tag}>\n")
        return
    if text is not None or any(c.tail and c.tail.strip() for c in children):
        # mixed content: keep it verbatim on one line
        inner = etree.tostring(node, encoding="unicode", with_tail=False)
        out.append(pad + inner + "\n")
        return
    out.append(f"{pad}{head}>\n")
    nsmap = dict(node.nsmap)
    for child in children:
        _format_into(child, indent + 1, out, nsmap)
    out.append(f"{pad}</{tag}>\n")
