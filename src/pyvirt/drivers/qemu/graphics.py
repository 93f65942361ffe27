"""VNC displays whose port QEMU picks: read it back and write it into the live XML.

A ``<graphics type='vnc' autoport='yes'>`` (or ``port='-1'``) display is started
as ``-vnc 127.0.0.1:0,to=99``: QEMU takes the first free display. After start
(and on reattach) ``query-vnc`` says where it listens, and the live definition
gets the real values, as libvirt shows them::

    <graphics type='vnc' port='5900' autoport='yes' listen='127.0.0.1'>
      <listen type='address' address='127.0.0.1'/>
    </graphics>

The persistent definition keeps ``port='-1'``; the live one is dropped at stop,
and :func:`forget_vnc_ports` puts ``-1`` back on a definition that outlives a run.
"""

from __future__ import annotations

import logging
from typing import Any

from pyvirt.conf.devices import GraphicsListen

log = logging.getLogger("pyvirt.qemu.graphics")


def autoport_vnc(ddef: Any) -> list[Any]:
    """The VNC displays of ``ddef`` that QEMU numbers itself (TCP, no fixed port)."""
    found = []
    for gfx in (ddef.devices.graphics if ddef.devices is not None else []):
        if gfx.type != "vnc" or gfx.socket:
            continue
        if any(item.type == "socket" for item in gfx.listens):
            continue
        if gfx.autoport or gfx.port is None or gfx.port == -1:
            found.append(gfx)
    return found


def apply_vnc_info(ddef: Any, info: dict[str, Any]) -> bool:
    """Write ``query-vnc``'s ``host``/``service`` into the autoport displays.

    Pure (a definition and a QMP reply in, the definition changed); False when
    the reply names no usable TCP port.
    """
    service = str(info.get("service") or "")
    if not info.get("enabled", True) or not service.isdigit():
        return False
    host = str(info.get("host") or "")
    changed = False
    for gfx in autoport_vnc(ddef):
        gfx.node.set("port", service)
        if gfx.node.get("autoport") is None:
            gfx.node.set("autoport", "yes")
        if host:
            gfx.listen = host
            _set_listen_address(gfx, host)
        changed = True
    return changed


def _set_listen_address(gfx: Any, host: str) -> None:
    for item in gfx.listens:
        if item.type in (None, "address"):
            if not item.address:
                item.address = host
            return
    item = GraphicsListen()
    item.type = "address"
    item.address = host
    gfx.add_child(item)


def forget_vnc_ports(ddef: Any) -> None:
    """Put ``port='-1'`` back on autoport displays (a definition for the next start)."""
    for gfx in (ddef.devices.graphics if ddef.devices is not None else []):
        if gfx.type == "vnc" and gfx.autoport and not gfx.socket:
            gfx.node.set("port", "-1")


def record_vnc_ports(monitor: Any, ddef: Any, name: str = "") -> bool:
    """Ask QEMU (``query-vnc``) and fill ``ddef``'s autoport displays; never raises
    (a display we cannot read back keeps ``port='-1'`` and is logged)."""
    if not autoport_vnc(ddef):
        return False
    try:
        info = monitor.execute("query-vnc")
    except Exception as err:                      # noqa: BLE001 - the guest runs anyway
        log.warning("domain '%s': cannot read its VNC port: %s", name, err)
        return False
    return apply_vnc_info(ddef, info if isinstance(info, dict) else {})
