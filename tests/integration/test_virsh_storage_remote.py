"""Real virsh 9.0 and pyvirsh moving volume data through pyvirtd.

The daemon serves ``qemu:///system`` with its state under a temporary root
(the ``PYVIRT_QEMU_TEST_SYSTEM_ROOT`` hook), so a dir pool there is real files:
a 100 MiB sparse image goes up with ``vol-upload`` and comes back byte-exact
with ``vol-download``, over the unix socket (the storage issue's done-criterion).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pyvirt.drivers.qemu.state_dir import SYSTEM_ROOT_ENV

VIRSH = shutil.which("virsh")
MiB = 1 << 20

pytestmark = [pytest.mark.realvirsh,
              pytest.mark.skipif(VIRSH is None,
                                 reason="real virsh (libvirt-clients) not installed")]

class Daemon:
    """pyvirtd on a unix socket in ``folder``, qemu:///system rooted in it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        config = folder / "pyvirtd.conf"
        config.write_text(f'listen_tcp = 0\nlisten_tls = 0\nunix_sock_dir = "{folder}"\n')
        env = {**os.environ, SYSTEM_ROOT_ENV: str(folder / "root")}
        self.proc = subprocess.Popen([sys.executable, "-m", "pyvirt.daemon.main", "-f",
                                      str(config)], stderr=subprocess.PIPE, text=True,
                                     env=env)
        self.socket = folder / "libvirt-sock"
        for _ in range(400):
            if self.socket.exists():
                break
            if self.proc.poll() is not None:
                raise RuntimeError(self.proc.stderr.read())
            time.sleep(0.05)
        self.uri = f"qemu+unix:///system?socket={self.socket}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pyvirtd")
    (folder / "pool").mkdir()
    (folder / "dp.xml").write_text(f"<pool type='dir'><name>dp</name><target>"
                                   f"<path>{folder / 'pool'}</path></target></pool>\n")
    served = Daemon(folder)
    yield served
    served.stop()


def virsh(uri: str, line: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([VIRSH, "-c", uri, line], capture_output=True, text=True,
                          timeout=120, cwd=cwd)


def pyvirsh(uri: str, line: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pyvirt.cli.main", "-c", uri, line],
                          capture_output=True, text=True, timeout=120, cwd=cwd)


def sparse_image(path: Path, size: int) -> None:
    with open(path, "wb") as handle:
        handle.truncate(size)
        handle.seek(MiB)
        handle.write(b"hello" * 1000)
        handle.seek(size // 2)
        handle.write(os.urandom(700000))
        handle.seek(size - 4096)
        handle.write(b"end" * 100)


@pytest.fixture(scope="module")
def pool(daemon):
    done = virsh(daemon.uri, "pool-create dp.xml", daemon.folder)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Pool dp created from dp.xml\n\n"
    return daemon


def test_real_virsh_uploads_and_downloads_100mib_sparse_byte_exact(pool, tmp_path):
    src, dst = tmp_path / "src.img", tmp_path / "dst.img"
    sparse_image(src, 100 * MiB)
    line = (f"vol-create-as dp big 100M; vol-upload big {src} --pool dp; "
            f"vol-download big {dst} --pool dp; vol-delete big --pool dp")
    done = virsh(pool.uri, line, tmp_path)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == "Vol big created\n\n\n\nVol big deleted\n\n"
    with open(src, "rb") as a, open(dst, "rb") as b:
        while True:
            left, right = a.read(4 * MiB), b.read(4 * MiB)
            assert left == right
            if not left:
                break


def test_real_virsh_upload_lands_in_the_pool(pool, tmp_path):
    src = tmp_path / "src.img"
    sparse_image(src, 8 * MiB)
    done = virsh(pool.uri, f"vol-create-as dp up 8M; vol-upload up {src} --pool dp", tmp_path)
    assert (done.returncode, done.stderr) == (0, "")
    assert (pool.folder / "pool" / "up").read_bytes() == src.read_bytes()


def test_pyvirsh_transfers_resizes_wipes_and_clones_remotely(pool, tmp_path):
    src, dst = tmp_path / "src.img", tmp_path / "dst.img"
    sparse_image(src, 4 * MiB)
    done = pyvirsh(pool.uri, f"vol-create-as dp pv 4M; vol-upload pv {src} --pool dp; "
                             f"vol-download pv {dst} --pool dp --sparse; "
                             "vol-resize pv 5M --pool dp; vol-clone pv pv2 --pool dp; "
                             "vol-wipe pv2 --pool dp; vol-info pv2 dp --bytes", tmp_path)
    assert (done.returncode, done.stderr) == (0, "")
    assert dst.read_bytes() == src.read_bytes()
    assert "Size of volume 'pv' successfully changed to 5M" in done.stdout
    assert "Vol pv2 cloned from pv\n" in done.stdout and "Vol pv2 wiped\n" in done.stdout
    assert "Capacity:       5242880 bytes\n" in done.stdout
    assert not any((pool.folder / "pool" / "pv2").read_bytes())


def test_real_virsh_sees_the_same_errors(pool, tmp_path):
    done = virsh(pool.uri, "vol-upload nosuch /nonexistent --pool dp; vol-key x --pool nosuch",
                 tmp_path)
    mine = pyvirsh(pool.uri, "vol-upload nosuch /nonexistent --pool dp; "
                             "vol-key x --pool nosuch", tmp_path)
    assert (mine.returncode, mine.stdout, mine.stderr) == (
        done.returncode, done.stdout, done.stderr)
    assert "failed to get vol 'nosuch'" in done.stderr
