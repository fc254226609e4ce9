"""Whether a checked design fits in a worker: its training batch's memory, estimated up front.

The engine bounds parameters and values per layer; a run also holds one batch's activations,
their gradients and autograd's saved tensors. A design whose batch would not fit in a worker's
`worker_memory_mb` is refused with a 422 instead of failing inside the worker.
"""

from __future__ import annotations

import math

from ..config import Settings
from .errors import ExperimentError

BYTES_PER_VALUE = 4  # float32
COPIES = 3  # activation, its gradient, and what autograd saves for backward
WORKER_BASELINE_MB = 768  # python, torch and the data, before any batch


def batch_bytes(check: dict, batch_size: int) -> int:
    """About how many bytes one training batch needs (every layer's output, kept for backward)."""
    values = math.prod(check["input_shape"]) + math.prod(check["head"]["output_shape"])
    values += sum(math.prod(layer["output_shape"]) for layer in check["layers"])
    return batch_size * values * BYTES_PER_VALUE * COPIES


def check_memory(experiment: dict, check: dict, settings: Settings) -> None:
    """Raise ExperimentError (at training.batch_size) when a batch would not fit in a worker."""
    batch_size = int(experiment["training"]["batch_size"])
    need = batch_bytes(check, batch_size)
    room = max(0, settings.worker_memory_mb - WORKER_BASELINE_MB) * 2**20
    if need > room:
        fits = max(1, batch_size * room // max(need, 1))
        raise ExperimentError.single(
            ("training", "batch_size"),
            f"a batch of {batch_size:,} through this model needs about {need / 2**30:.1f} GB, "
            f"more than a worker has ({settings.worker_memory_mb:,} MB, "
            f"LAYERLAB_WORKER_MEMORY_MB); use a batch size of at most {fits:,} "
            "or smaller layers",
            "limit",
        )
