"""Real peers for the daemon's end-to-end tests.

* :func:`sshd_serving`: Debian's sshd in a network namespace the test makes (a
  veth pair gives it an address), a throwaway host key and client key, root
  login by key only; a daemon socket directory appears at ``/run/libvirt``
  inside sshd's own mount namespace, so the real client's ``driver+ssh://``
  reaches it through Debian's ``virt-ssh-helper`` (or ``nc``).
* :class:`QemuSystemDaemon`: pyvirtd as a process of its own serving
  ``qemu:///system`` with every file under a test root (the
  ``PYVIRT_QEMU_TEST_SYSTEM_ROOT`` hook), stopped by SIGTERM or SIGKILL and
  started again on the same root; its QEMUs are found (and killed at the end)
  through the status files, never by name.
* :class:`ConsoleUnderPty`: the real ``virsh console`` with a pty as its terminal.
* :func:`tiny_guest` and :func:`guest_xml`: the tiny TCG test guest.

Everything these start is stopped by pid, and the namespace (with its veth
pair) removed, on every path.
"""

from __future__ import annotations

import itertools
import os
import pty
import select
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from process_fixture import kill_recorded_qemus, stop_process
from process_fixture import wait_for  # noqa: F401 - the ssh tests import it from here
from pyvirt.drivers.qemu import state_dir

REPO = Path(__file__).resolve().parents[2]
VIRSH = shutil.which("virsh")
SSH_TOOLS = ("/usr/sbin/sshd", "ssh", "ssh-keygen", "ip", "unshare", "virsh")
SSH_PORT = 2222
_SERIAL = itertools.count(1)


def missing_ssh_tools() -> str | None:
    """Why an sshd test cannot run here (None: it can)."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, sshd)"
    absent = [tool for tool in SSH_TOOLS if shutil.which(tool) is None]
    if absent:
        return ("needs openssh-server, openssh-client, iproute2, util-linux and virsh "
                f"(missing: {', '.join(absent)})")
    return None


def _run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=30)


def _wait_port(addr: str, port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((addr, port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"sshd never listened on {addr}:{port}")


@dataclass
class SshHost:
    """The sshd a test reaches: its address, the client key and a PATH whose
    ``ssh`` keeps host keys in the test's directory."""

    addr: str
    port: int
    key: Path
    known_hosts: Path
    bin_dir: Path

    def uri(self, driver: str, path: str) -> str:
        return (f"{driver}+ssh://root@{self.addr}:{self.port}{path}?keyfile={self.key}"
                f"&no_verify=1")

    def env(self) -> dict[str, str]:
        return dict(os.environ, PATH=f"{self.bin_dir}:{os.environ['PATH']}")


def _stop(proc: subprocess.Popen | None) -> None:
    if proc is not None:
        stop_process(proc, grace=10)


