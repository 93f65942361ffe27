"""Fixtures: a private test:///default world per test, and an event recorder."""

import pytest

from pyvirt.drivers.test.driver import TestDriver
from pyvirt.drivers.test.state import default_state


@pytest.fixture
def conn():
    """A connection onto a fresh copy of test:///default (not the shared one)."""
    connection = TestDriver._connection("test:///default", default_state(), None)
    yield connection
    connection.close()


@pytest.fixture
def hv(conn):
    return conn.hypervisor


@pytest.fixture
def test_ref(hv):
    return hv.domain_lookup_by_name("test")


class Recorder:
    def __init__(self):
        self.events = []

    def __call__(self, event_id, ref, *payload):
        self.events.append((event_id, ref.name, *payload))

    def take(self):
        got, self.events = self.events, []
        return got


@pytest.fixture
def events(hv):
    rec = Recorder()
    for event_id in (0, 1, 15, 19):
        hv.connect_domain_event_register_any(event_id, None, rec)
    return rec


@pytest.fixture(scope="module", autouse=True)
def _fresh_shared_default():
    """Each module starts from libvirt's test:///default, whatever earlier tests left open."""
    from pyvirt.drivers.test.state import SHARED_DEFAULT
    SHARED_DEFAULT.reset_for_tests()
    yield
