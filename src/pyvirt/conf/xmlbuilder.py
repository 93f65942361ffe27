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

What the declarations cover is also known: :meth:`XMLBuilder.unknown_parts`
lists every element and attribute of a document that no declared field (or
child model) covers, and :meth:`XMLBuilder.strip_unknown` removes exactly those.

No I/O: parsing takes a string, formatting returns one. The parser refuses
DTDs and entities, never touches the network and refuses absurd sizes.

Speed (every define goes through here): each lxml child visited costs a proxy
object, so the walks are few. :meth:`XMLBuilder.sort_children` runs a plan
compiled once per class (:class:`_SortPlan`: one pass per element, reorders only
where something is out of order); :class:`ChildIndex` serves a run of lookups and
ordered insertions under one element from a single read of its children; child
lists are filtered by tag inside lxml.
"""

from __future__ import annotations

import copy as _copy
import re
import threading
from typing import Any, Callable, ClassVar, Iterable, Iterator, TypeVar

from lxml import etree

from pyvirt.errors import VIR_ERR_XML_DETAIL, VIR_ERR_XML_ERROR, VIR_FROM_XML, error

#: Largest XML document accepted (libvirt's remote string limit is 4 MiB too).
MAX_XML_BYTES = 4 * 1024 * 1024

T = TypeVar("T", bound="XMLBuilder")


_DTD_OR_ENTITY = re.compile(rb"<!(DOCTYPE|ENTITY)")


_parsers = threading.local()


def _parser() -> etree.XMLParser:
    """This thread's parser (lxml parsers are not thread-safe; their error log
    holds the last run's errors). One per thread, not one per document: every
    document keeps its parser alive, ~3 KiB each."""
    parser = getattr(_parsers, "parser", None)
    if parser is None:
        parser = _parsers.parser = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
            huge_tree=False, remove_comments=False, remove_blank_text=True,
        )
    return parser


def _error_window(raw: bytes, line: int, column: int) -> str:
    """libvirt's context under a syntax error: the offending line, then a pointer
    line (``-`` per character before the column, tabs kept, then ``^``); an empty
    line reads ``(null)``, as libvirt prints an empty buffer."""
    lines = raw.decode("utf-8", "replace").split("\n")
    text = lines[line - 1] if 1 <= line <= len(lines) else ""
    text = text.split("\r", 1)[0]
    col = max(column - 1, 0)
    pointer = "".join("\t" if ch == "\t" else "-" for ch in text[:col])
    pointer += "-" * (col - len(pointer))
    return f"{text or '(null)'}\n{pointer}^"


def parse_xml(text: str | bytes | None, what: str = "(xml)", *,
              domain: int = VIR_FROM_XML) -> etree._Element:
    """Parse untrusted XML into an element, or raise libvirt's XML error.

    ``what`` names the document in messages, e.g. ``(domain_definition)`` as
    libvirt does; ``domain`` is the error domain (libvirt reports a domain
    document's syntax errors from VIR_FROM_DOMAIN). A syntax error reads as
    libvirt's does: ``(domain_definition):LINE: MESSAGE`` then the line and a caret.
    """
    if text is None:
        raise error(VIR_ERR_XML_ERROR, "missing XML document", domain=domain)
    raw = text.encode() if isinstance(text, str) else text
    if len(raw) > MAX_XML_BYTES:
        raise error(VIR_ERR_XML_ERROR,
                    f"{what}: document of {len(raw)} bytes exceeds the limit of {MAX_XML_BYTES}",
                    domain=domain)
    if _DTD_OR_ENTITY.search(raw):
        raise error(VIR_ERR_XML_DETAIL, f"{what}: DTDs and entities are not allowed",
                    domain=domain)
    if not raw:
        raise error(VIR_ERR_XML_DETAIL, f"{what}:1: Document is empty\n(null)\n^",
                    domain=domain)
    parser = _parser()
    try:
        root = etree.fromstring(raw, parser)
    except etree.XMLSyntaxError as err:
        entries = [e for e in parser.error_log if e.level_name in ("FATAL", "ERROR")]
        if entries:
            first = entries[0]
            msg, line, column = first.message.strip(), first.line, first.column
        else:
            msg = re.sub(r", line \d+, column \d+$", "", err.msg or "parse error")
            line, column = err.position if err.position else (1, 1)
        raise error(VIR_ERR_XML_DETAIL,
                    f"{what}:{line}: {msg}\n{_error_window(raw, line, column)}",
                    domain=domain) from err
    return root


# --- value converters -----------------------------------------------------------
def _to_bool_yes_no(raw: str) -> bool:
    return raw in ("yes", "on", "1", "true")


def _parse_int(raw: str) -> int:
    raw = raw.strip()
    return int(raw, 16) if raw.lower().startswith("0x") else int(raw)


_KINDS: dict[Any, tuple[Callable[[str], Any], Callable[[Any], str]]] = {
    str: (str, str),
    int: (_parse_int, str),
    bool: (_to_bool_yes_no, lambda v: "yes" if v else "no"),
    "onoff": (_to_bool_yes_no, lambda v: "on" if v else "off"),
    "hex": (_parse_int, lambda v: f"0x{v:x}" if isinstance(v, int) else str(v)),
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

    ``kind`` is ``str``, ``int``, ``bool`` (yes/no), ``"onoff"`` or ``"hex"``;
    ``is_present`` makes a flag that is true when the element exists (``<acpi/>``);
    ``multi`` makes a list over every element matching the last path step
    (``<boot dev='hd'/><boot dev='cdrom'/>`` → ``['hd', 'cdrom']``); assigning a
    list replaces them all.
    """

    def __init__(self, xpath: str, kind: Any = str, *, is_present: bool = False,
                 multi: bool = False, doc: str = "") -> None:
        self.xpath = xpath
        self.kind = kind
        self.is_present = is_present
        self.multi = multi
        self.elements, self.attr = _split_path(xpath)
        self.__doc__ = doc or xpath
        self.name = ""
        # a plain string field returns the raw value: no converter call on reads
        self._raw_is_value = kind is str and type(self).parse_value is XMLProperty.parse_value
        self._order_key = "/".join(self.elements)  # its element's key in _attr_order

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    # what this field accounts for in a document: (element path, attribute or None)
    def covered(self) -> list[tuple[tuple[str, ...], str | None]]:
        return [(tuple(self.elements), self.attr)]

    def parse_value(self, obj: "XMLBuilder", raw: str) -> Any:
        parse = _KINDS[self.kind][0]
        try:
            return parse(raw.strip() if self.kind is not str else raw)
        except ValueError as err:
            raise error(VIR_ERR_XML_DETAIL,
                        f"invalid value '{raw}' for {obj.describe_path(self.xpath)}",
                        domain=VIR_FROM_XML) from err

    def format_value(self, value: Any) -> str:
        return _KINDS[self.kind][1](value)

    def read_raw(self, obj: "XMLBuilder") -> str | None:
        node = obj.find_path(self.elements)
        if node is None:
            return None
        return node.get(self.attr) if self.attr else node.text

    def __get__(self, obj: "XMLBuilder | None", owner: type | None = None) -> Any:
        if obj is None:
            return self
        if self.multi:
            values = []
            for node in obj.find_all(self.elements):
                raw = node.get(self.attr) if self.attr else node.text
                if raw is not None:
                    values.append(self.parse_value(obj, raw))
            return values
        node = obj.node
        for tag in self.elements:
            node = first_child(node, tag)
            if node is None:
                break
        if self.is_present:
            return node is not None
        if node is None:
            return None
        raw = node.get(self.attr) if self.attr else node.text
        if raw is None or self._raw_is_value:
            return raw
        return self.parse_value(obj, raw)

    def __set__(self, obj: "XMLBuilder", value: Any) -> None:
        if self.multi:
            self._set_multi(obj, list(value or []))
            return
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
        text = self.format_value(value)
        node = obj.make_path(self.elements)
        if self.attr:
            node.set(self.attr, text)
            order = obj._attr_order.get(self._order_key)
            if order:
                reorder_attributes(node, order)
        else:
            node.text = text

    def _set_multi(self, obj: "XMLBuilder", values: list[Any]) -> None:
        parent_path, tag = self.elements[:-1], self.elements[-1]
        existing = obj.find_all(self.elements)
        parent = obj.make_path(parent_path) if values else obj.find_path(parent_path)
        if parent is None:
            return
        anchor_index = parent.index(existing[0]) if existing else None
        for node in existing:
            parent.remove(node)
        new_nodes = []
        for value in values:
            node = parent.makeelement(tag)
            text = self.format_value(value)
            if self.attr:
                node.set(self.attr, text)
            else:
                node.text = text
            new_nodes.append(node)
        for offset, node in enumerate(new_nodes):
            if anchor_index is not None:
                parent.insert(anchor_index + offset, node)
            else:
                _insert_ordered(parent, node, _order_for(obj, parent))
        if not values:
            obj.prune_empty(parent_path)


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
        if not isinstance(c, type):  # a forward reference: resolve it once
            c = self._cls = c()
        return c

    def __get__(self, obj: "XMLBuilder | None", owner: type | None = None) -> Any:
        if obj is None:
            return self
        parent = obj.find_path(self.parents) if self.parents else obj.node
        cls = self.cls
        if self.is_single:
            node = None if parent is None else first_child(parent, cls._root_name)
            return None if node is None else cls(node=node)
        return [] if parent is None else [cls(node=n) for n in _children_named(parent,
                                                                               cls._root_name)]


class XMLBuilder:
    """A view onto one element of a parsed document."""

    _root_name: ClassVar[str] = ""
    #: libvirt's order for this element's children, used when creating new ones.
    _child_order: ClassVar[tuple[str, ...]] = ()
    #: The name used in error messages, e.g. "(domain_definition)".
    _doc_label: ClassVar[str] = "(xml)"
    #: The error domain for this document's parse errors.
    _error_domain: ClassVar[int] = VIR_FROM_XML
    #: Paths (relative, './a/@b' style) that count as covered although no field reads them.
    _known_paths: ClassVar[tuple[str, ...]] = ()
    #: Element paths whose whole content (attributes and all) counts as covered.
    _opaque_paths: ClassVar[tuple[str, ...]] = ()
    #: Tags whose children print as libxml2 dumps them (libvirt's <metadata>).
    _verbatim_tags: ClassVar[frozenset[str]] = frozenset()
    #: Elements printed as an open/close pair even when empty (libvirt's <devices>).
    _expand_empty: ClassVar[frozenset[str]] = frozenset()
    #: Whether unknown-part reports name this element first (False for whole documents).
    _report_with_root: ClassVar[bool] = True
    #: libvirt's attribute order, by element path ("" is this node, "driver", "source/host")
    _attr_order: ClassVar[dict[str, tuple[str, ...]]] = {}
    #: Whether namespace declarations print after the attributes (libvirt's <domain>).
    _ns_last: ClassVar[bool] = False

    def __init__(self, node: etree._Element | None = None) -> None:
        if node is None:
            node = etree.Element(self._root_name)
        self.node = node

    # --- construction / formatting -----------------------------------------
    @classmethod
    def from_xml(cls: type[T], text: str | bytes) -> T:
        root = parse_xml(text, cls._doc_label, domain=cls._error_domain)
        if cls._root_name and root.tag != cls._root_name:
            raise error(VIR_ERR_XML_ERROR,
                        f"expecting root element of '{cls._root_name}', not '{root.tag}'",
                        domain=VIR_FROM_XML)
        return cls(node=root)

    def to_xml(self) -> str:
        """libvirt-style text: 2-space indent, single-quoted attributes, final newline."""
        return format_element(self.node, expand_empty=self._expand_empty,
                              opaque=self._verbatim_tags, ns_last=self._ns_last)

    def copy(self: T) -> T:
        return type(self)(node=_copy.deepcopy(self.node))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.node.tag}>"

    # --- declared fields (for the meta-test and for unknown-XML reports) ----
    @classmethod
    def declared_properties(cls) -> dict[str, XMLProperty]:
        return dict(cls._declared("_properties_cache", XMLProperty))

    @classmethod
    def declared_children(cls) -> dict[str, XMLChildProperty]:
        return dict(cls._declared("_children_cache", XMLChildProperty))

    @classmethod
    def _declared(cls, cache_name: str, kind: type) -> dict[str, Any]:
        """Every attribute of ``kind`` over the class hierarchy (subclass wins),
        computed once per class: the declarations are fixed when the class is made."""
        cached = cls.__dict__.get(cache_name)
        if cached is None:
            cached = {}
            for klass in reversed(cls.__mro__):
                for name, value in vars(klass).items():
                    if isinstance(value, kind):
                        cached[name] = value
            setattr(cls, cache_name, cached)
        return cached

    @classmethod
    def _coverage(cls) -> tuple[set[tuple[str, ...]], set[tuple[tuple[str, ...], str]],
                                dict[tuple[str, ...], type["XMLBuilder"]],
                                set[tuple[str, ...]]]:
        """(known element paths, known (path, attr) pairs, child model by element path,
        opaque element paths), each path relative to this model's node."""
        cached = cls.__dict__.get("_coverage_cache")
        if cached is not None:
            return cached
        elements: set[tuple[str, ...]] = set()
        attrs: set[tuple[tuple[str, ...], str]] = set()
        children: dict[tuple[str, ...], type[XMLBuilder]] = {}
        opaque: set[tuple[str, ...]] = set()

        def add(path: tuple[str, ...], attr: str | None) -> None:
            for depth in range(1, len(path) + 1):
                elements.add(path[:depth])
            if attr is not None:
                attrs.add((path, attr))

        for prop in cls.declared_properties().values():
            for path, attr in prop.covered():
                add(path, attr)
        for raw in cls._known_paths:
            path, attr = _split_path(raw)
            add(tuple(path), attr)
        for raw in cls._opaque_paths:
            path, _ = _split_path(raw)
            add(tuple(path), None)
            opaque.add(tuple(path))
        for child in cls.declared_children().values():
            parents = tuple(child.parents)
            add(parents, None)
            children[parents + (child.cls._root_name,)] = child.cls
        result = (elements, attrs, children, opaque)
        setattr(cls, "_coverage_cache", result)
        return result

    def unknown_parts(self) -> list[str]:
        """Every element and attribute that no declared field covers, in document
        order, named like ``element <devices/frobnicate>`` or
        ``attribute 'foo' of <devices/disk/target>``."""
        found: list[str] = []
        self._walk_unknown(self._report_prefix(), lambda desc, node, attr: found.append(desc))
        return found

    def strip_unknown(self) -> list[str]:
        """Remove exactly what :meth:`unknown_parts` reports; returns those names."""
        doomed: list[tuple[str, etree._Element, str | None]] = []
        self._walk_unknown(self._report_prefix(),
                           lambda desc, node, attr: doomed.append((desc, node, attr)))
        for _desc, node, attr in doomed:
            if attr is not None:
                node.attrib.pop(attr, None)
            elif node.getparent() is not None:
                _remove_keeping_tail(node)
        if doomed:
            etree.cleanup_namespaces(self.node)
        return [desc for desc, _n, _a in doomed]

    def _report_prefix(self) -> tuple[str, ...]:
        """Path shown before the node's descendants in reports: a whole document's
        root is left out (``devices/disk``, not ``domain/devices/disk``)."""
        return (_display_tag(self.node),) if self._report_with_root else ()

    @classmethod
    def _coverage_tree(cls) -> "_Coverage":
        """:meth:`_coverage` as a tree keyed by tag, built once per class, so a walk
        looks each element up by its tag instead of hashing its whole path."""
        tree = cls.__dict__.get("_coverage_tree_cache")
        if tree is None:
            elements, attrs, children, opaque = cls._coverage()
            tree = _Coverage()
            for path in elements:
                tree.at(path)
            for path, attr in attrs:
                tree.at(path).attrs.add(attr)
            for path in opaque:
                tree.at(path).opaque = True
            for path, model in children.items():
                tree.at(path[:-1]).models[path[-1]] = model
            setattr(cls, "_coverage_tree_cache", tree)
        return tree

    def _walk_unknown(self, prefix: tuple[str, ...],
                      report: Callable[[str, etree._Element, str | None], None]) -> None:
        # methods, not nested functions: a recursive closure is a reference cycle,
        # garbage the cyclic collector had to find after every parsed document
        self._visit_unknown(self.node, self._coverage_tree(), (), prefix, report)

    def _visit_unknown(self, node: etree._Element, cover: "_Coverage", rel: tuple[str, ...],
                       prefix: tuple[str, ...],
                       report: Callable[[str, etree._Element, str | None], None]) -> None:
        if cover.opaque:
            return
        if node.attrib:
            for name in node.attrib:
                key = _attr_key(node, name)
                if key not in cover.attrs and not self._attr_is_namespace_decl(key):
                    report(f"attribute '{key}' of <{self._where(prefix, rel, node)}>",
                           node, name)
        for child in node:
            tag = child.tag
            if not isinstance(tag, str):  # comments and processing instructions
                continue
            model = cover.models.get(tag)
            if model is not None:
                model(node=child)._walk_unknown(prefix + rel + (tag,), report)
                continue
            inner = cover.elements.get(tag)
            if inner is not None:
                self._visit_unknown(child, inner, rel + (tag,), prefix, report)
            else:
                report(f"element <{self._where(prefix, rel + (tag,), child)}>", child, None)

    def _where(self, prefix: tuple[str, ...], rel: tuple[str, ...],
               node: etree._Element) -> str:
        """The reported path of ``node``, ``rel`` steps below this model's node."""
        chain = []
        walk = node
        for _ in rel:
            chain.append(_display_tag(walk))
            walk = walk.getparent()
        return "/".join(list(prefix) + chain[::-1]) or _display_tag(self.node)

    @staticmethod
    def _attr_is_namespace_decl(key: str) -> bool:
        return key.startswith("xmlns")

    # --- libvirt's element order ------------------------------------------
    def sort_children(self) -> None:
        """Reorder this node's children (and every child model's, recursively) into
        ``_child_order``, and attributes into ``_attr_order``; an undeclared element
        stays right after the declared sibling it followed, an undeclared attribute
        goes after the declared ones."""
        _apply_sort_plan(self.node, self._sort_plan())

    @classmethod
    def _sort_plan(cls) -> "_SortPlan":
        """What :meth:`sort_children` does, compiled once per class into one walk:
        this node's reorders (``_child_order``, then ``_attr_order['']``), then per
        child tag the reorders ``_nested_order`` and ``_attr_order`` name (a path
        reaches every element at its last step under the first match of the
        rest, as :meth:`find_all` does), then each child model's own plan."""
        plan = cls.__dict__.get("_sort_plan_cache")
        if plan is not None:
            return plan
        plan = _SortPlan()
        setattr(cls, "_sort_plan_cache", plan)  # before filling: a model may nest itself
        if cls._child_order:
            plan.ops.append((False, _ranks(tuple(cls._child_order)), 0))
        steps: list[tuple[list[str], bool, tuple[str, ...]]] = []
        for path, order in getattr(cls, "_nested_order", {}).items():
            steps.append((path.split("/"), False, tuple(order)))
        for path, order in cls._attr_order.items():
            steps.append((path.split("/") if path else [], True, tuple(order)))
        for elements, on_attributes, order in steps:
            target = plan
            for depth, tag in enumerate(elements):
                target = target.inline_child(tag, every=depth == len(elements) - 1)
            target.ops.append((on_attributes, _ranks(order), len(order)))
        for child in cls._declared("_children_cache", XMLChildProperty).values():
            target = plan
            for tag in child.parents:
                target = target.inline_child(tag, every=False)
            kind = child.cls
            target.children.setdefault(kind._root_name, []).append(
                (kind._sort_plan(), not child.is_single, False))
        return plan

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
    def find_path(self, elements: list[str] | tuple[str, ...]) -> etree._Element | None:
        node = self.node
        for tag in elements:
            node = first_child(node, tag)
            if node is None:
                return None
        return node

    def find_all(self, elements: list[str] | tuple[str, ...]) -> list[etree._Element]:
        """Every element at the path's last step, under the first match of the rest."""
        if not elements:
            return [self.node]
        parent = self.find_path(elements[:-1])
        if parent is None:
            return []
        return [c for c in parent if c.tag == elements[-1]]

    def make_path(self, elements: list[str] | tuple[str, ...]) -> etree._Element:
        node = self.node
        for tag in elements:
            child = first_child(node, tag)
            if child is None:
                child = node.makeelement(tag)  # made in the document it joins: cheaper
                _insert_ordered(node, child, _order_for(self, node))
            node = child
        return node

    def remove_path(self, elements: list[str] | tuple[str, ...]) -> None:
        node = self.find_path(elements)
        if node is not None and node is not self.node:
            node.getparent().remove(node)
            self.prune_empty(list(elements[:-1]))

    def prune_empty(self, elements: list[str] | tuple[str, ...]) -> None:
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


