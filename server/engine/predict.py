"""Ask a trained (or training) run about one input: its prediction and which inputs made it.

`predict(trainer, raw)` preprocesses one raw sample (see preprocess.py) and returns the
model's output with the run's current weights, as the exported script's `predict` gives it:
class probabilities for classification, the prediction otherwise. With `explain=True` it adds
attributions computed by Captum (the PyTorch interpretability library), per input family:

- images: saliency (|dscore/dpixel|), integrated gradients from a black image, and Grad-CAM
  on the last convolution (ReLU, upsampled to the image), each (H, W);
- 2D points and table rows: integrated gradients per input feature (from the all-zero input:
  the origin for points, the training mean for standardised rows);
- sequences: integrated gradients per time step (summed over the step's features); token ids:
  layer integrated gradients on the embedding, per token. A typed sentence also comes back
  as the words typed (out-of-vocabulary ones marked) and, with `explain`, each attention
  layer's weights for it and the map of the vocabulary's embeddings (word_views.py).

The score explained is the predicted class (or `target`), or the first output value for
regression and forecasting. Autoencoders are not explained (their output is the input again).
Everything runs in eval mode under the trainer's own RNG and leaves its training state as it was.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import Tensor, nn

from .bytegrid import rounded, rounded_list
from .datasets.planar import CROSS_LABELS
from .preprocess import InputError, Preprocessing
from .word_views import attention_maps, typed_words, word_map

IG_STEPS = 32  # integrated-gradients steps: a batch of 32 forward passes, cheap for these nets


def predict(trainer: Any, raw: Any, explain: bool = False, target: int | None = None) -> dict:
    """One raw input -> {"input", "output", ...} (+ "attribution" when `explain`)."""
    prep = Preprocessing.of(trainer.experiment.dataset.name, trainer.plan)
    x = prep.to_input(raw).to(trainer.device)  # (1, *input_shape)
    task = trainer.plan.task
    with trainer.own_rng(), trainer.eval_mode(), torch.no_grad():
        out = trainer.model(x)
    result: dict[str, Any] = {"task": task, "input_kind": prep.kind}
    if prep.vocab:  # the words the model read, one per step (padding included), for the page
        result["words"] = [prep.vocab[i] for i in x[0].tolist()]
        result |= typed_words(prep.input_shape[0], prep.vocab, raw) or {}
    if task == "classification":
        probs = out.softmax(dim=1)[0]
        best = int(probs.argmax())
        names = trainer.plan.shapes.class_names or [str(i) for i in range(len(probs))]
        result |= {
            "output": rounded_list(probs, 6),
            "predicted": best,
            "label": names[best],
            "class_names": list(names),
        }
    else:
        y = trainer.predictions(out)[0].reshape(trainer.plan.shapes.target_shape)
        result["output"] = rounded_list(y, 6)
    if explain:
        chosen = target if target is not None else result.get("predicted")
        result["attribution"] = attribute(trainer, prep, x, chosen)
        if prep.vocab:  # the text try-it view: attention and the map of words
            with trainer.own_rng(), trainer.eval_mode():
                result["attention"] = attention_maps(trainer.model, x, result["words"])
                if task == "classification":
                    result["word_map"] = word_map(trainer.model, prep.vocab, prep.input_shape[0])
    return result


def attribute(trainer: Any, prep: Preprocessing, x: Tensor, target: int | None) -> dict | None:
    """Captum attributions of one model input `x` (1, *input_shape) for score `target`."""
    from captum.attr import IntegratedGradients, LayerIntegratedGradients, Saliency

    task = trainer.plan.task
    if task == "reconstruction":
        return {"unavailable": "an autoencoder's output is its input rebuilt: nothing to explain"}
    model = trainer.model
    score = target if task == "classification" else 0
    forward = _scores(model)
    with trainer.own_rng(), trainer.eval_mode(), _quiet(), torch.enable_grad():
        if prep.kind == "tokens":
            lig = LayerIntegratedGradients(forward, model.body[0])
            per_token = lig.attribute(x, target=score, n_steps=IG_STEPS).sum(dim=-1)[0]
            return {"method": "layer_integrated_gradients", "tokens": rounded_list(per_token, 5)}
        x = x.detach().clone().requires_grad_(True)
        ig = IntegratedGradients(forward).attribute(
            x, baselines=torch.zeros_like(x), target=score, n_steps=IG_STEPS
        )[0]
        if prep.kind == "images":
            saliency = Saliency(forward).attribute(x, target=score, abs=True)[0]
            result = {
                "target": score,
                "saliency": rounded_list(saliency.sum(dim=0), 5),
                "integrated_gradients": rounded_list(ig.sum(dim=0), 5),
            }
            conv = _last_conv(model)
            if conv is not None:
                result["grad_cam"] = rounded_list(grad_cam(forward, conv, x, score), 5)
            return result
        if prep.kind == "sequences":
            return {
                "target": score,
                "method": "integrated_gradients",
                "steps": rounded_list(ig.sum(dim=-1), 5),
            }
        names = _feature_names(trainer, prep)
        values = ig.reshape(-1)
        return {
            "target": score,
            "method": "integrated_gradients",
            "features": [
                {"name": n, "label": label, "value": rounded(v)}
                for (n, label), v in zip(names, values.tolist(), strict=True)
            ],
        }


def grad_cam(forward: Any, conv: nn.Module, x: Tensor, target: int) -> Tensor:
    """Grad-CAM of input `x` (1, C, H, W) for score `target` at layer `conv`, upsampled
    (bilinear) to the input: (H, W), >= 0. The ReLU keeps what speaks for the class (as in
    Selvaraju et al.); a spectrogram's map then shows where the network listened."""
    from captum.attr import LayerAttribution, LayerGradCam

    cam = LayerGradCam(forward, conv).attribute(x, target=target, relu_attributions=True)
    cam = LayerAttribution.interpolate(cam, tuple(x.shape[2:]), "bilinear")
    return cam[0, 0].detach().clamp_min(0)  # bilinear between non-negatives stays >= 0; -0.0 -> 0


def _scores(model: nn.Module):
    """The model as Captum wants it: (N, ...) -> (N, outputs), one score per column."""

    def forward(x: Tensor) -> Tensor:
        out = model(x)
        return out.reshape(out.shape[0], -1)

    return forward


def _last_conv(model: nn.Module) -> nn.Module | None:
    convs = [m for m in model.body.modules() if isinstance(m, nn.Conv2d)]
    return convs[-1] if convs else None


def _feature_names(trainer: Any, prep: Preprocessing) -> list[tuple[str, str]]:
    """(name, label) per input feature: `x1_squared` is written x₁² on the page."""
    if prep.kind == "planar":
        return [(c, CROSS_LABELS[c]) for c in prep.crosses]
    names = trainer.data.feature_names if trainer.data is not None else None
    names = list(names or [f"x{i + 1}" for i in range(prep.input_shape[0])])
    return [(n, n) for n in names]


class _quiet(warnings.catch_warnings):
    """Captum notes that it switched gradients on for the inputs: that is the point here."""

    def __enter__(self):
        super().__enter__()
        warnings.filterwarnings("ignore", message=r".*required_grads has been set automatically")
        warnings.filterwarnings("ignore", message=r".*does not already require gradients")


__all__ = ["IG_STEPS", "InputError", "attribute", "grad_cam", "predict"]
