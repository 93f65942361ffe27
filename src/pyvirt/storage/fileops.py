"""Byte work on volume files: create raw, sparse copy, resize, wipe, upload, download.

Sparse-aware throughout: copies move only the data extents (``SEEK_DATA`` /
``SEEK_HOLE``, ``copy_file_range``), uploads leave all-zero chunks as holes,
downloads send holes without reading them. Every operation that makes a new
file removes it again when it fails, so no partial file is left behind.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
import threading
from typing import Any, Callable, Iterator

from pyvirt.errors import (
    VIR_ERR_INVALID_ARG, VIR_ERR_OPERATION_INVALID, VIR_ERR_SYSTEM_ERROR, VIR_FROM_NONE,
    VIR_FROM_STORAGE, error, libvirtError,
)
from pyvirt.storage import commands

CHUNK = 1024 * 1024
#: largest piece one copy step moves (a clone reports progress after each)
COPY_CHUNK = 64 * CHUNK
STREAM_CHUNK = 256 * 1024
_ZEROS = bytes(CHUNK)
#: How many chunks a download may queue ahead of the reader.
_DOWNLOAD_AHEAD = 32
TEMP_PREFIX = ".pyvirt-"


def system_error(message: str, err: OSError, domain: int = VIR_FROM_STORAGE) -> libvirtError:
    """libvirt's virReportSystemError: ``MESSAGE: strerror``."""
    return error(VIR_ERR_SYSTEM_ERROR, f"{message}: {err.strerror or os.strerror(err.errno)}",
                 domain=domain)


def is_zero(chunk: bytes | memoryview) -> bool:
    return len(chunk) <= CHUNK and chunk == _ZEROS[:len(chunk)]


def is_temp_name(name: str) -> bool:
    """Our own in-flight files (uploads), hidden from pool refreshes."""
    return name.startswith(TEMP_PREFIX)


