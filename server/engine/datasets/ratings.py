"""`ratings`: users rate items 1..5 from hidden tastes (a recommender's data, generated).

Every user and item gets a hidden taste vector of `tastes` numbers plus a bias; a user's
rating of an item is 3 + their dot product + both biases + noise, rounded and clipped to 1..5.
Each example is one observed (user, item) pair: x = [user id, item id] (int64, tokens below
`max(users, items)`), y = the rating (float32, (1,)). The `recommender` layer learns it.

`meta["baseline_rmse"]`: the validation RMSE of always predicting the training mean rating,
the number a recommender has to beat (its RMSE is the square root of its mse validation loss).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from pydantic import Field

from server.config import Settings

from .base import Data, DatasetParams, DatasetType, DataShapes, register
from .fields import noise_field, samples_field, seed_field, train_fraction_field
from .preview import first, ints

# Item names for the page: a genre word and a number ("jazz 7"), so a map of item
# embeddings can be read by the genre tastes behind it.
GENRES = ["action", "comedy", "drama", "jazz", "horror", "sci-fi", "romance", "folk"]


class RatingsParams(DatasetParams):
    samples: int = samples_field(8000, le=200_000, what="observed ratings")
    users: int = Field(200, ge=2, le=10_000, description="people who rate")
    items: int = Field(120, ge=2, le=10_000, description="things they rate")
    tastes: int = Field(3, ge=1, le=16, description="hidden taste dimensions behind the ratings")
    noise: float = noise_field(0.3, le=2.0, what="standard deviation of noise in each rating")
    train_fraction: float = train_fraction_field(0.8)
    seed: int = seed_field()


def item_names(items: int) -> list[str]:
    return [f"{GENRES[i % len(GENRES)]} {i // len(GENRES) + 1}" for i in range(items)]


@register
class Ratings(DatasetType):
    name = "ratings"
    title = "Ratings (recommender)"
    description = (
        "Users rate items 1-5 from hidden tastes; predict a rating from (user, item) with the "
        "recommender layer and beat the mean-rating baseline."
    )
    family = "tabular"
    task = "regression"
    Params = RatingsParams

    def shapes(self, params: RatingsParams) -> DataShapes:
        return DataShapes(
            task="regression",
            input_shape=(2,),
            target_shape=(1,),
            input_dtype="int64",
            vocab_size=max(params.users, params.items),
        )

    def check(self, params: RatingsParams, settings: Settings) -> list[dict]:
        errors = super().check(params, settings)
        if params.samples > params.users * params.items:
            errors.append(
                {
                    "loc": ("samples",),
                    "msg": f"samples must be at most users x items = "
                    f"{params.users * params.items} (each pair is rated once), "
                    f"got {params.samples}",
                    "type": "less_than_equal",
                }
            )
        return errors

    def load(self, params: RatingsParams, settings: Settings) -> Data:
        rng = np.random.default_rng(params.seed)
        k = params.tastes
        # Taste vectors scaled so the dot product has standard deviation ~1 whatever k is.
        u = rng.standard_normal((params.users, k)) / k**0.25
        v = rng.standard_normal((params.items, k)) / k**0.25
        genre = np.arange(params.items) % len(GENRES)
        v[:, 0] += 0.8 * np.cos(genre)  # items of one genre share part of their taste
        bu = 0.4 * rng.standard_normal(params.users)
        bi = 0.4 * rng.standard_normal(params.items)
        pairs = rng.choice(params.users * params.items, size=params.samples, replace=False)
        users, items = pairs // params.items, pairs % params.items
        raw = 3.0 + (u[users] * v[items]).sum(axis=1) + bu[users] + bi[items]
        raw += params.noise * rng.standard_normal(params.samples)
        rating = np.clip(np.rint(raw), 1, 5).astype(np.float32)
        x = np.stack([users, items], axis=1).astype(np.int64)
        order = rng.permutation(params.samples)
        n_train = min(params.samples - 1, max(1, round(params.samples * params.train_fraction)))
        tr, va = order[:n_train], order[n_train:]
        mean = float(rating[tr].mean())
        baseline = float(np.sqrt(((rating[va] - mean) ** 2).mean()))
        return Data(
            x_train=torch.from_numpy(x[tr]),
            y_train=torch.from_numpy(rating[tr, None]),
            x_val=torch.from_numpy(x[va]),
            y_val=torch.from_numpy(rating[va, None]),
            task="regression",
            input_shape=(2,),
            target_shape=(1,),
            feature_names=["user", "item"],
            meta={
                "vocab_size": max(params.users, params.items),
                "input_dtype": "int64",
                "users": params.users,
                "items": params.items,
                "item_names": item_names(params.items),
                "mean_rating": round(mean, 4),
                "baseline_rmse": round(baseline, 4),
            },
        )

    def picture(self, data: Data, params: RatingsParams) -> dict[str, Any]:
        idx = first(data.n_train, 12)
        names = data.meta["item_names"]
        return {
            "kind": "ratings",
            "pairs": ints(data.x_train[idx]),
            "items": [names[int(i)] for i in data.x_train[idx, 1]],
            "ratings": ints(data.y_train[idx, 0]),
            "users": params.users,
            "n_items": params.items,
            "mean_rating": data.meta["mean_rating"],
            "baseline_rmse": data.meta["baseline_rmse"],
        }
