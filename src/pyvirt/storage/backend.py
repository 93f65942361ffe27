"""The pool backend interface, the file-volume work dir/fs/netfs share, and the registry.

A backend is made for one pool definition and does the host work; the
storage driver keeps the objects, the checks that do not depend on the
backend, persistence and events. Entry points (all raise ``libvirtError``):

======================  ===========================================================
``check_started()``     is the pool still started on the host (after a restart)?
``build(flags)``        make the pool (directory, filesystem, volume group)
``start()``/``stop()``  make it usable / release it (mount, umount)
``delete(flags)``       remove what ``build`` made
``refresh()``           :class:`PoolScan`: sizes and the volumes found
``create_volume``       a new volume from a normalized ``StorageVolDef``
``clone_volume``        a full copy of another volume
``delete_volume`` / ``resize_volume`` / ``wipe_volume`` / ``probe_volume``
``upload`` / ``download``  stream bytes into / out of a volume
======================  ===========================================================
"""

from __future__ import annotations

import importlib
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

from pyvirt.constants import (
    VIR_STORAGE_POOL_BUILD_NO_OVERWRITE, VIR_STORAGE_POOL_BUILD_OVERWRITE,
    VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA, VIR_STORAGE_VOL_RESIZE_ALLOCATE,
    VIR_STORAGE_VOL_RESIZE_SHRINK, VIR_STORAGE_VOL_WIPE_ALG_RANDOM, VIR_STORAGE_VOL_WIPE_ALG_TRIM,
    VIR_STORAGE_VOL_WIPE_ALG_ZERO,
)
from pyvirt.errors import (
    VIR_ERR_ARGUMENT_UNSUPPORTED, VIR_ERR_INTERNAL_ERROR, VIR_ERR_INVALID_ARG, VIR_ERR_NO_SUPPORT,
    VIR_ERR_OPERATION_INVALID, VIR_ERR_OPERATION_UNSUPPORTED, VIR_ERR_SYSTEM_ERROR,
    VIR_FROM_NONE, VIR_FROM_STORAGE, error, libvirtError,
)
from pyvirt.storage import fileops, qemu_img, volfile
from pyvirt.storage.volfile import VolumeFacts


@dataclass(frozen=True)
class PoolSizes:
    capacity: int
    allocation: int
    available: int


@dataclass(frozen=True)
class FoundVolume:
    name: str
    key: str
    facts: VolumeFacts


@dataclass(frozen=True)
class PoolScan:
    sizes: PoolSizes
    volumes: list[FoundVolume]


def bare_error(code: int, message: str) -> libvirtError:
    """An error libvirt prints without its code's prefix (virCheckFlags and friends)."""
    return libvirtError(message, code=code, domain=VIR_FROM_STORAGE)


def unsupported_flags(flags: int, function: str) -> libvirtError:
    return bare_error(VIR_ERR_INVALID_ARG, f"unsupported flags (0x{flags:x}) in function "
                                           f"{function}")


def check_flags(flags: int, allowed: int, function: str) -> None:
    if flags & ~allowed:
        raise unsupported_flags(flags & ~allowed, function)


def check_build_flags(flags: int) -> None:
    """Build's two exclusive flags (libvirt's VIR_EXCLUSIVE_FLAGS_RET)."""
    if flags & VIR_STORAGE_POOL_BUILD_OVERWRITE and flags & VIR_STORAGE_POOL_BUILD_NO_OVERWRITE:
        raise bare_error(VIR_ERR_INVALID_ARG, "Flags 'VIR_STORAGE_POOL_BUILD_OVERWRITE' and "
                         "'VIR_STORAGE_POOL_BUILD_NO_OVERWRITE' are mutually exclusive")


def statvfs_sizes(path: str) -> PoolSizes:
    """libvirt's figures for a filesystem: available = free blocks (root's reserve included)."""
    try:
        st = os.statvfs(path)
    except OSError as err:
        raise fileops.system_error(f"cannot statvfs path '{path}'", err) from err
    capacity = st.f_frsize * st.f_blocks
    available = st.f_frsize * st.f_bfree
    return PoolSizes(capacity, capacity - available, available)


def check_volume_name(name: str) -> None:
    """Volumes of file pools are not recursive: no '/' (libvirt's message)."""
    if "/" in name:
        raise error(VIR_ERR_OPERATION_INVALID, f"volume name '{name}' cannot contain '/'",
                    domain=VIR_FROM_STORAGE)


