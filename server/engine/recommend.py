"""Recommendations from a run on `ratings`: one user's top items, and the items as a map.

`recommend(trainer, user, k)` scores every item for `user` with the whole network (the
`recommender` layer and the head after it, so the numbers are the ratings the run predicts),
leaves out the items the dataset says the user already rated (their ratings are in the
training and validation pairs), and returns the `k` best:

    {"user", "users", "items", "top": [{"item", "name", "score"}] (k, best first),
     "rated": [{"item", "name", "rating", "score"}] (the user's known ratings, predicted
     beside them), "rmse", "baseline_rmse", "mean_rating",
     "map": the projector's answer for the item vectors (points, labels = genre,
            hover = item names; `reduced` instead of points for a deferred t-SNE)}

`rmse` is measured here on the whole validation set with the current weights; the baseline
is the dataset's (always predicting the training mean rating).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .bytegrid import rounded, rounded_list
from .datasets.ratings import GENRES
from .projector import METHODS, TSNE_DIMS, ProjectorError, pca_points, tsne_points
from .recommender import DotRecommender

MAX_TOP = 50  # items listed at most


def recommender_of(trainer: Any) -> DotRecommender:
    """The run's recommender layer, or ProjectorError saying what is needed."""
    module = next((m for m in trainer.model.modules() if isinstance(m, DotRecommender)), None)
    if module is None or "item_names" not in trainer.data.meta:
        raise ProjectorError(
            "recommendations need a run on the ratings dataset with a recommender layer"
        )
    return module


def recommend(
    trainer: Any, user: int, k: int = 10, method: str = "pca", *, defer_tsne: bool = False
) -> dict[str, Any]:
    """`user`'s top `k` unrated items, their known ratings and the item map (see above)."""
    rec = recommender_of(trainer)
    meta = trainer.data.meta
    users, n_items, names = int(meta["users"]), int(meta["items"]), meta["item_names"]
    if isinstance(user, bool) or not isinstance(user, int) or not 0 <= user < users:
        raise ProjectorError(f"user must be 0 to {users - 1}, not {user!r}")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_TOP:
        raise ProjectorError(f"k must be 1 to {MAX_TOP}, not {k!r}")
    if method not in METHODS:
        raise ProjectorError(f"method must be pca or tsne, not {method!r}")
    data = trainer.data
    device = trainer.device
    pairs = torch.stack(
        [torch.full((n_items,), user, dtype=torch.int64), torch.arange(n_items)], dim=1
    )
    with trainer.own_rng(), trainer.eval_mode(), torch.no_grad():
        scores = trainer.model(pairs.to(device)).reshape(-1).cpu()
        val_pred = trainer.model(trainer.x_val).reshape(-1).cpu()
    rmse = float(torch.sqrt(((val_pred - data.y_val.reshape(-1).cpu()) ** 2).mean()))
    known: dict[int, float] = {}
    for x, y in ((data.x_train, data.y_train), (data.x_val, data.y_val)):
        mine = x[:, 0] == user
        for item, rating in zip(x[mine, 1].tolist(), y[mine, 0].tolist(), strict=True):
            known[int(item)] = float(rating)
    order = torch.argsort(scores, descending=True).tolist()
    top = [i for i in order if i not in known][:k]
    return {
        "user": user,
        "users": users,
        "items": n_items,
        "top": [{"item": i, "name": names[i], "score": rounded(scores[i], 4)} for i in top],
        "rated": [
            {"item": i, "name": names[i], "rating": r, "score": rounded(scores[i], 4)}
            for i, r in sorted(known.items(), key=lambda kv: -kv[1])
        ],
        "rmse": rounded(rmse, 5),
        "baseline_rmse": meta.get("baseline_rmse"),
        "mean_rating": meta.get("mean_rating"),
        "map": item_map(rec, names, n_items, method, defer_tsne=defer_tsne),
    }


def item_map(
    rec: DotRecommender, names: list[str], n_items: int, method: str, *, defer_tsne: bool
) -> dict[str, Any]:
    """The item vectors in 2D, coloured by genre (the projector's answer shape)."""
    vectors = rec.items.weight[:n_items].detach().cpu().double().numpy()
    out: dict[str, Any] = {
        "layer": "items",
        "layer_name": "their learned vectors",
        "noun": "items",
        "colour_by": "genre",
        "method": method,
        "dim": int(vectors.shape[1]),
        "count": n_items,
        "index": list(range(n_items)),
        "labels": [i % len(GENRES) for i in range(n_items)],
        "values": None,
        "class_names": list(GENRES),
        "hover": list(names[:n_items]),
    }
    if method == "pca":
        out["points"] = rounded_list(pca_points(vectors), 4)
    elif defer_tsne:
        out["points"] = None
        reduced = vectors if vectors.shape[1] <= TSNE_DIMS else pca_points(vectors, TSNE_DIMS)
        out["reduced"] = rounded_list(np.asarray(reduced), 5)
    else:
        out["points"] = rounded_list(tsne_points(vectors), 4)
    return out
