"""pyvirtd imports a driver on the first CONNECT_OPEN it may serve, not at start:
a daemon serving test:///default never loads the QEMU or LXC drivers."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from pyvirt import uri
from pyvirt.daemon import main            # what pyvirtd imports to start
loaded_at_start = sorted(m for m in sys.modules if m.startswith("pyvirt.drivers."))
from pyvirt.daemon.server import open_on_demand
conn = open_on_demand(uri.parse("test:///default"))
print(conn.hypervisor.connect_get_type())
print(any(m.startswith("pyvirt.drivers.test.") for m in loaded_at_start))
print(any(m.startswith(("pyvirt.drivers.qemu.", "pyvirt.drivers.lxc.")) for m in sys.modules))
print("pyroute2" in sys.modules)
"""


def test_opening_test_default_loads_only_the_test_driver():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         timeout=60, check=True).stdout.split()
    assert out == ["TEST", "False", "False", "False"]
