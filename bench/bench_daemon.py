"""pyvirtd against the real libvirtd 9.0, both driven by the real python3-libvirt
client (``import libvirt``), both serving ``test:///default`` on a unix socket,
in one run:

* cheap-call round trip (``getVersion``): median and p99;
* ``defineXML`` + ``undefine`` per operation;
* ``listAllDomains`` with 1000 defined domains;
* connection open (+ close) time;
* daemon RSS idle and with 1000 domains;
* 50 concurrent clients (one connection and thread each) doing lookups: calls/s.

Each line prints pyvirtd, libvirtd and the ratio pyvirtd/libvirtd (for calls/s,
libvirtd/pyvirtd, so above 1 always means pyvirtd is slower). The daemons run
as separate processes started here and stopped by their pid. Run as root
(libvirtd wants it): ``.venv/bin/python bench/bench_daemon.py [--quick]``.
Packages: libvirt-daemon (Debian), libvirt-python 9.0.0 in the venv.
"""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import libvirt  # the real binding: the client for both daemons

REPO = Path(__file__).resolve().parent.parent
QUICK = "--quick" in sys.argv
N_DOMAINS = 1000
DOMAIN = ("<domain type='test'><name>{name}</name><memory>8192</memory>"
          "<os><type>hvm</type></os></domain>")

libvirt.registerErrorHandler(lambda *_: None, None)


class Daemon:
    """One daemon process serving test:///default on a unix socket in ``root``."""

    def __init__(self, kind: str, root: Path):
        self.kind, self.root = kind, root
        self.sock_dir = root / "run"
        self.socket = self.sock_dir / "libvirt-sock"
        self.proc: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        return f"test+unix:///default?socket={self.socket}"

    def start(self) -> float:
        """Start it; seconds until it answered the first call."""
        conf = self.root / "daemon.conf"
        self.sock_dir.mkdir(parents=True, exist_ok=True)
        conf.write_text(f'unix_sock_dir = "{self.sock_dir}"\nlisten_tls = 0\nlisten_tcp = 0\n'
                        'max_clients = 5000\nmax_workers = 20\nmax_client_requests = 5\n'
                        'audit_logging = 0\n'
                        'log_level = 4\n')
        pid_file = self.root / "daemon.pid"
        if self.kind == "pyvirtd":
            argv = [sys.executable, "-m", "pyvirt.daemon.main", "-f", str(conf), "-p",
                    str(pid_file)]
        else:
            argv = [shutil.which("libvirtd") or "/usr/sbin/libvirtd", "-f", str(conf), "-p",
                    str(pid_file)]
            if shutil.which("unshare"):
                # a private /run/libvirt: another libvirtd on the machine holds the
                # state drivers' pid files there (unshare and sh exec: same pid)
                os.makedirs("/run/libvirt", exist_ok=True)
                argv = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                        'mount -t tmpfs tmpfs /run/libvirt && exec "$0" "$@"'] + argv
        env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
        started = time.perf_counter()
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                     stderr=open(self.root / "daemon.log", "wb"), env=env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited: "
                                   f"{(self.root / 'daemon.log').read_text()[-2000:]}")
            try:
                libvirt.open(self.uri).close()
                return time.perf_counter() - started
            except libvirt.libvirtError:
                time.sleep(0.01)
        raise RuntimeError(f"{self.kind} did not answer in 30 s")

    def rss_mib(self) -> float:
        with open(f"/proc/{self.proc.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def timed(fn, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def measure(daemon: Daemon) -> dict[str, float]:
    out: dict[str, float] = {}
    out["first answer s"] = daemon.start()
    time.sleep(0.3)
    keeper = libvirt.open(daemon.uri)        # keeps test:///default alive between steps
    out["rss idle MiB"] = daemon.rss_mib()

    conn = libvirt.open(daemon.uri)
    for _ in range(200):
        conn.getVersion()
    rtt = timed(conn.getVersion, 500 if QUICK else 3000)
    out["getVersion median us"] = statistics.median(rtt) * 1e6
    out["getVersion p99 us"] = p99(rtt) * 1e6

    counter = iter(range(10 ** 9))

    def define_undefine() -> None:
        conn.defineXML(DOMAIN.format(name=f"d{next(counter)}")).undefine()
    out["define+undefine ms"] = statistics.median(
        timed(define_undefine, 100 if QUICK else 500)) * 1e3

    out["open+close ms"] = statistics.median(
        timed(lambda: libvirt.open(daemon.uri).close(), 20 if QUICK else 100)) * 1e3

    for i in range(N_DOMAINS):
        conn.defineXML(DOMAIN.format(name=f"bulk{i:04d}"))
    assert len(conn.listAllDomains(0)) == N_DOMAINS + 1
    out["listAllDomains(1000) ms"] = statistics.median(
        timed(lambda: conn.listAllDomains(0), 10 if QUICK else 30)) * 1e3
    time.sleep(0.2)
    out["rss 1000 domains MiB"] = daemon.rss_mib()
    for dom in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_INACTIVE):
        dom.undefine()

    out["50 clients calls/s"] = concurrent_clients(daemon.uri, 50, 40 if QUICK else 200)
    conn.close()
    keeper.close()
    return out


def concurrent_clients(uri: str, clients: int, calls: int) -> float:
    """``clients`` connections, one thread each, ``calls`` lookups each: calls per second."""
    conns = [libvirt.open(uri) for _ in range(clients)]
    barrier = threading.Barrier(clients + 1)
    errors: list[BaseException] = []

    def work(conn) -> None:
        barrier.wait()
        try:
            for _ in range(calls):
                conn.lookupByName("test").info()
        except BaseException as err:   # reported below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(c,)) for c in conns]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    for conn in conns:
        conn.close()
    if errors:
        raise errors[0]
    return clients * calls * 2 / elapsed


def main() -> int:
    if shutil.which("libvirtd") is None and not os.path.exists("/usr/sbin/libvirtd"):
        print("libvirtd not installed: apt-get install libvirt-daemon", file=sys.stderr)
        return 1
    results: dict[str, dict[str, float]] = {}
    for kind in ("pyvirtd", "libvirtd"):
        root = Path(tempfile.mkdtemp(prefix=f"bench-{kind}-"))
        daemon = Daemon(kind, root)
        try:
            results[kind] = measure(daemon)
        finally:
            daemon.stop()
            shutil.rmtree(root, ignore_errors=True)
    print(f"{'measure':28} {'pyvirtd':>12} {'libvirtd':>12} {'ratio':>8}")
    for key, ours in results["pyvirtd"].items():
        theirs = results["libvirtd"][key]
        ratio = theirs / ours if key.endswith("/s") else ours / theirs
        print(f"{key:28} {ours:12.3f} {theirs:12.3f} {ratio:7.2f}x")
    print("ratio: pyvirtd/libvirtd for times and sizes, libvirtd/pyvirtd for calls/s "
          "(above 1 = pyvirtd slower or bigger)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