def _remove_keeping_tail(node: etree._Element) -> None:
    parent = node.getparent()
    if node.tail and node.tail.strip():
        prev = node.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + node.tail
        else:
            parent.text = (parent.text or "") + node.tail
    parent.remove(node)


def _display_tag(node: etree._Element) -> str:
    """A tag as the document spells it (``qemu:commandline``)."""
    return _qname(node, node.tag)


def _attr_key(node: etree._Element, name: str) -> str:
    return _qname(node, name) if name[0] == "{" else name


def first_child(node: etree._Element, tag: str) -> etree._Element | None:
    """The first child element named exactly ``tag`` (namespaced names in Clark form)."""
    # a few children are quicker to scan here; past that lxml matches the exact
    # name in C (where '*' would be its wildcard)
    if len(node) > 5 and tag and "*" not in tag:
        return next(node.iterchildren(tag), None)
    for child in node:
        if child.tag == tag:
            return child
    return None


def _children_named(node: etree._Element, tag: str) -> Iterable[etree._Element]:
    """The children whose tag is exactly ``tag``, in document order."""
    if tag and "*" not in tag:  # matched in C: no proxy for the other children
        return node.iterchildren(tag)
    return [child for child in node if child.tag == tag]


class _Coverage:
    """What a model's declarations cover at one element path: its attributes,
    whether everything below counts as covered, and per child tag either a child
    model or the covered element's own _Coverage."""

    __slots__ = ("attrs", "opaque", "models", "elements")

    def __init__(self) -> None:
        self.attrs: set[str] = set()
        self.opaque = False
        self.models: dict[str, type[XMLBuilder]] = {}
        self.elements: dict[str, _Coverage] = {}

    def at(self, path: tuple[str, ...]) -> "_Coverage":
        node = self
        for tag in path:
            node = node.elements.setdefault(tag, _Coverage())
        return node