class PoolBackend:
    """Base of the backends: a pool type, its definition, and no support for anything."""

    type_name: ClassVar[str] = ""
    #: May volumes of this pool be uploaded/downloaded/wiped as plain files?
    file_volumes: ClassVar[bool] = True

    def __init__(self, pdef: Any) -> None:
        self.pdef = pdef

    @property
    def target_path(self) -> str:
        return (self.pdef.target_path or "").rstrip("/") or "/"

    def _missing(self, what: str) -> libvirtError:
        return error(VIR_ERR_NO_SUPPORT, f"storage pool does not support {what}",
                     domain=VIR_FROM_STORAGE)

    def check_started(self) -> bool:
        return False

    def build(self, flags: int) -> None:
        raise self._missing("pool build")

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def delete(self, flags: int) -> None:
        raise self._missing("pool deletion")

    def refresh(self) -> PoolScan:
        raise self._missing("pool refresh")

    def create_volume(self, vdef: Any, flags: int) -> FoundVolume:
        raise self._missing("volume creation")

    def clone_volume(self, vdef: Any, source: VolumeFacts, flags: int,
                     progress: Callable[[int, int], Any] | None = None) -> FoundVolume:
        """A new volume from ``source``; ``progress(done_bytes, total_bytes)`` as the
        copy goes on (no progress is reported when it is None)."""
        raise self._missing("volume creation")

    def delete_volume(self, vol: FoundVolume, flags: int) -> None:
        raise self._missing("volume deletion")

    def resize_volume(self, vol: FoundVolume, capacity: int, flags: int) -> None:
        raise self._missing("volume resize")

    def probe_volume(self, name: str, path: str) -> FoundVolume:
        return FoundVolume(name, path, self.shown(volfile.probe(path)))

    def shown(self, facts: VolumeFacts) -> VolumeFacts:
        """``<refresh><volume allocation='capacity'/>`` makes volumes report their
        capacity as allocation (libvirt's option for thin-provisioned storage)."""
        node = self.pdef.node.find("refresh/volume")
        if node is not None and node.get("allocation") == "capacity":
            return facts.with_sizes(facts.capacity, facts.capacity)
        return facts

    # --- byte work shared by every backend whose volumes are files or block devices ---
    def wipe_volume(self, vol: FoundVolume, algorithm: int) -> None:
        facts = vol.facts
        if algorithm == VIR_STORAGE_VOL_WIPE_ALG_TRIM:
            raise error(VIR_ERR_ARGUMENT_UNSUPPORTED, "'trim' algorithm not supported",
                        domain=VIR_FROM_STORAGE)
        if facts.vol_type == "file" and facts.format not in ("raw", "iso"):
            self._recreate_image(facts)
            return
        length = facts.physical
        if algorithm == VIR_STORAGE_VOL_WIPE_ALG_ZERO:
            fileops.wipe(facts.path, length)
        elif algorithm == VIR_STORAGE_VOL_WIPE_ALG_RANDOM:
            fileops.wipe(facts.path, length, os.urandom)
        else:
            fileops.scrub(facts.path, algorithm)

    @staticmethod
    def _recreate_image(facts: VolumeFacts) -> None:
        """Wiping an image file: a fresh image of the same format, size and backing file
        (zeroing its bytes would destroy the format and leave a raw file)."""
        temp = os.path.join(os.path.dirname(facts.path),
                            f"{fileops.TEMP_PREFIX}wipe-{os.path.basename(facts.path)}")
        try:
            qemu_img.run(qemu_img.create_argv(temp, facts.format, facts.capacity,
                                              backing=facts.backing_path,
                                              backing_fmt=facts.backing_format))
            if facts.file is not None:
                os.chmod(temp, facts.file.mode)
                if os.geteuid() == 0:
                    os.chown(temp, facts.file.uid, facts.file.gid)
            os.rename(temp, facts.path)
        finally:
            if os.path.exists(temp):
                os.unlink(temp)

    def upload(self, vol: FoundVolume, offset: int, length: int,
               done: Callable[[], Any] | None = None) -> fileops.Upload:
        limit = max(vol.facts.capacity, vol.facts.physical)
        return fileops.Upload(vol.facts.path, offset, length, limit, done)

    def download(self, vol: FoundVolume, offset: int, length: int, end: Any,
                 done: Callable[[], Any] | None = None, sparse: bool = False) -> None:
        fileops.start_download(vol.facts.path, offset, length, end, done, sparse)


