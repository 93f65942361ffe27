"""``net-edit`` and ``pool-edit``: dump the inactive XML, run the editor, redefine,
with ``edit``'s re-edit question when the definition fails."""

from __future__ import annotations

import os
import tempfile
from typing import Any, Callable

from pyvirt.cli.command import DATA, Opt, command
from pyvirt.cli.ctl import CommandFailed, Ctl
from pyvirt.cli.edit import ask, run_editor
from pyvirt.cli.parser import Invocation


def edit_xml(ctl: Ctl, label: str, name: str, original: str,
             define: Callable[[str], Any]) -> bool:
    """The editing loop shared by the object kinds; ``define`` returns the new object."""
    lv = ctl.binding
    fd, path = tempfile.mkstemp(prefix="virsh", suffix=".xml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(original)
        edit_again = True
        while True:
            if edit_again:
                run_editor(path)
            with open(path, encoding="utf-8") as handle:
                edited = handle.read()
            if edited == original:
                ctl.print_extra(f"{label} {name} XML configuration not changed.\n")
                return True
            try:
                new = define(edited)
                ctl.print_extra(f"{label} {new.name()} XML configuration edited.\n")
                return True
            except lv.libvirtError as err:
                ctl.error(err.get_error_message())
            answer = ask(ctl)
            if answer == "n":
                raise CommandFailed(None)
            edit_again = answer == "y"
    finally:
        os.unlink(path)


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


@command("net-edit", "network", "edit XML configuration for a network",
         "Edit the XML configuration for a network.",
         Opt("network", DATA, "network name or uuid", required=True))
def cmd_net_edit(ctl: Ctl, inv: Invocation) -> bool:
    net = ctl.network(inv)
    original = inactive_xml(ctl, net, ctl.binding.VIR_NETWORK_XML_INACTIVE)
    return edit_xml(ctl, "Network", net.name(), original,
                    ctl.conn.networkDefineXML)


@command("pool-edit", "pool", "edit XML configuration for a storage pool",
         "Edit the XML configuration for a storage pool.",
         Opt("pool", DATA, "pool name or uuid", required=True))
def cmd_pool_edit(ctl: Ctl, inv: Invocation) -> bool:
    pool = ctl.pool(inv)
    original = inactive_xml(ctl, pool, ctl.binding.VIR_STORAGE_XML_INACTIVE)
    return edit_xml(ctl, "Pool", pool.name(), original,
                    lambda xml: ctl.conn.storagePoolDefineXML(xml, 0))
