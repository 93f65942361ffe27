"""The lead's libvirt-python scenario, run through the remote driver against a
pyvirtd: the same observations as the in-process test driver."""

from __future__ import annotations

import importlib.util
import pathlib
import types

import pytest

import pyvirt

SCENARIO = (pathlib.Path(__file__).parents[2] / "integration"
            / "test_libvirt_python_scenario.py")


def _scenario_module():
    spec = importlib.util.spec_from_file_location("libvirt_python_scenario", SCENARIO)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class RemoteBinding(types.ModuleType):
    """``pyvirt`` with ``test:///default`` opened through ``uri`` instead."""

    def __init__(self, uri: str):
        super().__init__("pyvirt_remote")
        self._uri = uri

    def __getattr__(self, name: str):
        return getattr(pyvirt, name)

    def open(self, name=None):
        return pyvirt.open(self._uri if name == "test:///default" else name)

    def openReadOnly(self, name=None):  # noqa: N802
        return pyvirt.openReadOnly(self._uri if name == "test:///default" else name)


def _without_uri(steps):
    """getURI answers the URI the client opened (libvirt does too): compare the rest."""
    return [(s[0], s[1], *s[3:]) if s[0] == "type" else s for s in steps]


@pytest.mark.parametrize("transport", ["unix", "tcp"])
def test_scenario_matches_local(request, transport):
    uri = request.getfixturevalue(f"{transport}_uri")
    module = _scenario_module()
    local = module.scenario(pyvirt)
    remote = module.scenario(RemoteBinding(uri))
    assert remote[0][2] == uri
    for want, have in zip(_without_uri(local), _without_uri(remote)):
        assert have == want, f"step {want[0]!r}"
    assert len(remote) == len(local)


def test_lifecycle_events_match_local(unix_uri):
    module = _scenario_module()
    local = module.event_scenario(pyvirt)
    remote = module.event_scenario(RemoteBinding(unix_uri))
    assert local
    assert remote == local
