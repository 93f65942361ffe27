"""``import pyvirt`` loads the constants and libvirtError; the classes and functions
of libvirt-python's surface load on first use, and are the same objects as
before (``pyvirt.open is pyvirt.api.connect.open``)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import pyvirt
import pyvirt.api


def test_import_pyvirt_does_not_load_the_client_api():
    probe = ("import sys, pyvirt\n"
             "print(sorted(m for m in sys.modules if m.startswith('pyvirt.api.')))\n"
             "pyvirt.virDomain\n"
             "print('pyvirt.api.domain' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=60, check=True).stdout.split()
    assert out == ["[]", "True"]


@pytest.mark.parametrize("name", pyvirt.api.__all__)
def test_every_public_name_resolves_to_its_module_object(name):
    value = getattr(pyvirt, name)
    assert value is getattr(pyvirt.api, name)
    assert name in dir(pyvirt) and name in pyvirt.__all__
    assert vars(pyvirt)[name] is value          # kept: the next lookup is a plain one


def test_star_import_gives_the_whole_surface():
    namespace: dict = {}
    exec("from pyvirt import *", namespace)
    assert {"open", "virConnect", "virStream", "libvirtError", "VIR_DOMAIN_RUNNING",
            "virEventRegisterDefaultImpl"} <= set(namespace)
    assert namespace["open"] is pyvirt.api.connect.open


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'virNoSuchThing'"):
        pyvirt.virNoSuchThing
    assert not hasattr(pyvirt.api, "virNoSuchThing")
