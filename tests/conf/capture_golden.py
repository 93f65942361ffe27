#!/usr/bin/python3
"""Capture golden files from the real libvirt (python3-libvirt, Debian's libvirt 9.0).

    /usr/bin/python3 tests/conf/capture_golden.py            # every input
    /usr/bin/python3 tests/conf/capture_golden.py NAME ...   # only these

For each ``tests/data/conf/domain/NAME.xml`` it defines the document on a fresh
``test:///default`` connection and writes ``virsh dumpxml NAME --inactive``'s
text to ``NAME.out.xml``. For each ``tests/data/conf/domain/errors/NAME.xml``
it writes the refusal (code, domain, message) to ``errors.json``.
For ``tests/data/conf/snapshot/NAME.xml`` it creates the snapshot on the test
driver's ``test`` domain and writes ``snapshot-dumpxml`` to ``NAME.out.xml``.
These outputs are facts about libvirt; the tests compare pyvirt against them.
"""

import json
import pathlib
import sys

import libvirt

DATA = pathlib.Path(__file__).resolve().parent.parent / "data" / "conf"
libvirt.registerErrorHandler(lambda *_a: None, None)


def domain_outputs(only):
    for path in sorted((DATA / "domain").glob("*.xml")):
        if path.name.endswith(".out.xml") or (only and path.stem not in only):
            continue
        conn = libvirt.open("test:///default")
        dom = conn.defineXML(path.read_text())
        out = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
        path.with_suffix(".out.xml").write_text(out if out.endswith("\n") else out + "\n")
        dom.undefine()
        conn.close()
        print("wrote", path.with_suffix(".out.xml").name)


def domain_errors():
    results = {}
    for path in sorted((DATA / "domain" / "errors").glob("*.xml")):
        conn = libvirt.open("test:///default")
        try:
            conn.defineXML(path.read_text())
            results[path.stem] = None
        except libvirt.libvirtError as err:
            results[path.stem] = [err.get_error_code(), err.get_error_domain(),
                                  err.get_error_message()]
        conn.close()
    (DATA / "domain" / "errors" / "errors.json").write_text(
        json.dumps(results, indent=1, sort_keys=True) + "\n")
    print("wrote errors.json:", len(results))


def snapshot_outputs(only):
    for path in sorted((DATA / "snapshot").glob("*.xml")):
        if path.name.endswith(".out.xml") or (only and path.stem not in only):
            continue
        conn = libvirt.open("test:///default")
        dom = conn.lookupByName("test")
        # child-*.xml: taken while snapshot 'base' is current, so it has a parent
        base = dom.snapshotCreateXML("<domainsnapshot><name>base</name></domainsnapshot>") \
            if path.stem.startswith("child") else None
        snap = dom.snapshotCreateXML(path.read_text())
        out = snap.getXMLDesc()
        path.with_suffix(".out.xml").write_text(out if out.endswith("\n") else out + "\n")
        snap.delete()
        if base is not None:
            base.delete()
        conn.close()
        print("wrote", path.with_suffix(".out.xml").name)


if __name__ == "__main__":
    only = set(sys.argv[1:])
    domain_outputs(only)
    if (DATA / "domain" / "errors").is_dir():
        domain_errors()
    snapshot_outputs(only)
