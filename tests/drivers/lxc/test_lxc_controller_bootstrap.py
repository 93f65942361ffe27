"""The controller's lean entry: it loads the container module without the library."""

from __future__ import annotations

import subprocess

from pyvirt.drivers.lxc.launcher import controller_argv


def test_controller_argv_is_isolated_and_names_the_package():
    argv = controller_argv("/run/x.spec.json", 7)
    assert argv[1:3] == ["-I", "-S"]
    assert argv[-3].endswith("/pyvirt") and argv[-2:] == ["/run/x.spec.json", "7"]


def test_bootstrap_imports_the_controller_without_the_library():
    argv = controller_argv("/nonexistent.spec.json", 0)
    probe = argv[:4] + [argv[4].replace(
        "sys.exit(main(sys.argv[1:]))",
        "print(sorted(m for m in sys.modules if m.startswith('pyvirt')))")] + argv[5:]
    out = subprocess.run(probe, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(sorted([
        "pyvirt", "pyvirt.drivers", "pyvirt.drivers.lxc", "pyvirt.drivers.lxc.container",
        "pyvirt.drivers.lxc.spec", "pyvirt.drivers.lxc.syscalls"]))


def test_bootstrap_reports_a_missing_spec_and_fails():
    out = subprocess.run(controller_argv("/nonexistent.spec.json", 0), capture_output=True,
                         text=True, timeout=30)
    assert out.returncode != 0
    assert "/nonexistent.spec.json" in out.stderr
