"""Real virsh 9.0 and pyvirsh moving volume data through pyvirtd.

The daemon serves ``qemu:///system`` with its state under a temporary root
(the ``PYVIRT_QEMU_TEST_SYSTEM_ROOT`` hook), so a dir pool there is real files:
a 100 MiB sparse image goes up with ``vol-upload`` and comes back byte-exact
with ``vol-download``, over the unix socket (the storage issue's done-criterion).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from process_fixture import stop_process

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
        stop_process(self.proc)


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


def same_bytes(left: Path, right: Path) -> bool:
    """The two files hold the same bytes (read 4 MiB at a time)."""
    with open(left, "rb") as a, open(right, "rb") as b:
        while True:
            one, two = a.read(4 * MiB), b.read(4 * MiB)
            if one != two:
                return False
            if not one:
                return True


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
    assert same_bytes(src, dst)


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


# --- sparse streams (VIR_STORAGE_VOL_*_SPARSE_STREAM, STREAM_HOLE packets) ----------------
def allocated(path: Path) -> int:
    return os.stat(path).st_blocks * 512


def test_real_virsh_sparse_upload_and_download_stay_sparse(pool, tmp_path):
    src, dst = tmp_path / "src.img", tmp_path / "dst.img"
    sparse_image(src, 100 * MiB)
    line = (f"vol-create-as dp sp 100M --allocation 0; vol-upload sp {src} --pool dp --sparse; "
            f"vol-download sp {dst} --pool dp --sparse")
    done = virsh(pool.uri, line, tmp_path)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == "Vol sp created\n\n\n\n"
    volume = pool.folder / "pool" / "sp"
    assert same_bytes(src, volume) and same_bytes(src, dst)
    assert os.path.getsize(dst) == 100 * MiB
    # virsh writes every data byte it receives: only holes on the wire keep dst sparse
    assert allocated(dst) <= allocated(src) + MiB
    assert allocated(volume) <= allocated(src) + MiB
    assert allocated(dst) < 4 * MiB


def test_pyvirsh_sparse_transfers_over_the_remote_driver(pool, tmp_path):
    src, dst = tmp_path / "src.img", tmp_path / "dst.img"
    sparse_image(src, 100 * MiB)
    line = (f"vol-create-as dp ps 100M --allocation 0; vol-upload ps {src} --pool dp --sparse; "
            f"vol-download ps {dst} --pool dp --sparse")
    mine = pyvirsh(pool.uri, line, tmp_path)
    assert (mine.returncode, mine.stderr) == (0, "")
    assert mine.stdout == "Vol ps created\n\n\n\n"
    volume = pool.folder / "pool" / "ps"
    assert same_bytes(src, volume) and same_bytes(src, dst)
    assert allocated(dst) < 4 * MiB and allocated(volume) < 4 * MiB


REAL_BINDING_SPARSE = r"""
import os, sys
import libvirt
assert libvirt.__file__ and "pyvirt" not in libvirt.__file__
conn = libvirt.open(sys.argv[1])
vol = conn.storagePoolLookupByName("dp").storageVolLookupByName(sys.argv[2])
stream = conn.newStream(0)
vol.download(stream, 0, 0, libvirt.VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM)
fd = os.open(sys.argv[3], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
holes = []
def data(st, buf, fd):
    return os.write(fd, buf)
def hole(st, length, fd):
    holes.append(length)
    cur = os.lseek(fd, length, os.SEEK_CUR)
    return os.ftruncate(fd, cur)
stream.sparseRecvAll(data, hole, fd)
stream.finish()
os.close(fd)
print(len(holes), sum(holes))
"""


def test_real_libvirt_python_sparse_recv_all_against_pyvirtd(pool, tmp_path):
    probe = subprocess.run([sys.executable, "-c", "import libvirt"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("the real libvirt-python binding (libvirt module) is not installed")
    src, dst = tmp_path / "src.img", tmp_path / "dst.img"
    sparse_image(src, 100 * MiB)
    done = virsh(pool.uri, f"vol-create-as dp rb 100M --allocation 0; "
                           f"vol-upload rb {src} --pool dp --sparse", tmp_path)
    assert done.returncode == 0, done.stderr
    script = tmp_path / "recv.py"
    script.write_text(REAL_BINDING_SPARSE)
    got = subprocess.run([sys.executable, str(script), pool.uri, "rb", str(dst)],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": ""})
    assert got.returncode == 0, got.stderr
    count, total = map(int, got.stdout.split())
    assert count >= 3 and total > 95 * MiB         # the gaps came as holes
    assert same_bytes(src, dst) and allocated(dst) < 4 * MiB


def test_remote_driver_sends_and_receives_holes(pool, tmp_path):
    import pyvirt
    src = tmp_path / "src.img"
    sparse_image(src, 16 * MiB)
    conn = pyvirt.open(pool.uri)
    try:
        dp = conn.storagePoolLookupByName("dp")
        vol = dp.createXML("<volume><name>rd</name><capacity>16777216</capacity>"
                           "<allocation>0</allocation></volume>")
        up = conn.newStream(0)
        vol.upload(up, 0, 0, pyvirt.VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM)
        with open(src, "rb") as handle:
            head = handle.read(MiB + 5000)
        up.sendHole(MiB)                               # the image's first MiB is a hole
        up.send(head[MiB:])
        up.sendHole(16 * MiB - len(head))
        up.finish()
        volume = pool.folder / "pool" / "rd"
        assert volume.read_bytes() == head + bytes(16 * MiB - len(head))
        assert allocated(volume) < MiB
        down = conn.newStream(0)
        vol.download(down, 0, 0, pyvirt.VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM)
        seen: list = []
        down.sparseRecvAll(lambda st, data, acc: acc.append(len(data)),
                           lambda st, length, acc: acc.append(-length), seen)
        down.finish()
        assert sum(abs(n) for n in seen) == 16 * MiB
        assert seen[0] == -MiB and sum(n for n in seen if n > 0) < 2 * MiB
        vol.delete(0)
    finally:
        conn.close()


HOLE_MISUSE = r"""
import sys
if sys.argv[2] == "real":
    import libvirt
else:
    import pyvirt as libvirt
conn = libvirt.open(sys.argv[1])
vol = conn.storagePoolLookupByName("dp").storageVolLookupByName("hm")
stream = conn.newStream(0)
vol.upload(stream, 0, 0, 0)
for call in (lambda: stream.sendHole(10), lambda: stream.recvHole(),
             lambda: stream.recvFlags(10, 2), lambda: stream.recvHole(1)):
    try:
        print(repr(call()))
    except libvirt.libvirtError as err:
        print(err.get_error_code(), err.get_error_domain(), err)
print("abort", stream.abort())
"""


def test_hole_misuse_answers_as_the_real_binding(pool, tmp_path):
    probe = subprocess.run([sys.executable, "-c", "import libvirt"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("the real libvirt-python binding (libvirt module) is not installed")
    done = virsh(pool.uri, "vol-create-as dp hm 1M", tmp_path)
    assert done.returncode == 0, done.stderr
    script = tmp_path / "misuse.py"
    script.write_text(HOLE_MISUSE)
    answers = [subprocess.run([sys.executable, str(script), pool.uri, which],
                              capture_output=True, text=True, timeout=60, cwd=tmp_path)
               for which in ("real", "pyvirt")]
    assert all(a.returncode == 0 for a in answers), [a.stderr for a in answers]
    assert answers[0].stdout == answers[1].stdout
    assert "Skipping is not supported with this stream" in answers[0].stdout
    assert answers[0].stdout.endswith("abort 0\n")          # the daemon confirmed the abort
