"""``qemu-img``: argv builders (pure functions) and the parser of its JSON output.

Nothing here writes image formats by hand: images are created, converted,
resized and inspected by ``qemu-img``; this module only says what to run and
reads what it answers (``qemu-img info --output=json``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from pyvirt.errors import VIR_ERR_INTERNAL_ERROR, VIR_FROM_STORAGE, error
from pyvirt.storage import commands

TOOL = "qemu-img"


# --- argv builders (pure) ---------------------------------------------------------
def _options(pairs: dict[str, str | None]) -> list[str]:
    """``-o key=value,flag`` from an ordered dict (None = bare flag; commas doubled)."""
    parts = []
    for key, value in pairs.items():
        parts.append(key if value is None else f"{key}={value.replace(',', ',,')}")
    return ["-o", ",".join(parts)] if parts else []


def create_argv(path: str, fmt: str, capacity: int, *, backing: str | None = None,
                backing_fmt: str | None = None, preallocation: str | None = None,
                compat: str | None = None, lazy_refcounts: bool = False,
                cluster_size: int | None = None) -> list[str]:
    """``qemu-img create`` for a new image of ``capacity`` bytes.

    A backing file needs its format (``-F``): qemu 7 refuses to guess it.
    """
    argv = [TOOL, "create", "-f", fmt]
    if backing is not None:
        argv += ["-b", backing, "-F", backing_fmt or "raw"]
    opts: dict[str, str | None] = {}
    if preallocation:
        opts["preallocation"] = preallocation
    if compat:
        opts["compat"] = compat
    if lazy_refcounts:
        opts["lazy_refcounts"] = "on"
    if cluster_size:
        opts["cluster_size"] = str(cluster_size)
    argv += _options(opts)
    argv += [path, str(capacity)]
    return argv


def info_argv(path: str, fmt: str | None = None, *, force_share: bool = True) -> list[str]:
    """``qemu-img info --output=json`` (``-U``: an image a running guest holds is readable)."""
    argv = [TOOL, "info", "--output=json"]
    if fmt:
        argv += ["-f", fmt]
    if force_share:
        argv.append("-U")
    return argv + [path]


def convert_argv(src: str, src_fmt: str, dst: str, dst_fmt: str, *,
                 preallocation: str | None = None, compat: str | None = None,
                 backing: str | None = None, backing_fmt: str | None = None,
                 target_exists: bool = False, progress: bool = False) -> list[str]:
    """``qemu-img convert`` for a full copy (``vol-clone``/``vol-create-from``)."""
    argv = [TOOL, "convert", "-f", src_fmt, "-O", dst_fmt]
    if progress:
        argv.append("-p")
    if target_exists:
        argv.append("-n")
    if backing is not None:
        argv += ["-B", backing, "-F", backing_fmt or "raw"]
    opts: dict[str, str | None] = {}
    if preallocation:
        opts["preallocation"] = preallocation
    if compat:
        opts["compat"] = compat
    if not target_exists:
        argv += _options(opts)
    return argv + [src, dst]


def resize_argv(path: str, fmt: str, size: int, *, shrink: bool = False,
                preallocation: str | None = None) -> list[str]:
    """``qemu-img resize`` to an absolute ``size`` in bytes."""
    argv = [TOOL, "resize", "-f", fmt]
    if shrink:
        argv.append("--shrink")
    if preallocation:
        argv.append(f"--preallocation={preallocation}")
    return argv + [path, str(size)]


# --- JSON output --------------------------------------------------------------------
@dataclass(frozen=True)
class ImageInfo:
    """What ``qemu-img info`` says about one image."""

    format: str
    virtual_size: int
    actual_size: int | None = None
    backing_filename: str | None = None
    full_backing_filename: str | None = None
    backing_format: str | None = None
    cluster_size: int | None = None
    encrypted: bool = False
    dirty: bool = False
    compat: str | None = None
    lazy_refcounts: bool = False
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def backing_path(self) -> str | None:
        """The backing file as an absolute path when qemu-img resolved it."""
        return self.full_backing_filename or self.backing_filename


def parse_info(text: str | bytes) -> ImageInfo:
    """Parse ``qemu-img info --output=json`` (one image, not ``--backing-chain``)."""
    try:
        data = json.loads(text)
    except ValueError as err:
        raise error(VIR_ERR_INTERNAL_ERROR, f"cannot parse qemu-img output: {err}",
                    domain=VIR_FROM_STORAGE) from err
    if isinstance(data, list):          # --backing-chain: the top image comes first
        data = data[0] if data else {}
    if not isinstance(data, dict) or "format" not in data or "virtual-size" not in data:
        raise error(VIR_ERR_INTERNAL_ERROR, "missing format or virtual-size in qemu-img "
                    "output", domain=VIR_FROM_STORAGE)
    specific = (data.get("format-specific") or {}).get("data") or {}
    return ImageInfo(
        format=str(data["format"]),
        virtual_size=int(data["virtual-size"]),
        actual_size=int(data["actual-size"]) if "actual-size" in data else None,
        backing_filename=data.get("backing-filename"),
        full_backing_filename=data.get("full-backing-filename"),
        backing_format=data.get("backing-filename-format"),
        cluster_size=int(data["cluster-size"]) if "cluster-size" in data else None,
        encrypted=bool(data.get("encrypted", False)),
        dirty=bool(data.get("dirty-flag", False)),
        compat=specific.get("compat"),
        lazy_refcounts=bool(specific.get("lazy-refcounts", False)),
        extra=data,
    )


# --- running it ---------------------------------------------------------------------
def info(path: str, fmt: str | None = None) -> ImageInfo:
    """Inspect ``path`` with qemu-img."""
    return parse_info(commands.run(info_argv(path, fmt)).stdout)


def run(argv: Sequence[str]) -> None:
    """Run a qemu-img argv built above; failures are libvirt's child-process error."""
    commands.run(argv)


_PERCENT = re.compile(rb"\((\d+(?:\.\d+)?)/100%\)")


def parse_progress(text: bytes) -> float | None:
    """The last percentage in ``qemu-img -p`` output (``    (42.00/100%)\r``)."""
    found = _PERCENT.findall(text)
    return float(found[-1]) if found else None


def run_with_progress(argv: Sequence[str], total: int,
                      progress: Callable[[int, int], Any]) -> None:
    """Run a ``qemu-img convert -p`` argv, reporting ``progress(done_bytes, total)``
    as qemu-img's percentage moves, and ``(total, total)`` at the end."""
    last = [-1.0]

    def seen(chunk: bytes) -> None:
        percent = parse_progress(chunk)
        if percent is not None and percent != last[0]:
            last[0] = percent
            progress(int(total * percent / 100), total)

    commands.run_reading(argv, seen)
    if last[0] < 100:
        progress(total, total)
