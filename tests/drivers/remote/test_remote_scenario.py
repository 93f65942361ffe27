"""The lead's libvirt-python scenario, run through the remote driver against a
pyvirtd: the same observations as the in-process test driver."""

from __future__ import annotations

import pytest
from scenario_through import ThroughURI, assert_same_steps, scenario_module

import pyvirt


@pytest.mark.parametrize("transport", ["unix", "tcp"])
def test_scenario_matches_local(request, transport):
    uri = request.getfixturevalue(f"{transport}_uri")
    module = scenario_module()
    local = module.scenario(pyvirt)
    remote = module.scenario(ThroughURI(uri))
    assert remote[0][2] == uri
    assert_same_steps(remote, local)


def test_lifecycle_events_match_local(unix_uri):
    module = scenario_module()
    local = module.event_scenario(pyvirt)
    remote = module.event_scenario(ThroughURI(unix_uri))
    assert local
    assert remote == local
