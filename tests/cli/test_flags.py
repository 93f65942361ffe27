"""The option -> flag-bit primitives every command shares (pyvirt.cli.flags)."""

from __future__ import annotations

import io
import types

import pytest

from pyvirt.cli.ctl import CommandFailed, Ctl
from pyvirt.cli.flags import affect_flags, list_flags, option_flags
from pyvirt.cli.parser import Invocation

LV = types.SimpleNamespace(X_ACTIVE=1, X_INACTIVE=2, X_PERSISTENT=4, X_TRANSIENT=8,
                           VIR_DOMAIN_AFFECT_LIVE=1, VIR_DOMAIN_AFFECT_CONFIG=2)
CTL = Ctl(LV, out=io.StringIO(), err=io.StringIO())


def given(*names: str) -> Invocation:
    """The options given, as the parser binds them (the command is not consulted)."""
    return Invocation(None, {name: True for name in names})


def test_option_flags_ors_the_constants_of_the_given_options_only():
    pairs = (("persistent", "PERSISTENT"), ("transient", "TRANSIENT"))
    assert option_flags(CTL, given(), "X_", pairs) == 0
    assert option_flags(CTL, given("transient"), "X_", pairs) == 8
    assert option_flags(CTL, given("persistent", "transient", "other"), "X_", pairs) == 12


@pytest.mark.parametrize("names, want", [
    ((), 1),                          # active only by default
    (("inactive",), 2),
    (("all",), 3),
    (("inactive", "persistent"), 6),
    (("persistent",), 5),             # a filter alone keeps the active default
])
def test_list_flags_defaults_to_active_and_adds_filters(names, want):
    assert list_flags(CTL, given(*names), "X_", (("persistent", "PERSISTENT"),)) == want


def test_affect_flags_maps_config_live_and_persistent():
    assert affect_flags(CTL, given()) == 0
    assert affect_flags(CTL, given("config", "live")) == 3
    assert affect_flags(CTL, given("persistent")) == 2
    assert affect_flags(CTL, given("current")) == 0


def test_affect_flags_current_excludes_live_then_config():
    with pytest.raises(CommandFailed) as failed:
        affect_flags(CTL, given("current", "config", "live"))
    assert failed.value.lines() == ["Options --current and --live are mutually exclusive"]
