"""Tests of the web manager (pyvirt.web)."""
