"""The ``logical`` pool: an LVM volume group; its volumes are logical volumes.

Everything goes through LVM's own tools and their JSON reports (see ``lvm``).
Where the kernel has no device-mapper (``/dev/mapper/control`` absent) LVM
works on metadata only: build, refresh, create, resize and delete still work
(``--config 'global{activation=0}'``), while anything that needs the LV's
block device (wipe, upload, download) fails with an error naming the
missing kernel feature.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any, Callable

from pyvirt.constants import (
    VIR_STORAGE_POOL_BUILD_NO_OVERWRITE, VIR_STORAGE_POOL_BUILD_OVERWRITE,
)
from pyvirt.errors import (
    VIR_ERR_INVALID_ARG, VIR_ERR_NO_STORAGE_VOL,
    VIR_ERR_OPERATION_INVALID, VIR_ERR_OPERATION_UNSUPPORTED, VIR_ERR_STORAGE_POOL_BUILT,
    VIR_FROM_STORAGE, error, libvirtError,
)
from pyvirt.storage import commands, lvm, qemu_img, volfile
from pyvirt.storage.backend import (
    FoundVolume, PoolBackend, PoolScan, PoolSizes, check_build_flags, check_flags,
    check_volume_name, register_backend,
)
from pyvirt.storage.fs import FsBackend
from pyvirt.storage.volfile import VolumeFacts

NO_DM_REASON = "device-mapper (/dev/mapper/control) absent: LV activation impossible"


@register_backend
class LogicalBackend(PoolBackend):
    type_name = "logical"

    def __init__(self, pdef: Any) -> None:
        super().__init__(pdef)
        self.activation = lvm.device_mapper_available()
        #: runs one host command (LVM, qemu-img); tests put a fake runner here
        self.run: Callable[..., Any] = commands.run
        self.run_progress: Callable[..., Any] = qemu_img.run_with_progress

    @property
    def vg_name(self) -> str:
        return self.pdef.source_name or self.pdef.name

    @property
    def target_path(self) -> str:
        return f"/dev/{self.vg_name}"

    def _lvm(self, argv: list[str]) -> bytes:
        return self.run(argv).stdout

    def _no_device(self, what: str) -> libvirtError:
        return error(VIR_ERR_OPERATION_UNSUPPORTED, f"cannot {what} logical volume: "
                     f"{NO_DM_REASON}", domain=VIR_FROM_STORAGE)

    # --- the volume group ------------------------------------------------------------
    def volume_group(self) -> lvm.VolumeGroup | None:
        done = commands.run(lvm.vgs_argv(self.vg_name, self.activation), check=False)
        if done.returncode != 0:
            return None
        groups = lvm.parse_vgs(done.stdout)
        return groups[0] if groups else None

    def check_started(self) -> bool:
        return self.volume_group() is not None

    def build(self, flags: int) -> None:
        check_flags(flags, VIR_STORAGE_POOL_BUILD_OVERWRITE | VIR_STORAGE_POOL_BUILD_NO_OVERWRITE,
                    "virStorageBackendLogicalBuildPool")
        check_build_flags(flags)
        devices = self.pdef.source_devices
        if not devices:
            raise error(VIR_ERR_INVALID_ARG, "cannot build a logical pool without source "
                        "devices", domain=VIR_FROM_STORAGE)
        if flags & VIR_STORAGE_POOL_BUILD_NO_OVERWRITE:
            for device in devices:
                found = FsBackend.existing_filesystem(device)
                if found:
                    raise error(VIR_ERR_STORAGE_POOL_BUILT,
                                f"Device '{device}' already formatted using '{found}'",
                                domain=VIR_FROM_STORAGE)
        made: list[str] = []
        try:
            for device in devices:
                self._lvm(lvm.pvcreate_argv(device, self.activation))
                made.append(device)
            self._lvm(lvm.vgcreate_argv(self.vg_name, devices, self.activation))
        except libvirtError:
            for device in made:
                commands.run(lvm.pvremove_argv(device, self.activation), check=False)
            raise

    def start(self) -> None:
        if self.volume_group() is None:
            raise error(VIR_ERR_OPERATION_INVALID, f"volume group '{self.vg_name}' not found "
                        "(build the pool first)", domain=VIR_FROM_STORAGE)
        if self.activation:
            self._lvm(lvm.vgchange_argv(self.vg_name, True))

    def stop(self) -> None:
        if self.activation:
            self._lvm(lvm.vgchange_argv(self.vg_name, False))

    def delete(self, flags: int) -> None:
        check_flags(flags, 0, "virStorageBackendLogicalDeletePool")
        self._lvm(lvm.vgremove_argv(self.vg_name, self.activation))
        for device in self.pdef.source_devices:
            self._lvm(lvm.pvremove_argv(device, self.activation))

    # --- volumes -----------------------------------------------------------------------
    def _found(self, lv: lvm.LogicalVolume) -> FoundVolume:
        facts = VolumeFacts(lv.path, "block", "none", lv.size, lv.size, lv.size,
                            extents=lv.extents)
        if self.activation and os.path.exists(lv.path):
            try:
                probed = volfile.probe(lv.path)
                facts = replace(probed, format="none", extents=lv.extents)
            except libvirtError:
                pass
        return FoundVolume(lv.name, lv.uuid, facts)

    def logical_volumes(self) -> list[lvm.LogicalVolume]:
        return lvm.parse_lvs(self._lvm(lvm.lvs_argv(self.vg_name, self.activation)))

    def refresh(self) -> PoolScan:
        group = self.volume_group()
        if group is None:
            raise error(VIR_ERR_OPERATION_INVALID, f"volume group '{self.vg_name}' not found",
                        domain=VIR_FROM_STORAGE)
        sizes = PoolSizes(group.size, group.size - group.free, group.free)
        return PoolScan(sizes, [self._found(lv) for lv in self.logical_volumes()])

    def probe_volume(self, name: str, path: str) -> FoundVolume:
        for lv in self.logical_volumes():
            if lv.name == name:
                return self._found(lv)
        raise error(VIR_ERR_NO_STORAGE_VOL, f"no storage vol with matching name '{name}'",
                    domain=VIR_FROM_STORAGE)

    def create_volume(self, vdef: Any, flags: int) -> FoundVolume:
        check_flags(flags, 0, "virStorageBackendLogicalCreateVol")
        check_volume_name(vdef.name)
        capacity = vdef.capacity or 0
        allocation = vdef.allocation if vdef.allocation is not None else capacity
        if vdef.backing_path:
            if not self.activation:
                raise self._no_device("create a snapshot")
            argv = lvm.lvsnapshot_argv(self.vg_name, vdef.name, vdef.backing_path,
                                       allocation or capacity)
        elif allocation < capacity:
            if not self.activation:
                raise self._no_device("create a sparse (thin)")
            argv = lvm.lvcreate_argv(self.vg_name, vdef.name, capacity, max(allocation, 1))
        else:
            argv = lvm.lvcreate_argv(self.vg_name, vdef.name, capacity, None, self.activation)
        self._lvm(argv)
        return self.probe_volume(vdef.name, f"{self.target_path}/{vdef.name}")

    def clone_volume(self, vdef: Any, source: VolumeFacts, flags: int,
                     progress: Callable[[int, int], Any] | None = None) -> FoundVolume:
        """A new LV as large as the source (or the XML's capacity), then the source's
        content converted into it as raw (``qemu-img convert -n``); the LV is removed
        again when the copy fails. Needs device-mapper: the LV must be activated."""
        check_flags(flags, 0, "virStorageBackendLogicalBuildVolFrom")
        check_volume_name(vdef.name)
        if not self.activation:
            raise self._no_device("copy into a")
        capacity = max(vdef.capacity or 0, source.capacity)
        self._lvm(lvm.lvcreate_argv(self.vg_name, vdef.name, capacity))
        target = f"{self.target_path}/{vdef.name}"
        src_fmt = "raw" if source.format in ("iso", "none") or source.vol_type == "block" \
            else source.format
        argv = qemu_img.convert_argv(source.path, src_fmt, target, "raw", target_exists=True,
                                     progress=progress is not None)
        try:
            if progress is None:
                self.run(argv)
            else:
                self.run_progress(argv, source.capacity, progress)
        except BaseException:
            self.run(lvm.lvremove_argv(self.vg_name, vdef.name, self.activation), check=False)
            raise
        return self.probe_volume(vdef.name, target)

    def delete_volume(self, vol: FoundVolume, flags: int) -> None:
        check_flags(flags, 0, "virStorageBackendLogicalDeleteVol")
        self._lvm(lvm.lvremove_argv(self.vg_name, vol.name, self.activation))

    def resize_volume(self, vol: FoundVolume, capacity: int, flags: int) -> None:
        self._lvm(lvm.lvresize_argv(self.vg_name, vol.name, capacity, self.activation))

    def wipe_volume(self, vol: FoundVolume, algorithm: int) -> None:
        if not self.activation:
            raise self._no_device("wipe a")
        super().wipe_volume(vol, algorithm)

    def upload(self, vol: FoundVolume, offset: int, length: int, done: Any = None) -> Any:
        if not self.activation:
            raise self._no_device("upload to a")
        return super().upload(vol, offset, length, done)

    def download(self, vol: FoundVolume, offset: int, length: int, end: Any,
                 done: Any = None, sparse: bool = False) -> None:
        if not self.activation:
            raise self._no_device("download a")
        super().download(vol, offset, length, end, done, sparse)


def find_sources() -> str:
    """``<sources>``: every volume group on the host and its devices (pool-discover)."""
    from lxml import etree
    from pyvirt.conf.xmlbuilder import format_element
    activation = lvm.device_mapper_available()
    groups: dict[str, list[str]] = {}
    for pv in lvm.parse_pvs(commands.run(lvm.pvs_argv(activation)).stdout):
        if pv.vg:
            groups.setdefault(pv.vg, []).append(pv.name)
    root = etree.Element("sources")
    for vg, devices in sorted(groups.items()):
        source = etree.SubElement(root, "source")
        for device in devices:
            etree.SubElement(source, "device", path=device)
        etree.SubElement(source, "name").text = vg
        etree.SubElement(source, "format", type="lvm2")
    return format_element(root)
