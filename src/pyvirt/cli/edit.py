"""``edit``: dump XML, run $VISUAL/$EDITOR, redefine; re-edit prompt on errors."""

from __future__ import annotations

import os
import shlex
import sys
import tempfile
from typing import Any, Callable

from pyvirt.cli.command import command, domain_opt, flag
from pyvirt.cli.ctl import CommandFailed, Ctl
from pyvirt.cli.parser import Invocation

PROMPT = "Failed. Try again? [y,n,i,f,?]:"
PROMPT_HELP = ("y - yes, start editor again\n"
               "n - no, throw away my changes\n"
               "i - turn off validation and try to redefine again\n"
               "f - force, try to redefine again\n"
               "? - print this help\n")


def editor_command() -> str:
    """$VISUAL, else $EDITOR, else vi, as virsh picks it."""
    return os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"


def run_editor(path: str) -> None:
    """Run the editor on ``path`` through the shell, like virsh."""
    cmd = f"{editor_command()} {path}"
    import subprocess
    result = subprocess.run(f"{editor_command()} {shlex.quote(path)}", shell=True)
    if result.returncode != 0:
        raise CommandFailed(f"internal error: Child process ({cmd}) unexpected exit status "
                            f"{result.returncode}")


def ask(ctl: Ctl, stdin=None) -> str:
    """virsh's re-edit question; returns y, n, i or f."""
    stdin = stdin or sys.stdin
    while True:
        ctl.print(f"{PROMPT} ")
        ctl.out.flush()
        line = stdin.readline()
        if not line:
            ctl.print("\n")
            return "n"
        answer = line.strip()[:1].lower()
        if answer in ("y", "n", "i", "f"):
            return answer
        ctl.print(PROMPT_HELP)


def edit_xml(ctl: Ctl, original: str, name: str, define: Callable[[str, bool], Any],
             describe: Callable[[str], str]) -> bool:
    """The editing loop every ``*edit`` command shares: ``define(xml, validate)``
    returns the new object, ``describe(name)`` starts the report line
    (``Domain 'vm'``, ``Network default``); answer ``i`` turns validation off."""
    lv = ctl.binding
    validate = True
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
                ctl.print_extra(f"{describe(name)} XML configuration not changed.\n")
                return True
            try:
                new = define(edited, validate)
                ctl.print_extra(f"{describe(new.name())} XML configuration edited.\n")
                return True
            except lv.libvirtError as err:
                ctl.error(err.get_error_message())
            answer = ask(ctl)
            if answer == "n":
                raise CommandFailed(None)
            edit_again = answer == "y"
            if answer == "i":
                validate = False
    finally:
        os.unlink(path)


@command("edit", "domain", "edit XML configuration for a domain",
         "Edit the XML configuration for a domain.",
         domain_opt(),
         flag("skip-validate", "skip validation of the XML against the schema"))
def cmd_edit(ctl: Ctl, inv: Invocation) -> bool:
    lv = ctl.binding
    dom = ctl.domain(inv)
    original = dom.XMLDesc(lv.VIR_DOMAIN_XML_SECURE | lv.VIR_DOMAIN_XML_INACTIVE)
    skip_validate = inv.has("skip-validate")

    def define(xml: str, validate: bool):
        validating = validate and not skip_validate
        return ctl.conn.defineXMLFlags(xml, lv.VIR_DOMAIN_DEFINE_VALIDATE if validating else 0)
    return edit_xml(ctl, original, dom.name(), define, lambda name: f"Domain '{name}'")