@contextmanager
def sshd_serving(tmp: Path, socket_dir: Path, multiplex: bool = False,
                 helper: Path | None = None) -> Iterator[SshHost]:
    """sshd in a fresh network namespace, ``socket_dir`` seen at /run/libvirt;
    ``multiplex``: the client's ssh runs share one connection (ControlMaster);
    ``helper``: a program the sessions see as /usr/bin/virt-ssh-helper."""
    serial = next(_SERIAL)
    tag = f"{os.getpid() % 10000}{serial}"
    ns, host_if, ns_if = f"pyvirt-ssh-{tag}", f"pvsh{tag}", f"pvsn{tag}"
    subnet = (os.getpid() + 17 * serial) % 250 + 1
    host_addr, ns_addr = f"10.251.{subnet}.1", f"10.251.{subnet}.2"
    keys = tmp / f"ssh{serial}"
    keys.mkdir()
    _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / "host_key"))
    _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / "client_key"))
    shutil.copy(keys / "client_key.pub", keys / "authorized_keys")
    (keys / "sshd_config").write_text(
        f"Port {SSH_PORT}\nListenAddress {ns_addr}\nHostKey {keys}/host_key\n"
        f"PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
        f"KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nUsePAM no\n"
        f"StrictModes no\nAuthorizedKeysFile {keys}/authorized_keys\n"
        f"PidFile {keys}/sshd.pid\nSubsystem sftp internal-sftp\n")
    sshd = None
    try:
        _run("ip", "netns", "add", ns)
        _run("ip", "link", "add", host_if, "type", "veth", "peer", "name", ns_if)
        _run("ip", "link", "set", ns_if, "netns", ns)
        _run("ip", "addr", "add", f"{host_addr}/30", "dev", host_if)
        _run("ip", "link", "set", host_if, "up")
        _run("ip", "netns", "exec", ns, "ip", "addr", "add", f"{ns_addr}/30", "dev", ns_if)
        _run("ip", "netns", "exec", ns, "ip", "link", "set", ns_if, "up")
        _run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
        os.makedirs("/run/sshd", exist_ok=True)
        os.makedirs("/run/libvirt", exist_ok=True)
        # sshd (and the sessions it starts) see the daemon's sockets at libvirtd's path
        mounts = f"mount --bind {socket_dir} /run/libvirt && "
        if helper is not None:
            mounts += f"mount --bind {helper} /usr/bin/virt-ssh-helper && "
        script = f"{mounts}exec /usr/sbin/sshd -D -e -f {keys}/sshd_config"
        with open(keys / "sshd.log", "wb") as log:
            sshd = subprocess.Popen(["ip", "netns", "exec", ns, "unshare", "--mount",
                                     "--propagation", "private", "sh", "-c", script],
                                    stderr=log)
        _wait_port(ns_addr, SSH_PORT)
        bin_dir = keys / "bin"
        bin_dir.mkdir()
        # the system ssh client, told to keep host keys here and to share one
        # connection between the virsh runs (a master that ends with sshd)
        control = f"-o ControlMaster=auto -o ControlPath={keys}/control -o ControlPersist=120"
        (bin_dir / "ssh").write_text(
            f"#!/bin/sh\nexec {shutil.which('ssh')} -o UserKnownHostsFile={keys}/known_hosts "
            f"{control if multiplex else ''} \"$@\"\n")
        (bin_dir / "ssh").chmod(0o755)
        yield SshHost(addr=ns_addr, port=SSH_PORT, key=keys / "client_key",
                      known_hosts=keys / "known_hosts", bin_dir=bin_dir)
    finally:
        if multiplex:
            try:
                subprocess.run(["ssh", "-o", f"ControlPath={keys}/control", "-O", "exit",
                                f"root@{ns_addr}"], capture_output=True, timeout=30)
            except subprocess.TimeoutExpired:
                pass            # the master ends anyway when sshd goes
        _stop(sshd)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
        subprocess.run(["ip", "link", "del", host_if], capture_output=True, timeout=30)


