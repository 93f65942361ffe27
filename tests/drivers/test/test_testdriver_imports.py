"""Opening test:///default loads no rarely used module (fast pyvirsh start-up)."""

from __future__ import annotations

import subprocess
import sys

RARELY_USED = (
    "pyvirt.conf.network_update",      # virNetworkUpdate only
    "pyvirt.drivers.test.netupdate",
    "pyvirt.drivers.test.nodefile",    # test:///PATH.xml only
    "socket",                          # getHostname only
    "random",                          # generated uuids and MACs only
    "traceback",                       # a failing event callback only
    "logging",                         # warnings only
)

PROBE = """
import sys, pyvirt, pyvirt.drivers.test
conn = pyvirt.open("test:///default")
for dom in conn.listAllDomains(0):
    dom.XMLDesc(0)
conn.close()
print(" ".join(name for name in sys.argv[1:] if name in sys.modules))
"""


def test_open_and_dumpxml_leave_rarely_used_modules_unloaded() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE, *RARELY_USED],
                          capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.split() == []


def test_node_file_loader_still_loads_on_demand(tmp_path) -> None:
    import pyvirt
    node = tmp_path / "node.xml"
    node.write_text("<node><domain type='test'><name>nf</name><memory>65536</memory>"
                    "<os><type>hvm</type></os></domain></node>")
    conn = pyvirt.open(f"test://{node}")
    try:
        assert [d.name() for d in conn.listAllDomains(0)] == ["nf"]
    finally:
        conn.close()
