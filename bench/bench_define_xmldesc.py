"""defineXML and XMLDesc throughput on test:///default: pyvirt beside the real
libvirt-python binding, in the same process and run.

    .venv/bin/python bench/bench_define_xmldesc.py [--count N]
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from _timing import report, time_calls  # noqa: E402

DOMAIN_XML = """<domain type='test'>
  <name>{name}</name>
  <uuid>{uuid}</uuid>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type><boot dev='hd'/></os>
  <devices>
    <disk type='file' device='disk'>
      <source file='/var/lib/images/{name}.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='network'><source network='default'/></interface>
  </devices>
</domain>"""


def measure(binding, count: int) -> tuple[list[float], list[float]]:
    conn = binding.open("test:///default")
    names = [f"bench{i}" for i in range(count)]
    docs = [DOMAIN_XML.format(name=n, uuid=uuid.uuid4()) for n in names]
    it = iter(docs)
    define = time_calls(lambda: conn.defineXML(next(it)), count)
    doms = [conn.lookupByName(n) for n in names]
    dit = iter(doms)
    xmldesc = time_calls(lambda: next(dit).XMLDesc(0), count)
    for dom in doms:
        dom.undefine()
    conn.close()
    return define, xmldesc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=500)
    args = parser.parse_args()
    try:
        import libvirt
    except ImportError:
        sys.exit("the real libvirt-python is missing from the venv (scripts/setup.sh installs it)")
    import pyvirt
    ours_define, ours_desc = measure(pyvirt, args.count)
    real_define, real_desc = measure(libvirt, args.count)
    report("defineXML", ours_define, real_define, unit="us")
    report("XMLDesc", ours_desc, real_desc, unit="us")


if __name__ == "__main__":
    main()