class _SortPlan:
    """One element's part of a compiled :meth:`XMLBuilder.sort_children`: the
    reorders to run on it, in order, each as (on attributes or on children, the
    order's ranks, its length), then the plans for its children by tag, each as
    (plan, every child with the tag or only the first, built inline here)."""

    __slots__ = ("ops", "children")

    def __init__(self) -> None:
        self.ops: list[tuple[bool, dict[str, int], int]] = []
        self.children: dict[str, list[tuple[_SortPlan, bool, bool]]] = {}

    def inline_child(self, tag: str, *, every: bool) -> "_SortPlan":
        """This model's own plan for the children ``tag`` (all, or the first only)."""
        entries = self.children.setdefault(tag, [])
        for plan, plan_every, inline in entries:
            if inline and plan_every == every:
                return plan
        plan = _SortPlan()
        entries.append((plan, every, True))
        return plan


def _apply_sort_plan(node: etree._Element, plan: _SortPlan) -> None:
    for on_attributes, ranks, last in plan.ops:
        if on_attributes:
            if len(node.attrib) > 1:  # the length tests spare a call where nothing moves
                _reorder_by_ranks(node, ranks, last)
        elif len(node) > 1:
            _sort_by_ranks(node, ranks)
    children = plan.children
    if not children or not len(node):
        return
    seen: set[str] = set()
    for child in node:
        tag = child.tag
        entries = children.get(tag)  # a comment's tag is a function: no entry
        if entries is None:
            continue
        first = tag not in seen
        seen.add(tag)
        for sub, every, _inline in entries:
            if every or first:
                _apply_sort_plan(child, sub)


