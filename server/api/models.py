"""Request and response bodies of the REST API, for validation and the OpenAPI page."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from ..core.statuses import Status as RunStatus
from ..engine.early_stopping import best_epoch_of

SPIRAL_EXAMPLE: dict[str, Any] = {
    "dataset": {"name": "spiral", "samples": 500, "noise": 0.1, "train_fraction": 0.5, "seed": 1},
    "model": {
        "layers": [
            {"type": "dense", "units": 8, "activation": "tanh"},
            {"type": "dense", "units": 8, "activation": "tanh"},
        ]
    },
    "training": {
        "optimizer": "sgd",
        "learning_rate": 0.03,
        "batch_size": 10,
        "epochs": 300,
        "seed": 0,
        "device": "auto",
    },
}

Status = RunStatus


class RunCreated(BaseModel):
    """A new run: keep the token, it is shown only once and is needed for every control."""

    id: str
    token: str = Field(description="owner token: send it as X-Run-Token to control the run")
    status: Status
    stream: str = Field(description="WebSocket path of the run's live stream")


class RunSummary(BaseModel):
    """A run as listed."""

    id: str
    status: Status
    message: str | None = Field(None, description="why a run failed or diverged")
    epoch: int = Field(description="epochs completed")
    epochs: int | None = Field(None, description="epochs planned")
    dataset: str | None
    total_params: int | None
    created: float = Field(description="Unix time")
    ended: float | None = Field(None, description="Unix time")
    last: dict[str, Any] | None = Field(None, description="the latest epoch record")
    viewers: int
    design: str | None = Field(None, description="the saved design it came from")
    best_epoch: int | None = Field(
        None,
        description="for a run that training.early_stopping ended: the epoch whose weights it "
        "kept (its message says so in words)",
    )

    @model_validator(mode="before")
    @classmethod
    def _best_epoch(cls, data: Any) -> Any:
        # Read from the run's stored message, so it survives a restart with no new column.
        if isinstance(data, dict) and data.get("best_epoch") is None:
            best = best_epoch_of(data.get("message"))
            if best is not None:
                data = {**data, "best_epoch": best}
        return data


class RunDetail(RunSummary):
    """A run with its experiment, its check result and every epoch record so far."""

    experiment: dict[str, Any]
    check: dict[str, Any]
    history: list[dict[str, Any]]
    export: dict[str, str] | None = Field(
        None,
        description="once the run has finished or been stopped, the download paths of its "
        'export: {"model.py": a standalone PyTorch script, "weights.safetensors": its weights}; '
        "null before, and for runs without one",
    )


class HistoryPage(BaseModel):
    """A page of a run's epoch records."""

    id: str
    records: list[dict[str, Any]]
    next: int | None = Field(description="pass as `after` for the next page; null: no more yet")


class ControlRequest(BaseModel):
    """pause, resume, step (exactly one epoch, then paused), stop, set_lr, step_batch (exactly
    one optimiser step of a paused run, traced: see GET /api/runs/{id}/trace), pace (the run's
    epochs per second, live) and set_weight (one weight or bias of a paused run)."""

    action: Literal["pause", "resume", "step", "stop", "set_lr", "step_batch", "pace", "set_weight"]
    learning_rate: float | None = Field(
        None, gt=0, le=10, allow_inf_nan=False, description="for set_lr: the new learning rate"
    )
    sample: int | None = Field(
        None,
        ge=0,
        description="for step_batch: step on this training example alone (a batch of one); "
        "null steps on the epoch's next mini-batch",
    )
    value: Any = Field(
        None,
        description="the action's argument. pace: epochs per second in (0, 10000], null for "
        'full speed (every viewer receives {"type": "pace", "value": ...}). set_weight: '
        '{"layer": L, "to": j, "from": i, "weight": w} or {"layer": L, "to": j, "bias": b}, '
        'L the index in model.layers of a dense layer or "head" (the snapshot\'s '
        "weights/biases addressing); a paused run only. set_lr and step_batch take it in "
        "place of learning_rate and sample",
        examples=[20, {"layer": 0, "to": 1, "from": 0, "weight": 0.5}],
    )

    @model_validator(mode="after")
    def _lr_for_set_lr(self) -> ControlRequest:
        if self.action == "set_lr" and self.learning_rate is None and self.value is None:
            raise ValueError("set_lr needs a learning_rate in (0, 10]")
        return self


