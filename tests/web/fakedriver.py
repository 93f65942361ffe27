"""A tiny driver for what test:///default lacks, ``webfake:///``:

* one running domain ``guest`` whose serial console greets with ``login: `` and
  echoes input prefixed with ``echo:``;
* one pool ``pool`` with one volume ``disk.img`` that takes uploads
  (``UPLOADS`` collects what arrived; a volume named ``broken.img`` fails mid-way).
"""

from __future__ import annotations

import uuid as uuidlib
from typing import Any

from pyvirt.constants import VIR_DOMAIN_RUNNING
from pyvirt.drivers.base import (DomainRef, DriverConnection, HypervisorConnection,
                                 StorageConnection, StoragePoolRef, StorageVolRef,
                                 register_driver)
from pyvirt.errors import (VIR_ERR_INTERNAL_ERROR, VIR_ERR_NO_DOMAIN, VIR_ERR_NO_STORAGE_POOL,
                           VIR_ERR_NO_STORAGE_VOL, error)

GUEST = DomainRef("guest", uuidlib.UUID(int=7).bytes, 1)
POOL = StoragePoolRef("pool", uuidlib.UUID(int=8).bytes)
UPLOADS: dict[str, bytes] = {}


class ConsoleHypervisor(HypervisorConnection):
    def domain_lookup_by_name(self, name: str) -> DomainRef:
        if name != GUEST.name:
            raise error(VIR_ERR_NO_DOMAIN, f"no domain with matching name '{name}'")
        return GUEST

    def domain_get_state(self, dom: DomainRef, flags: int) -> tuple[int, int]:
        return VIR_DOMAIN_RUNNING, 1

    def domain_open_console(self, dom: DomainRef, dev_name: str | None, stream: Any,
                            flags: int) -> None:
        stream.write(b"login: ")
        stream.on_data(lambda data: stream.write(b"echo:" + data), finish=stream.finish)


class UploadStorage(StorageConnection):
    def storage_pool_lookup_by_name(self, name: str) -> StoragePoolRef:
        if name != POOL.name:
            raise error(VIR_ERR_NO_STORAGE_POOL, f"no storage pool with matching name '{name}'")
        return POOL

    def storage_vol_lookup_by_name(self, pool: StoragePoolRef, name: str) -> StorageVolRef:
        if name not in ("disk.img", "broken.img"):
            raise error(VIR_ERR_NO_STORAGE_VOL, f"no storage vol with matching name '{name}'")
        return StorageVolRef(POOL.name, name, f"/pool/{name}")

    def storage_vol_upload(self, ref: StorageVolRef, stream: Any, offset: int, length: int,
                           flags: int = 0) -> None:
        UPLOADS[ref.name] = b""

        def receive(data: bytes) -> None:
            if ref.name == "broken.img":
                raise error(VIR_ERR_INTERNAL_ERROR, "disk full")
            UPLOADS[ref.name] += data

        stream.on_data(receive, finish=lambda: None, abort=lambda: None)


class WebFakeDriver:
    name = "webfake"

    def open(self, uri: Any, flags: int, readonly: bool) -> DriverConnection | None:
        if uri is None or uri.driver != "webfake":
            return None
        return DriverConnection(uri=str(uri), hypervisor=ConsoleHypervisor(),
                                storage=UploadStorage())


def register() -> None:
    register_driver(WebFakeDriver())
