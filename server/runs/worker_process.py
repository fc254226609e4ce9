"""A worker process's life: its memory bound, the engine warmed once (or once in the forkserver
that forks it: zygote.py), then `Worker.loop` until the server is gone. The loop itself, and
the commands and messages it speaks, are in worker.py and protocol.py.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import threading
import traceback
from multiprocessing.connection import Connection
from typing import Any

from ..config import Settings
from ..core.orphans import exit_with_parent
from ..core.titles import name_process
from .beat import Beat
from .worker import DEFAULT_TRAINER, Worker


def _limit_memory(settings: Settings) -> None:
    """Bound the address space on CPU, so a huge allocation fails one run with MemoryError."""
    import resource

    limit = settings.worker_memory_mb * 1024 * 1024
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


WARM_UP = {
    "dataset": {"name": "spiral", "samples": 40},
    "model": {"layers": [{"type": "dense", "units": 4, "activation": "tanh"}]},
    "training": {"epochs": 1, "batch_size": 10},
}


_warmed: set[tuple[str, bool]] = set()  # (factory, on CUDA) warmed here or in the forkserver


def warm_up(factory_path: str, settings: Settings, cuda: bool = False) -> None:
    """Train one tiny epoch, so the first real run does not pay for lazy imports and setup:
    once per process and device, or once in the forkserver that forks the workers (zygote.py:
    the CPU's), whose pages the workers then share."""
    if (factory_path, cuda) in _warmed:
        return
    _warmed.add((factory_path, cuda))
    warm_factory(load_factory(factory_path), settings)


def warm_factory(factory: Any, settings: Settings) -> None:
    try:
        from server.engine.model import parse_experiment

        trainer = factory(parse_experiment(WARM_UP, settings), settings)
        while trainer.train_steps(0.1) is None:
            pass
        trainer.probe()
    except Exception:  # noqa: BLE001 - warming up is an optimisation only
        traceback.print_exc(file=sys.stderr)


def load_factory(path: str) -> Any:
    """The trainer factory named `module:attribute`."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def worker_main(
    settings_doc: dict,
    commands: Connection,
    out: Connection,
    factory: str = DEFAULT_TRAINER,
    beat: Beat | None = None,
    parent_pid: int | None = None,
) -> None:
    """Process entry point: set torch up for one thread, warm the engine, then loop; with
    `parent_pid` (the server's), the process ends as soon as the server is gone (kill -9)."""
    name_process("worker", parent_pid)
    if parent_pid is not None:
        exit_with_parent(parent_pid)  # mid-step too: no waiting for the pipe's end-of-file
    settings = Settings(**settings_doc)
    import torch

    use_cuda = settings.device != "cpu" and torch.cuda.is_available()
    torch.set_num_threads(1)
    if not use_cuda:
        _limit_memory(settings)
    trainer_factory = load_factory(factory)
    warm_up(factory, settings, cuda=use_cuda)
    worker = Worker(settings, commands, out, trainer_factory, beat)
    worker.send("ready", os.getpid())
    beat = threading.Thread(target=worker.heartbeat, name="layerlab-heartbeat", daemon=True)
    beat.start()
    try:
        worker.loop()
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        pass
    finally:
        worker.running = False
        with worker._send_lock:
            out.close()
        commands.close()
