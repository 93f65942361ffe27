"""What every named libvirt-python handle (domain, network, pool) answers the same way."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyvirt.api._checks import format_uuid

if TYPE_CHECKING:
    from pyvirt.api.connect import virConnect


class NamedHandle:
    """A handle over a driver ref with ``name`` and ``uuid`` (DomainRef, NetworkRef,
    StoragePoolRef): identity accessors and the connection it belongs to."""

    _conn: "virConnect"
    _ref: Any

    def __repr__(self) -> str:
        return f"<pyvirt.{type(self).__name__} {self._ref.name!r}>"

    def c_pointer(self) -> int:
        return id(self)

    def connect(self) -> "virConnect":
        return self._conn

    def name(self) -> str:
        return self._ref.name

    def UUID(self) -> bytes:  # noqa: N802
        return bytes(self._ref.uuid)

    def UUIDString(self) -> str:  # noqa: N802
        return format_uuid(self._ref.uuid)
