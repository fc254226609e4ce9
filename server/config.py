"""Settings from `LAYERLAB_*` environment variables, with embedded defaults."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

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
    max_sweep_variants: int = Field(
        16, ge=1, description="variants of one sweep at most (each is a run; all start at once)"
    )
    max_history_runs: int = Field(
        500, ge=1, le=10_000, description="runs listed at most per page of GET /api/runs"
    )
    snapshot_rate: float = Field(
        60.0,
        gt=0,
        description="snapshots per second per viewer at most (a display's rate); the worker "
        "probes a watched run at most this often, within a share of wall time",
    )
    max_message_bytes: int = Field(1 << 20, ge=1024)
    viewer_timeout_s: float = Field(10.0, gt=0, description="a viewer this far behind is dropped")
    worker_memory_mb: int = Field(4096, ge=256)
    fast_path: bool = Field(
        True,
        description="train small dense networks with fused NumPy steps (engine/fastpath)",
    )
    fast_path_compiled: bool = Field(
        True,
        description="and with the compiled kernel (numba; ~140 MB more per worker) once loaded",
    )
    time_slice_s: float = Field(
        0.05, gt=0, le=5, description="training time one run gets per turn in its worker"
    )
    viewer_buffer_bytes: int = Field(
        8 << 20, ge=1 << 16, description="unsent stream bytes a viewer may owe before it is dropped"
    )
    persist_runs: bool = Field(
        True, description="keep runs in the database (off: an in-memory one, lost at exit)"
    )

    # The store (server/store): the database of runs, epoch records, exports and designs.
    database_url: str = Field(
        "",
        description="SQLAlchemy URL; empty: SQLite at state_dir/layerlab.db. "
        "postgresql://user:pass@host/db uses PostgreSQL (psycopg 3)",
    )
    flush_interval_s: float = Field(
        1.0, gt=0, le=10, description="epoch records reach the database at least this often"
    )
    cache_runs: int = Field(16, ge=0, description="ended runs kept in memory besides the database")
    checkpoint_interval_s: float = Field(
        5.0, gt=0, description="an active run's weights are checkpointed this often"
    )

    # Hardening: what no single design, socket or header may take from a shared server.
    # A step's compute is counted at check time (engine/cost.py); the default keeps one step
    # well under a second on one core of the 2-core machines (`python -m bench.step_cost`
    # measured 5.7-35 GFLOP/s per core for conv, dense and lstm steps: 2 GFLOPs is 0.06-0.35 s).
    max_step_flops: float = Field(
        2e9, gt=0, description="forward + backward FLOPs of one training batch, at most"
    )
    # A worker's turn for one run is one step or a time slice, but the step that ends an epoch
    # also runs its validation pass (forward only, the whole validation set: ~5 s for a CNN at
    # the FLOPs limit on 10,000 MNIST images), and the first turn builds the model and data.
    max_step_s: float = Field(
        30.0, gt=0, description="one turn of a run (a step, or its build) running longer fails"
    )
    heartbeat_timeout_s: float = Field(
        5.0, gt=0, description="a worker silent this long is declared hung and replaced"
    )
    max_ws_per_client: int = Field(
        32, ge=1, description="open WebSocket streams per client address"
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="addresses whose X-Forwarded-For/-Proto are believed (none by default)",
    )
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Host names served besides localhost and IP addresses ('*': any)",
    )
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="origins besides the server's own that may POST and open streams",
    )

    @field_validator("trusted_proxies", "allowed_hosts", "allowed_origins", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        """`LAYERLAB_ALLOWED_HOSTS=lab.example.org,10.0.0.5`: a comma-separated list."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    # Owner presence (server/runs/presence.py): a run nobody watches over pauses, then stops.
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

    # Where workers live (server/runs/backends): spawned processes here, or Ray actors.
    backend: Literal["local", "ray"] = Field(
        "local", description="local: spawned worker processes; ray: Ray actors on a cluster"
    )
    ray_address: str = Field(
        "",
        description="the Ray cluster to join: 'auto', an address (host:6379, ray://host:10001); "
        "empty: start a local Ray for this machine",
    )
    ray_num_cpus: float = Field(1.0, gt=0, description="CPUs each Ray worker actor reserves")
    ray_gpu_fraction: float = Field(
        0.25,
        ge=0,
        le=1,
        description="the share of a GPU each Ray worker actor reserves when runs train on CUDA "
        "(LAYERLAB_DEVICE=cuda, or auto on a cluster with GPUs)",
    )

    # Classes (server/classes): inside a class, students are limited by their token, not by
    # address (a school's NAT puts a whole class behind one), and the class as a whole.
    max_runs_per_class: int = Field(
        64, ge=1, description="active runs of one class at once (its students' together)"
    )
    max_runs_per_student: int = Field(2, ge=1, description="active runs of one student at once")
    class_dashboard_interval_s: float = Field(
        1.0, gt=0, le=10, description="how often a teacher's dashboard is sent"
    )
    # Uploaded datasets (server/uploads): every limit is checked while the file is read.
    upload_max_bytes: int = Field(16 << 20, ge=1024, description="bytes of one uploaded file")
    upload_max_rows: int = Field(70_000, ge=10, description="rows of an uploaded CSV")
    upload_max_columns: int = Field(200, ge=2, description="columns of an uploaded CSV")
    upload_max_cells: int = Field(
        2_000_000, ge=100, description="cells (rows x columns) of an uploaded CSV"
    )
    upload_max_features: int = Field(
        1000, ge=1, description="model inputs of a CSV after one-hot encoding its text columns"
    )
    upload_max_classes: int = Field(100, ge=2, description="classes of an uploaded dataset")
    upload_max_images: int = Field(10_000, ge=2, description="images in an uploaded zip")
    upload_max_pixels: int = Field(
        4_000_000, ge=64, description="pixels of one image in a zip, before it is decoded"
    )
    upload_max_unzipped_bytes: int = Field(
        256 << 20, ge=1024, description="bytes of a zip's files once decompressed, in all"
    )
    upload_max_image_side: int = Field(64, ge=8, le=256, description="largest resize side")
    upload_max_per_owner: int = Field(50, ge=1, description="uploads one owner may keep")

    data_dir: Path = Path("data")
    cache_dir: Path = Field(default_factory=lambda: Path.home() / ".cache" / "layerlab")
    state_dir: Path = Path(".layerlab")


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
