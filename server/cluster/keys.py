"""Redis key names, in one place (every replica must agree on them)."""

from __future__ import annotations

PREFIX = "layerlab:"


def records(run_id: str, generation: int) -> str:
    """The run's stream: epoch records and status changes, in order (XADD/XREAD). A run
    taken over (or resumed) starts a new generation, with its history from the checkpoint."""
    return f"{PREFIX}run:{run_id}:{generation}:records"


def snapshots(run_id: str, generation: int) -> str:
    """The run's latest snapshot: a stream of length 1 (latest wins, and XREAD can block)."""
    return f"{PREFIX}run:{run_id}:{generation}:snapshot"


def resets(run_id: str) -> str:
    """Each new generation of the run: {"generation"}; followers of an older one start over."""
    return f"{PREFIX}run:{run_id}:resets"


def meta(run_id: str) -> str:
    """What hello describes of the run (id, experiment, check, first status) and its current
    `generation`, JSON."""
    return f"{PREFIX}run:{run_id}:meta"


def controls(replica: str) -> str:
    """The pub/sub channel a replica takes relayed controls on."""
    return f"{PREFIX}replica:{replica}:controls"


def reply(ask_id: str) -> str:
    """The list a relayed control's answer is pushed to (BLPOP by the asker)."""
    return f"{PREFIX}reply:{ask_id}"


def class_events() -> str:
    """Every replica's class changes, in order (server/cluster/class_events.py)."""
    return f"{PREFIX}classes:events"


def census(replica: str) -> str:
    """A replica's active runs, [[client, class code, student id], ...] (census.py)."""
    return f"{PREFIX}census:{replica}"


def census_replica(key: str) -> str:
    """The replica of a census key."""
    return key[len(f"{PREFIX}census:") :]


def census_channel() -> str:
    """The pub/sub channel a replica names itself on when its census changed."""
    return f"{PREFIX}census"


def bucket(name: str, key: str) -> str:
    """A token bucket of one `*_per_minute` setting for one address (shared_limits.py)."""
    return f"{PREFIX}bucket:{name}:{key}"


def sockets(count: str) -> str:
    """The open class sockets of one count ("addr:<key>", "member:<key>", "class:<code>"),
    each scored by when it lapses (shared_limits.py)."""
    return f"{PREFIX}sockets:{count}"


def slots(count: str) -> str:
    """The active runs of one count of the run limits ("all", "client:<address>",
    "class:<code>", ...: `runs.model.Quota`), each scored by when its slot lapses
    (admission.py)."""
    return f"{PREFIX}slots:{count}"
