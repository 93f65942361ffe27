"""pool-dumpxml of defined pools, against real libvirt 9.0's output for the same input
(``virsh pool-define-as`` / ``pool-dumpxml`` of a session libvirtd; uuids normalised)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pyvirt.drivers.storage import open_storage

DATA = Path(__file__).parent / "data"
DEFINED = {
    "pf": "<pool type='dir'><name>pf</name><target><path>/tmp/rlhome/afile</path>"
          "</target></pool>",
    "pn": "<pool type='netfs'><name>pn</name><source><host name='127.0.0.1'/><dir "
          "path='/export'/><format type='nfs'/></source><target><path>/tmp/rlhome/nfs</path>"
          "</target></pool>",
    "pfs": "<pool type='fs'><name>pfs</name><source><device path='/tmp/rlhome/fs.img'/>"
           "</source><target><path>/tmp/rlhome/fsmnt</path></target></pool>",
    "plv": "<pool type='logical'><name>plv</name><source><device path='/dev/loop7'/>"
           "<name>vgx</name></source><target><path>/dev/vgx</path></target></pool>",
}


@pytest.mark.parametrize("name", sorted(DEFINED))
def test_inactive_pool_xml_as_libvirt(tmp_path: Path, name: str) -> None:
    drv = open_storage(tmp_path / "etc", tmp_path / "run")
    try:
        ref = drv.storage_pool_define_xml(DEFINED[name])
        ours = drv.storage_pool_get_xml_desc(ref)
    finally:
        drv.connect_close()
    real = (DATA / f"pool-{name}-inactive-libvirt9.xml").read_text()
    uuid = re.compile(r"<uuid>[^<]+</uuid>")
    assert uuid.sub("<uuid/>", ours) == uuid.sub("<uuid/>", real)