def _order_for(model: XMLBuilder, parent: etree._Element) -> tuple[str, ...]:
    if parent is model.node:
        return model._child_order
    nested = getattr(model, "_nested_order", {})
    path: list[str] = []
    node = parent
    while node is not None and node is not model.node:
        path.append(node.tag)
        node = node.getparent()
    return nested.get("/".join(reversed(path)), ())


_RANKS: dict[tuple[str, ...], dict[str, int]] = {}
#: the same by the order's identity, holding the order so its id stays its own
_RANKS_BY_ID: dict[int, tuple[tuple[str, ...], dict[str, int]]] = {}


def _ranks(order: tuple[str, ...]) -> dict[str, int]:
    """Each name's first position in ``order`` (computed once per order)."""
    cached = _RANKS_BY_ID.get(id(order))
    if cached is not None and cached[0] is order:  # no tuple hash for the orders in use
        return cached[1]
    key = tuple(order)
    ranks = _RANKS.get(key)
    if ranks is None:
        ranks = {}
        for position, name in enumerate(key):
            ranks.setdefault(name, position)
        _RANKS[key] = ranks
    if key is order and len(_RANKS_BY_ID) < 4096:
        _RANKS_BY_ID[id(order)] = (order, ranks)
    return ranks


def _insert_ordered(parent: etree._Element, child: etree._Element,
                    order: tuple[str, ...]) -> None:
    """Insert ``child`` before the first sibling that libvirt prints after it."""
    ranks = _ranks(order)
    rank = ranks.get(child.tag)
    if rank is not None:
        index = 0
        for sibling in parent:
            # a comment's tag is a function: never in ranks
            if ranks.get(sibling.tag, -1) > rank:
                parent.insert(index, child)
                return
            index += 1
    parent.append(child)


