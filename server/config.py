"""Settings from `LAYERLAB_*` environment variables, with embedded defaults.

One flat `Settings` class (every part of the server reads `settings.<name>`), its fields
grouped by the part of the server they belong to: each field is made with `setting(...,
part=...)`, and `PARTS` orders and names the parts. The settings tables in README.md and
docs/internals.md are generated from this class (`python -m server.settings_doc`), and a
test fails when they disagree.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_PACKAGE_DIR = Path(__file__).resolve().parent

# The parts of the server, in the order the tables list them: name -> (title, what it is).
PARTS: dict[str, tuple[str, str]] = {
    "server": ("Server", "where it listens, which device trains, where it keeps files"),
    "limits": ("Designs and data", "every number a design can ask for, checked before a run"),
    "runs": ("Runs and streams", "active runs, sweeps, viewers, owners who left"),
    "workers": ("Workers", "the processes (or Ray actors) that train"),
    "store": ("Store", "the database of runs, records, exports, designs and uploads"),
    "hardening": ("Hardening", "what no socket or header may take from a shared server"),
    "classes": ("Classes", "a teacher's class and its students"),
    "uploads": ("Uploads", "uploaded datasets: file limits and quotas"),
    "ray": ("Ray", "the Ray backend (`LAYERLAB_BACKEND=ray`)"),
    "replicas": ("Replicas", "several `layerlab serve` processes sharing Redis and PostgreSQL"),
}


def asset_dir(name: str) -> Path:
    """Where `static` or `templates` lives: inside the installed package, else the source tree."""
    installed = _PACKAGE_DIR / name
    return installed if installed.is_dir() else _PACKAGE_DIR.parent / name


def setting(*args: Any, part: str, shown: str | None = None, **kwargs: Any) -> Any:
    """A pydantic `Field` that belongs to `part` (`shown`: the default as the docs say it,
    where the value is computed, e.g. from the machine)."""
    if part not in PARTS:
        raise ValueError(f"unknown settings part {part!r}")
    extra: dict[str, Any] = {"part": part}
    if shown is not None:
        extra["shown"] = shown
    return Field(*args, json_schema_extra=extra, **kwargs)


class Settings(BaseSettings):
    """Every limit a user can reach, and where the server keeps things."""

    model_config = SettingsConfigDict(env_prefix="LAYERLAB_", extra="ignore")

    # -- Server ------------------------------------------------------------------------
    host: str = setting("127.0.0.1", part="server", description="where `layerlab serve` listens")
    port: int = setting(8000, ge=1, le=65535, part="server", description="its port")
    device: Literal["auto", "cpu", "cuda"] = setting(
        "auto", part="server", description="`auto` trains on CUDA when there is a GPU"
    )
    data_dir: Path = setting(
        Path("data"),
        part="server",
        description="MNIST and Fashion-MNIST IDX files, in `<dir>/mnist/` and "
        "`<dir>/fashion_mnist/`",
    )
    cache_dir: Path = setting(
        default_factory=lambda: Path.home() / ".cache" / "layerlab",
        part="server",
        shown="~/.cache/layerlab",
        description="where those are downloaded once when the machine has internet",
    )

    # -- Designs and data: checked before anything is allocated -------------------------
    max_params: int = setting(
        5_000_000,
        ge=1,
        part="limits",
        description="parameters per model, counted before allocation",
    )
    max_layers: int = setting(32, ge=1, part="limits", description="layers of one model")
    max_layer_output: int = setting(
        1_000_000, ge=1, part="limits", description="values per sample out of a layer"
    )
    max_samples: int = setting(70_000, ge=10, part="limits", description="samples of a dataset")
    max_epochs: int = setting(
        10_000, ge=1, part="limits", description="epochs of a run (`epochs: null` too)"
    )
    max_batch_size: int = setting(4096, ge=1, part="limits", description="batch size")
    # A step's compute is counted at check time (engine/cost.py); the default keeps one step
    # well under a second on one core of the 2-core machines (`python -m bench.step_cost`
    # measured 5.7-35 GFLOP/s per core for conv, dense and lstm steps: 2 GFLOPs is 0.06-0.35 s).
    max_step_flops: float = setting(
        2e9,
        gt=0,
        part="limits",
        description="forward + backward FLOPs of one training batch, at most (checked before "
        "a run starts)",
    )

    # -- Runs and streams ----------------------------------------------------------------
    max_runs: int = setting(
        64, ge=1, part="runs", description="runs queued, running or paused at once"
    )
    max_runs_per_client: int = setting(
        8, ge=1, part="runs", description="active runs per client address"
    )
    max_sweep_variants: int = setting(
        16,
        ge=1,
        part="runs",
        description="variants of one sweep at most (each is a run; all start at once)",
    )
    max_history_runs: int = setting(
        500,
        ge=1,
        le=10_000,
        part="runs",
        description="runs listed at most per page of GET /api/runs",
    )
    snapshot_rate: float = setting(
        60.0,
        gt=0,
        part="runs",
        description="snapshots per second per viewer at most (a display's rate); the worker "
        "probes a watched run at most this often, within a share of wall time",
    )
    max_message_bytes: int = setting(
        1 << 20,
        ge=1024,
        part="runs",
        description="largest request body and incoming WebSocket message",
    )
    viewer_timeout_s: float = setting(
        10.0, gt=0, part="runs", description="a viewer whose send is blocked this long is dropped"
    )
    viewer_buffer_bytes: int = setting(
        8 << 20,
        ge=1 << 16,
        part="runs",
        description="unsent stream bytes a viewer may owe before it is dropped",
    )
    stream_stamps: str = setting(
        "",
        part="runs",
        description="a folder where the hub writes timing stamps of every record it publishes "
        "and every epoch message it sends (bench/lecture.py reads them); empty: none",
    )
    # Owner presence (server/runs/presence.py): a run nobody watches over pauses, then stops.
    owner_idle_pause_s: float = setting(
        60.0,
        gt=0,
        part="runs",
        description="a run whose owner's page sent heartbeats and then none this long is "
        "paused (runs driven by scripts, which send none, are never touched)",
    )
    owner_idle_stop_s: float = setting(
        600.0, gt=0, part="runs", description="... and after this long without one it is stopped"
    )
    # Questions to a run's worker (/predict), answered in the run's turn (server/runs/asks.py).
    max_asks_per_run: int = setting(
        4,
        ge=1,
        part="runs",
        description="predictions waiting on one active run at once (each answered in the run's "
        "turn in its worker; 429 past it)",
    )
    max_asks_per_client: int = setting(
        4,
        ge=1,
        part="runs",
        description="predictions waiting on active runs at once, per client address (429)",
    )
    # ONNX exports, made on request in a process of their own (server/runs/offline.py).
    onnx_timeout_s: float = setting(
        180.0,
        gt=0,
        part="runs",
        description="longest one ONNX export or ended-run prediction may take (they run in a "
        "process of their own)",
    )
    # The embedding projector and recommendations (server/api/routes_projection.py).
    projection_max_points: int = setting(
        500,
        ge=10,
        le=5000,
        part="runs",
        description="validation examples one projection draws at most (its `limit`; 422 past it)",
    )
    tsne_timeout_s: float = setting(
        60.0,
        gt=0,
        part="runs",
        description="longest one t-SNE may take, in the process of ended-run jobs (it counts "
        "against LAYERLAB_MAX_OFFLINE_JOBS)",
    )
    max_offline_jobs: int = setting(
        8,
        ge=1,
        part="runs",
        description="ONNX exports and ended-run predictions waiting for their process or in it, "
        "one at a time (429 past it)",
    )

    # -- Workers -------------------------------------------------------------------------
    workers: int = setting(
        default_factory=lambda: max(1, os.cpu_count() or 1),
        ge=1,
        le=64,
        part="workers",
        shown="the number of cores",
        description="training processes",
    )
    backend: Literal["local", "ray"] = setting(
        "local",
        part="workers",
        description="local: spawned worker processes; ray: Ray actors on a cluster",
    )
    worker_memory_mb: int = setting(
        4096,
        ge=256,
        part="workers",
        description="memory per worker (address-space limit on the CPU, resident-size "
        "watchdog everywhere)",
    )
    time_slice_s: float = setting(
        0.05,
        gt=0,
        le=5,
        part="workers",
        description="training time one run gets per turn in its worker",
    )
    # A worker's turn for one run is one step or a time slice, but the step that ends an epoch
    # also runs its validation pass (forward only, the whole validation set: ~5 s for a CNN at
    # the FLOPs limit on 10,000 MNIST images), and the first turn builds the model and data.
    max_step_s: float = setting(
        30.0,
        gt=0,
        part="workers",
        description="one turn of a run (a step, or its build) running longer gets the worker "
        "replaced and the run failed",
    )
    heartbeat_timeout_s: float = setting(
        5.0,
        gt=0,
        part="workers",
        description="a worker silent this long is declared hung and replaced",
    )
    fast_path: bool = setting(
        True,
        part="workers",
        description="train small dense networks with fused NumPy steps (engine/fastpath); "
        "false: always eager PyTorch",
    )
    fast_path_compiled: bool = setting(
        True,
        part="workers",
        description="and with the compiled kernel (numba; ~140 MB more per worker) once loaded",
    )
    stack_max: int = setting(
        256,
        ge=1,
        le=4096,
        part="workers",
        description="most same-shape paced runs a worker trains as one stacked computation "
        "per turn (engine/fastpath/stacked.py); below 3: each run alone",
    )

    # -- Store: the database of runs, epoch records, exports, designs and uploads ----------
    persist_runs: bool = setting(
        True,
        part="store",
        description="keep runs in the database (off: an in-memory one, lost at exit, and no "
        "exports)",
    )
    state_dir: Path = setting(
        Path(".layerlab"),
        part="store",
        description="the SQLite database, the export spool, checkpoints and upload files",
    )
    # -- Replicas (server/cluster) -------------------------------------------------------
    redis_url: str = setting(
        "",
        part="replicas",
        shown="empty: one process, as without replicas",
        description="redis://host:port/db: replicas that share it and one PostgreSQL database "
        "form one LayerLab (records through Redis streams, controls relayed to a run's owner)",
    )
    replica_id: str = setting(
        "",
        part="replicas",
        shown="empty: a random id per start",
        description="this replica's name in run leases and relayed controls",
    )
    lease_s: float = setting(
        5.0,
        ge=1,
        le=60,
        part="replicas",
        description="a run's lease lasts this long past its owner's last renewal (a third of it)",
    )
    redis_stream_max: int = setting(
        100_000,
        ge=100,
        part="replicas",
        description="records kept per run's Redis stream (approximate trim; the database keeps all)",
    )
    redis_max_connections: int = setting(
        256,
        ge=8,
        part="replicas",
        description="Redis connections per replica (each run followed for viewers here holds one)",
    )
    relay_timeout_s: float = setting(
        10.0,
        gt=0,
        le=60,
        part="replicas",
        description="a control relayed to the replica that owns the run waits this long for its answer",
    )
    database_url: str = setting(
        "",
        part="store",
        shown="empty: SQLite at `<state_dir>/layerlab.db`",
        description="SQLAlchemy URL; postgresql://user:pass@host/db uses PostgreSQL (psycopg 3)",
    )
    flush_interval_s: float = setting(
        1.0,
        gt=0,
        le=10,
        part="store",
        description="epoch records reach the database at least this often (what a kill -9 "
        "can lose)",
    )
    cache_runs: int = setting(
        16, ge=0, part="store", description="ended runs kept in memory besides the database"
    )
    store_max_pending: int = setting(
        50_000,
        ge=100,
        part="store",
        description="writes kept in memory while the database cannot be written; past it "
        "they go to the journal, and once that is full epoch records are dropped (and "
        "counted), past twice it every write",
    )
    store_journal_mb: int = setting(
        256,
        ge=0,
        part="store",
        description="beyond those, writes wait in a journal file in the state folder, "
        "replayed in order when the database can be written again; past it they are dropped "
        "(0: no journal)",
    )
    checkpoint_interval_s: float = setting(
        5.0,
        gt=0,
        part="store",
        description="an active run's weights are checkpointed this often",
    )

    # -- Hardening: what no single socket or header may take from a shared server ---------
    loop_stall_s: float = setting(
        5.0,
        gt=0,
        le=300,
        part="hardening",
        description="the server's event loop answering its watchdog this late is a stall: "
        "logged with the loop's stack, counted in /api/health",
    )
    max_ws_per_client: int = setting(
        32, ge=1, part="hardening", description="open WebSocket streams per client address"
    )
    trusted_proxies: Annotated[list[str], NoDecode] = setting(
        default_factory=list,
        part="hardening",
        shown="none",
        description="addresses whose X-Forwarded-For/-Proto are believed (comma-separated)",
    )
    allowed_hosts: Annotated[list[str], NoDecode] = setting(
        default_factory=list,
        part="hardening",
        shown="none",
        description="Host names served besides localhost and IP addresses ('*': any)",
    )
    allowed_origins: Annotated[list[str], NoDecode] = setting(
        default_factory=list,
        part="hardening",
        shown="none",
        description="origins besides the server's own that may POST and open streams",
    )

    @field_validator("trusted_proxies", "allowed_hosts", "allowed_origins", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        """`LAYERLAB_ALLOWED_HOSTS=lab.example.org,10.0.0.5`: a comma-separated list."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    # -- Classes (server/classes): inside a class, students are limited by their token, not
    # by address (a school's NAT puts a whole class behind one), and the class as a whole.
    max_runs_per_class: int = setting(
        64, ge=1, part="classes", description="active runs of one class at once (its students')"
    )
    max_runs_per_student: int = setting(
        2, ge=1, part="classes", description="active runs of one student at once"
    )
    class_dashboard_interval_s: float = setting(
        1.0, gt=0, le=10, part="classes", description="how often a teacher's dashboard is sent"
    )
    class_race_interval_s: float = setting(
        2.0,
        ge=0.5,
        le=30,
        part="classes",
        description="how often a class's race board (the projector's live view of every run) is sent",
    )
    # ... and what one address may take through classes (server/classes/limits.py).
    class_max_students: int = setting(
        200,
        ge=1,
        part="classes",
        description="students who may join one class (409)",
    )
    max_classes_per_client: int = setting(
        8,
        ge=1,
        part="classes",
        description="classes one address may have open: opened in the last 24 h, not closed (429)",
    )
    max_open_classes: int = setting(
        1000,
        ge=1,
        part="classes",
        description="classes the whole server may have open, the same way (429)",
    )
    max_class_runs_per_client: int = setting(
        60,
        ge=1,
        part="classes",
        description="active runs of all the classes one address opened, together (429)",
    )
    class_runs_reserved: int = setting(
        4,
        ge=0,
        part="classes",
        description="run slots of LAYERLAB_MAX_RUNS that class runs never take (429)",
    )
    class_joins_per_minute: int = setting(
        120,
        ge=1,
        part="classes",
        description="students one address may join to classes per minute (429)",
    )
    class_misses_per_minute: int = setting(
        20,
        ge=1,
        part="classes",
        description="unknown class codes or refused tokens per address per minute; past it every class lookup from the address waits (429)",
    )
    max_class_sockets_per_client: int = setting(
        256,
        ge=1,
        part="classes",
        description="open class sockets (WS /ws/classes) per client address (429)",
    )
    max_class_sockets_per_member: int = setting(
        4,
        ge=1,
        part="classes",
        description="open class sockets per teacher or student token (429)",
    )
    class_max_sockets: int = setting(
        600,
        ge=1,
        part="classes",
        description="open class sockets (WS /ws/classes) of one class: its students', the teacher's and the projector's pages (429)",
    )
    rate_limit_clients: int = setting(
        10_000,
        ge=16,
        part="classes",
        description="addresses each class rate limiter remembers at most",
    )

    # -- Uploads (server/uploads): every limit is checked while the file is read ----------
    upload_max_bytes: int = setting(
        16 << 20, ge=1024, part="uploads", description="bytes of one uploaded file"
    )
    upload_max_rows: int = setting(70_000, ge=10, part="uploads", description="rows of a CSV")
    upload_max_columns: int = setting(200, ge=2, part="uploads", description="columns of a CSV")
    upload_max_cells: int = setting(
        2_000_000, ge=100, part="uploads", description="cells (rows x columns) of a CSV"
    )
    upload_max_features: int = setting(
        1000,
        ge=1,
        part="uploads",
        description="model inputs of a CSV after one-hot encoding its text columns",
    )
    upload_max_classes: int = setting(
        100,
        ge=2,
        part="uploads",
        description="classes of a target, and distinct values of a text column",
    )
    upload_max_images: int = setting(
        10_000, ge=2, part="uploads", description="images in an uploaded zip"
    )
    upload_max_pixels: int = setting(
        4_000_000,
        ge=64,
        part="uploads",
        description="pixels of one image in a zip, read from its header before it is decoded",
    )
    upload_max_unzipped_bytes: int = setting(
        256 << 20,
        ge=1024,
        part="uploads",
        description="bytes of a zip's files once decompressed, in all",
    )
    upload_max_image_side: int = setting(
        64, ge=8, le=256, part="uploads", description="largest resize side"
    )
    upload_parse_workers: int = setting(
        2,
        ge=1,
        le=64,
        part="uploads",
        description="processes that parse uploaded files (one file each); more uploads wait "
        "up to 10 s, then 429",
    )
    upload_parse_timeout_s: float = setting(
        60.0,
        gt=0,
        part="uploads",
        description="seconds one file may take to parse; past it its process is killed and "
        "the upload gets a 413",
    )
    upload_max_per_owner: int = setting(
        50, ge=1, part="uploads", description="uploads one owner may keep"
    )
    upload_quota_owner_bytes: int = setting(
        64 << 20,
        ge=1024,
        part="uploads",
        description="stored bytes of uploads one owner token may keep",
    )
    upload_quota_client_bytes: int = setting(
        256 << 20,
        ge=1024,
        part="uploads",
        description="stored bytes of uploads from one address, whatever their owner tokens",
    )
    upload_quota_total_bytes: int = setting(
        2 << 30, ge=1024, part="uploads", description="stored bytes of all uploads on the server"
    )

    # -- Ray (server/runs/backends/ray.py) -----------------------------------------------
    ray_address: str = setting(
        "",
        part="ray",
        description="the Ray cluster to join: 'auto', an address (host:6379, "
        "ray://host:10001); empty: start a local Ray for this machine",
    )
    ray_num_cpus: float = setting(
        1.0, gt=0, part="ray", description="CPUs each Ray worker actor reserves"
    )
    ray_orphan_s: float = setting(
        30.0,
        gt=0,
        part="ray",
        description="a worker actor not polled by its server this long exits (the server was "
        "killed: Ray would keep it)",
    )
    ray_gpu_fraction: float = setting(
        0.25,
        ge=0,
        le=1,
        part="ray",
        description="the share of a GPU each Ray worker actor reserves when runs train on CUDA "
        "(LAYERLAB_DEVICE=cuda, or auto on a cluster with GPUs)",
    )


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
