"""``help COMMAND`` prints what real virsh prints, for every command both have."""

from __future__ import annotations

import shutil
import subprocess

import pytest

import pyvirt.cli.commands  # noqa: F401  (registers every command)
from pyvirt.cli.command import COMMANDS
from pyvirt.cli.helpcmd import command_help

pytestmark = pytest.mark.skipif(shutil.which("virsh") is None,
                                reason="needs real virsh (Debian libvirt-clients)")


def _virsh_help(names: list[str]) -> dict[str, str]:
    """One virsh run prints each command's help; split it back per command."""
    script = "".join(f"echo @@{n}; help {n};" for n in names)
    out = subprocess.run(["virsh", "-q", "-c", "test:///default", script],
                         capture_output=True, text=True).stdout
    texts: dict[str, str] = {}
    for chunk in out.split("@@")[1:]:
        name = chunk.split()[0]  # virsh's echo ends without a newline
        texts[name] = chunk[len(name):]
    return texts


def _virsh_commands() -> set[str]:
    out = subprocess.run(["virsh", "help"], capture_output=True, text=True, check=True).stdout
    return {line.split()[0] for line in out.splitlines()
            if line.startswith("    ") and line.split()}


def test_every_shared_command_help_matches_virsh():
    names = sorted(set(COMMANDS) & _virsh_commands())
    real = _virsh_help(names)
    known = [n for n in names if "NAME\n" in real.get(n, "")]
    assert len(known) > 100
    different = [n for n in known if command_help(COMMANDS[n]) != real[n].rstrip("\n") + "\n\n"]
    assert different == []
