"""Storage pools and their volumes at runtime."""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass, field
from typing import Any


@dataclass
class VolumeObj:
    name: str
    key: str
    path: str
    definition: Any                 # StorageVolDef, or the volume's XML text
    capacity: int = 0
    allocation: int = 0
    vol_type: int = 0               # virStorageVolType: 0 file


@dataclass
class PoolObj:
    name: str
    uuid: bytes
    definition: Any                 # StoragePoolDef
    active: bool = False
    persistent: bool = True
    autostart: bool = False
    capacity: int = 0
    allocation: int = 0
    available: int = 0
    volumes: dict[str, VolumeObj] = field(default_factory=dict)
    pending_def: Any = None

    @property
    def uuid_str(self) -> str:
        return str(uuidlib.UUID(bytes=self.uuid))
