"""virsh's table, tree and size layouts."""

from __future__ import annotations

from pyvirt.cli.table import format_table, format_tree, pretty_capacity


def test_table_pads_columns_and_rules_header():
    text = format_table(["Id", "Name", "State"], [["1", "test", "running"]])
    assert text == (" Id   Name   State\n"
                    "----------------------\n"
                    " 1    test   running\n")


def test_table_last_column_is_not_padded():
    text = format_table(["Id", "Name", "State", "Title"], [["1", "test", "running", ""]])
    assert text.splitlines()[2] == " 1    test   running   "


def test_table_without_header_sizes_to_rows():
    assert format_table(["Id", "Name", "State"], [["2", "test", "running"]],
                        with_header=False) == " 2   test   running\n"


def test_empty_table_keeps_header():
    assert format_table(["Id", "Name", "State"], []) == (" Id   Name   State\n"
                                                         "--------------------\n")


def test_tree_marks_children():
    names = ["a", "b"]
    parents = {0: None, 1: "a"}
    assert format_tree(names, parents.get) == "a\n  |\n  +- b\n    \n"


def test_tree_single_root_ends_with_blank_line():
    assert format_tree(["a"], lambda i: None) == "a\n\n"


def test_pretty_capacity_units():
    assert pretty_capacity(0) == "0.00 B"
    assert pretty_capacity(10 * 1024**2) == "10.00 MiB"
    assert pretty_capacity(100 * 1024**3) == "100.00 GiB"

