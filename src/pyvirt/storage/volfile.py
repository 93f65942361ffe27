"""What a volume file is: format, sizes, backing file, permissions and times.

:func:`probe` answers one :class:`VolumeFacts` for a path. Image formats are
read by ``qemu-img info --output=json``; a file whose header carries no image
magic is raw and needs no child process (libvirt's own prober decides the same
way), which keeps refreshing a pool of many raw volumes fast. ISO 9660 images
are reported as ``iso``, as libvirt's prober does (qemu-img calls them raw).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, replace

from pyvirt.errors import VIR_ERR_SYSTEM_ERROR, VIR_FROM_STORAGE, error
from pyvirt.storage import qemu_img

#: (offset, magic) pairs of the image formats qemu-img knows; a match means "ask qemu-img".
IMAGE_MAGIC: tuple[tuple[int, bytes], ...] = (
    (0, b"QFI\xfb"),                     # qcow, qcow2
    (0, b"QED\x00"),                     # qed
    (0, b"KDMV"),                        # vmdk (sparse extent)
    (0, b"# Disk DescriptorFile"),       # vmdk (descriptor)
    (0, b"COWD"),                        # vmdk (ESX cow)
    (0x40, b"\x7f\x10\xda\xbe"),         # vdi
    (0, b"conectix"),                    # vpc
    (0, b"vhdxfile"),                    # vhdx
    (0, b"Bochs Virtual HD Image"),      # bochs
    (0, b"#!/bin/sh\n#V2.0 Format"),     # cloop
    (0, b"WithoutFreeSpace"),            # parallels
    (0, b"WithouFreSpacExt"),            # parallels
    (0, b"LUKS\xba\xbe"),                # luks
)
_ISO_MAGIC = (0x8001, b"CD001")
_HEADER = 0x8010


def header_format(header: bytes) -> str | None:
    """'image' when ``header`` starts an image format, 'iso' for ISO 9660, None for raw."""
    for offset, magic in IMAGE_MAGIC:
        if header[offset:offset + len(magic)] == magic:
            return "image"
    offset, magic = _ISO_MAGIC
    if header[offset:offset + len(magic)] == magic:
        return "iso"
    return None


def format_timestamp(seconds: int, nanoseconds: int) -> str:
    """libvirt's ``<mtime>`` text: ``SEC`` or ``SEC.NNNNNNNNN``."""
    return f"{seconds}.{nanoseconds:09d}" if nanoseconds else str(seconds)


@dataclass(frozen=True)
class FileFacts:
    """Ownership and times of a file (``<permissions>`` and ``<timestamps>``)."""

    mode: int
    uid: int
    gid: int
    atime: str
    mtime: str
    ctime: str

    @classmethod
    def of(cls, st: os.stat_result) -> "FileFacts":
        def ts(ns: int) -> str:
            return format_timestamp(ns // 10**9, ns % 10**9)
        return cls(stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid,
                   ts(st.st_atime_ns), ts(st.st_mtime_ns), ts(st.st_ctime_ns))


@dataclass(frozen=True)
class VolumeFacts:
    """One volume as the host shows it."""

    path: str
    vol_type: str                  # file | block | dir
    format: str                    # raw, qcow2, iso, dir, ...
    capacity: int
    allocation: int
    physical: int
    file: FileFacts | None = None
    backing_path: str | None = None
    backing_format: str | None = None
    backing_file: FileFacts | None = None
    encrypted: bool = False
    cluster_size: int | None = None         # qcow2's, shown as <clusterSize> like libvirt
    extents: tuple[tuple[str, int, int], ...] = ()   # an LV's (device, start, end)

    def with_sizes(self, capacity: int, allocation: int) -> "VolumeFacts":
        return replace(self, capacity=capacity, allocation=allocation)


def _block_size(path: str) -> int:
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.lseek(fd, 0, os.SEEK_END)
    finally:
        os.close(fd)


def _read_header(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(_HEADER)


def probe(path: str) -> VolumeFacts:
    """Facts about the volume at ``path``; libvirt's system error when it is unreadable."""
    try:
        st = os.stat(path)
        facts = FileFacts.of(st)
        if stat.S_ISDIR(st.st_mode):
            return VolumeFacts(path, "dir", "dir", 0, 0, 0, facts)   # libvirt: no sizes
        block = stat.S_ISBLK(st.st_mode)
        size = _block_size(path) if block else st.st_size
        allocation = size if block else st.st_blocks * 512
        kind = header_format(_read_header(path)) if size else None
    except OSError as err:
        raise error(VIR_ERR_SYSTEM_ERROR, f"cannot open volume '{path}': {err.strerror}",
                    domain=VIR_FROM_STORAGE) from err
    vol_type = "block" if block else "file"
    if kind is None or kind == "iso":
        return VolumeFacts(path, vol_type, kind or "raw", size, allocation, size, facts)
    image = qemu_img.info(path)
    backing = image.backing_path
    if backing is not None and not os.path.isabs(backing):
        backing = os.path.join(os.path.dirname(path), backing)
    backing_file = None
    if backing is not None:
        try:
            backing_file = FileFacts.of(os.stat(backing))
        except OSError:
            backing_file = None
    capacity = image.virtual_size
    return VolumeFacts(path, vol_type, image.format, capacity, allocation, size, facts,
                       backing, image.backing_format if backing else None, backing_file,
                       image.encrypted,
                       image.cluster_size if image.format == "qcow2" else None)
