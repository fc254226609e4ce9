"""Redis key names, in one place (every replica must agree on them)."""

from __future__ import annotations

PREFIX = "layerlab:"


def records(run_id: str) -> str:
    """The run's stream: epoch records and status changes, in order (XADD/XREAD)."""
    return f"{PREFIX}run:{run_id}:records"


def snapshots(run_id: str) -> str:
    """The run's latest snapshot: a stream of length 1 (latest wins, and XREAD can block)."""
    return f"{PREFIX}run:{run_id}:snapshot"


def meta(run_id: str) -> str:
    """What hello describes of the run (id, experiment, check, first status), JSON."""
    return f"{PREFIX}run:{run_id}:meta"


def controls(replica: str) -> str:
    """The pub/sub channel a replica takes relayed controls on."""
    return f"{PREFIX}replica:{replica}:controls"


def reply(ask_id: str) -> str:
    """The list a relayed control's answer is pushed to (BLPOP by the asker)."""
    return f"{PREFIX}reply:{ask_id}"
