"""What every worker process needs, loaded once in the forkserver that forks them.

Spawned workers each imported torch (~145 MB of private memory) and loaded the compiled
kernel (numba, llvmlite and scipy: ~115 MB more), so a server with two idle workers held
~1.17 GB resident (885 MB proportional set size: `python -m bench.idle_memory`). Forked from
one process that has done both, workers share those pages copy-on-write until they write
them. Fork-safe on purpose: nothing here starts a thread that outlives the import (the kernel
is loaded synchronously; torch is told to use one thread before any operation), and CUDA is
never touched (a worker initialises it after the fork). `layerlab serve` imports this in the
server too and forks the forkserver from there (prefork.py), so the server shares the pages.
"""

from __future__ import annotations

import gc

import torch

from server.config import Settings
from server.engine import fastpath  # noqa: F401 - imported to be shared
from server.engine.fastpath import compiler
from server.runs import worker, worker_process

torch.set_num_threads(1)
compiler.warm()
compiler.wait()
# The engine's lazy imports and first-call setup, once; on the CPU whatever the machine, so
# that no CUDA driver is initialised before the fork.
worker_process.warm_up(worker.DEFAULT_TRAINER, Settings(device="cpu"))
# Keep the collector away from everything imported so far: a collection writes to every
# object's header, which would copy each shared page into every worker.
gc.freeze()
