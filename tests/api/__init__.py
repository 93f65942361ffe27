"""Tests of the libvirt-python-compatible API (pyvirt.api)."""
