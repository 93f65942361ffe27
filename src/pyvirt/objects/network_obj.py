"""A virtual network at runtime: its definition and active/persistent/autostart flags."""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass
from typing import Any


@dataclass
class NetworkObj:
    name: str
    uuid: bytes
    definition: Any                 # NetworkDef (or any conf object with to_xml)
    active: bool = False
    persistent: bool = True
    autostart: bool = False
    #: The definition to use at next start when it was redefined while running.
    pending_def: Any = None

    @property
    def uuid_str(self) -> str:
        return str(uuidlib.UUID(bytes=self.uuid))