# --- pyvirtd serving qemu:///system under a test root ------------------------------------
class QemuSystemDaemon:
    """``pyvirtd`` (a process of its own) on a unix socket in ``folder``, its
    ``qemu:///system`` state under ``folder/root``; QEMU runs as root there
    (``root/etc/qemu.conf``), so no file needs relabelling for a test."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.root = folder / "root"
        (self.root / "etc").mkdir(parents=True, exist_ok=True)
        (self.root / "etc" / "qemu.conf").write_text('user = "root"\ngroup = "root"\n')
        self.config = folder / "pyvirtd.conf"
        self.config.write_text(f'listen_tcp = 0\nlisten_tls = 0\nunix_sock_dir = "{folder}"\n')
        self.socket = folder / "libvirt-sock"
        self.uri = f"qemu+unix:///system?socket={self.socket}"
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def dirs(self) -> state_dir.StateDirs:
        return state_dir.dirs_for_root(self.root)

    def start(self) -> "QemuSystemDaemon":
        self.starts += 1
        env = {**os.environ, state_dir.SYSTEM_ROOT_ENV: str(self.root)}
        with open(self.folder / f"pyvirtd-{self.starts}.log", "wb") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "pyvirt.daemon.main", "-f",
                                          str(self.config)], stdout=log, stderr=log, env=env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"pyvirtd exited with {self.proc.returncode}: "
                                     f"{self.log()[-2000:]}")
            if self._answers():
                return self
            time.sleep(0.05)
        raise AssertionError(f"pyvirtd never listened on {self.socket}")

    def _answers(self) -> bool:
        """The socket accepts (a stale file left by a killed daemon does not)."""
        with socket.socket(socket.AF_UNIX) as sock:
            try:
                sock.connect(str(self.socket))
            except OSError:
                return False
        return True

    def log(self) -> str:
        return (self.folder / f"pyvirtd-{self.starts}.log").read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Signal the daemon and reap it; its exit status."""
        proc, self.proc = self.proc, None
        return 0 if proc is None else stop_process(proc, sig, grace=30)

    def qemu_pids(self) -> dict[str, int]:
        """Domain name -> QEMU pid, from the status files (alive or not)."""
        records, _ = state_dir.load_statuses(self.dirs)
        return {rec.name: rec.pid for rec in records}

    def cleanup(self) -> None:
        """Stop the daemon, then kill every QEMU a status file still names."""
        self.stop(signal.SIGTERM)
        kill_recorded_qemus(self.dirs)

    def virsh(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return run_virsh(self.uri, *args, timeout=timeout, cwd=self.folder)


def process_alive(pid: int, start: int | None = None) -> bool:
    """``pid`` runs (not a zombie) and, with ``start``, is the same process."""
    now = state_dir.process_start_time(pid)
    if now is None or (start and now != start):
        return False
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return False


def run_virsh(uri: str, *args: str, timeout: float = 60, cwd: Path | None = None,
              env: dict[str, str] | None = None,
              readonly: bool = False) -> subprocess.CompletedProcess:
    """The real virsh on ``uri`` (``-r`` with ``readonly``), its output as text."""
    flags = ["-r"] if readonly else []
    return subprocess.run([VIRSH or "virsh", *flags, "-c", uri, *args], capture_output=True,
                          text=True, timeout=timeout, cwd=cwd, env=env,
                          stdin=subprocess.DEVNULL)


# --- the real virsh console under a pty --------------------------------------------------
class ConsoleUnderPty:
    """``virsh -c URI console NAME`` with a pty as its controlling terminal."""

    def __init__(self, uri: str, name: str, *extra: str,
                 env: dict[str, str] | None = None) -> None:
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen([VIRSH or "virsh", "-c", uri, "console", name, *extra],
                                     stdin=slave, stdout=slave, stderr=slave, close_fds=True,
                                     start_new_session=True, env=env)
        os.close(slave)
        self.seen = b""

    def expect(self, want: bytes, timeout: float = 60.0) -> bytes:
        """Read until ``want`` appears after what earlier calls consumed."""
        deadline = time.monotonic() + timeout
        while want not in self.seen and time.monotonic() < deadline:
            ready = select.select([self.master], [], [], 0.2)[0]
            if not ready:
                continue
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                break
            if not chunk:
                break
            self.seen += chunk
        if want not in self.seen:
            raise AssertionError(f"{want!r} never appeared on the console; "
                                 f"seen: {self.seen[-1500:]!r}")
        head, _, self.seen = self.seen.partition(want)
        return head + want

    def type(self, text: bytes) -> None:
        os.write(self.master, text)

    def ask(self, command: str, answer: str, timeout: float = 60.0) -> None:
        """Type a shell line until the guest's shell answers it (the shell may
        not be up yet when the first one arrives)."""
        deadline = time.monotonic() + timeout
        while True:
            self.type(command.encode() + b"\r")
            try:
                self.expect(answer.encode(), timeout=min(5.0, deadline - time.monotonic()))
                return
            except AssertionError:
                if time.monotonic() >= deadline:
                    raise

    def detach(self, timeout: float = 20.0) -> int:
        """Ctrl-] and the exit status of virsh."""
        self.type(b"\x1d")
        return self.proc.wait(timeout)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        try:
            os.close(self.master)
        except OSError:
            pass


# --- the tiny guest ------------------------------------------------------------------------
def tiny_guest() -> dict[str, Path] | None:
    """The tiny test guest (scripts/build-test-guest.sh), None when unavailable."""
    out = REPO / "var" / "guest"
    subprocess.run([str(REPO / "scripts/build-test-guest.sh"), str(out)],
                   capture_output=True, text=True)
    if not (out / "vmlinuz").exists() or not (out / "initrd.gz").exists():
        return None
    return {"kernel": out / "vmlinuz", "initrd": out / "initrd.gz",
            "disk": out / "disk.qcow2"}


def guest_xml(guest: dict[str, Path], name: str, uuid: str, serial: str = "<serial type='pty'/>",
              disk: Path | None = None, vcpus: str = "<vcpu>1</vcpu>") -> str:
    disk_el = ""
    if disk is not None:
        disk_el = (f"<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
                   f"<source file='{disk}'/><target dev='vda' bus='virtio'/></disk>")
    return textwrap.dedent(f"""\
        <domain type='qemu'>
          <name>{name}</name>
          <uuid>{uuid}</uuid>
          <memory unit='MiB'>128</memory>
          {vcpus}
          <os>
            <type arch='x86_64' machine='pc'>hvm</type>
            <kernel>{guest['kernel']}</kernel>
            <initrd>{guest['initrd']}</initrd>
            <cmdline>console=ttyS0 quiet</cmdline>
          </os>
          <features><acpi/></features>
          <devices>
            {disk_el}
            {serial}
            <memballoon model='none'/>
          </devices>
        </domain>
        """)
