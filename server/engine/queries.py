"""Questions to a run's network beside `predict`: what the projector and recommender views ask.

`answer_query(trainer, kind, params)` answers one, with the run's current weights, in eval
mode and under the trainer's own RNG (training goes on unchanged after it):
- "project": {"layer", "method", "limit", "examples"} -> projector.project
- "recommend": {"user", "k", "method"} -> recommend.recommend

The same function answers in a training worker (a running or paused run: `defer_tsne`, so
the seconds of t-SNE are spent in the server's offline process, not in the run's turn) and in
the offline process (an ended run, rebuilt from its weights). A request the run cannot answer
raises ProjectorError (an InputError: HTTP 422) whose message names the field.
"""

from __future__ import annotations

from typing import Any

from .preprocess import InputError
from .projector import ProjectorError, project
from .recommend import recommend

KINDS = ("project", "recommend")


def answer_query(trainer: Any, kind: str, params: dict, *, defer_tsne: bool = True) -> dict:
    """The answer to one query (see the module docstring)."""
    if kind == "project":
        return project(
            trainer,
            params.get("layer", 0),
            params.get("method", "pca"),
            int(params.get("limit", 300)),
            examples=bool(params.get("examples")),
            defer_tsne=defer_tsne,
        )
    if kind == "recommend":
        return recommend(
            trainer,
            params.get("user", 0),
            params.get("k", 10),
            params.get("method", "pca"),
            defer_tsne=defer_tsne,
        )
    raise ProjectorError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")


__all__ = ["KINDS", "InputError", "ProjectorError", "answer_query"]
