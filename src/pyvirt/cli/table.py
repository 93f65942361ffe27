"""virsh's table (vshTable) and tree (vshTreePrint) layouts, as text."""

from __future__ import annotations

import unicodedata
from typing import Callable, Sequence


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]],
                 with_header: bool = True) -> str:
    """Columns padded to their widest cell, three spaces apart, a leading
    space, the last column unpadded; a dashed rule under the header."""
    all_rows = ([list(header)] if with_header else []) + [list(r) for r in rows]
    if not all_rows:
        return ""
    widths = [max(_width(r[i]) for r in all_rows) for i in range(len(header))]
    lines = []

    def line(cells: Sequence[str]) -> str:
        parts = []
        for i, cell in enumerate(cells):
            pad = "" if i == len(cells) - 1 else " " * (widths[i] - _width(cell) + 2)
            parts.append(f" {cell}{pad}")
        return "".join(parts)

    if with_header:
        lines.append(line(header))
        lines.append("-" * (sum(widths) + 3 * len(widths)))
    lines.extend(line(r) for r in rows)
    return "".join(f"{ln}\n" for ln in lines)


def format_tree(names: Sequence[str], parent_of: Callable[[int], str | None]) -> str:
    """vshTreePrint: roots first, children under ``|`` and ``+-`` markers."""
    out: list[str] = []

    def walk(idx: int, lastdev: int, root: bool, indent: str) -> str:
        out.append(f"{indent}{'' if root else '+- '}{names[idx]}\n")
        if not root:
            indent += (" " if idx == lastdev else "|") + " "
        children = [i for i in range(len(names)) if parent_of(i) == names[idx]]
        nextlast = children[-1] if children else -1
        if children:
            out.append(f"{indent}  |\n")
        for child in children:
            walk(child, nextlast, False, indent + "  ")
        if nextlast == -1 and idx == lastdev:
            out.append(f"{indent}\n")
        return indent

    for i in range(len(names)):
        if parent_of(i) is None:
            walk(i, i, True, "")
    return "".join(out)


def yes_no(value: bool) -> str:
    """virsh's ``yes`` / ``no`` for a boolean field."""
    return "yes" if value else "no"


def format_info(rows: Sequence[tuple[str, object]]) -> str:
    """The ``*-info`` layout: each label padded to 15 columns, a space, the value."""
    return "".join(f"{label:<15} {value}\n" for label, value in rows)


def pretty_capacity(value: int) -> str:
    """vshPrettyCapacity: ``0.00 B``, ``10.00 MiB``, ``100.00 GiB``."""
    units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    scaled = float(value)
    for unit in units:
        if scaled < 1024 or unit == units[-1]:
            return f"{scaled:.2f} {unit}"
        scaled /= 1024
    raise AssertionError("unreachable")
