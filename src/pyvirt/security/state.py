"""The DAC state record: original owners and which domains use each labelled file.

One JSON document (``dac.json`` in the driver's state directory)::

    {"files": {"/var/lib/…/a.qcow2": {"uid": 0, "gid": 0, "mode": 420, "access": "rw",
                                      "users": {"DOMAIN-UUID": [107, 107]}}}}

Written atomically (temporary file, fsync, rename, fsync of the directory)
while an exclusive ``flock`` on ``dac.lock`` is held, so two domains starting
at once in two processes see each other's entries.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from typing import Any, Iterator

from pyvirt.atomicfile import write_atomic

STATE_FILE = "dac.json"
LOCK_FILE = "dac.lock"


def empty() -> dict[str, Any]:
    return {"files": {}}


def load(state_dir: str) -> dict[str, Any]:
    try:
        with open(os.path.join(state_dir, STATE_FILE)) as fh:
            data = json.load(fh)
    except FileNotFoundError:
        return empty()
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        return empty()
    return data


def save(state_dir: str, data: dict[str, Any]) -> None:
    """Replace the record atomically and durably."""
    write_atomic(os.path.join(state_dir, STATE_FILE),
                 json.dumps(data, indent=1, sort_keys=True), 0o600)


@contextlib.contextmanager
def locked(state_dir: str) -> Iterator[dict[str, Any]]:
    """The record, loaded under the lock; saved when the block ends without error."""
    os.makedirs(state_dir, mode=0o700, exist_ok=True)
    with open(os.path.join(state_dir, LOCK_FILE), "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            data = load(state_dir)
            yield data
            save(state_dir, data)
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
