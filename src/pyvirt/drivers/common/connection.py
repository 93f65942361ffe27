"""Connection entry points every local driver (test, QEMU, LXC) answers the same way."""

from __future__ import annotations

#: the libvirt version pyvirt reports as its library (9.0.0, Debian 12's)
LIB_VERSION = 9000000


class LocalConnectionEntries:
    """Needs ``self.uri`` (the canonical URI) and ``self._closed``."""

    uri: str
    _closed: bool

    def connect_get_lib_version(self) -> int:
        return LIB_VERSION

    def connect_get_hostname(self) -> str:
        import socket  # only hostname lookups need it (opening test:///default does not)
        return socket.gethostname()

    def connect_get_uri(self) -> str:
        return self.uri

    def connect_is_alive(self) -> bool:
        return not self._closed

    def connect_is_secure(self) -> bool:
        return True

    def connect_is_encrypted(self) -> bool:
        return False
