"""Host facts as ``virNodeGetInfo`` reports them, and the test driver's ``<node>`` file part.

:class:`NodeInfo` holds the C struct's fields (memory in KiB, as the struct and
``virsh nodeinfo`` give it). :meth:`NodeInfo.as_list` is libvirt-python's
``virConnect.getInfo()`` shape, which turns memory into MiB.

A custom test driver file (``test:///path/node.xml``) describes the host as::

    <node>
      <cpu><mhz>6000</mhz><model>i986</model><active>50</active>
           <nodes>4</nodes><sockets>4</sockets><cores>4</cores><threads>2</threads></cpu>
      <memory>8192000</memory>
    </node>

:meth:`NodeInfo.from_node_element` reads that part with libvirt's rules and
messages; :meth:`NodeInfo.to_node_xml` writes it back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from lxml import etree

from pyvirt.errors import VIR_ERR_INTERNAL_ERROR, VIR_ERR_XML_ERROR, VIR_FROM_TEST, error

#: ``virNodeInfo.model`` is a char[32]: at most 31 characters.
MODEL_MAX = 31


@dataclass(frozen=True)
class NodeInfo:
    """virNodeInfo: CPU model, memory (KiB), active CPUs, MHz, NUMA nodes, topology."""

    model: str = "i686"
    memory: int = 3145728
    cpus: int = 16
    mhz: int = 1400
    nodes: int = 2
    sockets: int = 2
    cores: int = 2
    threads: int = 2

    @property
    def memory_mib(self) -> int:
        """Memory in MiB, rounded down, as libvirt-python's ``getInfo()`` gives it."""
        return self.memory >> 10

    def as_list(self) -> list[object]:
        """``virConnect.getInfo()``: [model, memory MiB, cpus, mhz, nodes, sockets,
        cores, threads]."""
        return [self.model, self.memory_mib, self.cpus, self.mhz, self.nodes,
                self.sockets, self.cores, self.threads]

    def as_struct(self) -> tuple[str, int, int, int, int, int, int, int]:
        """The C struct's order and units (memory in KiB), as the wire carries it."""
        return (self.model, self.memory, self.cpus, self.mhz, self.nodes, self.sockets,
                self.cores, self.threads)

    @property
    def max_cpus(self) -> int:
        """Every CPU the topology holds (``nodes * sockets * cores * threads``)."""
        return self.nodes * self.sockets * self.cores * self.threads

    # --- the test driver's <node> file ---------------------------------------------
    @classmethod
    def from_node_element(cls, node: etree._Element,
                          defaults: "NodeInfo | None" = None) -> "NodeInfo":
        """Read ``<node><cpu>…</cpu><memory>…</memory></node>`` as libvirt's test driver.

        Missing values keep ``defaults`` (the test driver's built-in host). Giving
        any of nodes/sockets/cores/threads recomputes ``cpus`` as their product;
        ``<active>`` then lowers it when not larger than that product.
        """
        info = defaults or cls()
        values: dict[str, int] = {}
        for tag in ("nodes", "sockets", "cores", "threads", "active", "mhz"):
            text = node.findtext(f"cpu/{tag}")
            if text is not None:
                values[tag] = _node_number(text, f"node cpu {tag}")
        topology = {k: values[k] for k in ("nodes", "sockets", "cores", "threads")
                    if k in values}
        if topology:
            info = replace(info, **topology)
            info = replace(info, cpus=info.max_cpus)
        if "active" in values and values["active"] <= info.max_cpus:
            info = replace(info, cpus=values["active"])
        if "mhz" in values:
            info = replace(info, mhz=values["mhz"])
        model = node.findtext("cpu/model")
        if model is not None:
            if len(model) > MODEL_MAX:
                raise error(VIR_ERR_INTERNAL_ERROR,
                            f"Model {model} too big for destination", domain=VIR_FROM_TEST)
            info = replace(info, model=model)
        memory = node.findtext("memory")
        if memory is not None:
            info = replace(info, memory=_node_number(memory, "node memory"))
        return info

    @classmethod
    def from_node_xml(cls, text: str, defaults: "NodeInfo | None" = None) -> "NodeInfo":
        """Parse a ``<node>`` document (the test driver's file) for its host part."""
        from pyvirt.conf.xmlbuilder import parse_xml
        return cls.from_node_element(parse_xml(text, "(test_driver)"), defaults)

    def to_node_xml(self) -> str:
        """The ``<cpu>``/``<memory>`` part of a test driver file, libvirt-style."""
        return ("<node>\n  <cpu>\n"
                f"    <mhz>{self.mhz}</mhz>\n    <model>{_escape(self.model)}</model>\n"
                f"    <active>{self.cpus}</active>\n    <nodes>{self.nodes}</nodes>\n"
                f"    <sockets>{self.sockets}</sockets>\n    <cores>{self.cores}</cores>\n"
                f"    <threads>{self.threads}</threads>\n  </cpu>\n"
                f"  <memory>{self.memory}</memory>\n</node>\n")


def _node_number(text: str, what: str) -> int:
    if not re.fullmatch(r"\s*\+?\d+\s*", text):
        raise error(VIR_ERR_XML_ERROR, f"invalid {what} value", domain=VIR_FROM_TEST)
    return int(text)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


#: The host ``test:///default`` reports (virsh nodeinfo / getInfo()).
TEST_DRIVER_NODE = NodeInfo()

__all__ = ["NodeInfo", "TEST_DRIVER_NODE", "MODEL_MAX"]
