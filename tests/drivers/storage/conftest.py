"""Fixtures: the real storage driver behind the public API, in a tmp dir.

A test-only driver answers ``storagetest:///ROOT``: its storage table is
``open_storage(ROOT/etc/storage, ROOT/run/storage)``; pools live under ROOT.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

import pyvirt as libvirt
from pyvirt.api import _registry
from pyvirt.drivers.base import DriverConnection, register_driver
from pyvirt.drivers.storage import open_storage

sys.path.insert(0, str(Path(__file__).parent))
from storage_helpers import pool_xml  # noqa: E402


class StorageTestDriver:
    """Test-only: ``storagetest:///ROOT`` opens the real storage driver on ROOT."""

    name = "storagetest"

    def open(self, uri: Any, flags: int, readonly: bool) -> DriverConnection | None:
        if getattr(uri, "driver", None) != "storagetest":
            return None
        root = Path(uri.path)
        storage = open_storage(root / "etc" / "storage", root / "run" / "storage", readonly)
        return DriverConnection(str(uri), storage=storage, readonly=readonly)


def _register() -> None:
    _registry.load_drivers()
    register_driver(StorageTestDriver())


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def conn(root: Path) -> Iterator[Any]:
    _register()
    connection = libvirt.open(f"storagetest://{root}")
    yield connection
    connection.close()


@pytest.fixture
def pool(conn: Any, root: Path) -> Any:
    """A started dir pool 'p' on ROOT/pool."""
    p = conn.storagePoolDefineXML(pool_xml("p", root / "pool"))
    p.build()
    p.create()
    return p