class ChildIndex:
    """An element's children read once, for a run of lookups and insertions that
    behave as :func:`first_child` and :func:`_insert_ordered` do one at a time,
    without walking the children again. Valid while only this index changes which
    children the element has."""

    def __init__(self, parent: etree._Element, order: tuple[str, ...]) -> None:
        self.parent = parent
        self._ranks = _ranks(order)
        self._tags = [child.tag for child in parent]  # a comment's tag is a function
        self._children = list(parent)
        self._positions = [self._ranks.get(tag, -1) for tag in self._tags]  # -1: unranked
        self._last = max(self._positions, default=-1)
        self._first: dict[Any, etree._Element] = {}
        for tag, child in zip(reversed(self._tags), reversed(self._children)):
            self._first[tag] = child                # the earliest one stays

    def first(self, tag: str) -> etree._Element | None:
        """The first child named ``tag``, or None."""
        return self._first.get(tag)

    def add(self, tag: str, text: str | None = None) -> etree._Element:
        """A new child ``tag`` (with ``text``), before the first sibling libvirt
        prints after it."""
        child = self.parent.makeelement(tag)  # made in the document it joins: cheaper
        child.text = text
        rank = self._ranks.get(tag, -1)
        index = len(self._tags)
        if -1 < rank < self._last:  # else no sibling comes after it: append
            for position, other in enumerate(self._positions):
                if other > rank:
                    index = position
                    break
        self.parent.insert(index, child)
        earlier = self._first.get(tag)
        if earlier is None or index <= self._children.index(earlier):
            self._first[tag] = child
        self._tags.insert(index, tag)
        self._children.insert(index, child)
        self._positions.insert(index, rank)
        self._last = max(self._last, rank)
        return child

    def first_or_add(self, tag: str, text: str | None = None) -> etree._Element:
        found = self.first(tag)
        return found if found is not None else self.add(tag, text)


