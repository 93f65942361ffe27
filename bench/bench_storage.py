"""Storage benchmark: 1000 small volumes created, listed and deleted, and a 1 GiB upload.

pyvirt runs in this process (the public API over the storage driver in a tmp
dir); real libvirt runs the same workload through python3-libvirt against a
session libvirtd started for an unprivileged user (needs root to create that
user; the baseline is skipped, with a note, when that cannot be done). A plain
write of the same bytes to a file (with fsync, as our upload does) gives the
disk's own speed. Each upload starts after ``sync``; these machines share their
disk, so run it twice and read the figures with care.

    .venv/bin/python bench/bench_storage.py [--volumes 1000] [--upload-mib 1024]
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyvirt as libvirt
from pyvirt.api import _registry
from pyvirt.drivers.base import DriverConnection, register_driver
from pyvirt.drivers.storage import open_storage

BENCH_USER = "pyvirtbench"
CHUNK = 1 << 20

# The workload, run by both sides: plain libvirt-python calls on a connection `conn`.
WORKLOAD = r'''
import os, sys, time, json
def run(conn, base, nvol, upload_mib):
    out = {}
    pool = conn.storagePoolCreateXML(
        "<pool type='dir'><name>benchpool</name><target><path>%s</path></target></pool>"
        % base, 1)
    try:
        t = time.perf_counter()
        for i in range(nvol):
            pool.createXML("<volume><name>v%d.img</name><capacity>4096</capacity>"
                           "<allocation>0</allocation></volume>" % i, 0)
        out["create"] = time.perf_counter() - t
        t = time.perf_counter()
        vols = pool.listAllVolumes(0)
        out["list"] = time.perf_counter() - t
        assert len(vols) == nvol
        t = time.perf_counter()
        for vol in vols:
            vol.delete(0)
        out["delete"] = time.perf_counter() - t
        if upload_mib:
            vol = pool.createXML("<volume><name>big.img</name><capacity unit='M'>%d"
                                 "</capacity><allocation>0</allocation></volume>" % upload_mib, 0)
            block = os.urandom(1 << 20)
            stream = conn.newStream(0)
            os.sync()                       # start from clean page cache
            t = time.perf_counter()
            vol.upload(stream, 0, 0, 0)
            for _ in range(upload_mib):
                stream.send(block)
            stream.finish()
            out["upload"] = time.perf_counter() - t
            vol.delete(0)
    finally:
        pool.destroy()
    return out
'''


class _BenchDriver:
    name = "storagebench"

    def open(self, uri: Any, flags: int, readonly: bool) -> DriverConnection | None:
        if getattr(uri, "driver", None) != "storagebench":
            return None
        root = Path(uri.path)
        return DriverConnection(str(uri), storage=open_storage(root / "etc", root / "run"))


def run_ours(base: Path, nvol: int, upload_mib: int) -> dict[str, float]:
    _registry.load_drivers()
    register_driver(_BenchDriver())
    scope: dict[str, Any] = {}
    exec(WORKLOAD, scope)  # noqa: S102 - our own workload text, shared with the baseline
    conn = libvirt.open(f"storagebench://{base / 'state'}")
    try:
        return scope["run"](conn, str(base / "pool"), nvol, upload_mib)
    finally:
        conn.close()


def _ensure_user(home: Path) -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(BENCH_USER)
    except KeyError:
        made = subprocess.run(["useradd", "-M", "-d", str(home), "-s", "/bin/sh", BENCH_USER],
                              capture_output=True)
        if made.returncode != 0:
            return None
    return BENCH_USER


def run_libvirt(base: Path, nvol: int, upload_mib: int) -> dict[str, float] | str:
    """The same workload on real libvirt (a session libvirtd as an unprivileged user)."""
    if not Path("/usr/bin/python3").exists() or shutil.which("libvirtd") is None:
        return "libvirtd or /usr/bin/python3 missing"
    home = base / "home"
    user = _ensure_user(home)
    if user is None:
        return "cannot create the unprivileged user a session libvirtd needs (run as root)"
    (home / "run").mkdir(parents=True, exist_ok=True)
    shutil.chown(home, user)
    shutil.chown(home / "run", user)
    os.chmod(home / "run", 0o700)
    for folder in (base.parent, base):
        os.chmod(folder, 0o755)
    script = WORKLOAD + (
        "\nimport libvirt\nc = libvirt.open('qemu:///session')\n"
        f"print(json.dumps(run(c, {str(home / 'pool')!r}, {nvol}, {upload_mib})))\n")
    env = f"HOME={home} XDG_RUNTIME_DIR={home / 'run'} XDG_CONFIG_HOME={home / 'config'} " \
          f"XDG_CACHE_HOME={home / 'cache'} XDG_DATA_HOME={home / 'data'}"
    done = subprocess.run(["su", user, "-s", "/bin/sh", "-c",
                           f"cd {home} && env {env} /usr/bin/python3 -"],
                          input=script, capture_output=True, text=True, timeout=1200)
    _stop_session_daemon(home / "run" / "libvirt" / "libvirtd.pid")
    if done.returncode != 0:
        return f"real libvirt run failed: {done.stderr.strip()[-400:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def _stop_session_daemon(pidfile: Path) -> None:
    """Stop the session libvirtd our run auto-started (by its pid file, nothing else)."""
    try:
        pid = int(pidfile.read_text().strip())
        os.kill(pid, signal.SIGTERM)
    except (OSError, ValueError):
        pass


def disk_write_speed(base: Path, mib: int) -> float:
    """Seconds to write ``mib`` MiB of non-zero data to a file and fsync it."""
    block = os.urandom(CHUNK)
    path = base / "dd.img"
    os.sync()
    start = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for _ in range(mib):
            os.write(fd, block)
        os.fsync(fd)
    finally:
        os.close(fd)
    elapsed = time.perf_counter() - start
    path.unlink()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--volumes", type=int, default=1000)
    parser.add_argument("--upload-mib", type=int, default=1024)
    parser.add_argument("--no-libvirt", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-storage-") as tmp:
        base = Path(tmp)
        disk = disk_write_speed(base, args.upload_mib) if args.upload_mib else None
        ours = run_ours(base / "ours", args.volumes, args.upload_mib)
        theirs = "skipped" if args.no_libvirt else run_libvirt(base / "real", args.volumes,
                                                               args.upload_mib)
    print(f"storage: {args.volumes} volumes, {args.upload_mib} MiB upload")
    for key, label in (("create", f"create {args.volumes} vols"), ("list", "listAllVolumes"),
                       ("delete", f"delete {args.volumes} vols"), ("upload", "upload")):
        if key not in ours:
            continue
        line = f"  {label}: pyvirt {ours[key] * 1e3:.1f} ms"
        if isinstance(theirs, dict) and key in theirs:
            line += f", libvirt {theirs[key] * 1e3:.1f} ms, ratio {ours[key] / theirs[key]:.2f}x"
        if key == "upload" and disk:
            mib = args.upload_mib
            line += (f" ({mib / ours[key]:.0f} MiB/s; disk write {mib / disk:.0f} MiB/s"
                     + (f"; libvirt {mib / theirs[key]:.0f} MiB/s" if isinstance(theirs, dict)
                        else "") + ")")
        print(line)
    if not isinstance(theirs, dict):
        print(f"  libvirt baseline: {theirs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
