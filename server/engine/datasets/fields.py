"""Parameter fields shared by several datasets, each bounded and described.

The browser builds its forms from `Params.model_json_schema()`, so every field carries a
`description`, a default and both bounds (hostile sizes are refused by validation alone).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

# The largest sample count any Params accepts; the server's own limit
# (`settings.max_samples`) is usually lower and is applied by `DatasetType.check`.
SAMPLES_CEILING = 1_000_000
SEED_MAX = 2**31 - 1


def samples_field(default: int, le: int = SAMPLES_CEILING, what: str = "examples") -> Any:
    return Field(
        default,
        ge=10,
        le=le,
        description=f"number of {what} (training plus validation)",
    )


def noise_field(default: float, le: float = 0.5, what: str = "noise level") -> Any:
    return Field(default, ge=0.0, le=le, description=what)


def train_fraction_field(default: float) -> Any:
    return Field(
        default,
        ge=0.1,
        le=0.9,
        description="fraction of the examples used for training; the rest validate",
    )


def seed_field(default: int = 1) -> Any:
    return Field(
        default,
        ge=0,
        le=SEED_MAX,
        strict=True,  # JSON false is not seed 0
        description="random seed: the same seed always gives the same data",
    )
