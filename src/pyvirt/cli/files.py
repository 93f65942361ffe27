"""Reading an XML file named on the command line, with virsh's error text."""

from __future__ import annotations

import os

from pyvirt.cli.ctl import CommandFailed


def read_file(path: str) -> str:
    """The file's text, or ``Failed to open file 'p': <strerror>``."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError as err:
        raise CommandFailed(f"Failed to open file '{path}': {os.strerror(err.errno)}") from err
