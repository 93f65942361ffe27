"""TestDriver: claims ``test:///default`` and ``test:///ABSOLUTE/PATH.xml``.

``open`` returns one DriverConnection whose hypervisor, network and storage
tables share a :class:`TestState`: the process-wide default one, or a fresh one
read from the node file.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pyvirt.drivers.base import DriverConnection
from pyvirt.drivers.test.hypervisor import TestHypervisor
from pyvirt.drivers.test.network import TestNetworks
from pyvirt.drivers.test.state import SHARED_DEFAULT, TestState, state_from_node_file
from pyvirt.drivers.test.storage import TestStorage
from pyvirt.errors import VIR_ERR_INVALID_ARG, VIR_FROM_TEST, error


def _uri_parts(uri: Any) -> tuple[str, str, str, str]:
    """(scheme, transport, server, path) from a parsed URI object or a string."""
    if isinstance(uri, str):
        parts = urlsplit(uri)
        scheme, _, transport = parts.scheme.partition("+")
        return scheme, transport, parts.hostname or "", parts.path
    scheme = getattr(uri, "scheme", "") or ""
    transport = getattr(uri, "transport", "") or ""
    if "+" in scheme:
        scheme, _, transport = scheme.partition("+")
    server = getattr(uri, "server", None) or getattr(uri, "host", None) or ""
    return scheme, transport, server, getattr(uri, "path", "") or ""


class TestDriver:
    """The registered driver object (see ``drivers.base.Driver``)."""

    name = "Test"

    def open(self, uri: Any, flags: int = 0, readonly: bool = False) -> DriverConnection | None:
        scheme, transport, server, path = _uri_parts(uri)
        if scheme != "test" or transport or server:
            return None     # not ours (a remote test:// URI goes to the remote driver)
        if not path or path == "/":
            raise error(VIR_ERR_INVALID_ARG, "testOpen: supply a path or use test:///default",
                        domain=VIR_FROM_TEST)
        text = uri if isinstance(uri, str) else str(uri)
        if path == "/default":
            state = SHARED_DEFAULT.acquire()
            return self._connection(text, state, lambda: SHARED_DEFAULT.release(state))
        return self._connection(text, state_from_node_file(path), None)

    @staticmethod
    def _connection(uri: str, state: TestState, on_close: Any) -> DriverConnection:
        hypervisor = TestHypervisor(state, uri, on_close)
        return DriverConnection(uri=uri, hypervisor=hypervisor,
                                network=TestNetworks(state, hypervisor),
                                storage=TestStorage(state, hypervisor),
                                extra={"test_state": state})
