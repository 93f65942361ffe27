"""Storage Volume transfers: vol-upload and vol-download over a virStream.

``--sparse`` uses the binding's sparse streams (``sparseSendAll`` /
``sparseRecvAll``) when it has them, as virsh does. A binding without them
still leaves the downloaded file sparse: runs of zeros are skipped with a
seek and the file is truncated to its length at the end. A progress line is
written to stderr only when stderr is a terminal.
"""

from __future__ import annotations

import errno
import os
import re
from typing import Any, Callable

from pyvirt.cli.command import DATA, NUMBER, STRING, Opt, command, flag
from pyvirt.cli.ctl import CommandFailed, Ctl
from pyvirt.cli.parser import Invocation

GRP = "volume"
CHUNK = 256 * 1024
ZERO_BLOCK = 4096
_ZEROS = bytes(ZERO_BLOCK)
_DECIMAL = re.compile(r"^\s*[+-]?\d+$", re.ASCII)


class Progress:
    """``Upload: [ 42 %]`` on a terminal's stderr; silent otherwise."""

    def __init__(self, ctl: Ctl, label: str, total: int) -> None:
        isatty = getattr(ctl.err, "isatty", None)
        self.shown = bool(isatty and isatty()) and total > 0 and not ctl.quiet
        self.ctl, self.label, self.total, self.done, self.last = ctl, label, total, 0, -1

    def advance(self, nbytes: int) -> None:
        self.done += nbytes
        if not self.shown:
            return
        percent = min(100, self.done * 100 // self.total)
        if percent != self.last:
            self.last = percent
            self.ctl.err.write(f"\r{self.label}: [{percent:3d} %]")
            self.ctl.err.flush()

    def end(self) -> None:
        if self.shown and self.last >= 0:
            self.ctl.err.write("\n")
            self.ctl.err.flush()


def _number(inv: Invocation, name: str, wrap: bool = False) -> int:
    """vshCommandOptULongLong(Wrap): a decimal unsigned number; with ``wrap`` a
    negative one wraps around as strtoull does (``--length -1`` = everything)."""
    text = inv.get(name)
    if text is None:
        return 0
    value = int(text) if _DECIMAL.match(text) else None
    if value is not None and value < 0 and wrap:
        value += 1 << 64
    if value is None or not 0 <= value < 1 << 64:
        raise CommandFailed(f"Numeric value '{text}' for <{name}> option is malformed or "
                            "out of range")
    return value


def _start(method: Any, stream: Any, offset: int, length: int, flags: int) -> None:
    """Start a transfer; libvirt-python takes 64-bit sizes as signed C integers,
    so a wrapped length goes through as its two's complement there."""
    try:
        method(stream, offset, length, flags)
    except OverflowError:
        def signed(value: int) -> int:
            return value - (1 << 64) if value >= 1 << 63 else value
        method(stream, signed(offset), signed(length), flags)


def _transfer_opts(where: str) -> tuple[Opt, ...]:
    return (Opt("vol", DATA, "vol name, key or path", required=True),
            Opt("file", DATA, "file", required=True),
            Opt("pool", STRING, "pool name or uuid"),
            Opt("offset", NUMBER, f"volume offset to {where}"),
            Opt("length", NUMBER, f"amount of data to {where.split()[0]}"),
            flag("sparse", "preserve sparseness of volume"))


def _transfer_target(ctl: Ctl, inv: Invocation) -> tuple[Any, int, int, str]:
    """(volume, offset, length, local file) from the transfer options, in virsh's order."""
    offset = _number(inv, "offset")
    length = _number(inv, "length", wrap=True)
    return ctl.volume(inv), offset, length, inv.get("file")


def _data_end(fd: int) -> tuple[bool, int]:
    """(in data, bytes until the section ends) at fd's position, as virsh's
    virshStreamInData does with SEEK_DATA / SEEK_HOLE."""
    cur = os.lseek(fd, 0, os.SEEK_CUR)
    try:
        data = os.lseek(fd, cur, os.SEEK_DATA)
    except OSError as err:
        if err.errno != errno.ENXIO:
            raise
        end = os.fstat(fd).st_size
        os.lseek(fd, cur, os.SEEK_SET)
        return False, end - cur
    if data > cur:
        os.lseek(fd, cur, os.SEEK_SET)
        return False, data - cur
    hole = os.lseek(fd, cur, os.SEEK_HOLE)
    os.lseek(fd, cur, os.SEEK_SET)
    return True, hole - cur


@command("vol-upload", GRP, "upload file contents to a volume",
         "Upload file contents to a volume", *_transfer_opts("upload to"))
def cmd_vol_upload(ctl: Ctl, inv: Invocation) -> bool:
    lv = ctl.binding
    vol, offset, length, path = _transfer_target(ctl, inv)
    name = vol.name()
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as err:
        raise CommandFailed(f"cannot read {path}") from err
    try:
        size = os.fstat(fd).st_size
        progress = Progress(ctl, "Upload", length or size)
        stream = ctl.conn.newStream(0)
        sparse = inv.has("sparse") and hasattr(stream, "sparseSendAll")
        flags = lv.VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM if inv.has("sparse") else 0
        try:
            _start(vol.upload, stream, offset, length, flags)
        except lv.libvirtError as err:
            raise CommandFailed(f"cannot upload to volume {name}", err) from err

        def read(_st: Any, nbytes: int, _fd: int) -> bytes:
            data = os.read(fd, nbytes)
            progress.advance(len(data))
            return data

        def skip(_st: Any, nbytes: int, _fd: int) -> int:
            progress.advance(nbytes)
            return os.lseek(fd, nbytes, os.SEEK_CUR)

        def in_data(_st: Any, _fd: int) -> tuple[bool, int]:
            return _data_end(fd)

        def send() -> None:
            if sparse:
                stream.sparseSendAll(read, in_data, skip, fd)
            else:
                stream.sendAll(read, fd)
        _run_stream(ctl, stream, send, f"cannot send data to volume {name}", name)
        progress.end()
    finally:
        os.close(fd)
    return True


def _run_stream(ctl: Ctl, stream: Any, transfer: Callable[[], None], failure: str,
                name: str) -> None:
    """Move the data with ``transfer``; abort the stream if that fails, else finish it."""
    lv = ctl.binding
    try:
        transfer()
    except lv.libvirtError as err:
        try:
            stream.abort()
        except lv.libvirtError:
            pass
        raise CommandFailed(failure, err) from err
    ctl.call(f"cannot close volume {name}", stream.finish)


class _SparseSink:
    """Writes received data, turning whole zero blocks into holes."""

    def __init__(self, fd: int, progress: Progress) -> None:
        self.fd, self.progress = fd, progress

    def write(self, _st: Any, data: bytes, _opaque: Any) -> int:
        self.progress.advance(len(data))
        view = memoryview(data)
        for start in range(0, len(data), ZERO_BLOCK):
            block = view[start:start + ZERO_BLOCK]
            if block == _ZEROS[:len(block)]:
                os.lseek(self.fd, len(block), os.SEEK_CUR)
            else:
                os.write(self.fd, block)
        return len(data)

    def hole(self, _st: Any, length: int, _opaque: Any) -> int:
        self.progress.advance(length)
        cur = os.lseek(self.fd, length, os.SEEK_CUR)
        os.ftruncate(self.fd, cur)
        return 0

    def close_at_end(self) -> None:
        os.ftruncate(self.fd, os.lseek(self.fd, 0, os.SEEK_CUR))


@command("vol-download", GRP, "download volume contents to a file",
         "Download volume contents to a file", *_transfer_opts("download from"))
def cmd_vol_download(ctl: Ctl, inv: Invocation) -> bool:
    lv = ctl.binding
    vol, offset, length, path = _transfer_target(ctl, inv)
    name = vol.name()
    created = False
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        created = True
    except OSError as err:
        try:
            if err.errno != errno.EEXIST:
                raise
            fd = os.open(path, os.O_WRONLY | os.O_TRUNC, 0o666)
        except OSError as err2:
            raise CommandFailed(f"cannot create {path}") from err2
    ok = False
    try:
        capacity = length or max(0, vol.info()[1] - offset)
        progress = Progress(ctl, "Download", capacity)
        stream = ctl.conn.newStream(0)
        sparse_api = hasattr(stream, "sparseRecvAll")
        flags = (lv.VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM
                 if inv.has("sparse") and sparse_api else 0)
        try:
            _start(vol.download, stream, offset, length, flags)
        except lv.libvirtError as err:
            raise CommandFailed(f"cannot download from volume {name}", err) from err
        sink = _SparseSink(fd, progress)

        def receive() -> None:
            if flags:
                stream.sparseRecvAll(sink.write, sink.hole, fd)
            elif inv.has("sparse"):
                stream.recvAll(sink.write, fd)
                sink.close_at_end()
            else:
                stream.recvAll(_plain_writer(fd, progress), fd)
        _run_stream(ctl, stream, receive, f"cannot receive data from volume {name}", name)
        progress.end()
        ok = True
    finally:
        os.close(fd)
        if not ok and created:
            os.unlink(path)
    return True


def _plain_writer(fd: int, progress: Progress):
    def write(_st: Any, data: bytes, _opaque: Any) -> int:
        progress.advance(len(data))
        return os.write(fd, data)
    return write
