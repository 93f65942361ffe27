"""The directory helpers the QEMU and LXC drivers share."""

from dataclasses import dataclass
from pathlib import Path

import pytest

from pyvirt.drivers.common.state_dir import DomainFilePaths, create_dirs
from pyvirt.errors import VIR_ERR_OPERATION_FAILED, VIR_FROM_LXC, libvirtError


@dataclass(frozen=True)
class Dirs(DomainFilePaths):
    config: Path
    run: Path
    log: Path


def test_create_dirs_makes_parents_and_keeps_private_ones_private(tmp_path):
    run, conf = tmp_path / "a" / "run", tmp_path / "a" / "etc"
    create_dirs([run, conf], private=[run], domain=VIR_FROM_LXC)
    assert run.is_dir() and conf.is_dir()
    assert run.stat().st_mode & 0o777 == 0o700


def test_a_directory_that_cannot_be_made_is_libvirts_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(libvirtError) as caught:
        create_dirs([blocker / "sub"], private=[], domain=VIR_FROM_LXC)
    assert caught.value.get_error_code() == VIR_ERR_OPERATION_FAILED
    assert caught.value.get_error_domain() == VIR_FROM_LXC
    assert f"cannot create directory '{blocker / 'sub'}'" in str(caught.value)


def test_per_domain_paths():
    dirs = Dirs(Path("/c"), Path("/r"), Path("/l"))
    assert dirs.config_path("vm") == Path("/c/vm.xml")
    assert dirs.autostart_path("vm") == Path("/c/autostart/vm.xml")
    assert dirs.status_path("vm") == Path("/r/vm.xml")
    assert dirs.log_path("vm") == Path("/l/vm.log")
