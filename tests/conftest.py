"""Suite-wide fixtures."""

import pytest


@pytest.fixture(scope="module", autouse=True)
def _fresh_shared_default():
    """Each test module starts from libvirt's test:///default objects, whatever an
    earlier module left open (test:///default is shared by one process's connections)."""
    from pyvirt.drivers.test.state import SHARED_DEFAULT
    SHARED_DEFAULT.reset_for_tests()
    yield
