"""The embedding projector: the validation set's activations at any layer, projected to 2D.

`project(trainer, layer, method)` runs (at most `limit`) validation examples through the
network with its current weights, keeps the output of body layer `layer` (or the input, -1),
flattens it to (N, D) and projects it:
- `pca`: scikit-learn's PCA (exact, deterministic: cheap enough to redo every snapshot while
  training); each component's sign fixed so its largest loading is positive, so the picture
  does not flip between calls;
- `tsne`: scikit-learn's t-SNE from the PCA start, on demand (seconds for a few hundred points).

Returns `{"layer", "method", "dim", "points" (N, 2), "labels" (N,) or None, "class_names",
"hover" (N,)}`: hover says what each point is (the sentence for `sentiment`, else
"validation example i"), colour comes from the label (classification) or the target.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from torch import Tensor

from .bytegrid import rounded_list

Method = Literal["pca", "tsne"]
DEFAULT_LIMIT = 500  # points drawn; t-SNE on 500 points takes about a second here


class ProjectorError(ValueError):
    """A request the projector cannot answer (a layer index out of range); the message says."""


def activations(model: Any, x: Tensor, layer: int) -> Tensor:
    """The output of body layer `layer` for inputs `x` (-1: the input itself), (N, D) float."""
    if layer == -1:
        out = x
    else:
        out = x
        for i, module in enumerate(model.body):
            out = module(out)
            if i == layer:
                break
    return out.reshape(out.shape[0], -1).float()


def pca_points(acts: np.ndarray) -> np.ndarray:
    """(N, D) -> (N, 2) by scikit-learn's exact PCA, component signs fixed as documented."""
    acts = np.nan_to_num(np.asarray(acts, dtype=np.float64))
    if acts.shape[1] == 1:
        return np.concatenate([acts - acts.mean(), np.zeros_like(acts)], axis=1)
    pca = PCA(n_components=2, svd_solver="full").fit(acts)
    comps = pca.components_
    signs = np.sign(comps[np.arange(2), np.abs(comps).argmax(axis=1)])
    signs[signs == 0] = 1
    return (acts - pca.mean_) @ (comps * signs[:, None]).T


def tsne_points(acts: np.ndarray, seed: int = 0) -> np.ndarray:
    """(N, D) -> (N, 2) by scikit-learn's t-SNE (PCA start, perplexity fit to N)."""
    acts = np.nan_to_num(np.asarray(acts, dtype=np.float64))
    perplexity = float(min(30.0, max(2.0, (len(acts) - 1) / 3)))
    tsne = TSNE(n_components=2, init="pca", perplexity=perplexity, random_state=seed)
    return tsne.fit_transform(acts)


def project(
    trainer: Any, layer: int, method: Method = "pca", limit: int = DEFAULT_LIMIT
) -> dict[str, Any]:
    """The validation set's activations at `layer`, in 2D (see the module docstring)."""
    body = len(trainer.model.body)
    if not isinstance(layer, int) or not -1 <= layer < body:
        raise ProjectorError(f"layer must be -1 (the input) or 0 to {body - 1}, not {layer!r}")
    if method not in ("pca", "tsne"):
        raise ProjectorError(f"method must be pca or tsne, not {method!r}")
    data = trainer.data
    if layer == -1 and data.meta.get("input_dtype") == "int64":
        raise ProjectorError("the input is token ids: pick a layer after the embedding")
    n = min(limit, data.n_val)
    with trainer.own_rng(), trainer.eval_mode(), torch.no_grad():
        acts = activations(trainer.model, trainer.x_val[:n], layer).cpu().numpy()
    points = pca_points(acts) if method == "pca" else tsne_points(acts)
    texts = data.meta.get("texts_val")
    hover = list(texts[:n]) if texts else [f"validation example {i}" for i in range(n)]
    classes = data.task == "classification"
    y = data.y_val[:n]
    return {
        "layer": layer,
        "method": method,
        "dim": int(acts.shape[1]),
        "points": rounded_list(points, 4),
        "labels": y.tolist() if classes else None,
        "values": None if classes else rounded_list(y.reshape(n, -1)[:, 0], 4),
        "class_names": data.class_names,
        "hover": hover,
    }
