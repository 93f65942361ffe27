"""Pieces the drivers share (the stateful QEMU and LXC ones most)."""
