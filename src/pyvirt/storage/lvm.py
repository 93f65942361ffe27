"""LVM: argv builders and the parser of ``--reportformat json`` (pure functions).

Every command carries ``--config`` when activation is off: on a host without
device-mapper (no ``/dev/mapper/control``) LVM can still write metadata
(``global{activation=0}``) but no ``/dev/VG/LV`` node appears.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path

from pyvirt.errors import VIR_ERR_INTERNAL_ERROR, VIR_FROM_STORAGE, error

DM_CONTROL = Path("/dev/mapper/control")
NO_ACTIVATION = "global{activation=0}"

VG_FIELDS = "vg_name,vg_uuid,vg_size,vg_free,vg_extent_size,pv_count,lv_count"
LV_FIELDS = ("lv_name,vg_name,lv_uuid,lv_path,lv_size,lv_attr,origin,"
             "seg_size,devices,data_percent,lv_active,vg_extent_size")
PV_FIELDS = "pv_name,vg_name,pv_size,pv_free"


def device_mapper_available(control: Path = DM_CONTROL) -> bool:
    return control.exists()


def _report(tool: str, fields: str, extra: list[str], activation: bool) -> list[str]:
    argv = [tool, "--reportformat", "json", "--units", "b", "--nosuffix", "-o", fields]
    if not activation:
        argv += ["--config", NO_ACTIVATION]
    return argv + extra


def vgs_argv(vg: str | None = None, activation: bool = True) -> list[str]:
    return _report("vgs", VG_FIELDS, [vg] if vg else [], activation)


def lvs_argv(vg: str, activation: bool = True) -> list[str]:
    return _report("lvs", LV_FIELDS, [vg], activation)


def pvs_argv(activation: bool = True) -> list[str]:
    return _report("pvs", PV_FIELDS, [], activation)


def _config(activation: bool) -> list[str]:
    return [] if activation else ["--config", NO_ACTIVATION]


def pvcreate_argv(device: str, activation: bool = True) -> list[str]:
    return ["pvcreate", "-ff", "-y", *_config(activation), device]


def vgcreate_argv(vg: str, devices: list[str], activation: bool = True) -> list[str]:
    return ["vgcreate", *_config(activation), vg, *devices]


def vgremove_argv(vg: str, activation: bool = True) -> list[str]:
    return ["vgremove", "-f", *_config(activation), vg]


def pvremove_argv(device: str, activation: bool = True) -> list[str]:
    return ["pvremove", "-ff", "-y", *_config(activation), device]


def vgchange_argv(vg: str, active: bool, activation: bool = True) -> list[str]:
    return ["vgchange", "-a" + ("y" if active else "n"), *_config(activation), vg]


def lvcreate_argv(vg: str, name: str, capacity: int, allocation: int | None = None,
                  activation: bool = True) -> list[str]:
    """A linear LV of ``capacity`` bytes, or a thin snapshot-style sparse LV when
    ``allocation`` is smaller (libvirt: ``--virtualsize``)."""
    argv = ["lvcreate", "--name", name, "-y", *_config(activation)]
    if not activation:
        argv += ["-an", "-Zn"]            # no activation, so no zeroing of the start
    if allocation is not None and allocation < capacity:
        argv += ["-L", f"{allocation}b", "--virtualsize", f"{capacity}b"]
    else:
        argv += ["-L", f"{capacity}b"]
    return argv + [vg]


def lvsnapshot_argv(vg: str, name: str, origin: str, size: int) -> list[str]:
    """A snapshot LV of ``origin`` (a path or VG/LV) with ``size`` bytes of room."""
    return ["lvcreate", "--name", name, "-y", "-L", f"{size}b", "--snapshot", origin]


def lvremove_argv(vg: str, name: str, activation: bool = True) -> list[str]:
    return ["lvremove", "-f", *_config(activation), f"{vg}/{name}"]


def lvresize_argv(vg: str, name: str, capacity: int, activation: bool = True) -> list[str]:
    return ["lvresize", "-f", "-L", f"{capacity}b", *_config(activation), f"{vg}/{name}"]


# --- JSON reports -----------------------------------------------------------------
@dataclass(frozen=True)
class VolumeGroup:
    name: str
    uuid: str
    size: int
    free: int
    extent_size: int
    pv_count: int
    lv_count: int


@dataclass(frozen=True)
class LogicalVolume:
    name: str
    vg: str
    uuid: str
    path: str
    size: int
    attr: str
    origin: str
    devices: str
    active: bool
    #: (device, start byte, end byte) of each segment, as libvirt's <source><device><extent>
    extents: tuple[tuple[str, int, int], ...] = ()

    @property
    def is_snapshot_or_thin(self) -> bool:
        return bool(self.attr) and self.attr[0] in ("s", "V")


def _rows(text: str | bytes, kind: str) -> list[dict]:
    try:
        data = json.loads(text)
        rows: list[dict] = []
        for report in data["report"]:
            rows.extend(report.get(kind, []))
        return rows
    except (ValueError, KeyError, TypeError) as err:
        raise error(VIR_ERR_INTERNAL_ERROR, f"cannot parse LVM {kind} report: {err}",
                    domain=VIR_FROM_STORAGE) from err


def _int(value: str) -> int:
    value = (value or "0").strip().rstrip("B")
    return int(float(value)) if value else 0


def parse_vgs(text: str | bytes) -> list[VolumeGroup]:
    return [VolumeGroup(r["vg_name"], r.get("vg_uuid", ""), _int(r["vg_size"]),
                        _int(r["vg_free"]), _int(r.get("vg_extent_size", "0")),
                        _int(r.get("pv_count", "0")), _int(r.get("lv_count", "0")))
            for r in _rows(text, "vg")]


def _segment_extents(devices: str, seg_size: int, extent_size: int
                     ) -> list[tuple[str, int, int]]:
    """``/dev/loop0(2)`` (a segment's devices, physical extent in brackets) in bytes."""
    found = []
    parts = re.findall(r"([^,()]+)\((\d+)\)", devices or "")
    share = seg_size // len(parts) if parts else 0        # striped: split evenly
    for device, first_pe in parts:
        start = int(first_pe) * extent_size
        found.append((device.strip(), start, start + share))
    return found


def parse_lvs(text: str | bytes) -> list[LogicalVolume]:
    """One entry per LV (a multi-segment LV appears once, its devices and extents joined)."""
    found: dict[str, LogicalVolume] = {}
    for r in _rows(text, "lv"):
        name = r["lv_name"]
        devices = r.get("devices", "")
        extents = tuple(_segment_extents(devices, _int(r.get("seg_size", "0")),
                                         _int(r.get("vg_extent_size", "0"))))
        if name in found:
            old = found[name]
            found[name] = replace(old, devices=",".join(x for x in (old.devices, devices) if x),
                                  extents=old.extents + extents)
            continue
        vg = r.get("vg_name", "")
        path = r.get("lv_path") or f"/dev/{vg}/{name}"
        found[name] = LogicalVolume(name, vg, r.get("lv_uuid", ""), path, _int(r["lv_size"]),
                                    r.get("lv_attr", ""), r.get("origin", ""), devices,
                                    r.get("lv_active", "") == "active", extents)
    return list(found.values())


@dataclass(frozen=True)
class PhysicalVolume:
    name: str
    vg: str
    size: int
    free: int


def parse_pvs(text: str | bytes) -> list[PhysicalVolume]:
    return [PhysicalVolume(r["pv_name"], r.get("vg_name", ""), _int(r.get("pv_size", "0")),
                           _int(r.get("pv_free", "0")))
            for r in _rows(text, "pv")]
