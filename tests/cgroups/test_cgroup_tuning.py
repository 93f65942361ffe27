"""Reading <memtune>, <cputune> and <blkiotune> into a Tuning."""

import pytest
from lxml import etree

from pyvirt.cgroups.tuning import Tuning, tuning_of
from pyvirt.conf.domain import DomainDef
from pyvirt.errors import VIR_ERR_XML_ERROR, libvirtError


def dom(inner: str):
    return etree.fromstring(f"<domain type='qemu'><name>a</name>{inner}</domain>")


def test_empty():
    assert tuning_of(dom("")) == Tuning() and Tuning().is_empty()


def test_all_fields_with_units():
    t = tuning_of(dom("""<memtune><hard_limit unit='MiB'>256</hard_limit>
      <soft_limit>131072</soft_limit><swap_hard_limit unit='G'>1</swap_hard_limit></memtune>
      <cputune><shares>2048</shares><period>100000</period><quota>50000</quota></cputune>
      <blkiotune><weight>500</weight></blkiotune>"""))
    assert t == Tuning(memory_hard_kib=262144, memory_soft_kib=131072, swap_hard_kib=1048576,
                       cpu_shares=2048, cpu_period_us=100000, cpu_quota_us=50000,
                       blkio_weight=500, vcpu_period_us=100000, vcpu_quota_us=50000)
    assert not t.is_empty()


def test_group_bandwidth_from_vcpu_and_global_limits():
    per_vcpu = tuning_of(dom("<vcpu>4</vcpu><cputune><period>50000</period>"
                             "<quota>20000</quota><emulator_period>100000</emulator_period>"
                             "<emulator_quota>30000</emulator_quota></cputune>"))
    assert (per_vcpu.cpu_period_us, per_vcpu.cpu_quota_us) == (50000, 80000)
    assert (per_vcpu.emulator_period_us, per_vcpu.emulator_quota_us) == (100000, 30000)
    global_wins = tuning_of(dom("<vcpu>4</vcpu><cputune><quota>20000</quota>"
                                "<global_period>200000</global_period>"
                                "<global_quota>100000</global_quota></cputune>"))
    assert (global_wins.cpu_period_us, global_wins.cpu_quota_us) == (200000, 100000)
    quota_only = tuning_of(dom("<vcpu>2</vcpu><cputune><quota>20000</quota></cputune>"))
    assert (quota_only.cpu_period_us, quota_only.cpu_quota_us) == (100000, 40000)


def test_unlimited_values():
    t = tuning_of(dom("<memtune><hard_limit>9007199254740991</hard_limit></memtune>"
                      "<cputune><quota>-1</quota></cputune>"))
    assert t.memory_hard_kib is None and t.cpu_quota_us is None


def test_domain_def_accepted():
    d = DomainDef.from_xml("<domain type='qemu'><name>a</name><memory>1024</memory>"
                           "<cputune><shares>100</shares></cputune><os><type>hvm</type></os>"
                           "</domain>")
    assert tuning_of(d).cpu_shares == 100


@pytest.mark.parametrize("inner", [
    "<memtune><hard_limit unit='parsec'>1</hard_limit></memtune>",
    "<memtune><hard_limit>lots</hard_limit></memtune>",
    "<cputune><shares>1</shares></cputune>",
    "<cputune><period>10</period></cputune>",
    "<cputune><quota>10</quota></cputune>",
    "<blkiotune><weight>5000</weight></blkiotune>",
])
def test_bad_values(inner):
    with pytest.raises(libvirtError) as info:
        tuning_of(dom(inner))
    assert info.value.get_error_code() == VIR_ERR_XML_ERROR
