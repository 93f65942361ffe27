"""One load-test client process: THREADS threads, each with its own real
libvirt-python connection to pyvirtd, making CALLS calls in a fixed mix and
checking every reply against the expected values. Prints one JSON line:
{"calls": N, "errors": N, "wrong": N, "first": "..."}.

Usage: python load_client.py URI THREADS CALLS EXPECTED_JSON
"""

from __future__ import annotations

import json
import sys
import threading

import libvirt  # the real binding: the point of the load test


def worker(uri: str, calls: int, expected: dict, out: dict, lock: threading.Lock) -> None:
    done = errors = wrong = 0
    first = ""
    conn = None
    try:
        conn = libvirt.open(uri)
        for i in range(calls):
            kind = i % 5
            try:
                if kind == 0:
                    ok = conn.getVersion() == expected["version"]
                elif kind == 1:
                    ok = sorted(d.name() for d in conn.listAllDomains()) == expected["names"]
                elif kind == 2:
                    ok = conn.lookupByName("test").UUIDString() == expected["uuid"]
                elif kind == 3:
                    ok = conn.lookupByName("test").XMLDesc() == expected["xml"]
                else:
                    ok = conn.lookupByName("test").info()[:4] == expected["info"]
                done += 1
                if not ok:
                    wrong += 1
                    first = first or f"wrong reply to call kind {kind}"
            except libvirt.libvirtError as err:
                errors += 1
                first = first or f"{err.get_error_code()}: {err}"
    except libvirt.libvirtError as err:
        errors += 1
        first = first or f"open: {err}"
    finally:
        if conn is not None:
            conn.close()
    with lock:
        out["calls"] += done
        out["errors"] += errors
        out["wrong"] += wrong
        out["first"] = out["first"] or first


def main() -> None:
    uri, threads, calls, expected = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
        json.loads(sys.argv[4])
    out = {"calls": 0, "errors": 0, "wrong": 0, "first": ""}
    lock = threading.Lock()
    workers = [threading.Thread(target=worker, args=(uri, calls, expected, out, lock))
               for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
