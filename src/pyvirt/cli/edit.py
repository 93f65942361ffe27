"""``edit``: dump XML, run $VISUAL/$EDITOR, redefine; re-edit prompt on errors."""

from __future__ import annotations

import os
import shlex
import sys

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


@command("edit", "domain", "edit XML configuration for a domain",
         "Edit the XML configuration for a domain.",
         domain_opt(),
         flag("skip-validate", "skip validation of the XML against the schema"))
def cmd_edit(ctl: Ctl, inv: Invocation) -> bool:
    lv = ctl.binding
    dom = ctl.domain(inv)
    original = dom.XMLDesc(lv.VIR_DOMAIN_XML_SECURE | lv.VIR_DOMAIN_XML_INACTIVE)
    validate = not inv.has("skip-validate")
    import tempfile
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
                ctl.print_extra(f"Domain '{dom.name()}' XML configuration not changed.\n")
                return True
            try:
                flags = lv.VIR_DOMAIN_DEFINE_VALIDATE if validate else 0
                new = ctl.conn.defineXMLFlags(edited, flags)
                ctl.print_extra(f"Domain '{new.name()}' XML configuration edited.\n")
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
