"""Response bodies of the sweeps API (routes.py), for validation and the OpenAPI page."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from ..core.statuses import Status

SweepStatus = Literal["running", "finished", "stopped", "ended"]


class SweepVariantCreated(BaseModel):
    index: int
    values: dict[str, Any] = Field(description="setting -> value (`units@1`: one layer's)")
    label: str
    run: str = Field(description="the id of the variant's run")
    token: str = Field(description="the run's X-Run-Token, shown only here")
    stream: str = Field(description="WebSocket path of the run's live stream")


class SweepCreated(BaseModel):
    """A started sweep: every variant's run, started together."""

    id: str
    name: str
    status: SweepStatus
    variants: list[SweepVariantCreated]


class SweepVariant(BaseModel):
    index: int
    values: dict[str, Any]
    label: str
    run: str
    stream: str
    status: Status | Literal["missing"]
    message: str | None = None
    epoch: int
    epochs: int | None = None
    final: dict[str, Any] | None = Field(
        None, description="the run's latest epoch record (its last once it has ended)"
    )
    value: float | None = Field(None, description="the sweep's metric in `final`")


class SweepBest(BaseModel):
    index: int
    values: dict[str, Any]
    label: str
    run: str
    value: float


class SweepDetail(BaseModel):
    """A sweep with its variants, their runs, status and final metrics."""

    id: str
    name: str
    mine: bool = Field(description="started with your X-Owner-Token")
    created: float
    stopped: float | None = Field(None, description="when its owner stopped it (Unix time)")
    status: SweepStatus = Field(
        description="running while any variant is active; then finished (all finished), "
        "stopped (by its owner) or ended (some failed, diverged or were interrupted)"
    )
    counts: dict[str, int] = Field(description="variants per run status")
    experiment: dict[str, Any] = Field(description="the base design")
    axes: list[dict[str, Any]]
    metric: str = Field(description="val_accuracy (classification) or val_loss")
    higher_is_better: bool
    best: SweepBest | None = None
    variants: list[SweepVariant]
