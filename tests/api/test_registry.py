"""Driver modules loaded on the first open (pyvirt.api._registry)."""

from __future__ import annotations

import sys
import types

from pyvirt.api import _registry


def test_absent_module_is_skipped(monkeypatch):
    monkeypatch.setattr(_registry, "DRIVER_MODULES", ["pyvirt.drivers.nosuchdriver"])
    monkeypatch.setattr(_registry, "_loaded", set())
    _registry.load_drivers()
    assert "pyvirt.drivers.nosuchdriver" in _registry._loaded


def test_module_without_register_is_retried_later(monkeypatch):
    module = types.ModuleType("pyvirt_fake_unfinished")
    monkeypatch.setitem(sys.modules, "pyvirt_fake_unfinished", module)
    monkeypatch.setattr(_registry, "DRIVER_MODULES", ["pyvirt_fake_unfinished"])
    monkeypatch.setattr(_registry, "_loaded", set())
    _registry.load_drivers()
    assert "pyvirt_fake_unfinished" not in _registry._loaded
    calls: list[int] = []
    module.register = lambda: calls.append(1)
    _registry.load_drivers()
    _registry.load_drivers()
    assert calls == [1]


def test_default_list_starts_with_the_test_driver():
    assert _registry.DRIVER_MODULES[0] == "pyvirt.drivers.test"
