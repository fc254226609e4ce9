"""Shared by the benchmarks: a real server in a subprocess, and the example experiments."""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests import servers

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def example(name: str, **training) -> dict:
    doc = json.loads((EXAMPLES / f"{name}.json").read_text())
    doc["training"].update(training)
    return doc


@contextlib.contextmanager
def server(
    workers: int = 1, timeout: float = 120.0, src: Path | None = None, **env: str
) -> Iterator[str]:
    """`layerlab serve` in a subprocess (so clients do not share its GIL); yields its URL.
    Started and awaited by tests/servers.py, the one place that starts servers. `src`: run
    the server package of another source tree (a baseline: `git archive REV | tar -x -C DIR`)
    with this environment's Python, so a benchmark compares both in one run."""
    with tempfile.TemporaryDirectory() as state:
        environ = {
            "LAYERLAB_PERSIST_RUNS": "false",
            "LAYERLAB_STATE_DIR": state,
            "LAYERLAB_MAX_RUNS_PER_CLIENT": "64",
            **servers.layerlab_env(**env),
        }
        where = {} if src is None else {"cwd": src}
        if src is not None:
            environ["PYTHONPATH"] = str(src)
        with servers.running(
            env=environ, workers=workers, timeout=timeout, log=Path(state) / "server.log", **where
        ) as process:
            yield process.base


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]
