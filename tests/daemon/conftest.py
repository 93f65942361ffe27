"""A pyvirtd running in a thread of the test process, on sockets in a tmp dir.

Also registers ``slow:///``: a driver whose ``connect_get_hostname`` blocks
until the test releases it, to show that one long call does not hold up
other clients; and ``streamfake:///``: a pool ``p`` of in-memory volumes
with upload/download, to drive streams.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from pyvirt.daemon import thread
from pyvirt.daemon.server import load_drivers
from pyvirt.drivers.base import (DomainRef, DriverConnection, HypervisorConnection,
                                 StorageConnection,
                                 StoragePoolRef, StorageVolRef, register_driver)
from pyvirt.errors import (VIR_ERR_NO_STORAGE_POOL, VIR_ERR_NO_STORAGE_VOL,
                           VIR_ERR_OPERATION_FAILED, VIR_FROM_STORAGE, error)


class SlowHypervisor(HypervisorConnection):
    release = threading.Event()
    entered = threading.Event()

    def connect_get_type(self) -> str:
        return "SLOW"

    def connect_get_hostname(self) -> str:
        SlowHypervisor.entered.set()
        SlowHypervisor.release.wait(30)
        return "slowhost"


class EchoConsoleHypervisor(SlowHypervisor):
    """A console that answers every byte sent, upper-cased."""

    UUID = bytes(range(16))

    def domain_lookup_by_name(self, name: str) -> DomainRef:
        return DomainRef(name, self.UUID, 1)

    def domain_open_console(self, ref: DomainRef, dev_name: str | None, stream: Any,
                            flags: int = 0) -> None:
        stream.write(f"console {dev_name or 'serial0'} of {ref.name}\r\n".encode())
        stream.on_data(lambda data: stream.write(data.upper()))


class SlowDriver:
    name = "slow-test"

    def open(self, uri: Any, flags: int, readonly: bool) -> DriverConnection | None:
        if getattr(uri, "scheme", None) != "slow":
            return None
        return DriverConnection(uri=str(uri), hypervisor=EchoConsoleHypervisor(),
                                readonly=readonly)


load_drivers()
register_driver(SlowDriver())


class DaemonThread(thread.DaemonThread):
    """The real in-process daemon runner, plus a count of its connected clients."""

    def client_count(self) -> int:
        return asyncio.run_coroutine_threadsafe(self._count(), self.loop).result(5)

    async def _count(self) -> int:
        return len(self.daemon.clients)


@pytest.fixture
def daemon_thread_class():
    """``make_daemon`` (tests/conftest.py) starts this runner here."""
    return DaemonThread


@pytest.fixture
def daemon(make_daemon):
    return make_daemon()


class FakeVolumes(StorageConnection):
    """One pool ``p`` with volumes held in memory, served over streams. In memory,
    so its high-priority calls run on the daemon's loop (``calls_never_block``)."""

    calls_never_block = True

    data: dict[str, bytes] = {"v1": b"hello volume\n", "broken": b"part"}
    POOL = StoragePoolRef("p", bytes(16))

    def storage_pool_lookup_by_name(self, name: str) -> StoragePoolRef:
        if name != "p":
            raise error(VIR_ERR_NO_STORAGE_POOL, f"no storage pool with matching name '{name}'",
                        domain=VIR_FROM_STORAGE)
        return self.POOL

    def storage_pool_is_active(self, pool: StoragePoolRef) -> bool:
        return True

    def storage_pool_lookup_by_volume(self, vol: StorageVolRef) -> StoragePoolRef:
        return self.POOL

    def storage_vol_lookup_by_name(self, pool: StoragePoolRef, name: str) -> StorageVolRef:
        if name not in self.data:
            raise error(VIR_ERR_NO_STORAGE_VOL, f"no storage vol with matching name '{name}'",
                        domain=VIR_FROM_STORAGE)
        return StorageVolRef("p", name, f"/fake/{name}")

    def storage_vol_upload(self, vol: StorageVolRef, stream: Any, offset: int, length: int,
                           flags: int) -> None:
        chunks: list[bytes] = []
        stream.on_data(chunks.append, lambda: self.data.__setitem__(vol.name, b"".join(chunks)))

    def storage_vol_download(self, vol: StorageVolRef, stream: Any, offset: int, length: int,
                             flags: int) -> None:
        self.storage_vol_lookup_by_name(self.POOL, vol.name)
        if vol.name == "broken":             # fails half way, as a bad disk would
            stream.write(self.data[vol.name])
            stream.abort(error(VIR_ERR_OPERATION_FAILED, "read error on broken",
                               domain=VIR_FROM_STORAGE))
            return
        content = self.data[vol.name][offset:]
        if length:
            content = content[:length]
        stream.write(content)
        stream.finish()


class FakeVolumeDriver:
    name = "streamfake-test"

    def open(self, uri: Any, flags: int, readonly: bool) -> DriverConnection | None:
        if getattr(uri, "scheme", None) != "streamfake":
            return None
        return DriverConnection(uri=str(uri), storage=FakeVolumes(), readonly=readonly)


register_driver(FakeVolumeDriver())
