"""Fixtures for the API tests: the fake driver, registered once."""

from __future__ import annotations

import pytest

import pyvirt
from pyvirt.api import _lasterror

from . import fakedriver

fakedriver.register()


@pytest.fixture
def conn():
    c = pyvirt.open("fake:///default")
    yield c
    if not c._closed:
        c.close()


@pytest.fixture
def state(conn):
    return conn._drv.extra["state"]


@pytest.fixture
def ro():
    c = pyvirt.openReadOnly("fake:///default")
    yield c
    c.close()


@pytest.fixture(autouse=True)
def _no_error_handler():
    yield
    _lasterror.set_handler(None, None)
    _lasterror.reset_last_error()


@pytest.fixture(scope="module", autouse=True)
def _fresh_shared_default():
    """Each module starts from libvirt's test:///default, whatever earlier tests left open."""
    from pyvirt.drivers.test.state import SHARED_DEFAULT
    SHARED_DEFAULT.reset_for_tests()
    yield
