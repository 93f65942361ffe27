"""Domain state and state-reason words, as virsh prints them."""

from __future__ import annotations

STATES = ["no state", "running", "idle", "paused", "in shutdown", "shut off",
          "crashed", "pmsuspended"]

REASONS = {
    1: ["unknown", "booted", "migrated", "restored", "from snapshot", "unpaused",
        "migration canceled", "save canceled", "event wakeup", "crashed", "post-copy",
        "post-copy failed"],
    2: ["unknown"],
    3: ["unknown", "user", "migrating", "saving", "dumping", "I/O error", "watchdog",
        "from snapshot", "shutting down", "creating snapshot", "crashed", "starting up",
        "post-copy", "post-copy failed", "api error"],
    4: ["unknown", "user"],
    5: ["unknown", "shutdown", "destroyed", "crashed", "migrated", "saved", "failed",
        "from snapshot", "daemon"],
    6: ["unknown", "panicked"],
    7: ["unknown"],
}


def state_word(state: int) -> str:
    return STATES[state] if 0 <= state < len(STATES) else "no state"


def reason_word(state: int, reason: int) -> str:
    words = REASONS.get(state, ["unknown"])
    return words[reason] if 0 <= reason < len(words) else "unknown"
