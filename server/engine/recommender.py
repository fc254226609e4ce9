"""The `recommender` layer: a ready matrix-factorisation block for (user, item) token pairs.

Input `(2,)` integer ids `[user, item]` (the `ratings` dataset); output `(1,)`: the dot product
of a learned user vector and a learned item vector, plus a learned bias for each. Both tables
have the dataset's `vocab_size` rows (the larger of its user and item counts).

A layer of its own rather than a graph of two embeddings and a dot: it works in a plain stack,
and its item table is what the recommendations view maps.
"""

from __future__ import annotations

import torch
from pydantic import Field
from torch import Tensor, nn

from .layers import LayerContext, LayerParams, LayerType, _need, register


class RecommenderParams(LayerParams):
    dim: int = Field(8, ge=1, le=1024, description="length of each user's and item's vector")


class DotRecommender(nn.Module):
    """(N, 2) ids -> (N, 1): users(x[:, 0]) · items(x[:, 1]) + user bias + item bias."""

    def __init__(self, rows: int, dim: int):
        super().__init__()
        self.rows, self.dim = rows, dim  # read back by the exported script's printer
        self.users = nn.Embedding(rows, dim)
        self.items = nn.Embedding(rows, dim)
        self.user_bias = nn.Embedding(rows, 1)
        self.item_bias = nn.Embedding(rows, 1)
        # Small starting vectors: the dot product starts near 0 and the biases learn first.
        for table in (self.users, self.items):
            nn.init.normal_(table.weight, std=0.1)
        for table in (self.user_bias, self.item_bias):
            nn.init.zeros_(table.weight)

    def forward(self, x: Tensor) -> Tensor:
        u, i = x[:, 0], x[:, 1]
        dot = (self.users(u) * self.items(i)).sum(dim=1, keepdim=True)
        return dot + self.user_bias(u) + self.item_bias(i)

    @torch.no_grad()
    def top_items(self, user: int, k: int) -> list[tuple[int, float]]:
        """The `k` highest predicted scores for `user` over every item row: (item, score)."""
        ids = torch.arange(self.items.num_embeddings)
        scores = self.items(ids) @ self.users.weight[user] + self.item_bias.weight[:, 0]
        scores = scores + self.user_bias.weight[user, 0]
        best = torch.topk(scores, min(k, len(ids)))
        return [(int(i), float(s)) for s, i in zip(best.values, best.indices, strict=True)]


@register
class Recommender(LayerType):
    name = "recommender"
    title = "Recommender"
    description = (
        "Two embeddings joined by a dot product: [user, item] ids become one score, "
        "user vector · item vector + biases."
    )
    category = "recurrent"  # with the other token layers in the palette
    Params = RecommenderParams

    def output_shape(self, shape, p, ctx: LayerContext):
        if not ctx.tokens or shape != (2,):
            raise _need("a [user, item] pair of integer ids (2,)", shape, "use the ratings dataset")
        return (1,)

    def build(self, shape, p, ctx: LayerContext):
        return DotRecommender(ctx.vocab_size or 1, p.dim)
