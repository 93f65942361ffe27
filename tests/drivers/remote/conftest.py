"""A pyvirtd in a thread (sockets in a tmp dir, TCP on 127.0.0.1) and the remote
driver in the registry for the duration of a test."""

from __future__ import annotations

from typing import Any

import pytest

from pyvirt.api._registry import load_drivers
from pyvirt.drivers import base
from pyvirt.drivers.base import (DomainRef, DriverConnection, HypervisorConnection,
                                 StorageConnection, StoragePoolRef, StorageVolRef)
from pyvirt.drivers.remote import RemoteDriver
from pyvirt.errors import VIR_ERR_NO_STORAGE_VOL, VIR_FROM_STORAGE, error


@pytest.fixture
def remote_registered():
    """The remote driver probed after the local ones (removed again afterwards
    unless it was registered before)."""
    load_drivers()
    before = any(d.name == "remote" for d in base.registered_drivers())
    if not before:
        base.register_driver(RemoteDriver())
    yield
    if not before:
        base._REGISTRY[:] = [d for d in base._REGISTRY if d.name != "remote"]


@pytest.fixture
def daemon(make_daemon, remote_registered):
    return make_daemon()


@pytest.fixture
def unix_uri(daemon) -> str:
    return f"test+unix:///default?socket={daemon.rw_path}"


@pytest.fixture
def tcp_uri(daemon) -> str:
    return f"test+tcp://127.0.0.1:{daemon.tcp_port}/default"


class EchoTables(HypervisorConnection, StorageConnection):
    """``remotefake:///``: a console that echoes upper-cased, and a pool ``p``
    whose volumes live in memory (uploads and downloads)."""

    UUID = bytes(range(16))
    POOL = StoragePoolRef("p", bytes(16))
    volumes: dict[str, bytes] = {}

    def connect_get_type(self) -> str:
        return "FAKE"

    def domain_lookup_by_name(self, name: str) -> DomainRef:
        return DomainRef(name, self.UUID, 1)

    def domain_open_console(self, ref: DomainRef, dev_name: str | None, stream: Any,
                            flags: int = 0) -> None:
        stream.write(f"console of {ref.name}\r\n".encode())
        stream.on_data(lambda data: stream.write(data.upper()))

    def storage_pool_lookup_by_name(self, name: str) -> StoragePoolRef:
        return self.POOL

    def storage_vol_lookup_by_name(self, pool: StoragePoolRef, name: str) -> StorageVolRef:
        return StorageVolRef("p", name, f"/fake/{name}")

    def storage_vol_upload(self, vol: StorageVolRef, stream: Any, offset: int, length: int,
                           flags: int) -> None:
        chunks: list[bytes] = []
        stream.on_data(chunks.append,
                       lambda: self.volumes.__setitem__(vol.name, b"".join(chunks)))

    def storage_vol_download(self, vol: StorageVolRef, stream: Any, offset: int, length: int,
                             flags: int) -> None:
        if vol.name not in self.volumes:
            raise error(VIR_ERR_NO_STORAGE_VOL, f"no storage vol with matching name "
                        f"'{vol.name}'", domain=VIR_FROM_STORAGE)
        stream.write(self.volumes[vol.name][offset:offset + length if length else None])
        stream.finish()


class EchoDriver:
    name = "remotefake-test"

    def open(self, uri: Any, flags: int, readonly: bool) -> DriverConnection | None:
        if getattr(uri, "scheme", None) != "remotefake":
            return None
        tables = EchoTables()
        return DriverConnection(uri=str(uri), hypervisor=tables, storage=tables,
                                readonly=readonly)


@pytest.fixture
def fake_uri(daemon) -> str:
    """``remotefake:///`` served by the daemon (the driver registered for the test)."""
    base.register_driver(EchoDriver())
    yield f"remotefake+unix:///?socket={daemon.rw_path}"
    base._REGISTRY[:] = [d for d in base._REGISTRY if d.name != EchoDriver.name]
