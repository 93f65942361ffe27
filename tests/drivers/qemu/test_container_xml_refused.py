"""Container XML sent to the QEMU driver is refused before anything is stored."""

import pytest

from pyvirt.drivers.qemu.defaults import parse_definition
from pyvirt.errors import VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, libvirtError

CONTAINER = """<domain type='lxc'>
  <name>ct</name>
  <memory unit='MiB'>64</memory>
  <os><type>exe</type><init>/sbin/init</init></os>
</domain>"""


@pytest.mark.parametrize("xml", [CONTAINER, CONTAINER.replace("type='lxc'", "type='qemu'")])
def test_lxc_or_exe_domain_is_config_unsupported(xml):
    with pytest.raises(libvirtError) as caught:
        parse_definition(xml)
    assert caught.value.get_error_code() == VIR_ERR_CONFIG_UNSUPPORTED
    assert caught.value.get_error_domain() == VIR_FROM_QEMU
    assert "lxc:///" in caught.value.get_error_message()
