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
side by side as separate processes started here and stopped by their pid; each
measure takes its samples in alternating rounds (pyvirtd, libvirtd, pyvirtd...)
so that a change in the machine's load falls on both alike. Run as root
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


class Subject:
    """One started daemon and the client connections the measures use."""

    def __init__(self, daemon: Daemon):
        self.daemon = daemon
        self.first_answer = daemon.start()
        self.keeper = libvirt.open(daemon.uri)   # keeps test:///default alive between steps
        self.conn = libvirt.open(daemon.uri)
        self.counter = iter(range(10 ** 9))

    def close(self) -> None:
        self.conn.close()
        self.keeper.close()


def rounds(subjects: dict[str, Subject], measure, count: int) -> dict[str, list[float]]:
    """``measure(subject)`` for each daemon in turn, ``count`` times over (so a
    change of the machine's load falls on both alike); every sample kept."""
    samples: dict[str, list[float]] = {kind: [] for kind in subjects}
    for _ in range(count):
        for kind, subject in subjects.items():
            samples[kind].extend(measure(subject))
    return samples


def measure_all(subjects: dict[str, Subject]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {kind: {} for kind in subjects}

    def put(key: str, values: dict[str, float]) -> None:
        for kind, value in values.items():
            out[kind][key] = value

    put("first answer s", {k: s.first_answer for k, s in subjects.items()})
    time.sleep(0.3)
    put("rss idle MiB", {k: s.daemon.rss_mib() for k, s in subjects.items()})
    for subject in subjects.values():
        for _ in range(200):
            subject.conn.getVersion()
    n_rounds = 3 if QUICK else 6

    rtt = rounds(subjects, lambda s: timed(s.conn.getVersion, 500 if QUICK else 1000),
                 n_rounds)
    put("getVersion median us", {k: statistics.median(v) * 1e6 for k, v in rtt.items()})
    put("getVersion p99 us", {k: p99(v) * 1e6 for k, v in rtt.items()})

    def define_undefine(subject: Subject) -> list[float]:
        def once() -> None:
            name = f"d{next(subject.counter)}"
            subject.conn.defineXML(DOMAIN.format(name=name)).undefine()
        return timed(once, 50 if QUICK else 100)
    defines = rounds(subjects, define_undefine, n_rounds)
    put("define+undefine ms", {k: statistics.median(v) * 1e3 for k, v in defines.items()})

    opens = rounds(subjects, lambda s: timed(lambda: libvirt.open(s.daemon.uri).close(),
                                             10 if QUICK else 20), n_rounds)
    put("open+close ms", {k: statistics.median(v) * 1e3 for k, v in opens.items()})

    for subject in subjects.values():
        for i in range(N_DOMAINS):
            subject.conn.defineXML(DOMAIN.format(name=f"bulk{i:04d}"))
        assert len(subject.conn.listAllDomains(0)) == N_DOMAINS + 1
    lists = rounds(subjects, lambda s: timed(lambda: s.conn.listAllDomains(0),
                                             5 if QUICK else 10), n_rounds)
    put("listAllDomains(1000) ms", {k: statistics.median(v) * 1e3 for k, v in lists.items()})
    time.sleep(0.2)
    put("rss 1000 domains MiB", {k: s.daemon.rss_mib() for k, s in subjects.items()})
    for subject in subjects.values():
        for dom in subject.conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_INACTIVE):
            dom.undefine()

    rates = rounds(subjects, lambda s: [concurrent_clients(s.daemon.uri, 50,
                                                           40 if QUICK else 100)],
                   n_rounds)
    put("50 clients calls/s", {k: statistics.median(v) for k, v in rates.items()})
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
    # an installed package has its bytecode; with PYTHONDONTWRITEBYTECODE=1 (or stale
    # __pycache__ files) every pyvirtd start would compile the changed modules again
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "src")],
                   check=True, stdout=subprocess.DEVNULL)
    roots = {kind: Path(tempfile.mkdtemp(prefix=f"bench-{kind}-"))
             for kind in ("pyvirtd", "libvirtd")}
    daemons = {kind: Daemon(kind, root) for kind, root in roots.items()}
    subjects: dict[str, Subject] = {}
    try:
        for kind, daemon in daemons.items():
            subjects[kind] = Subject(daemon)
        results = measure_all(subjects)
    finally:
        for subject in subjects.values():
            subject.close()
        for daemon in daemons.values():
            daemon.stop()
        for root in roots.values():
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