def sort_by_order(parent: etree._Element, order: Iterable[str]) -> None:
    """Reorder ``parent``'s children into ``order`` (stable; an element not named
    stays right after the named sibling it followed)."""
    order = tuple(order)
    if order and len(parent) > 1:
        _sort_by_ranks(parent, _ranks(order))


def _sort_by_ranks(parent: etree._Element, ranks: dict[str, int]) -> None:
    current = -1
    for child in parent:  # already libvirt's order (the common case): nothing moves
        rank = ranks.get(child.tag)  # a comment's tag is a function: unranked
        if rank is not None:
            if rank < current:
                break
            current = rank
    else:
        return
    placed: list[tuple[int, int, etree._Element]] = []
    current = -1
    for index, child in enumerate(parent):
        rank = ranks.get(child.tag)
        if rank is not None:
            current = rank
        placed.append((current, index, child))
    placed.sort(key=lambda item: (item[0], item[1]))
    tail = parent.text
    for _r, _i, child in placed:
        parent.remove(child)
    for _r, _i, child in placed:
        parent.append(child)
    parent.text = tail


def reorder_attributes(node: etree._Element, order: tuple[str, ...]) -> None:
    """Put the named attributes first, in this order (libvirt prints a fixed order);
    the others keep their relative order after them."""
    if len(node.attrib) > 1:
        _reorder_by_ranks(node, _ranks(order), len(order))


