"""Request and response bodies of the REST API, for validation and the OpenAPI page."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

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

Status = Literal["queued", "running", "paused", "finished", "stopped", "failed", "diverged"]


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


class ControlRequest(BaseModel):
    """pause, resume, step (exactly one epoch, then paused), stop, set_lr, and step_batch
    (exactly one optimiser step of a paused run, traced: see GET /api/runs/{id}/trace)."""

    action: Literal["pause", "resume", "step", "stop", "set_lr", "step_batch"]
    learning_rate: float | None = Field(
        None, gt=0, le=10, allow_inf_nan=False, description="for set_lr: the new learning rate"
    )
    sample: int | None = Field(
        None,
        ge=0,
        description="for step_batch: step on this training example alone (a batch of one); "
        "null steps on the epoch's next mini-batch",
    )

    @model_validator(mode="after")
    def _lr_for_set_lr(self) -> ControlRequest:
        if self.action == "set_lr" and self.learning_rate is None:
            raise ValueError("set_lr needs a learning_rate in (0, 10]")
        return self


class PredictRequest(BaseModel):
    """One raw input in the dataset's own form, and whether to explain the answer."""

    input: Any = Field(
        description="one sample as the data has it: a 2D point [x1, x2], a table row in its "
        "own units, an image as rows of pixel values (8x8 digits 0..16, MNIST 0..255), a "
        "sequence of values, or token ids",
        examples=[[0.5, -1.0]],
    )
    explain: bool = Field(
        False, description="add Captum attributions: which inputs made this answer"
    )
    target: int | None = Field(
        None, ge=0, description="the class to explain (default: the predicted one)"
    )


class WorkerInfo(BaseModel):
    """One worker process."""

    id: int
    pid: int | None
    ready: bool
    alive: bool
    runs: list[str]
    rss_mb: float | None


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    workers: int
    workers_ready: int
    active_runs: int
    runs: int
