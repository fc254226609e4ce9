"""Metrics on tensors: accuracy, MAE, R², ROC-AUC, confusion matrix, a 2D PCA projection.

Everything here is deterministic and consumes no random numbers (probes must not disturb the
training RNG), and returns plain Python numbers or tensors on the CPU.
"""

from __future__ import annotations

import torch
from torch import Tensor


def accuracy(logits: Tensor, labels: Tensor) -> float:
    """Fraction of rows whose argmax is the label. logits (N, C), labels (N,)."""
    if labels.numel() == 0:
        return 0.0
    return (logits.argmax(dim=1) == labels).float().mean().item()


def r2_score(pred: Tensor, target: Tensor) -> float | None:
    """Coefficient of determination, variance-weighted over outputs (sklearn's
    `multioutput="variance_weighted"`; equal to the plain R² for one output).

    pred, target (N, ...) -> flattened to (N, D); the baseline predicts each output's mean.
    None when the targets have no variance (R² is undefined).
    """
    y = target.reshape(target.shape[0], -1).double()
    p = pred.reshape(pred.shape[0], -1).double()
    ss_res = ((y - p) ** 2).sum()
    ss_tot = ((y - y.mean(dim=0, keepdim=True)) ** 2).sum()
    if ss_tot.item() <= 0:
        return None
    return (1.0 - ss_res / ss_tot).item()


def roc_auc(scores: Tensor, labels: Tensor) -> float | None:
    """Area under the ROC curve for `scores` (higher = more positive) against 0/1 `labels`.

    Computed as the Mann-Whitney U statistic: AUC = P(score_pos > score_neg) + 0.5 P(tie).
    Sorting once and giving tied scores their average rank handles ties exactly, so this
    equals sklearn.metrics.roc_auc_score. None when only one class is present.
    """
    s = scores.detach().reshape(-1).to("cpu", torch.float64)
    y = labels.detach().reshape(-1).to("cpu") != 0
    n_pos = int(y.sum())
    n_neg = y.numel() - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    # Average ranks (1-based) with ties: for each run of equal scores, every member gets the
    # mean of the ranks the run spans, i.e. (first + last) / 2.
    uniq, inverse, counts = torch.unique(s, sorted=True, return_inverse=True, return_counts=True)
    last = counts.cumsum(0).double()  # rank of the last member of each run
    avg_rank = last - (counts.double() - 1) / 2  # (first + last) / 2, first = last - count + 1
    ranks = avg_rank[inverse]
    u = ranks[y].sum().item() - n_pos * (n_pos + 1) / 2
    return u / (n_pos * n_neg)


def confusion_matrix(pred: Tensor, labels: Tensor, n_classes: int) -> list[list[int]]:
    """Counts with rows = true class, columns = predicted class."""
    idx = labels.reshape(-1).to("cpu").long() * n_classes + pred.reshape(-1).to("cpu").long()
    counts = torch.bincount(idx, minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes).tolist()


def pca_2d(x: Tensor) -> Tensor:
    """Project rows of x (N, D) onto their first two principal components -> (N, 2).

    Exact SVD (torch.pca_lowrank draws random numbers, which a probe must not). The sign of
    each component is fixed (largest loading positive) so the picture does not flip between
    snapshots. D == 2 is returned as is, D == 1 padded with a zero column.
    """
    x = torch.nan_to_num(x.reshape(x.shape[0], -1).to("cpu", torch.float32), 0.0, 0.0, 0.0)
    if x.shape[1] <= 2:
        return x if x.shape[1] == 2 else torch.cat([x, torch.zeros_like(x)], dim=1)
    xc = x - x.mean(dim=0, keepdim=True)
    # Thin SVD: xc = U S Vh; the rows of Vh are the principal directions, strongest first.
    _, _, vh = torch.linalg.svd(xc, full_matrices=False)
    comps = vh[:2]  # (2, D)
    pivot = comps.abs().argmax(dim=1)
    signs = torch.sign(comps[torch.arange(2), pivot])
    signs[signs == 0] = 1
    return xc @ (comps * signs[:, None]).T


def reconstruction_error(pred: Tensor, target: Tensor) -> Tensor:
    """Anomaly score per sample: the mean squared reconstruction error. (N, ...) -> (N,)."""
    return ((pred - target) ** 2).reshape(pred.shape[0], -1).mean(dim=1)
