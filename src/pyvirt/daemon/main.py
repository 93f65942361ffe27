"""``pyvirtd``: command line, logging, pid file, daemonizing, signals.

Started like libvirtd: ``pyvirtd [--listen] [-f CONFIG] [-d] [-p PIDFILE]
[-t TIMEOUT] [-v]``. SIGTERM and SIGINT stop it cleanly: listeners close,
clients are disconnected, sockets and pid file are removed; guests are not
touched.

Start-up cost is what a client waits for: the event loop, the server and the
protocol table are imported by :func:`main` (not by importing this module, so
``--help`` answers at once), with the cyclic collector off until the daemon
listens; what start-up made lives as long as the daemon, so it is frozen out
of every later collection (``gc.freeze``).
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    import asyncio

    from pyvirt.daemon.config import DaemonConfig
    from pyvirt.daemon.server import Daemon

log = logging.getLogger("pyvirtd")

VERSION = "9.0.0"

_DESCRIPTION = """\
pyvirtd: the pyvirt management daemon, speaking libvirt's remote protocol.
Real virsh, libvirt-python and other libvirt clients connect to it unchanged
(test+unix:///default?socket=..., test+tcp://host:port/default,
test+tls://host/default?pkipath=DIR, qemu:///system).
"""

_EPILOG = """\
Sockets: read-write  $unix_sock_dir/libvirt-sock (perms unix_sock_rw_perms),
         read-only   $unix_sock_dir/libvirt-sock-ro (mutating calls are denied),
         TCP         listen_addr:tcp_port with --listen and listen_tcp = 1
                     (auth_tcp = "none" only: unauthenticated, unencrypted),
         TLS         listen_addr:tls_port with --listen and listen_tls = 1
                     (client certificates from ca_file, tls_allowed_dn_list).
Logins: auth_unix_rw / auth_unix_ro / auth_tls = "sasl" asks for a SCRAM-SHA-256
user name and password (verifiers in sasl_passwd_file, made by pyvirt-saslpasswd).
unix_sock_dir defaults to /run/libvirt for root, $XDG_RUNTIME_DIR/libvirt otherwise.
Config keys read from libvirtd.conf are listed in docs/daemon.md; keys not acted on
are logged at start.
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    # argparse makes a formatter to check each option it is given, and a formatter
    # measures the terminal (importing shutil, bz2, lzma): a fixed width while declaring
    parser = argparse.ArgumentParser(prog="pyvirtd", description=_DESCRIPTION, epilog=_EPILOG,
                                     formatter_class=_declaring_formatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("-d", "--daemon", action="store_true",
                        help="run in the background (fork and detach)")
    parser.add_argument("-l", "--listen", action="store_true",
                        help="listen for TCP/IP connections (as listen_tcp/listen_tls say)")
    parser.add_argument("-t", "--timeout", type=int, default=0, metavar="SECONDS",
                        help="exit after SECONDS without clients (0: never)")
    parser.add_argument("-f", "--config", metavar="FILE", help="libvirtd.conf-style config file")
    parser.add_argument("-p", "--pid-file", metavar="FILE", help="write the daemon's pid here")
    parser.add_argument("-V", "--version", action="version", version=f"pyvirtd (pyvirt) {VERSION}")
    parser.formatter_class = argparse.RawDescriptionHelpFormatter   # help and errors: measured
    return parser.parse_args(argv)


def _declaring_formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, width=80)


def setup_logging(config: DaemonConfig, verbose: bool) -> None:
    level = logging.DEBUG if verbose else {1: logging.DEBUG, 2: logging.INFO,
                                           3: logging.WARNING, 4: logging.ERROR}.get(
        config.log_level, logging.WARNING)
    handler: logging.Handler = logging.StreamHandler(sys.stderr)
    for output in config.log_outputs.split():
        parts = output.split(":", 2)        # "LEVEL:file:PATH" or "LEVEL:stderr"
        if len(parts) == 3 and parts[1] == "file":
            handler = logging.FileHandler(parts[2])
    handler.setFormatter(logging.Formatter(
        "%(asctime)s.%(msecs)03d+0000: %(process)d: %(levelname)s : %(name)s: %(message)s",
        "%Y-%m-%d %H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def daemonize() -> None:
    """Classic double fork; stdio to /dev/null."""
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)


def write_pidfile(path: str) -> None:
    with open(path, "w", encoding="ascii") as handle:
        handle.write(f"{os.getpid()}\n")


async def serve(config: DaemonConfig, listen: bool, timeout: int,
                ready: "asyncio.Future[Daemon] | None" = None,
                listening: Callable[[], None] | None = None) -> None:
    """Run a daemon until it is stopped; ``listening()`` is called once it listens."""
    import asyncio
    import signal

    from pyvirt.daemon.server import Daemon

    daemon = Daemon(config, listen=listen, timeout=timeout)
    loop = asyncio.get_running_loop()
    # a SIGTERM that comes while the sockets are being bound (a client may already see
    # one) is kept and acted on once start() is over, never the default kill
    early: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, early.append, sig)
    await daemon.start()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, daemon.request_stop)
    if early:
        daemon.request_stop()
    if listening is not None:
        listening()
    if ready is not None:
        ready.set_result(daemon)
    await daemon.run_until_stopped()


def _collect_from_now_on() -> None:
    """Start-up is over: what it made stays for the daemon's life, so later
    collections need not scan it; the collector runs again from here. (The few
    cycles start-up dropped, ~50 KiB of argparse and dataclass leftovers, stay
    too: collecting them first would cost a full collection, ~4 ms, right when
    the first client is waiting.)"""
    gc.freeze()
    gc.enable()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # start-up makes tens of thousands of long-lived objects: collecting them
    # on the way is wasted time (the collector runs again once the daemon listens)
    gc.disable()
    try:
        return _run(args)
    finally:
        gc.enable()


def _run(args: argparse.Namespace) -> int:
    import asyncio

    from pyvirt.daemon.config import load_config
    from pyvirt.errors import libvirtError

    try:
        config = load_config(args.config)
    except libvirtError as err:
        print(f"pyvirtd: error: Can't load config file: {err}: {args.config}", file=sys.stderr)
        return 1
    setup_logging(config, args.verbose)
    for note in config.notes:
        log.warning("%s", note)
    if args.daemon:
        daemonize()
    if args.pid_file:
        write_pidfile(args.pid_file)
    try:
        asyncio.run(serve(config, args.listen, args.timeout, listening=_collect_from_now_on))
    except OSError as err:
        log.error("cannot start: %s", err)
        return 1
    finally:
        if args.pid_file:
            try:
                os.unlink(args.pid_file)
            except FileNotFoundError:
                pass
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
