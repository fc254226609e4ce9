"""The experiment document: what is designed, checked, trained, shared by link and saved.

Layer and dataset parameters are open here (`extra="allow"`): each layer type and each dataset
validates its own parameters from its registry entry, so they are defined in one place.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Optimizer = Literal["sgd", "adam", "adamw", "rmsprop"]
Device = Literal["auto", "cpu", "cuda"]
LossName = Literal["cross_entropy", "mse", "mae", "huber", "bce"]


class LayerSpec(BaseModel):
    """One layer: its `type` (a key of the layer registry) and that type's parameters."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="layer type, one of GET /api/layers")


class ModelSpec(BaseModel):
    """The user's stack of layers; the output head is derived from the dataset's task."""

    model_config = ConfigDict(extra="forbid")

    layers: list[LayerSpec] = Field(default_factory=list, max_length=256)


class DatasetSpec(BaseModel):
    """A dataset by `name` (a key of the dataset registry) and that dataset's parameters."""

    model_config = ConfigDict(extra="allow")

    name: str = Field(min_length=1, description="dataset name, one of GET /api/datasets")


class TrainingSpec(BaseModel):
    """How to train: optimiser, learning rate, batch size, epochs, regularisation, seed."""

    model_config = ConfigDict(extra="forbid")

    optimizer: Optimizer = Field(
        "sgd",
        title="Optimiser",
        description="How the weights follow the gradients: sgd (with momentum), adam, adamw, rmsprop",
    )
    learning_rate: float = Field(
        0.03, gt=0, le=10, description="How far each update moves the weights"
    )
    momentum: float = Field(
        0.0, ge=0, lt=1, description="For sgd and rmsprop: how much of the last update carries on"
    )
    # Whole numbers are strict: JSON `true` is not a batch size of 1 (nor `false` a seed of 0).
    batch_size: int = Field(10, ge=1, strict=True, description="Examples per weight update")
    epochs: int | None = Field(
        100,
        ge=1,
        strict=True,
        description="Passes over the training set; null: until paused or stopped, at most the "
        "server's LAYERLAB_MAX_EPOCHS",
    )
    l1: float = Field(
        0.0,
        ge=0,
        le=1,
        title="L1",
        description="Penalty on the sum of |weights|: pushes weights to exactly zero",
    )
    l2: float = Field(
        0.0,
        ge=0,
        le=1,
        title="L2",
        description="Penalty on the sum of squared weights (weight decay): keeps weights small",
    )
    seed: int = Field(
        0,
        ge=0,
        le=2**31 - 1,
        strict=True,
        description="Same seed and design, same run: initial weights and shuffling",
    )
    device: Device = Field("auto", description="auto trains on the GPU when the server has one")
    # A sweep's "how much data" axis: fewer training examples, the same validation set.
    data_fraction: float = Field(
        1.0,
        gt=0,
        le=1,
        title="Training data used",
        description="Fraction of the training set trained on (a seeded subset; the "
        "validation set stays whole)",
    )
    loss: LossName | None = Field(
        None, description="automatic: the usual loss for the dataset's task"
    )
    # Pace is the trainer's: a slowed run sleeps between epochs, so it costs the server less.
    pace: float | None = Field(
        None,
        gt=0,
        le=10_000,
        allow_inf_nan=False,
        description="Epochs per second, so a class can watch it learn; null: full speed. "
        "Changed live by the control action pace",
    )
    early_stopping: int | None = Field(
        None,
        ge=1,
        le=1_000_000,
        strict=True,
        title="Early stopping",
        description="Patience in epochs: the run ends once the validation loss has not improved "
        "for this many epochs, with the best epoch's weights; null: never",
    )


class Experiment(BaseModel):
    """One whole design: dataset, model and training settings."""

    model_config = ConfigDict(extra="forbid")

    dataset: DatasetSpec
    model: ModelSpec = Field(default_factory=ModelSpec)
    training: TrainingSpec = Field(default_factory=TrainingSpec)


def describe_training(max_epochs: int, max_batch_size: int) -> dict:
    """TrainingSpec's JSON schema with this server's limits, for the page's training form."""
    schema = TrainingSpec.model_json_schema()
    props = schema["properties"]
    # epochs is `int | None` (null: until paused): the bound goes on the integer branch of
    # anyOf and, for simple readers, on the property too (`maximum` constrains numbers only).
    props["epochs"]["maximum"] = max_epochs
    for branch in props["epochs"].get("anyOf", []):
        if branch.get("type") == "integer":
            branch["maximum"] = max_epochs
    props["batch_size"]["maximum"] = max_batch_size
    return {"params": schema, "defaults": TrainingSpec().model_dump()}
