"""Pure helpers behind schedinfo/memtune/blkiotune and the device/CPU views."""

from __future__ import annotations

import pytest

import pyvirt.cli.commands  # noqa: F401 - registers the command groups first

from pyvirt.cli.devstats import affinity, blkstat_lines, cpu_list
from pyvirt.cli.tuning import (MEMORY_PARAM_UNLIMITED, memtune_size, param_lines,
                               parse_scheduler_value, typed_value)


@pytest.mark.parametrize("kind,text,value", [
    ("uint", "10", 10), ("uint", "-1", 2**32 - 1), ("llong", "-5", -5),
    ("ullong", "18446744073709551615", 2**64 - 1), ("int", "-2147483648", -2**31),
    ("boolean", "TRUE", True), ("boolean", "0", False), ("double", "1.5", 1.5),
    ("string", "a,b", "a,b"),
])
def test_scheduler_values_parse_like_virtypedparamsaddfromstring(kind, text, value):
    assert parse_scheduler_value("f", kind, text) == value


@pytest.mark.parametrize("kind,text,word", [
    ("uint", "abc", "expected unsigned int"), ("uint", "4294967296", "expected unsigned int"),
    ("int", "2147483648", "expected int"), ("llong", "1.5", "expected long long"),
    ("double", "x", "expected double"),
])
def test_bad_scheduler_values_name_the_expected_type(kind, text, word):
    with pytest.raises(ValueError) as info:
        parse_scheduler_value("weight", kind, text)
    assert str(info.value) == f"Invalid value for field 'weight': {word}"


def test_bad_boolean_message():
    with pytest.raises(ValueError, match="Invalid boolean value for field 'x'"):
        parse_scheduler_value("x", "boolean", "maybe")


@pytest.mark.parametrize("text,kib", [
    ("1024", 1024), ("1G", 1048576), ("1GB", 976563), ("512M", 524288), ("1b", 1),
    ("-1", MEMORY_PARAM_UNLIMITED), ("0", 0)])
def test_memtune_sizes_in_kib(text, kib):
    assert memtune_size(text) == kib


@pytest.mark.parametrize("text", ["abc", "1Q", "", "99999999999999999999"])
def test_memtune_bad_sizes(text):
    with pytest.raises(ValueError):
        memtune_size(text)


def test_param_lines_pad_names_and_print_unlimited():
    text = param_lines({"hard_limit": MEMORY_PARAM_UNLIMITED, "swap_hard_limit": 5,
                        "enabled": True, "ratio": 0.5}, unlimited=True)
    assert text == ("hard_limit     : unlimited\nswap_hard_limit: 5\n"
                    "enabled        : yes\nratio          : 0.500000\n")
    assert typed_value("") == ""


def test_cpu_lists_and_affinity():
    cpus = [True, True, True, False, True, False, True, True]
    assert cpu_list(cpus) == "0-2,4,6-7"
    assert affinity(cpus, False) == "yyy-y-yy"
    assert affinity(cpus, True) == "0-2,4,6-7 (out of 8)"


def test_blkstat_known_fields_first_with_legacy_names_then_the_rest():
    stats = {"flush_operations": 3, "rd_operations": 1, "rd_bytes": -1, "wr_bytes": 7,
             "custom": 9}
    assert blkstat_lines("vda", stats, False) == (
        "vda rd_req 1\nvda wr_bytes 7\nvda flush_operations 3\nvda custom 9\n")
    human = blkstat_lines("vda", {"errs": 2}, True)
    assert human == "Device: vda\n error count:                    2\n"