class PredictRequest(BaseModel):
    """One raw input in the dataset's own form, and whether to explain the answer."""

    input: Any = Field(
        description="one sample as the data has it: a 2D point [x1, x2], a table row in its "
        "own units, an image as rows of pixel values (8x8 digits 0..16, MNIST 0..255), a "
        "sequence of values, or token ids (or a sentence, for a set with words such as "
        "sentiment)",
        examples=[[0.5, -1.0]],
    )
    explain: bool = Field(
        False, description="add Captum attributions: which inputs made this answer"
    )
    target: int | None = Field(
        None, ge=0, description="the class to explain (default: the predicted one)"
    )


class WorkerInfo(BaseModel):
    """One worker: a local process, or a Ray actor on some node of the cluster."""

    id: int
    pid: int | None
    ready: bool
    alive: bool
    runs: list[str]
    rss_mb: float | None
    responsive: bool = Field(
        description="a heartbeat came within the last 1.5 s (a Ray actor: a poll reply, 4 s)"
    )
    silent_s: float = Field(description="seconds since its last heartbeat")
    busy_run: str | None = Field(None, description="the run its training loop is in right now")
    busy_s: float = Field(0.0, description="for how long, as of its last heartbeat")
    calls_waiting: int = Field(0, description="controls and asks sent to it and not answered yet")
    backend: Literal["local", "ray"] = Field(
        "local", description="which backend serves it (LAYERLAB_BACKEND)"
    )
    node: str | None = Field(
        None, description="where it runs: this host's name (local), the node's address (ray)"
    )
    node_id: str | None = Field(None, description="the Ray node's id (ray only)")
    actor_id: str | None = Field(None, description="the Ray actor's id (ray only)")
    actor_name: str | None = Field(
        None, description="the Ray actor's name, for `ray.get_actor` (ray only)"
    )


class DatabaseHealth(BaseModel):
    """Whether the database can be written; while it cannot, why (records wait in memory)."""

    ok: bool
    dialect: str = Field(description="sqlite or postgresql")
    error: str | None = None
    since: float | None = Field(None, description="Unix time the writes began to fail")
    pending: int = Field(description="writes waiting to be committed")
    journaled: int = Field(
        0,
        description="of those, how many wait in the journal file (beyond "
        "LAYERLAB_STORE_MAX_PENDING in memory)",
    )
    dropped: int = Field(
        0,
        description="writes dropped since start because too many waited for a database that "
        "could not be written (LAYERLAB_STORE_MAX_PENDING, then LAYERLAB_STORE_JOURNAL_MB)",
    )


class LoopStall(BaseModel):
    """One stall of the server's event loop (server/api/loop_watch.py)."""

    began: float = Field(description="Unix time it began")
    seconds: float = Field(description="how long it lasted (so far, while it lasts)")
    where: str = Field(description="where the loop was when it was noticed: file:line function")


class LoopHealth(BaseModel):
    """The server's event loop, as its watchdog sees it."""

    lag_ms: float = Field(description="how long the last probe waited for the loop")
    stall_s: float = Field(description="a wait this long is a stall (LAYERLAB_LOOP_STALL_S)")
    stalls: int = Field(description="stalls since the server started")
    last_stall: LoopStall | None = None


class Health(BaseModel):
    """`degraded` while fewer workers than configured are ready and responsive."""

    status: Literal["ok", "degraded"]
    version: str
    backend: Literal["local", "ray"] = Field(
        "local", description="where the workers live: local processes or Ray actors"
    )
    workers: int
    workers_ready: int = Field(description="ready, alive and sending heartbeats")
    workers_unresponsive: int = Field(0, description="alive but silent for over 1.5 s")
    workers_replaced: int = Field(0, description="died, hung or killed, and replaced, since start")
    last_worker_exit: str | None = Field(None, description="why the last replaced one went")
    queued_for_worker: int = Field(0, description="runs waiting for a usable worker")
    active_runs: int
    active_elsewhere: int = Field(
        0, description="replicas: active runs the other replicas hold (run limits count them)"
    )
    runs: int = Field(description="runs held in memory (active, and a few ended ones)")
    database: DatabaseHealth
    loop: LoopHealth
    reasons: list[str] = Field(default_factory=list, description="why it is degraded")
