"""``net-edit`` and ``pool-edit``: dump the inactive XML, run the editor, redefine,
with ``edit``'s re-edit question when the definition fails."""

from __future__ import annotations

from typing import Any, Callable

from pyvirt.cli.command import command
from pyvirt.cli.ctl import CommandFailed, Ctl
from pyvirt.cli.edit import edit_xml
from pyvirt.cli.network import NETWORK
from pyvirt.cli.objcmd import ObjectKind
from pyvirt.cli.parser import Invocation
from pyvirt.cli.pool import POOL


def inactive_xml(ctl: Ctl, obj: Any, inactive_flag: int) -> str:
    """virsh asks for the inactive XML and falls back to the live one when the
    driver refuses the flag (the test driver does)."""
    lv = ctl.binding
    try:
        return obj.XMLDesc(inactive_flag)
    except lv.libvirtError as err:
        if err.get_error_code() != lv.VIR_ERR_INVALID_ARG:
            raise CommandFailed(None, err) from err
    try:
        return obj.XMLDesc(0)
    except lv.libvirtError as err:
        raise CommandFailed(None, err) from err


def _edit_command(kind: ObjectKind, title: str,
                  define: Callable[[Ctl, str], Any]) -> None:
    """Declare ``<prefix>-edit``; ``define(ctl, xml)`` redefines the object."""
    def handler(ctl: Ctl, inv: Invocation) -> bool:
        obj = kind.lookup(ctl, inv)
        original = inactive_xml(ctl, obj, getattr(ctl.binding, kind.xml_inactive))
        return edit_xml(ctl, original, obj.name(), lambda xml, _validate: define(ctl, xml),
                        lambda name: f"{kind.label} {name}")
    command(f"{kind.prefix}-edit", kind.group, f"edit XML configuration for a {title}",
            f"Edit the XML configuration for a {title}.", kind.opt())(handler)


_edit_command(NETWORK, "network", lambda ctl, xml: ctl.conn.networkDefineXML(xml))
_edit_command(POOL, "storage pool", lambda ctl, xml: ctl.conn.storagePoolDefineXML(xml, 0))
