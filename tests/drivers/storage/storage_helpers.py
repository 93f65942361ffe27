"""Helpers for the storage driver tests: pool and volume XML, skip marks."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

needs_qemu_img = pytest.mark.skipif(shutil.which("qemu-img") is None,
                                    reason="qemu-img is not installed")


def pool_xml(name: str, path: Path | str, kind: str = "dir") -> str:
    return (f"<pool type='{kind}'><name>{name}</name>"
            f"<target><path>{path}</path></target></pool>")


def vol_xml(name: str, capacity: int, fmt: str = "raw", allocation: int | None = None,
            backing: str | None = None, backing_fmt: str | None = None) -> str:
    alloc = "" if allocation is None else f"<allocation>{allocation}</allocation>"
    back = ""
    if backing is not None:
        bfmt = f"<format type='{backing_fmt}'/>" if backing_fmt else ""
        back = f"<backingStore><path>{backing}</path>{bfmt}</backingStore>"
    return (f"<volume><name>{name}</name><capacity>{capacity}</capacity>{alloc}"
            f"<target><format type='{fmt}'/></target>{back}</volume>")


def is_root() -> bool:
    return os.geteuid() == 0