#: Parallel qemu-img runs when a pool is refreshed.
PROBE_WORKERS = max(2, min(16, 2 * (os.cpu_count() or 1)))


class FileVolumes(PoolBackend):
    """Volumes as files in the pool's target directory (dir, fs and netfs pools)."""

    def volume_path(self, name: str) -> str:
        return f"{self.target_path}/{name}"

    def _open_dir_error(self, err: OSError) -> libvirtError:
        return error(VIR_ERR_SYSTEM_ERROR, f"cannot open directory '{self.target_path}': "
                     f"{err.strerror}", domain=VIR_FROM_NONE)

    def refresh(self) -> PoolScan:
        path = self.target_path
        try:
            names = sorted(os.listdir(path))
        except OSError as err:
            raise self._open_dir_error(err) from err
        names = [n for n in names if not fileops.is_temp_name(n)]
        # images need a qemu-img run each: probe in parallel (the work is in children)
        workers = min(PROBE_WORKERS, max(1, len(names)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            probed = list(pool.map(self._probe_quietly, [f"{path}/{n}" for n in names]))
        found = [FoundVolume(name, f"{path}/{name}", self.shown(facts))
                 for name, facts in zip(names, probed) if facts is not None]
        return PoolScan(statvfs_sizes(path), found)

    @staticmethod
    def _probe_quietly(path: str) -> VolumeFacts | None:
        """A volume's facts, or None when it vanished or is unreadable (libvirt skips it)."""
        try:
            return volfile.probe(path)
        except libvirtError:
            return None

    def create_volume(self, vdef: Any, flags: int) -> FoundVolume:
        check_flags(flags, VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA,
                    "virStorageBackendVolBuildLocal")
        name = vdef.name
        check_volume_name(name)
        path = self.volume_path(name)
        if os.path.lexists(path):
            raise error(VIR_ERR_OPERATION_INVALID,
                        f"volume target path '{path}' already exists", domain=VIR_FROM_STORAGE)
        fmt = vdef.target_format or "raw"
        capacity = vdef.capacity or 0
        allocation = vdef.allocation if vdef.allocation is not None else capacity
        mode = int(vdef.target_mode, 8) if vdef.target_mode else 0o600
        uid = vdef.target_owner if vdef.target_owner is not None else -1
        gid = vdef.target_group if vdef.target_group is not None else -1
        if fmt == "dir":
            self._create_dir(path, mode, uid, gid)
        elif fmt == "raw":
            if vdef.backing_path:
                raise error(VIR_ERR_NO_SUPPORT, "backing storage not supported for raw "
                            "volumes", domain=VIR_FROM_STORAGE)
            if flags & VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA:
                raise error(VIR_ERR_OPERATION_UNSUPPORTED, "metadata preallocation is not "
                            "supported for raw volumes", domain=VIR_FROM_STORAGE)
            available = statvfs_sizes(self.target_path).available
            if allocation > available:
                raise error(VIR_ERR_SYSTEM_ERROR, f"cannot allocate {allocation} bytes in "
                            f"file '{path}': No space left on device", domain=VIR_FROM_STORAGE)
            fileops.create_raw(path, capacity, allocation, mode, uid, gid)
        else:
            self._create_image(vdef, path, fmt, capacity, flags, mode, uid, gid)
        return self.probe_volume(name, path)

    @staticmethod
    def _create_dir(path: str, mode: int, uid: int, gid: int) -> None:
        try:
            os.mkdir(path, mode if mode != 0o600 else 0o755)
            if uid != -1 or gid != -1:
                os.chown(path, uid, gid)
        except OSError as err:
            raise fileops.system_error(f"cannot create path '{path}'", err) from err

    def _create_image(self, vdef: Any, path: str, fmt: str, capacity: int, flags: int,
                      mode: int, uid: int, gid: int) -> None:
        backing, backing_fmt = vdef.backing_path, vdef.backing_format
        if backing:
            if not os.path.isabs(backing):
                backing = os.path.join(self.target_path, backing)
            if not os.path.exists(backing):
                raise error(VIR_ERR_SYSTEM_ERROR, f"inaccessible backing store volume "
                            f"{vdef.backing_path}: No such file or directory",
                            domain=VIR_FROM_STORAGE)
            if not backing_fmt:
                backing_fmt = volfile.probe(backing).format
            if not capacity:
                capacity = volfile.probe(backing).capacity
        prealloc = "metadata" if flags & VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA else None
        compat = vdef.target_compat or ("1.1" if fmt == "qcow2" else None)
        argv = qemu_img.create_argv(path, fmt, capacity, backing=backing,
                                    backing_fmt=backing_fmt, preallocation=prealloc,
                                    compat=compat,
                                    lazy_refcounts="lazy_refcounts" in vdef.target_features,
                                    cluster_size=vdef.target_cluster_size)
        try:
            qemu_img.run(argv)
            os.chmod(path, mode)
            if uid != -1 or gid != -1:
                os.chown(path, uid, gid)
        except BaseException:
            if os.path.exists(path):
                os.unlink(path)
            raise

    def clone_volume(self, vdef: Any, source: VolumeFacts, flags: int,
                     progress: Callable[[int, int], Any] | None = None) -> FoundVolume:
        check_flags(flags, VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA,
                    "virStorageBackendVolBuildFromLocal")
        name = vdef.name
        check_volume_name(name)
        path = self.volume_path(name)
        if os.path.lexists(path):
            raise error(VIR_ERR_OPERATION_INVALID,
                        f"volume target path '{path}' already exists", domain=VIR_FROM_STORAGE)
        fmt = vdef.target_format or "raw"
        capacity = max(vdef.capacity or 0, source.capacity)
        mode = int(vdef.target_mode, 8) if vdef.target_mode else 0o600
        try:
            if fmt == "raw" and source.format in ("raw", "iso") and source.vol_type == "file":
                fileops.copy_file(source.path, path, mode, progress)
                if capacity > source.capacity:
                    fileops.resize_raw(path, capacity, False)
            else:
                prealloc = ("metadata" if flags & VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA
                            else None)
                src_fmt = "raw" if source.format == "iso" else source.format
                argv = qemu_img.convert_argv(source.path, src_fmt, path, fmt,
                                             preallocation=prealloc,
                                             progress=progress is not None)
                if progress is None:
                    qemu_img.run(argv)
                else:
                    qemu_img.run_with_progress(argv, source.capacity, progress)
                os.chmod(path, mode)
                if capacity > source.capacity:
                    qemu_img.run(qemu_img.resize_argv(path, fmt, capacity))
        except BaseException:
            if os.path.exists(path):
                os.unlink(path)
            raise
        return self.probe_volume(name, path)

    def delete_volume(self, vol: FoundVolume, flags: int) -> None:
        check_flags(flags, 0, "virStorageBackendVolDeleteLocal")
        path = vol.facts.path
        try:
            if vol.facts.vol_type == "dir":
                shutil.rmtree(path)
            else:
                os.unlink(path)
        except FileNotFoundError:
            return
        except OSError as err:
            raise fileops.system_error(f"cannot unlink file '{path}'", err) from err

    def resize_volume(self, vol: FoundVolume, capacity: int, flags: int) -> None:
        facts = vol.facts
        preallocate = bool(flags & VIR_STORAGE_VOL_RESIZE_ALLOCATE)
        if facts.format == "raw":
            fileops.resize_raw(facts.path, capacity, preallocate)
            return
        if preallocate:
            raise error(VIR_ERR_OPERATION_UNSUPPORTED, "preallocate is only supported for "
                        "raw type volume", domain=VIR_FROM_STORAGE)
        qemu_img.run(qemu_img.resize_argv(facts.path, facts.format, capacity,
                                          shrink=bool(flags & VIR_STORAGE_VOL_RESIZE_SHRINK)))


_BACKENDS: dict[str, type[PoolBackend]] = {}
BACKEND_MODULES = ("pyvirt.storage.dir", "pyvirt.storage.fs", "pyvirt.storage.netfs",
                   "pyvirt.storage.logical")


def register_backend(cls: type[PoolBackend]) -> type[PoolBackend]:
    _BACKENDS[cls.type_name] = cls
    return cls


def backend_for(pdef: Any) -> PoolBackend:
    """The backend for a pool definition; libvirt's error for a type we lack."""
    for module in BACKEND_MODULES:          # each registers itself on import
        importlib.import_module(module)
    kind = pdef.type or "dir"
    cls = _BACKENDS.get(kind)
    if cls is None:
        raise error(VIR_ERR_INTERNAL_ERROR, f"missing backend for pool type "
                    f"{_type_index(kind)} ({kind})", domain=VIR_FROM_STORAGE)
    return cls(pdef)


def _type_index(kind: str) -> int:
    from pyvirt.conf.storage import POOL_TYPES
    return POOL_TYPES.index(kind) if kind in POOL_TYPES else -1
