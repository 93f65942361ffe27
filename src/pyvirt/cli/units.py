"""virsh's scaled integers: the unit suffixes virScaleInteger accepts."""

from __future__ import annotations

#: lower-cased suffix -> multiplier; "" is the bare number (callers that default to
#: another unit check for "" first)
SCALES = {"": 1, "b": 1, "bytes": 1, "k": 1024, "kib": 1024, "kb": 1000,
          "m": 1024**2, "mib": 1024**2, "mb": 1000**2, "g": 1024**3, "gib": 1024**3,
          "gb": 1000**3, "t": 1024**4, "tib": 1024**4, "tb": 1000**4,
          "p": 1024**5, "pib": 1024**5, "pb": 1000**5, "e": 1024**6, "eib": 1024**6,
          "eb": 1000**6}
