"""The embedding projector: the validation set's activations at any layer, projected to 2D.

`project(trainer, layer, method)` runs (at most `limit`) validation examples through the
network with its current weights, keeps the output of body layer `layer` (an index, a graph
layer's `id`, -1 / "input": the input itself, "head": the output) through a forward hook, so
stacks and graphs alike, flattens it to (N, D) and projects it:
- `pca`: scikit-learn's PCA (exact, deterministic); each component's sign fixed so its largest
  loading is positive, so the picture does not flip between calls while the run trains;
- `tsne`: scikit-learn's t-SNE from the PCA start, on demand (seconds for a few hundred
  points). With `defer_tsne` (a training worker must not spend seconds on it: its other runs
  wait) the answer carries `reduced`, the activations cut to at most `TSNE_DIMS` principal
  components (the usual first step of t-SNE), and `points` None: the server finishes it with
  `tsne_points` in a process of its own (server/runs/offline.py).

Live PCA costs (`python -m bench.projection`: 300 validation examples, one torch thread and BLAS
held to one thread by `threadpool_limits`, as in a worker; this project's shared 2-core machine,
load average 6): 4.6 ms for the sentiment LSTM's 32 outputs (0.03 of one of its epochs), 6.4 ms
for the digits CNN's 64-unit dense layer (0.11 epoch), 17 ms for its 256 pooled values and 52 ms
for its first convolution's 1,024 (0.86 epoch); the ratings recommender's 0.4 ms. Under a load
average of 15 the convolution took 420 ms, and 11 s with BLAS's own threads left free (they
oversubscribe the core): hence the limit. The page asks again at most once a second after the
last answer, only while the projector is on screen and the run trains, so it takes 0.5 to 5 %
of the watched run's time; sent with every snapshot instead (up to 20/s, to every viewer,
whether or not anyone looks) it would cost twenty times that. So it is asked for, not streamed.

Returns `{"layer", "layer_name", "method", "dim", "points" (N, 2), "labels" (N,) or None,
"values" (N,) or None, "class_names", "hover" (N,), "index" (N,), "layers"}` and, with
`examples`, `"images"`: each point's example as a small greyscale byte grid (image sets).
`hover` says what each point is: the sentence (`sentiment`), "user 3 · jazz 2: 4★"
(`ratings`), the feature values (points, rows), else "validation example i".
"""

from __future__ import annotations

import re
from typing import Any, Literal

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from threadpoolctl import threadpool_limits
from torch import Tensor

from .bytegrid import byte_grids, rounded_list
from .preprocess import InputError

Method = Literal["pca", "tsne"]
METHODS = ("pca", "tsne")
DEFAULT_LIMIT = 500  # points drawn; t-SNE on 500 points takes about a second here
TSNE_DIMS = 50  # t-SNE reads at most this many principal components (sklearn's advice)
THUMB_PX = 16  # a hover thumbnail's longest side: 16x16 bytes per image point


class ProjectorError(InputError):
    """A request the projector cannot answer (a layer index out of range); the message names
    the field. An InputError: the server answers it 422, like an input that does not fit."""


def activations(model: Any, x: Tensor, layer: int | str) -> Tensor:
    """The output of body layer `layer` for inputs `x` (-1: the input itself, "head": the
    network's output), (N, D) float. A forward hook, so a graph's layers work as a stack's."""
    if layer == -1:
        out: Any = x
    else:
        module = model.head if layer == "head" else model.body[layer]
        captured: list[Any] = []
        handle = module.register_forward_hook(lambda _m, _i, o: captured.append(o))
        try:
            model(x)
        finally:
            handle.remove()
        out = captured[0]
    if isinstance(out, tuple):  # a recurrent layer's (output, state)
        out = out[0]
    return out.reshape(out.shape[0], -1).float()


def pca_points(acts: np.ndarray, components: int = 2) -> np.ndarray:
    """(N, D) -> (N, components) by scikit-learn's exact PCA, component signs fixed as
    documented; fewer real components than asked (D or N too small) are padded with zeros."""
    acts = np.nan_to_num(np.asarray(acts, dtype=np.float64))
    n, d = acts.shape
    k = min(components, d, max(1, n - 1))
    if d == 1 or n < 3:
        centred = acts[:, :1] - acts[:, :1].mean()
        return np.concatenate([centred, np.zeros((n, components - 1))], axis=1)
    with threadpool_limits(1):  # BLAS's own threads oversubscribe a shared worker's core
        pca = PCA(n_components=k, svd_solver="full").fit(acts)
    comps = pca.components_
    signs = np.sign(comps[np.arange(k), np.abs(comps).argmax(axis=1)])
    signs[signs == 0] = 1
    points = (acts - pca.mean_) @ (comps * signs[:, None]).T
    if k < components:
        points = np.concatenate([points, np.zeros((n, components - k))], axis=1)
    return points


def tsne_points(acts: np.ndarray, seed: int = 0) -> np.ndarray:
    """(N, D) -> (N, 2) by scikit-learn's t-SNE (PCA start, perplexity fit to N)."""
    acts = np.nan_to_num(np.asarray(acts, dtype=np.float64))
    if len(acts) < 4:  # t-SNE needs a few neighbours; so few points are their PCA
        return pca_points(acts)
    perplexity = float(min(30.0, max(2.0, (len(acts) - 1) / 3)))
    tsne = TSNE(n_components=2, init="pca", perplexity=perplexity, random_state=seed)
    with threadpool_limits(1):
        return tsne.fit_transform(acts)