def _reorder_by_ranks(node: etree._Element, ranks: dict[str, int], last: int) -> None:
    """reorder_attributes with the order's ranks; ``last`` ranks the unnamed ones."""
    attrib = node.attrib
    previous = -1
    for key in attrib:  # already in order (the common case): nothing to rebuild
        rank = ranks.get(key, last)
        if rank < previous:
            break
        previous = rank
    else:
        return
    ranked = sorted(attrib.items(), key=lambda kv: ranks.get(kv[0], last))
    attrib.clear()
    for key, value in ranked:
        node.set(key, value)


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


def format_element(node: etree._Element, indent: int = 0, *,
                   expand_empty: Iterable[str] = (), opaque: Iterable[str] = (),
                   ns_last: bool = False) -> str:
    """Format ``node`` as libvirt does. Tags in ``expand_empty`` print as an
    open/close pair even when empty; the children of tags in ``opaque`` print as
    libxml2 dumps them (libvirt's <metadata>: double quotes, verbatim);
    ``ns_last`` prints namespace declarations after the attributes (libvirt's
    ``<domain type='kvm' xmlns:qemu=...>``)."""
    expand, opaque = frozenset(expand_empty), frozenset(opaque)
    if indent == 0:
        text = _format_by_libxml2(node, expand, opaque)
        if text is not None:
            return text
    out: list[str] = []
    _format_into(node, indent, out, {}, expand, opaque, ns_last)
    return "".join(out)


