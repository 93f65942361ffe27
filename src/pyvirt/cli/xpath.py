"""dumpxml's --xpath/--wrap: print the nodes an XPath selects, as virsh does."""

from __future__ import annotations

import copy

from lxml import etree

from pyvirt.cli.command import STRING, Opt, flag
from pyvirt.cli.ctl import CommandFailed

# The options every *dumpxml command ends with.
XPATH_OPTS = (Opt("xpath", STRING, "xpath expression to filter the XML document",
                  positional=False),
              flag("wrap", "wrap xpath results in an common root element"))


def select_opts(xml: str, inv) -> str:
    """:func:`select` with the command's own --xpath / --wrap."""
    return select(xml, inv.get("xpath"), inv.has("wrap"))


def select(xml: str, expression: str | None, wrap: bool) -> str:
    """The document unchanged without --xpath; else each match serialised
    (attributes as `` name="value"``), or all matches inside ``<nodes>`` with --wrap.
    Like libvirt, blanks are dropped on parsing and the output is re-indented."""
    if expression is None:
        return xml
    doc = etree.fromstring(xml.encode(), etree.XMLParser(remove_blank_text=True))
    try:
        found = doc.xpath(expression)
    except etree.XPathError as err:
        raise CommandFailed(f"internal error: Incorrect xpath '{expression}'") from err
    if not isinstance(found, list):
        raise CommandFailed(f"internal error: Incorrect xpath '{expression}'")
    if wrap:
        root = etree.Element("nodes")
        for node in found:
            if isinstance(node, etree._Element):
                item = copy.deepcopy(node)
                item.tail = None
                root.append(item)
            elif getattr(node, "is_attribute", False):
                root.set(node.attrname, str(node))
        return etree.tostring(root, pretty_print=True, encoding="unicode")
    parts = []
    for node in found:
        if isinstance(node, etree._Element):
            parts.append(etree.tostring(node, with_tail=False, pretty_print=True,
                                        encoding="unicode"))
        elif getattr(node, "is_attribute", False):
            parts.append(f' {node.attrname}="{node}"\n')
        else:
            parts.append(f"{node}\n")
    return "".join(parts)
