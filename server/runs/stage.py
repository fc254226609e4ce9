"""The watchable stage's run controls on the server side: pace and weight edits.

`pace` changes a run's epochs per second live. The pace belongs to the run's experiment
document (`training.pace`), so `GET /api/runs/{id}`, a late viewer's `hello` and a resume after
a restart all show the current one; every viewer is told with `{"type": "pace", "value": v}`.
`set_weight` edits one weight or bias of a paused run (the worker sends a fresh snapshot).

The worker's message that a run stopped early is `stage_messages.EarlyStopped`.
"""

from __future__ import annotations

from typing import Any, Protocol

from ..store.store import Store
from .hub import Hub, RunChannel
from .messages import dumps

STAGE_ACTIONS = ("pace", "set_weight")


class StageRun(Protocol):
    """What these helpers need of the manager's Run."""

    id: str
    experiment: dict
    channel: RunChannel
    worker: Any

    @property
    def status(self) -> str: ...


def pace_message(value: float | None) -> str:
    """`pace`: the run's epochs per second changed (null: full speed)."""
    return dumps({"type": "pace", "value": value})


def control_argument(
    action: str, learning_rate: float | None, sample: int | None, value: Any
) -> Any:
    """The one argument a control carries to the worker (`learning_rate` and `sample` are the
    older named forms of set_lr's and step_batch's `value`)."""
    if action == "set_lr" and learning_rate is not None:
        return learning_rate
    if action == "step_batch" and sample is not None:
        return sample
    return value


def edit_refused(run: StageRun) -> str | None:
    """Why set_weight cannot apply to this run now (None: it can)."""
    if run.status != "paused":
        return (
            f"set_weight needs a paused run: run {run.id} is {run.status}; pause it first "
            "(a running run would overwrite the edit at its next step)"
        )
    if run.worker is None:
        return f"run {run.id} is waiting for a worker; edit its weights once it has started"
    return None


def keep_pace(run: StageRun, value: float | None, hub: Hub, store: Store) -> None:
    """Record a run's new pace in its experiment document (a new dict: the old one may be
    shared, e.g. with the request that created it) and tell every viewer."""
    training = {**run.experiment.get("training", {}), "pace": value}
    run.experiment = {**run.experiment, "training": training}
    run.channel.info["experiment"] = run.experiment  # what hello describes
    store.update_run(run.id, experiment_json=dumps(run.experiment))
    hub.publish_text(run.id, pace_message(value))
