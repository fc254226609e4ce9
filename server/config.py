"""Settings from `LAYERLAB_*` environment variables, with embedded defaults."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

_PACKAGE_DIR = Path(__file__).resolve().parent


def asset_dir(name: str) -> Path:
    """Where `static` or `templates` lives: inside the installed package, else the source tree."""
    installed = _PACKAGE_DIR / name
    return installed if installed.is_dir() else _PACKAGE_DIR.parent / name


class Settings(BaseSettings):
    """Every limit a user can reach, and where the server keeps things."""

    model_config = SettingsConfigDict(env_prefix="LAYERLAB_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(default_factory=lambda: max(1, os.cpu_count() or 1), ge=1, le=64)
    device: Literal["auto", "cpu", "cuda"] = "auto"

    # Model and data limits: checked before anything is allocated.
    max_params: int = Field(5_000_000, ge=1)
    max_layers: int = Field(32, ge=1)
    max_samples: int = Field(70_000, ge=10)
    max_epochs: int = Field(10_000, ge=1)
    max_batch_size: int = Field(4096, ge=1)
    max_layer_output: int = Field(1_000_000, ge=1, description="values per sample out of a layer")

    # Server limits.
    max_runs: int = Field(64, ge=1, description="runs queued, running or paused at once")
    max_runs_per_client: int = Field(8, ge=1)
    max_history_runs: int = Field(500, ge=1, description="finished runs kept in memory")
    snapshot_rate: float = Field(20.0, gt=0, description="snapshots per second per viewer")
    max_message_bytes: int = Field(1 << 20, ge=1024)
    viewer_timeout_s: float = Field(10.0, gt=0, description="a viewer this far behind is dropped")
    worker_memory_mb: int = Field(4096, ge=256)
    time_slice_s: float = Field(
        0.05, gt=0, le=5, description="training time one run gets per turn in its worker"
    )
    viewer_buffer_bytes: int = Field(
        8 << 20, ge=1 << 16, description="unsent stream bytes a viewer may owe before it is dropped"
    )
    persist_runs: bool = Field(True, description="keep ended runs under state_dir/runs")
    owner_idle_pause_s: float = Field(
        60.0, gt=0, description="a run whose owner's page sent no heartbeat this long is paused"
    )
    owner_idle_stop_s: float = Field(
        600.0, gt=0, description="... and after this long without one it is stopped"
    )

    # ONNX exports, made on request in a process of their own (server/runs/offline.py).
    onnx_timeout_s: float = Field(
        180.0, gt=0, description="longest one ONNX export may take before it is given up"
    )

    data_dir: Path = Path("data")
    cache_dir: Path = Field(default_factory=lambda: Path.home() / ".cache" / "layerlab")
    state_dir: Path = Path(".layerlab")


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
