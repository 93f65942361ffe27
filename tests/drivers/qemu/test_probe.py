"""Host probe: finding QEMU, the capabilities cache, the KVM verdict."""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import pytest

from pyvirt.drivers.qemu import probe
from pyvirt.drivers.qemu.probe import KvmVerdict, QemuProbe
from pyvirt.errors import VIR_ERR_INTERNAL_ERROR, libvirtError

QEMU = shutil.which("qemu-system-x86_64")
CAPTURED = Path(__file__).resolve().parents[2] / "data" / "qemu" / "qmp"


def captured(name: str):
    """A reply captured from QEMU 7.2 (Debian 12), its ``return`` value."""
    return json.loads((CAPTURED / f"qemu-7.2-{name}.json").read_text())["return"]


@pytest.fixture
def fake_binary(tmp_path):
    path = tmp_path / "bin" / "qemu-system-x86_64"
    path.parent.mkdir()
    path.write_text("#!/bin/sh\nexit 1\n")
    path.chmod(0o755)
    return str(path)


def canned(binary: str) -> QemuProbe:
    return QemuProbe(binary=binary, version=(7, 2, 0), package="test",
                     machines=[{"name": "pc-i440fx-7.2", "alias": "pc", "is-default": True},
                               {"name": "pc-q35-7.2", "alias": "q35"}],
                     cpu_models=["qemu64"], kvm_present=True)


def test_a_probe_from_qemu_7_2s_captured_replies():
    found = probe.probe_from_replies("/usr/bin/qemu-system-x86_64", captured("query-version"),
                                     captured("query-machines"),
                                     captured("query-cpu-definitions"), captured("query-kvm"))
    assert found.version == (7, 2, 22)
    assert found.package.startswith("Debian 1:7.2")
    assert found.default_machine == "pc"
    assert {"pc", "q35", "pc-i440fx-7.2", "pc-q35-7.2", "microvm"} <= set(found.machine_names)
    assert {"qemu64", "max", "Westmere", "EPYC"} <= set(found.cpu_models)
    assert found.kvm_present is True


def test_find_qemu_binary_searches_the_given_path(fake_binary):
    assert probe.find_qemu_binary(os.path.dirname(fake_binary)) == fake_binary


def test_find_qemu_binary_reports_a_missing_binary(tmp_path):
    with pytest.raises(libvirtError) as exc:
        probe.find_qemu_binary(str(tmp_path))
    assert exc.value.get_error_code() == VIR_ERR_INTERNAL_ERROR
    assert "Cannot find QEMU binary qemu-system-x86_64" in str(exc.value)


def test_capabilities_are_cached_until_the_binary_changes(fake_binary, tmp_path, monkeypatch):
    calls: list[str] = []

    def fake_query(binary, loop, timeout):
        calls.append(binary)
        return canned(binary)

    monkeypatch.setattr(probe, "_query", fake_query)
    cache = str(tmp_path / "cache")
    first = probe.probe_capabilities(fake_binary, cache)
    again = probe.probe_capabilities(fake_binary, cache)
    assert calls == [fake_binary]
    assert again == first
    assert again.version == (7, 2, 0)
    assert again.default_machine == "pc"
    assert set(again.machine_names) == {"pc-i440fx-7.2", "pc", "pc-q35-7.2", "q35"}
    with open(fake_binary, "a") as fh:     # a new QEMU: size and mtime change
        fh.write("# upgraded\n")
    probe.probe_capabilities(fake_binary, cache)
    assert calls == [fake_binary, fake_binary]


def test_a_corrupt_cache_file_is_probed_again(fake_binary, tmp_path, monkeypatch):
    monkeypatch.setattr(probe, "_query", lambda b, loop, timeout: canned(b))
    cache = str(tmp_path / "cache")
    probe.probe_capabilities(fake_binary, cache)
    (cache_file,) = [os.path.join(cache, f) for f in os.listdir(cache)]
    with open(cache_file, "w") as fh:
        fh.write("{not json")
    assert probe.probe_capabilities(fake_binary, cache).cpu_models == ["qemu64"]
    assert json.load(open(cache_file))["value"]["cpu_models"] == ["qemu64"]


def test_kvm_verdict_is_cached_and_logged(fake_binary, tmp_path, monkeypatch, caplog):
    kernel = tmp_path / "vmlinuz"
    kernel.write_bytes(b"kernel")
    runs: list[int] = []

    def fake_check(binary, kern, loop, timeout):
        runs.append(1)
        return KvmVerdict(False, "a guest under kvm printed nothing within 5 s", 5.0)

    monkeypatch.setattr(probe, "_run_kvm_check", fake_check)
    cache = str(tmp_path / "cache")
    with caplog.at_level(logging.WARNING, logger="pyvirt.drivers.qemu.probe"):
        first = probe.check_kvm(fake_binary, str(kernel), cache)
        second = probe.check_kvm(fake_binary, str(kernel), cache)
    assert runs == [1]
    assert first == second and not first.usable
    assert "KVM unusable (a guest under kvm printed nothing within 5 s), using TCG" in caplog.text


def test_without_a_test_kernel_kvm_is_not_trusted(fake_binary, tmp_path):
    verdict = probe.check_kvm(fake_binary, None, str(tmp_path))
    assert not verdict.usable
    assert verdict.reason == "no test kernel to verify KVM with"


def test_host_caps_combines_the_probe_and_the_kvm_verdict(fake_binary, tmp_path, monkeypatch):
    monkeypatch.setattr(probe, "_query", lambda b, loop, timeout: canned(b))
    monkeypatch.setattr(probe, "check_kvm",
                        lambda *a, **k: KvmVerdict(True, "a guest kernel ran under kvm"))
    caps = probe.host_caps(str(tmp_path), binary=fake_binary)
    assert caps.binary == fake_binary and caps.kvm_usable
    assert "q35" in caps.machines and caps.version == (7, 2, 0)


@pytest.mark.skipif(QEMU is None, reason="qemu-system-x86_64 not installed")
def test_the_real_qemu_answers_the_probe(tmp_path):
    found = probe.probe_capabilities(QEMU, str(tmp_path))
    assert found.version >= (7, 0, 0)
    assert {"pc", "q35"} <= set(found.machine_names)
    assert "qemu64" in found.cpu_models
    assert found.default_machine == "pc"
