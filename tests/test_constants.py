"""pyvirt.constants against the real libvirt-python binding's VIR_* values."""

from __future__ import annotations

import pytest

import pyvirt
from pyvirt import constants


def test_spot_values_without_the_binding():
    assert constants.VIR_DOMAIN_RUNNING == 1
    assert constants.VIR_DOMAIN_SHUTOFF == 5
    assert constants.VIR_CONNECT_RO == 1
    assert constants.VIR_DOMAIN_EVENT_ID_LIFECYCLE == 0
    assert constants.VIR_ERR_NO_DOMAIN == 42 and constants.VIR_FROM_TEST == 12
    assert constants.VIR_WAR_NO_NETWORK == 41
    assert constants.VIR_DOMAIN_SCHEDULER_CPU_SHARES == "cpu_shares"


def test_every_real_constant_exists_with_the_same_value():
    libvirt = pytest.importorskip("libvirt", reason="real libvirt-python not installed")
    real = {k: getattr(libvirt, k) for k in dir(libvirt) if k.startswith("VIR_")}
    assert len(real) > 1000
    missing = sorted(k for k in real if not hasattr(constants, k))
    wrong = sorted(k for k, v in real.items()
                   if hasattr(constants, k) and getattr(constants, k) != v)
    assert missing == [] and wrong == []


def test_package_reexports_every_constant():
    names = [n for n in dir(constants) if n.startswith("VIR_")]
    assert all(getattr(pyvirt, n) == getattr(constants, n) for n in names)
    assert "ERROR_CODES" not in constants.__all__