# What libxml2's own pretty printer lays out differently from libvirt: text beside
# child elements (mixed, blank or empty text: libxml2 keeps it and stops indenting),
# found by one XPath; then in its pretty text: namespaces, xml: attributes,
# comments, PIs, character references (newlines, tabs, CR in values), apostrophes,
# an empty-text pair (<a></a>), a double quote in text.
_TEXT_BESIDE_ELEMENTS = etree.XPath("boolean(descendant-or-self::*[*]/text())")
_PRETTY_MARKERS = ("><", "xmlns", "xml:", "<!", "<?", "&#", "'")
_QUOTE_IN_TEXT = re.compile(r'>[^<]*"')


def _format_by_libxml2(node: etree._Element, expand: frozenset[str],
                       opaque: frozenset[str]) -> str | None:
    """libvirt's text from libxml2's pretty printer, for the common documents where
    the two agree once attribute quotes are swapped (2-space indent, the same
    escapes); None when the document holds anything they would print differently."""
    if not isinstance(node.tag, str) or _TEXT_BESIDE_ELEMENTS(node):
        return None
    text = etree.tostring(node, encoding="unicode", with_tail=False, pretty_print=True)
    for marker in _PRETTY_MARKERS:
        if marker in text:
            return None
    for tag in opaque:
        if "<" + tag in text:
            return None
    if _QUOTE_IN_TEXT.search(text):
        return None
    text = text.replace('"', "'")
    for tag in expand:
        if f"<{tag}/>" in text or f"<{tag} " in text:
            text = _expand_empty_tag(text, tag)
    return text


_EXPAND_PATTERNS: dict[str, re.Pattern[str]] = {}


def _expand_empty_tag(text: str, tag: str) -> str:
    """``<tag .../>`` → ``<tag ...>`` + ``</tag>`` on its own line, as libvirt prints
    elements it always opens."""
    pattern = _EXPAND_PATTERNS.get(tag)
    if pattern is None:
        pattern = _EXPAND_PATTERNS[tag] = re.compile(
            rf"^( *)<{re.escape(tag)}((?: [^>]*)?)/>$", re.MULTILINE)
    return pattern.sub(lambda m: f"{m.group(1)}<{tag}{m.group(2)}>\n{m.group(1)}</{tag}>",
                       text)


def _format_into(node: etree._Element, indent: int, out: list[str],
                 parent_nsmap: dict[str | None, str], expand: frozenset[str],
                 opaque: frozenset[str], ns_last: bool = False) -> None:
    pad = "  " * indent
    if not isinstance(node.tag, str):  # comment / PI
        out.append(pad + etree.tostring(node, encoding="unicode", with_tail=False).strip() + "\n")
        return
    tag = _qname(node, node.tag)
    plain = [f"{_qname(node, key)}='{_escape_attr(value)}'" for key, value in node.attrib.items()]
    decls = []
    for prefix, uri in node.nsmap.items():
        if parent_nsmap.get(prefix) != uri:
            name = f"xmlns:{prefix}" if prefix else "xmlns"
            decls.append(f"{name}='{_escape_attr(uri)}'")
    attrs = plain + decls if ns_last else decls + plain
    head = "<" + " ".join([tag, *attrs])
    children = list(node)
    text = node.text if node.text and (not children or node.text.strip()) else None
    if not children:
        if text is None:
            if node.tag in expand:
                out.append(f"{pad}{head}>\n{pad}</{tag}>\n")
            else:
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
        if node.tag in opaque:
            _format_libxml(child, indent + 1, out)
        else:
            _format_into(child, indent + 1, out, nsmap, expand, opaque, ns_last)
    out.append(f"{pad}</{tag}>\n")


def _format_libxml(node: etree._Element, indent: int, out: list[str]) -> None:
    """libxml2's own dump of a subtree (as libvirt prints <metadata> children)."""
    pad = "  " * indent
    node = _copy.deepcopy(node)
    _reindent(node)
    text = etree.tostring(node, encoding="unicode", with_tail=False, pretty_print=True)
    for line in text.rstrip("\n").split("\n"):
        out.append(pad + line + "\n")


def _reindent(node: etree._Element) -> None:
    """Drop whitespace-only text so pretty_print can lay the subtree out again."""
    for element in node.iter():
        if len(element) and element.text is not None and not element.text.strip():
            element.text = None
        if element.tail is not None and not element.tail.strip():
            element.tail = None