# --- creating ----------------------------------------------------------------------
def create_raw(path: str, capacity: int, allocation: int, mode: int = 0o600,
               uid: int = -1, gid: int = -1) -> None:
    """A new raw file: ``allocation`` bytes reserved, ``capacity`` long (libvirt's order)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    except OSError as err:
        raise system_error(f"cannot create path '{path}'", err) from err
    try:
        try:
            if allocation:
                os.posix_fallocate(fd, 0, min(allocation, capacity) or allocation)
        except OSError as err:
            raise system_error(f"cannot allocate {allocation} bytes in file '{path}'",
                               err) from err
        try:
            os.ftruncate(fd, capacity)
        except OSError as err:
            raise system_error(f"Failed to truncate file '{path}'", err, VIR_FROM_NONE) from err
        set_owner(fd, mode, uid, gid)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        _unlink_quietly(path)
        raise
    os.close(fd)


def set_owner(fd: int, mode: int | None, uid: int, gid: int) -> None:
    if mode is not None:
        os.fchmod(fd, mode)
    if uid != -1 or gid != -1:
        os.fchown(fd, uid, gid)


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


# --- sparse copies -----------------------------------------------------------------
def data_extents(fd: int, start: int, end: int) -> Iterator[tuple[int, int]]:
    """(offset, length) of the data regions of ``fd`` within [start, end)."""
    pos = start
    while pos < end:
        try:
            data = os.lseek(fd, pos, os.SEEK_DATA)
        except OSError as err:
            if err.errno == errno.ENXIO:        # only a hole is left
                return
            if err.errno in (errno.EINVAL, errno.EOPNOTSUPP):   # no SEEK_DATA here
                yield pos, end - pos
                return
            raise
        if data >= end:
            return
        hole = min(os.lseek(fd, data, os.SEEK_HOLE), end)
        yield data, hole - data
        pos = hole


def copy_range(src: int, dst: int, start: int, end: int,
               progress: Callable[[int], Any] | None = None) -> None:
    """Copy the data extents of ``src`` in [start, end) to the same offsets of ``dst``
    in chunks of at most :data:`COPY_CHUNK`; ``progress(pos)`` is called after each
    with the offset the copy has reached (holes count as done)."""
    for offset, length in data_extents(src, start, end):
        if progress is not None:
            progress(offset)
        done = 0
        while done < length:
            try:
                moved = os.copy_file_range(src, dst, min(COPY_CHUNK, length - done),
                                           offset + done, offset + done)
            except OSError as err:
                if err.errno not in (errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP,
                                     errno.EINVAL):
                    raise
                moved = _copy_by_reads(src, dst, offset + done,
                                       min(COPY_CHUNK, length - done))
            if moved == 0:
                return
            done += moved
            if progress is not None:
                progress(offset + done)
    if progress is not None:
        progress(end)


def _copy_by_reads(src: int, dst: int, offset: int, length: int) -> int:
    done = 0
    while done < length:
        chunk = os.pread(src, min(CHUNK, length - done), offset + done)
        if not chunk:
            break
        if not is_zero(chunk):
            os.pwrite(dst, chunk, offset + done)
        done += len(chunk)
    return done


def copy_file(src_path: str, dst_path: str, mode: int = 0o600,
              progress: Callable[[int, int], Any] | None = None) -> None:
    """A full sparse copy of ``src_path`` as the new file ``dst_path`` (removed on
    failure); ``progress(done_bytes, total_bytes)`` after each chunk."""
    try:
        src = os.open(src_path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as err:
        raise system_error(f"cannot open volume '{src_path}'", err) from err
    try:
        try:
            dst = os.open(dst_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
        except OSError as err:
            raise system_error(f"cannot create path '{dst_path}'", err) from err
        try:
            size = os.fstat(src).st_size
            copy_range(src, dst, 0, size,
                       None if progress is None else (lambda pos: progress(pos, size)))
            os.ftruncate(dst, size)
            os.fsync(dst)
        except OSError as err:
            os.close(dst)
            _unlink_quietly(dst_path)
            raise system_error(f"failed to copy '{src_path}' to '{dst_path}'", err) from err
        except BaseException:
            os.close(dst)
            _unlink_quietly(dst_path)
            raise
        os.close(dst)
    finally:
        os.close(src)


# --- resize / wipe -------------------------------------------------------------------
def resize_raw(path: str, capacity: int, preallocate: bool) -> None:
    """Grow or shrink a raw file; ``preallocate`` reserves all of it (libvirt's safezero)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    except OSError as err:
        raise system_error(f"Unable to open '{path}'", err) from err
    try:
        if preallocate and capacity:
            try:
                os.posix_fallocate(fd, 0, capacity)
            except OSError as err:
                raise system_error(f"Failed to pre-allocate space for file '{path}'",
                                   err) from err
        try:
            os.ftruncate(fd, capacity)
        except OSError as err:
            raise system_error(f"Failed to truncate file '{path}'", err, VIR_FROM_NONE) from err
    finally:
        os.close(fd)


def wipe(path: str, length: int, pattern: Callable[[int], bytes] | None = None) -> None:
    """Overwrite the first ``length`` bytes of ``path`` (zeros, or ``pattern(n)`` bytes)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    except OSError as err:
        raise system_error(f"Failed to open storage volume with path '{path}'", err) from err
    try:
        pos = 0
        while pos < length:
            size = min(CHUNK, length - pos)
            chunk = pattern(size) if pattern else _ZEROS[:size]
            try:
                written = os.pwrite(fd, chunk, pos)
            except OSError as err:
                raise system_error(f"Failed to write {size} bytes to storage volume with "
                                   f"path '{path}'", err) from err
            pos += written
        os.fsync(fd)
    finally:
        os.close(fd)


# --- upload --------------------------------------------------------------------------
class Upload:
    """Bytes from a stream into a volume, all or nothing.

    A regular file is rebuilt in a temporary file beside it: the untouched
    regions of the old file are copied in (sparse), the stream's data is
    written at ``offset`` (all-zero chunks become holes), and ``finish``
    renames it over the volume. An abort, an error, or data past ``limit``
    (the volume's size) or past ``length`` removes the temporary file and
    leaves the volume as it was. A block device is written in place.
    """

    def __init__(self, path: str, offset: int, length: int, limit: int,
                 done: Callable[[], Any] | None = None) -> None:
        if offset > limit:
            raise error(VIR_ERR_INVALID_ARG, f"offset {offset} is past the end of volume "
                        f"'{path}' ({limit} bytes)", domain=VIR_FROM_STORAGE)
        if length and offset + length > limit:
            raise _too_long(path, limit)
        self.path, self.offset, self.length, self.limit = path, offset, length, limit
        self.written = 0
        self._done = done
        self._lock = threading.Lock()
        self._closed = False
        self._failure: libvirtError | None = None
        try:
            st = os.stat(path)
        except OSError as err:
            raise system_error(f"cannot stat file '{path}'", err) from err
        self._in_place = stat.S_ISBLK(st.st_mode)
        self._old_size = st.st_size
        self._temp: str | None = None
        try:
            if self._in_place:
                self._fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
            else:
                self._fd, self._temp = tempfile.mkstemp(
                    prefix=f"{TEMP_PREFIX}upload-{os.path.basename(path)}-",
                    dir=os.path.dirname(path))
                set_owner(self._fd, stat.S_IMODE(st.st_mode),
                          st.st_uid if os.geteuid() == 0 else -1,
                          st.st_gid if os.geteuid() == 0 else -1)
                self._copy_old(0, offset)
        except OSError as err:
            self._discard()
            raise system_error(f"cannot open volume '{path}' for upload", err) from err

    def _copy_old(self, start: int, end: int) -> None:
        if end <= start:
            return
        src = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            copy_range(src, self._fd, start, min(end, self._old_size))
        finally:
            os.close(src)

    def _check_room(self, nbytes: int) -> None:
        """Refuse data (or a hole) that would pass the volume's end or ``length``."""
        if self._closed:
            raise self._failure or error(VIR_ERR_OPERATION_INVALID, "stream is not open",
                                         domain=VIR_FROM_STORAGE)
        if nbytes < 0:
            raise self._fail(error(VIR_ERR_INVALID_ARG, f"negative hole length {nbytes} in "
                                   f"upload to '{self.path}'", domain=VIR_FROM_STORAGE))
        if self.offset + self.written + nbytes > self.limit:
            raise self._fail(_too_long(self.path, self.limit))
        if self.length and self.written + nbytes > self.length:
            raise self._fail(error(VIR_ERR_OPERATION_INVALID, f"upload to '{self.path}' "
                                   f"sent more than the {self.length} bytes it announced",
                                   domain=VIR_FROM_STORAGE))

    def _write_at(self, data: bytes | memoryview, pos: int) -> None:
        view = memoryview(data)
        while view:
            got = os.pwrite(self._fd, view, pos)
            view, pos = view[got:], pos + got

    def receive(self, data: bytes) -> None:
        """One chunk from the application."""
        with self._lock:
            self._check_room(len(data))
            try:
                if self._in_place or not _all_zero(data):
                    self._write_at(data, self.offset + self.written)
            except OSError as err:
                raise self._fail(system_error(f"cannot write to volume '{self.path}'",
                                              err)) from err
            self.written += len(data)

    def hole(self, length: int) -> None:
        """``length`` bytes of hole from a sparse stream: nothing is written to the
        new file (it stays a hole); a block device gets zeros."""
        with self._lock:
            self._check_room(length)
            try:
                if self._in_place:
                    pos, stop = self.offset + self.written, self.offset + self.written + length
                    while pos < stop:
                        size = min(CHUNK, stop - pos)
                        self._write_at(_ZEROS[:size], pos)
                        pos += size
            except OSError as err:
                raise self._fail(system_error(f"cannot write to volume '{self.path}'",
                                              err)) from err
            self.written += length

    def _fail(self, err: libvirtError) -> libvirtError:
        """Drop the temporary file; the same error answers every later call."""
        self._failure = err
        self._discard()
        return err

    def finish(self) -> None:
        """The application is done: put the new content in place."""
        with self._lock:
            if self._failure is not None:
                raise self._failure
            if self._closed:
                return
            try:
                end = self.offset + self.written
                if not self._in_place:
                    self._copy_old(end, self._old_size)
                    os.ftruncate(self._fd, max(end, self._old_size))
                os.fsync(self._fd)
                os.close(self._fd)
                self._fd = -1
                if self._temp is not None:
                    os.rename(self._temp, self.path)
                    self._temp = None
            except OSError as err:
                raise self._fail(system_error(f"cannot finish upload to '{self.path}'",
                                              err)) from err
            self._closed = True
        if self._done is not None:
            self._done()

    def abort(self) -> None:
        with self._lock:
            self._discard()

    def _discard(self) -> None:
        self._closed = True
        if getattr(self, "_fd", -1) >= 0:
            os.close(self._fd)
            self._fd = -1
        if self._temp is not None:
            _unlink_quietly(self._temp)
            self._temp = None


def _all_zero(data: bytes) -> bool:
    view = memoryview(data)
    return all(is_zero(view[i:i + CHUNK]) for i in range(0, len(view), CHUNK))


def _too_long(path: str, limit: int) -> libvirtError:
    return error(VIR_ERR_INVALID_ARG, f"upload would write past the end of volume '{path}' "
                 f"({limit} bytes)", domain=VIR_FROM_STORAGE)


# --- download -------------------------------------------------------------------------
def _room(end: Any) -> bool:
    has_room = getattr(end, "has_room", None)       # pyvirtd's wire stream: bytes queued
    if has_room is not None:
        return has_room()
    pending = getattr(end, "_incoming", None)        # the in-process stream: chunks queued
    return pending is None or len(pending) < _DOWNLOAD_AHEAD


def start_download(path: str, offset: int, length: int, end: Any,
                   done: Callable[[], Any] | None = None,
                   sparse: bool = False) -> threading.Thread:
    """Send [offset, offset+length) of ``path`` (0 = to its end) to the stream end
    ``end`` from a thread: holes go out as zeros without a disk read, or with
    ``sparse`` as one ``end.write_hole(length)`` each (libvirt's STREAM_HOLE).
    ``done`` is called when the thread ends, however it ends."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as err:
        raise system_error(f"cannot open volume '{path}' for download", err) from err
    size = os.lseek(fd, 0, os.SEEK_END)
    stop = size if not length else min(size, offset + length)

    def pump() -> None:
        try:
            for start, count, is_data in list(_regions(fd, offset, stop)):
                if sparse and not is_data:
                    if not _wait_for_room(end):
                        return
                    end.write_hole(count)
                    continue
                sent = 0
                while sent < count:
                    if not _wait_for_room(end):
                        return
                    want = min(STREAM_CHUNK, count - sent)
                    chunk = os.pread(fd, want, start + sent) if is_data else _ZEROS[:want]
                    if not chunk:
                        break
                    end.write(chunk)
                    sent += len(chunk)
            end.finish()
        except OSError as err:
            end.abort(system_error(f"cannot read volume '{path}'", err))
        except libvirtError as err:
            end.abort(err)
        finally:
            os.close(fd)
            if done is not None:
                done()

    thread = threading.Thread(target=pump, name=f"download {path}", daemon=True)
    thread.start()
    return thread


def _wait_for_room(end: Any) -> bool:
    """Wait while the reader is behind; False once the application aborted."""
    pause = threading.Event()
    while True:
        if getattr(end, "aborted_by_app", False):
            return False
        if _room(end):
            return True
        room_delay = getattr(end, "room_delay", None)     # pyvirtd's stream rate limit
        wait = room_delay() if room_delay is not None else 0.0
        pause.wait(min(max(wait, 0.0005), 0.05))


def _regions(fd: int, start: int, stop: int) -> Iterator[tuple[int, int, bool]]:
    """[start, stop) as (offset, length, is_data) pieces: data extents and the holes between."""
    pos = start
    for offset, length in data_extents(fd, start, stop):
        if offset > pos:
            yield pos, offset - pos, False
        yield offset, length, True
        pos = offset + length
    if pos < stop:
        yield pos, stop - pos, False


# --- scrub (libvirt's other wipe algorithms) -----------------------------------------
#: virStorageVolWipeAlgorithm -> scrub's pattern name (0 zero, 8 random, 9 trim handled apart).
SCRUB_PATTERNS = {1: "nnsa", 2: "dod", 3: "bsi", 4: "gutmann", 5: "schneier",
                  6: "pfitzner7", 7: "pfitzner33"}


def scrub_argv(path: str, algorithm: int) -> list[str]:
    return ["scrub", "-f", "-p", SCRUB_PATTERNS[algorithm], path]


def scrub(path: str, algorithm: int) -> None:
    commands.run(scrub_argv(path, algorithm))
