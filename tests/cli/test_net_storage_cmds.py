"""pyvirsh's network and storage commands in-process, on drivers that really do the
work: a dir pool on ``qemu:///embed?root=TMP`` for upload, download, resize, wipe,
clone (the test driver answers "not supported" there); helpers unit by unit."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from pyvirt.cli import binding, commands  # noqa: F401 - registers the commands
from pyvirt.cli.ctl import CommandFailed, Ctl
from pyvirt.cli.shell import run_line
from pyvirt.cli.volume import clone_xml
from pyvirt.cli.volxfer import Progress, _number, _SparseSink

MiB = 1 << 20


def make_ctl(uri: str) -> Ctl:
    return Ctl(binding.load(), uri=uri, out=io.StringIO(), err=io.StringIO())


def run(ctl: Ctl, line: str) -> tuple[bool, str, str]:
    ctl.out.seek(0), ctl.out.truncate()
    ctl.err.seek(0), ctl.err.truncate()
    ok = run_line(ctl, line)
    return ok, ctl.out.getvalue(), ctl.err.getvalue()


@pytest.fixture
def embed(tmp_path: Path):
    """A started dir pool ``dp`` on an embedded qemu driver rooted in tmp_path."""
    pool_dir = tmp_path / "pool"
    pool_dir.mkdir()
    xml = tmp_path / "dp.xml"
    xml.write_text(f"<pool type='dir'><name>dp</name><target><path>{pool_dir}</path>"
                   "</target></pool>\n")
    ctl = make_ctl(f"qemu:///embed?root={tmp_path}/root")
    ok, out, err = run(ctl, f"pool-create {xml}")
    assert ok, err
    assert out == f"Pool dp created from {xml}\n\n"
    yield ctl, tmp_path, pool_dir
    run(ctl, "pool-destroy dp")
    ctl.close()


def sparse_file(path: Path, size: int) -> None:
    with open(path, "wb") as handle:
        handle.truncate(size)
        handle.seek(MiB)
        handle.write(b"data" * 1000)
        handle.seek(size - 70000)
        handle.write(os.urandom(70000))


def test_upload_then_download_sparse_file_byte_exact(embed):
    ctl, tmp, _ = embed
    src, dst = tmp / "src.img", tmp / "dst.img"
    sparse_file(src, 8 * MiB)
    assert run(ctl, "vol-create-as dp v1 8M")[0]
    ok, out, err = run(ctl, f"vol-upload v1 {src} --pool dp")
    assert (ok, out, err) == (True, "\n", "")
    ok, out, err = run(ctl, f"vol-download v1 {dst} --pool dp --sparse")
    assert (ok, err) == (True, "")
    assert dst.read_bytes() == src.read_bytes()
    # zero runs came back as holes, not written blocks
    assert os.stat(dst).st_blocks * 512 < 2 * MiB


def test_download_with_offset_and_length(embed):
    ctl, tmp, _ = embed
    src, dst = tmp / "src.img", tmp / "part.img"
    sparse_file(src, 2 * MiB)
    assert run(ctl, "vol-create-as dp v1 2M")[0]
    assert run(ctl, f"vol-upload v1 {src} --pool dp")[0]
    assert run(ctl, f"vol-download v1 {dst} --pool dp --offset {MiB} --length 4000")[0]
    assert dst.read_bytes() == b"data" * 1000


def test_failed_download_removes_the_file_it_created(embed):
    ctl, tmp, _ = embed
    ok, _, err = run(ctl, f"vol-download nosuch {tmp}/x.img --pool dp")
    assert not ok and "failed to get vol 'nosuch'" in err
    assert not (tmp / "x.img").exists()


def test_upload_of_missing_file(embed):
    ctl, tmp, _ = embed
    assert run(ctl, "vol-create-as dp v1 1M")[0]
    ok, _, err = run(ctl, f"vol-upload v1 {tmp}/missing --pool dp")
    assert (ok, err) == (False, f"error: cannot read {tmp}/missing\n")


def test_resize_grow_delta_and_shrink(embed):
    ctl, _, pool_dir = embed
    assert run(ctl, "vol-create-as dp v1 1M")[0]
    ok, out, _ = run(ctl, "vol-resize v1 4M --pool dp")
    assert ok and out == "Size of volume 'v1' successfully changed to 4M\n\n"
    assert os.path.getsize(pool_dir / "v1") == 4 * MiB
    ok, out, _ = run(ctl, "vol-resize v1 1M --pool dp --delta")
    assert ok and out == "Size of volume 'v1' successfully changed by 1M\n\n"
    assert os.path.getsize(pool_dir / "v1") == 5 * MiB
    ok, _, err = run(ctl, "vol-resize v1 -2M --pool dp")
    assert not ok and err == "error: negative size requires --shrink\n"
    assert run(ctl, "vol-resize v1 -2M --pool dp --shrink")[0]
    assert os.path.getsize(pool_dir / "v1") == 3 * MiB
    ok, out, _ = run(ctl, "vol-info v1 dp --bytes")
    assert "Capacity:       3145728 bytes\n" in out


def test_wipe_zeroes_the_volume(embed):
    ctl, tmp, pool_dir = embed
    src = tmp / "src.img"
    sparse_file(src, MiB + 8192)
    assert run(ctl, f"vol-create-as dp v1 {MiB + 8192}")[0]
    assert run(ctl, f"vol-upload v1 {src} --pool dp")[0]
    ok, out, _ = run(ctl, "vol-wipe v1 --pool dp")
    assert ok and out == "Vol v1 wiped\n\n"
    assert not any((pool_dir / "v1").read_bytes())
    ok, _, err = run(ctl, "vol-wipe v1 --pool dp --algorithm bogus")
    assert not ok and err == "error: Unsupported algorithm 'bogus'\n"


def test_clone_copies_the_data(embed):
    ctl, tmp, pool_dir = embed
    src = tmp / "src.img"
    sparse_file(src, 2 * MiB)
    assert run(ctl, "vol-create-as dp v1 2M")[0]
    assert run(ctl, f"vol-upload v1 {src} --pool dp")[0]
    ok, out, _ = run(ctl, "vol-clone v1 v2 --pool dp")
    assert ok and out == "Vol v2 cloned from v1\n\n"
    assert (pool_dir / "v2").read_bytes() == src.read_bytes()
    ok, out, _ = run(ctl, f"vol-key v2 --pool dp; vol-path v2 --pool dp; "
                          f"vol-name {pool_dir}/v2; vol-pool {pool_dir}/v2")
    assert out == f"{pool_dir}/v2\n\n{pool_dir}/v2\n\nv2\n\ndp\n\n"


def test_pool_refresh_sees_new_files(embed):
    ctl, _, pool_dir = embed
    (pool_dir / "outside.img").write_bytes(b"x" * 512)
    ok, out, _ = run(ctl, "pool-refresh dp; vol-list dp")
    assert ok and out.startswith("Pool dp refreshed\n\n") and "outside.img" in out


def test_net_and_pool_uuid_name_on_test_driver():
    ctl = make_ctl("test:///default")
    ok, out, _ = run(ctl, "net-uuid default; pool-name dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566")
    assert ok and out == "dd8fe884-6c02-601e-7551-cca97df1c5df\n\ndefault-pool\n\n"
    ok, _, err = run(ctl, "net-name default")
    assert not ok and err == "error: failed to get network 'default'\n"
    ctl.close()


def test_edit_commands_redefine(monkeypatch, tmp_path):
    ctl = make_ctl("test:///default")
    monkeypatch.setenv("VISUAL", "sed -i s/virbr0/virbr9/")
    ok, out, _ = run(ctl, "net-edit default; net-dumpxml default")
    assert ok and out.startswith("Network default XML configuration edited.\n")
    monkeypatch.setenv("VISUAL", "true")
    ok, out, _ = run(ctl, "pool-edit default-pool")
    assert ok and out == "Pool default-pool XML configuration not changed.\n\n"
    ctl.close()


def test_net_and_pool_events_print_lifecycle(monkeypatch):
    from pyvirt.cli import objevent

    ctl = make_ctl("test:///default")
    ctl.connect()

    class Trigger(objevent.EventWaiter):
        """Causes the events once the command has registered and waits."""

        def __init__(self, *args) -> None:
            super().__init__(*args)
            real_wait = self.done.wait

            def wait(timeout):
                ctl.conn.networkLookupByName("default").destroy()
                ctl.conn.storagePoolLookupByName("default-pool").refresh(0)
                return real_wait(timeout)
            self.done.wait = wait

    monkeypatch.setattr(objevent, "EventWaiter", Trigger)
    ok, out, _ = run(ctl, "net-event --event lifecycle --timeout 10")
    assert ok and out == ("event 'lifecycle' for network default: Stopped\n"
                          "events received: 1\n\n")
    ok, out, _ = run(ctl, "pool-event default-pool --event refresh --timeout 10")
    assert ok and out == ("event 'refresh' for storage pool default-pool\n"
                          "events received: 1\n\n")
    ctl.close()


# --- helpers ---------------------------------------------------------------------------
def test_clone_xml_renames_and_serialises_like_libxml2():
    xml = "<volume type='file'>\n  <name>a</name>\n  <key>/p/a</key>\n</volume>\n"
    assert clone_xml(xml, "b") == ('<volume type="file">\n  <name>b</name>\n'
                                   '  <key>/p/a</key>\n</volume>')


class _Opts:
    def __init__(self, **values: str) -> None:
        self.values = values

    def get(self, name: str) -> str | None:
        return self.values.get(name)


@pytest.mark.parametrize("text, wrap, value", [
    ("12", False, 12), (" 7", False, 7), ("-1", True, (1 << 64) - 1),
    ("18446744073709551615", False, (1 << 64) - 1),
])
def test_number_parses_like_strtoull(text, wrap, value):
    assert _number(_Opts(n=text), "n", wrap=wrap) == value


@pytest.mark.parametrize("text", ["x", "0x5", "-1", "18446744073709551616", "1.5"])
def test_number_rejects_like_virsh(text):
    with pytest.raises(CommandFailed) as err:
        _number(_Opts(offset=text), "offset")
    assert err.value.message == (f"Numeric value '{text}' for <offset> option is malformed "
                                 "or out of range")


def test_sparse_sink_turns_zero_blocks_into_holes(tmp_path):
    ctl = make_ctl("test:///default")
    path = tmp_path / "out"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    sink = _SparseSink(fd, Progress(ctl, "Download", 0))
    sink.write(None, bytes(MiB) + b"tail", None)
    sink.hole(None, 4096, None)
    sink.close_at_end()
    os.close(fd)
    assert path.read_bytes() == bytes(MiB) + b"tail" + bytes(4096)
    assert os.stat(path).st_blocks * 512 < MiB


def test_progress_only_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    ctl = Ctl(binding.load(), out=io.StringIO(), err=Tty())
    bar = Progress(ctl, "Upload", 200)
    bar.advance(100)
    bar.advance(100)
    bar.end()
    assert ctl.err.getvalue() == "\rUpload: [ 50 %]\rUpload: [100 %]\n"
    quiet = make_ctl("test:///default")
    Progress(quiet, "Upload", 200).advance(200)
    assert quiet.err.getvalue() == ""