def resolve_layer(trainer: Any, layer: Any) -> int | str:
    """The body index (or -1, "head") that `layer` names: an index, a graph layer's id,
    "input" or "head"; ProjectorError (naming `layer`) otherwise."""
    body = len(trainer.model.body)
    if isinstance(layer, str) and layer not in ("head", "input"):
        wiring = getattr(trainer.plan, "wiring", None)
        ids = list(getattr(wiring, "ids", ()) or ())
        if layer in ids:
            return ids.index(layer)
        if re.fullmatch(r"-?\d{1,6}", layer):
            layer = int(layer)
    if layer == "input":
        layer = -1
    if layer == "head":
        return "head"
    if isinstance(layer, bool) or not isinstance(layer, int) or not -1 <= layer < body:
        raise ProjectorError(
            f"layer must be -1 (the input), 0 to {body - 1}, a layer's id or head, not {layer!r}"
        )
    return layer


def layer_choices(trainer: Any) -> list[dict]:
    """What the page's layer picker offers: [{"layer", "name", "dim"}], input first (unless
    it is token ids), then every body layer, then the head."""
    plan = trainer.plan
    tokens = trainer.data.meta.get("input_dtype") == "int64"
    out = [] if tokens else [{"layer": -1, "name": "input", "dim": _size(plan.shapes.input_shape)}]
    for i, spec in enumerate(trainer.experiment.model.layers):
        shape = plan.layers[i].output_shape if i < len(plan.layers) else ()
        out.append({"layer": i, "name": f"{i + 1}. {spec.type}", "dim": _size(shape)})
    out.append({"layer": "head", "name": "output", "dim": _size(plan.shapes.target_shape)})
    return out


def _size(shape: Any) -> int:
    n = 1
    for d in shape or ():
        n *= int(d)
    return n


def project(
    trainer: Any,
    layer: Any,
    method: Method = "pca",
    limit: int = DEFAULT_LIMIT,
    *,
    examples: bool = False,
    defer_tsne: bool = False,
) -> dict[str, Any]:
    """The validation set's activations at `layer`, in 2D (see the module docstring)."""
    if method not in METHODS:
        raise ProjectorError(f"method must be pca or tsne, not {method!r}")
    layer = resolve_layer(trainer, layer)
    data = trainer.data
    if layer == -1 and data.meta.get("input_dtype") == "int64":
        raise ProjectorError("the input is token ids: pick a layer after the embedding")
    n = max(1, min(int(limit), data.n_val))
    x = trainer.x_val[:n]
    with trainer.own_rng(), trainer.eval_mode(), torch.no_grad():
        acts = activations(trainer.model, x, layer).cpu().numpy()
    classes = data.task == "classification"
    y = data.y_val[:n]
    out: dict[str, Any] = {
        "layer": layer,
        "layer_name": next(
            (c["name"] for c in layer_choices(trainer) if c["layer"] == layer), str(layer)
        ),
        "method": method,
        "dim": int(acts.shape[1]),
        "count": n,
        "index": list(range(n)),
        "labels": y.tolist() if classes else None,
        "values": None if classes else rounded_list(y.reshape(n, -1)[:, 0], 4),
        "class_names": data.class_names,
        "hover": hover_texts(data, x.cpu(), n),
        "layers": layer_choices(trainer),
    }
    if method == "pca":
        out["points"] = rounded_list(pca_points(acts), 4)
    elif defer_tsne:
        out["points"] = None
        reduced = acts if acts.shape[1] <= TSNE_DIMS else pca_points(acts, TSNE_DIMS)
        out["reduced"] = rounded_list(reduced, 5)
    else:
        out["points"] = rounded_list(tsne_points(acts), 4)
    if examples:
        out["images"] = thumbnails(data, x.cpu())
    return out


def hover_texts(data: Any, x: Tensor, n: int) -> list[str]:
    """What each of the first `n` validation examples is, in words (see the module docstring)."""
    texts = data.meta.get("texts_val")
    if texts:
        return [str(t) for t in texts[:n]]
    names = data.meta.get("item_names")
    if names and x.dtype == torch.int64 and x.shape[1:] == (2,):  # ratings: (user, item)
        y = data.y_val[:n, 0].tolist()
        return [f"user {u} · {names[i]}: {r:g}★" for (u, i), r in zip(x.tolist(), y, strict=True)]
    if x.dim() == 2 and x.shape[1] <= 16 and x.dtype != torch.int64:
        features = data.feature_names or [f"x{j + 1}" for j in range(x.shape[1])]
        return [
            ", ".join(f"{f} {v:.3g}" for f, v in zip(features, row, strict=False))
            for row in x.tolist()
        ]
    return [f"validation example {i}" for i in range(n)]


def thumbnails(data: Any, x: Tensor) -> list[dict] | None:
    """Each image example as a byte grid at most THUMB_PX on a side (channels averaged),
    one shared range, for the hover; None for data that is not images."""
    if x.dim() != 4 or x.dtype == torch.int64:
        return None
    img = x.float().mean(dim=1, keepdim=True)  # (N, 1, H, W)
    h, w = img.shape[-2:]
    scale = max(h, w) / THUMB_PX
    if scale > 1:
        size = (max(1, round(h / scale)), max(1, round(w / scale)))
        img = torch.nn.functional.interpolate(img, size=size, mode="area")
    img = img[:, 0]
    lo, hi = float(img.min()), float(img.max())
    return byte_grids(img, lo, hi if hi > lo else lo + 1)
