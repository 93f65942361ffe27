"""qemu-img argv builders and its JSON parser (pure: no qemu-img run here)."""

from __future__ import annotations

import pytest

from pyvirt.errors import VIR_ERR_INTERNAL_ERROR, libvirtError
from pyvirt.storage import qemu_img

# `qemu-img info --output=json -U o.qcow2` (QEMU 7.2), an overlay on a qcow2 backing file.
OVERLAY_INFO = """{
    "backing-filename-format": "qcow2",
    "virtual-size": 1048576,
    "filename": "o.qcow2",
    "cluster-size": 65536,
    "format": "qcow2",
    "actual-size": 200704,
    "format-specific": {"type": "qcow2", "data": {"compat": "1.1",
        "compression-type": "zlib", "lazy-refcounts": false, "refcount-bits": 16,
        "corrupt": false, "extended-l2": false}},
    "full-backing-filename": "/tmp/b.qcow2",
    "backing-filename": "/tmp/b.qcow2",
    "dirty-flag": false
}"""

RAW_INFO = '{"virtual-size": 10485760, "filename": "a.img", "format": "raw", ' \
           '"actual-size": 4096, "dirty-flag": false}'


def test_create_argv_plain_qcow2() -> None:
    assert qemu_img.create_argv("/p/v.qcow2", "qcow2", 1048576, compat="1.1") == \
        ["qemu-img", "create", "-f", "qcow2", "-o", "compat=1.1", "/p/v.qcow2", "1048576"]


def test_create_argv_thin_clone_names_backing_format() -> None:
    argv = qemu_img.create_argv("/p/o.qcow2", "qcow2", 5, backing="/p/b.img",
                                backing_fmt="raw")
    assert argv[4:8] == ["-b", "/p/b.img", "-F", "raw"]


def test_create_argv_backing_format_defaults_to_raw() -> None:
    argv = qemu_img.create_argv("/o", "qcow2", 5, backing="/b")
    assert argv[argv.index("-F") + 1] == "raw"


def test_create_argv_options_in_order_with_commas_escaped() -> None:
    argv = qemu_img.create_argv("/o", "qcow2", 5, preallocation="metadata", compat="1.1",
                                lazy_refcounts=True, cluster_size=65536)
    assert argv[argv.index("-o") + 1] == \
        "preallocation=metadata,compat=1.1,lazy_refcounts=on,cluster_size=65536"
    assert qemu_img._options({"a": "x,y", "flag": None}) == ["-o", "a=x,,y,flag"]


def test_info_argv_is_json_and_force_share() -> None:
    assert qemu_img.info_argv("/v") == ["qemu-img", "info", "--output=json", "-U", "/v"]
    assert qemu_img.info_argv("/v", "raw", force_share=False) == \
        ["qemu-img", "info", "--output=json", "-f", "raw", "/v"]


def test_convert_argv_full_copy() -> None:
    assert qemu_img.convert_argv("/a", "qcow2", "/b", "raw") == \
        ["qemu-img", "convert", "-f", "qcow2", "-O", "raw", "/a", "/b"]
    argv = qemu_img.convert_argv("/a", "raw", "/b", "qcow2", preallocation="metadata",
                                 progress=True)
    assert "-p" in argv and argv[-4:] == ["-o", "preallocation=metadata", "/a", "/b"]


def test_convert_argv_into_existing_target_takes_no_options() -> None:
    argv = qemu_img.convert_argv("/a", "raw", "/b", "raw", target_exists=True, compat="1.1")
    assert "-n" in argv and "-o" not in argv


def test_resize_argv() -> None:
    assert qemu_img.resize_argv("/v", "qcow2", 100) == \
        ["qemu-img", "resize", "-f", "qcow2", "/v", "100"]
    assert qemu_img.resize_argv("/v", "raw", 1, shrink=True, preallocation="falloc") == \
        ["qemu-img", "resize", "-f", "raw", "--shrink", "--preallocation=falloc", "/v", "1"]


def test_parse_info_overlay() -> None:
    info = qemu_img.parse_info(OVERLAY_INFO)
    assert (info.format, info.virtual_size, info.actual_size) == ("qcow2", 1048576, 200704)
    assert info.backing_path == "/tmp/b.qcow2"
    assert info.backing_format == "qcow2"
    assert info.cluster_size == 65536 and info.compat == "1.1"
    assert not info.dirty and not info.encrypted and not info.lazy_refcounts


def test_parse_info_raw_has_no_backing() -> None:
    info = qemu_img.parse_info(RAW_INFO)
    assert info.format == "raw" and info.backing_path is None and info.compat is None


def test_parse_info_backing_chain_takes_the_top_image() -> None:
    assert qemu_img.parse_info(f"[{OVERLAY_INFO}, {RAW_INFO}]").format == "qcow2"


@pytest.mark.parametrize("text", ["not json", "{}", '{"format": "raw"}', "[]"])
def test_parse_info_rejects_garbage(text: str) -> None:
    with pytest.raises(libvirtError) as err:
        qemu_img.parse_info(text)
    assert err.value.get_error_code() == VIR_ERR_INTERNAL_ERROR
