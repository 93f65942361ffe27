"""``<bandwidth>`` of a network, a portgroup or a guest interface, as libvirt's
netdev_bandwidth_conf parses and prints it.

::

    <bandwidth>
      <inbound average='1000' peak='5000' floor='200' burst='1024'/>
      <outbound average='128' peak='256' burst='256'/>
    </bandwidth>

average/peak/floor are KiB/s, burst KiB (libvirt hands them to ``tc`` as
``kbps`` and ``kb``). :func:`parse_bandwidth` checks an element with libvirt
9.0's codes and messages and gives a :class:`Bandwidth` (None when neither
direction is given); :func:`normalize_bandwidth` rewrites it in place into the
form libvirt prints (zero values and unknown parts dropped, attribute order
average, peak, floor, burst); :func:`set_bandwidth` writes one from values
(``domiftune``). No I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from lxml import etree

from pyvirt.errors import VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_XML_DETAIL, VIR_FROM_NONE, error

RATE_ATTRS = ("average", "peak", "floor", "burst")      # libvirt's printed order
_ULL = re.compile(r"\s*\+?\d+")
_ULL_MAX = (1 << 64) - 1


@dataclass(frozen=True)
class Rate:
    """One direction: average/peak/floor in KiB/s, burst in KiB; 0 is "not set"."""

    average: int = 0
    peak: int = 0
    floor: int = 0
    burst: int = 0

    @property
    def shown(self) -> bool:
        """Whether libvirt prints this direction (it needs average or floor)."""
        return bool(self.average or self.floor)


@dataclass(frozen=True)
class Bandwidth:
    inbound: Rate | None = None
    outbound: Rate | None = None

    @property
    def empty(self) -> bool:
        return not ((self.inbound and self.inbound.shown)
                    or (self.outbound and self.outbound.shown))

    def with_values(self, **values: int) -> "Bandwidth":
        """A copy with ``inbound_average=``, ``outbound_burst=``… replaced (domiftune)."""
        sides = {"inbound": self.inbound or Rate(), "outbound": self.outbound or Rate()}
        for key, value in values.items():
            side, attr = key.split("_", 1)
            sides[side] = replace(sides[side], **{attr: value})
        return Bandwidth(sides["inbound"], sides["outbound"])


def _unsupported(detail: str) -> Exception:
    return error(VIR_ERR_CONFIG_UNSUPPORTED, detail, domain=VIR_FROM_NONE)


def _parse_rate(node: etree._Element, allow_floor: bool) -> Rate:
    values = {}
    for attr in ("average", "peak", "burst", "floor"):
        raw = node.get(attr)
        if raw is None:
            continue
        if not _ULL.fullmatch(raw) or int(raw) > _ULL_MAX:
            raise _unsupported(f"could not convert bandwidth {attr} value '{raw}'")
        values[attr] = int(raw)
    if "average" not in values and "floor" not in values:
        raise error(VIR_ERR_XML_DETAIL, "Missing mandatory average or floor attributes",
                    domain=VIR_FROM_NONE)
    if ("peak" in values or "burst" in values) and "average" not in values:
        raise _unsupported("'peak' and 'burst' require 'average' attribute")
    if values.get("floor") and not allow_floor:
        raise _unsupported("floor attribute is not supported for this config")
    return Rate(**values)


def parse_bandwidth(node: etree._Element | None, *, allow_floor: bool) -> Bandwidth | None:
    """The rates of a ``<bandwidth>`` element (None: no element or no direction).
    ``allow_floor``: libvirt allows floor only on a guest interface of
    ``type='network'``."""
    if node is None:
        return None
    for side in ("inbound", "outbound"):
        if len(node.findall(side)) > 1:
            raise error(VIR_ERR_XML_DETAIL, f"Only one child <{side}> element allowed",
                        domain=VIR_FROM_NONE)
    inbound = node.find("inbound")
    outbound = node.find("outbound")
    parsed_in = _parse_rate(inbound, allow_floor) if inbound is not None else None
    parsed_out = _parse_rate(outbound, True) if outbound is not None else None
    if parsed_out is not None and parsed_out.floor:
        raise _unsupported("'floor' attribute allowed only in <inbound> element")
    if parsed_in is None and parsed_out is None:
        return None
    return Bandwidth(parsed_in, parsed_out)


def _fill(node: etree._Element, bandwidth: Bandwidth) -> None:
    for child in list(node):
        node.remove(child)
    node.attrib.clear()
    node.text = None
    for side in ("inbound", "outbound"):
        rate = getattr(bandwidth, side)
        if rate is None or not rate.shown:
            continue
        attrs = {attr: str(getattr(rate, attr)) for attr in RATE_ATTRS
                 if getattr(rate, attr)}
        etree.SubElement(node, side, attrs)
    if not len(node):    # libvirt prints an all-zero <bandwidth> as an open/close pair
        node.text = "\n" + "  " * sum(1 for _ in node.iterancestors())


def normalize_bandwidth(parent: etree._Element, *, allow_floor: bool) -> None:
    """Check ``parent``'s ``<bandwidth>`` and rewrite it as libvirt prints it (removed
    when it names no direction)."""
    node = parent.find("bandwidth")
    if node is None:
        return
    bandwidth = parse_bandwidth(node, allow_floor=allow_floor)
    if bandwidth is None:
        parent.remove(node)
        return
    _fill(node, bandwidth)


def set_bandwidth(parent: etree._Element, bandwidth: Bandwidth | None,
                  insert_before: tuple[str, ...] = ()) -> None:
    """Write ``bandwidth`` as ``parent``'s ``<bandwidth>`` (removed when None or empty);
    a new element goes before the first child named in ``insert_before``."""
    node = parent.find("bandwidth")
    if bandwidth is None or bandwidth.empty:
        if node is not None:
            parent.remove(node)
        return
    if node is None:
        node = etree.Element("bandwidth")
        anchor = next((c for c in parent if c.tag in insert_before), None)
        if anchor is not None:
            anchor.addprevious(node)
        else:
            parent.append(node)
    _fill(node, bandwidth)
