"""Words for a run that failed: what happened and what to change, never PyTorch's own message.

PyTorch's errors name kernels and tensor sizes ("Expected more than 1 value per channel when
training, got input size torch.Size([1, 8])"); a student needs the layer and the setting to
change. Known failures get their own sentence; anything else a generic one, while the
traceback goes to the worker's stderr for whoever runs the server.
"""

from __future__ import annotations

from ..engine.errors import ExperimentError

# (a fragment of PyTorch's message, what to tell the user)
KNOWN: tuple[tuple[str, str], ...] = (
    (
        "Expected more than 1 value per channel",
        "batch norm got a single value per feature in a training batch: use a batch size of "
        "at least 2, or remove the batchnorm layer",
    ),
    (
        "can't allocate memory",
        "out of memory: the run needed more than this worker's {memory_mb} MB "
        "(LAYERLAB_WORKER_MEMORY_MB); try a smaller batch size or model",
    ),
    (
        "out of memory",
        "out of memory: the run needed more than this worker's {memory_mb} MB "
        "(LAYERLAB_WORKER_MEMORY_MB); try a smaller batch size or model",
    ),
    (
        "shapes cannot be multiplied",
        "two layers did not fit together while training: change the layer sizes, or add a "
        "flatten or reshape layer between them",
    ),
    (
        "size mismatch",
        "two layers did not fit together while training: change the layer sizes, or add a "
        "flatten or reshape layer between them",
    ),
)

GENERIC = (
    "training stopped on an error inside PyTorch ({kind}) at epoch {epoch}: try a smaller or "
    "simpler design, a smaller learning rate or another optimiser (the server's log has the "
    "details)"
)


def explain_failure(err: BaseException, epoch: int, memory_mb: int) -> str:
    """A failed run's message: what went wrong and what to change, in words."""
    if isinstance(err, ExperimentError):  # the engine's own words, naming the field
        return str(err)
    if isinstance(err, MemoryError):
        return KNOWN[1][1].format(memory_mb=memory_mb)
    text = str(err)
    for fragment, words in KNOWN:
        if fragment in text:
            return words.format(memory_mb=memory_mb)
    return GENERIC.format(kind=type(err).__name__, epoch=epoch + 1)


def overrun_message(max_step_s: float) -> str:
    """A run's message when one training step took over `max_step_s` and its worker was killed."""
    return (
        f"one training step of this design took over {max_step_s:g} s "
        "(LAYERLAB_MAX_STEP_S), so it was stopped to keep the server free for others: "
        "use a smaller batch size, fewer filters or units, or a smaller input"
    )
