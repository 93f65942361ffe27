"""The lead's libvirt-python scenario (``integration/test_libvirt_python_scenario.py``)
as a module, a binding that runs it through another URI, and the comparison of
two runs' observations. ``tests/`` is on ``sys.path`` (pytest puts the root
conftest's folder there), so any test module can import this one."""

from __future__ import annotations

import importlib.util
import pathlib
import types

import pyvirt

SCENARIO = pathlib.Path(__file__).parent / "integration" / "test_libvirt_python_scenario.py"


def scenario_module() -> types.ModuleType:
    """A fresh copy of the scenario module (its ``scenario`` / ``event_scenario``)."""
    spec = importlib.util.spec_from_file_location("libvirt_python_scenario", SCENARIO)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class ThroughURI(types.ModuleType):
    """``pyvirt`` with ``test:///default`` opened through ``uri`` instead."""

    def __init__(self, uri: str):
        super().__init__("pyvirt_through")
        self._uri = uri

    def __getattr__(self, name: str):
        return getattr(pyvirt, name)

    def open(self, name=None):
        return pyvirt.open(self._uri if name == "test:///default" else name)

    def openReadOnly(self, name=None):  # noqa: N802
        return pyvirt.openReadOnly(self._uri if name == "test:///default" else name)


def without_uri(steps: list) -> list:
    """getURI answers the URI the client opened (libvirt does too): compare the rest."""
    return [(s[0], s[1], *s[3:]) if s[0] == "type" else s for s in steps]


def assert_same_steps(got: list, want: list) -> None:
    """Step by step, naming the first that differs; the URI aside."""
    for have, should in zip(without_uri(got), without_uri(want)):
        assert have == should, f"step {should[0]!r}"
    assert len(got) == len(want)
