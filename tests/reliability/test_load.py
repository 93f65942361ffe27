"""Load test: 100 concurrent real libvirt-python clients x 1000 calls each against
pyvirtd over unix (getVersion, listAllDomains, lookupByName, XMLDesc, getInfo on
test:///default), twice; every reply checked, daemon RSS measured before, after
the first round and after the second ("memory flat": the second round grows it
by less than ``FLAT_MIB``).

Sizes: ``PYVIRT_LOAD_CLIENTS`` (100), ``PYVIRT_LOAD_CALLS`` (1000 per client),
``PYVIRT_LOAD_PROCS`` (4 client processes sharing the threads).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .pyvirtd_proc import PyvirtdProcess

libvirt = pytest.importorskip("libvirt", reason="the real libvirt-python binding is not "
                                                "installed (pip install libvirt-python)")

CLIENT = Path(__file__).with_name("load_client.py")
FLAT_MIB = 8.0


def _expected(uri: str) -> dict:
    conn = libvirt.open(uri)
    try:
        dom = conn.lookupByName("test")
        return {"version": conn.getVersion(),
                "names": sorted(d.name() for d in conn.listAllDomains()),
                "uuid": dom.UUIDString(), "xml": dom.XMLDesc(), "info": dom.info()[:4]}
    finally:
        conn.close()


def _round(uri: str, clients: int, calls: int, procs: int, expected: dict) -> dict:
    """All clients at once, spread over ``procs`` processes; the summed results."""
    per_proc = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
    running = [subprocess.Popen([sys.executable, str(CLIENT), uri, str(n), str(calls),
                                 json.dumps(expected)], stdout=subprocess.PIPE, text=True)
               for n in per_proc if n]
    total = {"calls": 0, "errors": 0, "wrong": 0, "first": ""}
    for proc in running:
        out, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, f"load client exited {proc.returncode}"
        result = json.loads(out.strip().splitlines()[-1])
        for key in ("calls", "errors", "wrong"):
            total[key] += result[key]
        total["first"] = total["first"] or result["first"]
    return total


def test_load_100_clients_x_1000_calls(tmp_path, capsys) -> None:
    clients = int(os.environ.get("PYVIRT_LOAD_CLIENTS", "100"))
    calls = int(os.environ.get("PYVIRT_LOAD_CALLS", "1000"))
    procs = int(os.environ.get("PYVIRT_LOAD_PROCS", "4"))
    daemon = PyvirtdProcess(tmp_path).start()
    try:
        uri = f"test+unix:///default?socket={daemon.socket}"
        expected = _expected(uri)
        rss = [daemon.rss_mib()]
        started = time.monotonic()
        first = _round(uri, clients, calls, procs, expected)
        first_s = time.monotonic() - started
        rss.append(daemon.rss_mib())
        second = _round(uri, clients, calls, procs, expected)
        rss.append(daemon.rss_mib())
        assert daemon.alive()
    finally:
        daemon.stop()
    served = first["calls"] + first["errors"]
    line = (f"load: {served} calls served, {first['errors'] + first['wrong']} errors, "
            f"RSS {rss[0]:.1f}→{rss[1]:.1f}→{rss[2]:.1f} MiB "
            f"({clients} clients x {calls} calls, {served / first_s:.0f} calls/s; second "
            f"round {second['calls']} calls, {second['errors'] + second['wrong']} errors)")
    with capsys.disabled():
        print("\n" + line)
    assert first["errors"] == first["wrong"] == 0, first["first"]
    assert second["errors"] == second["wrong"] == 0, second["first"]
    assert first["calls"] == second["calls"] == clients * calls
    assert rss[2] - rss[1] < FLAT_MIB, line
