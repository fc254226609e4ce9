"""What a live PCA costs the run it watches: one `project` call (300 validation examples, one
torch thread and BLAS held to one thread, as in a worker) against one training epoch of the same
run, measured in the same process, per layer. The page asks at most once a second while the
projector is on screen (static/js/widgets/projector-view.js), so `ms per PCA / 1000 ms` is the
share of the run's turn it takes; the ratio to an epoch says how many epochs one PCA is worth.

    python -m bench.projection [--reps 5] [--limit 300]
"""

from __future__ import annotations

import argparse
import time

import torch

from bench.common import example
from server.config import Settings
from server.engine.model import parse_experiment
from server.engine.projector import project
from server.engine.trainer import Trainer

CASES = {
    "sentiment_lstm": ["1"],
    "digits_cnn": ["0", "1", "3", "head"],
    "ratings_recommender": ["0"],
}


def timed(fn, reps: int) -> float:
    fn()  # warm: the first call imports and allocates
    start = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - start) / reps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--limit", type=int, default=300)
    args = parser.parse_args()
    torch.set_num_threads(1)
    settings = Settings()
    print(
        f"{'design':22} {'layer':6} {'dim':>6} {'PCA ms':>8} {'epoch ms':>9} {'PCA/epoch':>10} {'share at 1/s':>13}"
    )
    for name, layers in CASES.items():
        doc = example(name, epochs=None, device="cpu")
        trainer = Trainer(parse_experiment(doc, settings), settings, device="cpu")
        epoch_s = timed(trainer.train_epoch, 2)
        for layer in layers:
            chosen = int(layer) if layer.isdigit() else layer
            dim = project(trainer, chosen, "pca", args.limit)["dim"]
            pca_s = timed(lambda t=trainer, c=chosen: project(t, c, "pca", args.limit), args.reps)
            print(
                f"{name:22} {layer:6} {dim:6d} {pca_s * 1e3:8.1f} {epoch_s * 1e3:9.1f} "
                f"{pca_s / epoch_s:10.3f} {min(1.0, pca_s) * 100:12.1f}%"
            )


if __name__ == "__main__":
    main()
