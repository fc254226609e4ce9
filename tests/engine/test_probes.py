"""Probes: the documented snapshot keys and shapes per family, JSON safety, hand-checked values,
speed, and that probing never disturbs training."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import torch

from server.config import Settings
from server.engine import probes
from server.engine.bytegrid import byte_grid, byte_grids, decode_grid, rounded_list
from server.engine.datasets import cross_features
from server.engine.schema import Experiment
from server.engine.trainer import Trainer

SETTINGS = Settings()
RES = probes.GRID_RES


def make(dataset: dict, layers: list[dict], epochs: int = 1, **training) -> Trainer:
    doc = {
        "dataset": dataset,
        "model": {"layers": layers},
        "training": {
            "optimizer": "adam",
            "learning_rate": 0.01,
            "batch_size": 32,
            "epochs": epochs,
            **training,
        },
    }
    return Trainer(Experiment.model_validate(doc), SETTINGS)


def trained(t: Trainer) -> Trainer:
    t.train_epoch()
    return t


def safe(snap: dict) -> dict:
    """The snapshot survives strict JSON (no NaN/inf) and comes back equal."""
    return json.loads(json.dumps(snap, allow_nan=False))


def shape(grid: dict) -> tuple:
    assert set(grid) == {"shape", "lo", "hi", "b64"}
    values = decode_grid(grid)
    assert values.shape == tuple(grid["shape"])
    return values.shape


def spiral(**kw) -> Trainer:
    return make(
        {"name": "spiral", "samples": 200, "seed": 1, "crosses": ["x1", "x2", "sin_x1"]},
        [
            {"type": "dense", "units": 6, "activation": "tanh"},
            {"type": "dropout", "rate": 0.1},
            {"type": "dense", "units": 5, "activation": "relu"},
        ],
        **kw,
    )


# ------------------------------------------------------------------ byte grids


def test_byte_grid_round_trip_and_non_finite_values():
    x = torch.linspace(-2, 3, 100).reshape(10, 10)
    g = byte_grid(x)
    assert g["lo"] == -2 and g["hi"] == 3 and g["shape"] == [10, 10]
    assert np.abs(decode_grid(g) - x.numpy()).max() <= 5 / 255 / 2 + 1e-6
    bad = torch.tensor([1.0, float("nan"), float("inf"), 2.0])
    g = byte_grid(bad)
    assert (g["lo"], g["hi"]) == (1.0, 2.0)
    assert decode_grid(g).tolist() == [1.0, 1.0, 1.0, 2.0]
    assert decode_grid(byte_grid(torch.full((3,), float("nan")))).tolist() == [0, 0, 0]
    rows = byte_grids(torch.stack([torch.zeros(4), torch.arange(4.0)]))
    assert [(r["lo"], r["hi"]) for r in rows] == [(0, 0), (0, 3)]
    assert rounded_list(torch.tensor([[1.234567, float("nan")]]), 3) == [[1.235, None]]


# ------------------------------------------------------------------ per family


def test_2d_classification_snapshot():
    t = trained(spiral())
    snap = safe(t.probe())
    assert set(snap) == {"epoch", "layers", "boundary"} and snap["epoch"] == 1

    layers = snap["layers"]
    assert [(x["index"], x["type"]) for x in layers] == [
        (0, "dense"),
        (1, "dropout"),
        (2, "dense"),
        (3, "head"),
    ]
    for entry in layers:
        assert set(entry) == {"index", "type", "mean", "std", "hist", "weight_norm", "grad_norm"}
        assert len(entry["hist"]["counts"]) == probes.HIST_BINS
    # 64 probe samples x units values per layer land in the histogram.
    n = min(probes.STATS_SAMPLES, t.x_val.shape[0])
    assert sum(layers[0]["hist"]["counts"]) == n * 6
    assert layers[1]["weight_norm"] is None and layers[0]["grad_norm"] > 0

    b = snap["boundary"]
    assert b["kind"] == "probability" and b["resolution"] == RES
    assert b["extent"] == [-6, 6, -6, 6]
    assert shape(b["output"]) == (RES, RES) and (b["output"]["lo"], b["output"]["hi"]) == (0, 1)
    assert [len(col) for col in b["neurons"]] == [3, 6, 5]  # inputs, then each dense layer
    assert b["neuron_layers"] == [-1, 0, 2] and b["features"] == ["x1", "x2", "sin_x1"]
    thumb = (probes.NEURON_RES, probes.NEURON_RES)
    assert all(shape(g) == thumb for col in b["neurons"] for g in col)
    assert [np.array(w).shape for w in b["weights"]] == [(6, 3), (5, 6), (2, 5)]


def test_probe_values_match_the_layers_called_directly():
    t = trained(spiral())
    snap = t.probe()
    model = t.model.eval()
    with torch.no_grad():
        # Layer statistics: the first dense layer on the fixed probe batch.
        x = t.x_val[: probes.STATS_SAMPLES]
        h = model.body[0](x)
        assert snap["layers"][0]["mean"] == pytest.approx(h.mean().item(), rel=1e-4, abs=1e-6)
        assert snap["layers"][0]["std"] == pytest.approx(h.std(correction=0).item(), rel=1e-4)
        counts = torch.histc(h, bins=30, min=h.min().item(), max=h.max().item())
        assert snap["layers"][0]["hist"]["counts"] == counts.long().tolist()

        # Boundary: row 0 is the top (x2 max), column 0 the left (x1 min).
        x1 = torch.linspace(-6, 6, RES)
        x2 = torch.linspace(6, -6, RES)
        pts = torch.stack([x1.repeat(RES), x2.repeat_interleave(RES)], dim=1)
        feats = cross_features(pts, ["x1", "x2", "sin_x1"])
        h = model.body[0](feats)  # (RES*RES, 6)
        # Thumbnails: each neuron's (RES, RES) surface average-pooled to (NEURON_RES, NEURON_RES).
        k = RES // probes.NEURON_RES
        thumbs = torch.nn.functional.avg_pool2d(h.T.reshape(6, 1, RES, RES), k).squeeze(1)
        for j in range(6):
            grid = snap["boundary"]["neurons"][1][j]
            step = (grid["hi"] - grid["lo"]) / 255
            got = decode_grid(grid).reshape(-1)
            assert np.abs(got - thumbs[j].reshape(-1).numpy()).max() <= step / 2 + 1e-5
        p1 = torch.softmax(model(feats), dim=1)[:, 1].numpy()
        assert (
            np.abs(decode_grid(snap["boundary"]["output"]).reshape(-1) - p1).max()
            <= 0.5 / 255 + 1e-6
        )
        w = model.body[2][0].weight
        assert np.allclose(snap["boundary"]["weights"][1], w.numpy(), atol=0.5e-4 + 1e-7)
    # Weight norm and gradient norm of the first layer's parameters.
    params = list(model.body[0].parameters())
    wn = torch.sqrt(sum((p**2).sum() for p in params)).item()
    gn = torch.sqrt(sum((p.grad**2).sum() for p in params)).item()
    assert snap["layers"][0]["weight_norm"] == pytest.approx(wn, rel=1e-5)
    assert snap["layers"][0]["grad_norm"] == pytest.approx(gn, rel=1e-5)


def test_multi_class_boundary_is_class_index_and_confidence():
    t = spiral()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)  # the same head whatever ran before
        t.model.head = torch.nn.Sequential(torch.nn.Linear(5, 3))  # as if the set had 3 classes
    b = safe(t.probe({"boundary"}))["boundary"]
    assert b["kind"] == "class" and b["classes"] == 3
    assert (b["output"]["lo"], b["output"]["hi"]) == (0, 2)
    # Class indices over 0..2 in 256 levels: class 1 decodes to 1.004, which the page rounds.
    classes = decode_grid(b["output"])
    assert np.abs(classes - np.round(classes)).max() < 0.01
    assert set(np.unique(np.round(classes))) <= {0.0, 1.0, 2.0}
    conf = decode_grid(b["confidence"])
    assert conf.shape == (RES, RES) and conf.min() >= 1 / 3 - 1 / 255
    assert np.array(b["weights"][-1]).shape == (3, 5)


def test_2d_regression_snapshot():
    t = trained(make({"name": "plane", "samples": 100}, [{"type": "dense", "units": 3}]))
    b = safe(t.probe())["boundary"]
    assert b["kind"] == "value" and shape(b["output"]) == (RES, RES)
    ys = t.y_train
    assert (b["output"]["lo"], b["output"]["hi"]) == pytest.approx(
        (ys.min().item(), ys.max().item()), rel=1e-5
    )


def test_image_snapshot():
    t = make(
        {"name": "digits"},
        [
            {"type": "conv2d", "filters": 20, "kernel_size": 3},
            {"type": "maxpool2d"},
            {"type": "flatten"},
            {"type": "dense", "units": 16},
        ],
    )
    before = safe(t.probe())  # before any epoch: confusion from the untrained model
    assert sum(map(sum, before["images"]["confusion"])) == t.x_val.shape[0]
    trained(t)
    snap = safe(t.probe())
    assert set(snap) == {"epoch", "layers", "images"}
    im = snap["images"]
    assert shape(im["filters"]) == (20, 3, 3)
    assert [(f["layer"], f["type"]) for f in im["feature_maps"]] == [
        (0, "conv2d"),
        (1, "maxpool2d"),
    ]
    assert shape(im["feature_maps"][0]["maps"]) == (probes.MAX_MAPS, 8, 8)  # 20 capped at 16
    assert shape(im["feature_maps"][1]["maps"]) == (probes.MAX_MAPS, 4, 4)
    assert shape(im["samples"]) == (16, 8, 8)
    assert im["labels"] == t.y_val[:16].tolist()
    assert len(im["predictions"]) == len(im["confidence"]) == 16
    conf = np.array(im["confusion"])
    assert conf.shape == (10, 10) and conf.sum() == t.x_val.shape[0]
    acc = np.trace(conf) / conf.sum()
    assert acc == pytest.approx(t.history[-1]["metrics"]["val_accuracy"], abs=1e-5)
    assert im["class_names"] == [str(d) for d in range(10)]


def test_autoencoder_snapshot_images_latent():
    t = trained(
        make(
            {"name": "digits_reconstruction"},
            [
                {"type": "flatten"},
                {"type": "dense", "units": 16},
                {"type": "dense", "units": 3, "activation": "linear"},
                {"type": "dense", "units": 16},
            ],
        )
    )
    ae = safe(t.probe())["autoencoder"]
    assert set(ae) == {"originals", "reconstructions", "latent"}
    assert shape(ae["originals"]) == shape(ae["reconstructions"]) == (8, 8, 8)
    lat = ae["latent"]
    n = min(probes.AE_SAMPLES, t.x_val.shape[0])
    assert lat["layer"] == 2 and lat["dims"] == 3 and lat["projection"] == "pca"
    assert np.array(lat["points"]).shape == (n, 2) and len(lat["labels"]) == n
    assert lat["labels"] == t.data.meta["labels_val"][:n].tolist()


def test_anomaly_snapshot_with_bce():
    t = trained(
        make(
            {"name": "digits_anomaly"},
            [{"type": "flatten"}, {"type": "dense", "units": 8}],
            loss="bce",
        )
    )
    rec = t.history[-1]
    assert set(rec["metrics"]) == {"mae", "val_mae", "val_roc_auc"}
    an = safe(t.probe())["autoencoder"]["anomaly"]
    n = min(probes.AE_SAMPLES, t.x_val.shape[0])
    assert len(an["scores"]) == len(an["labels"]) == n
    assert an["labels"] == t.data.meta["val_anomaly"][:n].tolist()
    assert 0 <= an["roc_auc"] <= 1


def test_2d_autoencoder_snapshot_points():
    t = trained(
        make(
            {"name": "planar_reconstruction", "samples": 120},
            [
                {"type": "dense", "units": 8, "activation": "tanh"},
                {"type": "dense", "units": 1, "activation": "linear"},
            ],
        )
    )
    snap = safe(t.probe())
    assert "boundary" not in snap
    ae = snap["autoencoder"]
    assert np.array(ae["originals"]).shape == np.array(ae["reconstructions"]).shape == (60, 2)
    assert ae["latent"]["dims"] == 1 and np.array(ae["latent"]["points"]).shape == (60, 2)
    assert ae["extent"] == [-6, 6, -6, 6]


def test_forecasting_snapshot():
    t = trained(
        make(
            {"name": "sine", "samples": 100, "window": 12, "horizon": 3},
            [{"type": "lstm", "units": 5}],
        )
    )
    seq = safe(t.probe())["sequence"]
    assert set(seq) == {"input", "truth", "prediction", "hidden"}
    assert len(seq["input"]) == 12 and len(seq["truth"]) == len(seq["prediction"]) == 3
    assert shape(seq["hidden"]) == (12, 5)
    with torch.no_grad():  # the last hidden step is what the layer returns
        t.model.eval()
        last = t.model.body[0](t.x_val[:1])[0].numpy()
    hidden = decode_grid(seq["hidden"])
    step = (seq["hidden"]["hi"] - seq["hidden"]["lo"]) / 255
    assert np.abs(hidden[-1] - last).max() <= step / 2 + 1e-5


def test_sequence_classification_snapshots():
    t = trained(
        make(
            {"name": "waveform", "samples": 80, "length": 16},
            [{"type": "gru", "units": 4, "return_sequences": True}, {"type": "flatten"}],
        )
    )
    seq = safe(t.probe())["sequence"]
    assert np.array(seq["probabilities"]).shape == (8, 4)
    assert np.allclose(np.array(seq["probabilities"]).sum(axis=1), 1, atol=1e-3)
    assert seq["labels"] == t.y_val[:8].tolist() and len(seq["inputs"]) == 8
    assert shape(seq["hidden"]) == (16, 4)
    assert seq["class_names"] == ["sine", "square", "triangle", "sawtooth"]

    tok = trained(
        make(
            {"name": "tokens", "samples": 60, "length": 6},
            [{"type": "embedding", "dim": 3}, {"type": "rnn", "units": 4}],
        )
    )
    seq = safe(tok.probe())["sequence"]
    assert all(isinstance(v, int) for v in seq["input"]) and len(seq["input"]) == 6


def test_tabular_snapshot_is_layers_only_and_kinds_filter():
    t = trained(make({"name": "iris"}, [{"type": "dense", "units": 4}, {"type": "batchnorm"}]))
    assert set(safe(t.probe())) == {"epoch", "layers"}
    s = spiral()
    assert set(s.probe({"boundary"})) == {"epoch", "boundary"}
    assert set(s.probe({"images", "layers"})) == {"epoch", "layers"}  # images do not apply


# ------------------------------------------------------------------ robustness


def test_probing_does_not_disturb_training():
    plain, probed = spiral(epochs=2), spiral(epochs=2)
    while not plain.finished:
        plain.train_epoch()
    rng = torch.get_rng_state()
    while not probed.finished:
        probed.train_steps(0.0)
        assert probed.model.training
        probed.probe()
        assert probed.model.training
    assert torch.equal(torch.get_rng_state(), rng)
    strip = lambda h: [{k: v for k, v in r.items() if k != "elapsed"} for r in h]  # noqa: E731
    assert strip(plain.history) == strip(probed.history)


def test_snapshot_of_broken_weights_is_json_safe():
    t = trained(spiral())
    with torch.no_grad():
        t.model.body[0][0].weight[0, 0] = float("nan")
        t.model.body[2][0].weight[1, 1] = float("inf")
    snap = safe(t.probe())
    assert snap["layers"][0]["weight_norm"] is None
    assert snap["boundary"]["weights"][0][0][0] is None


def test_spiral_probe_is_cheap():
    t = trained(spiral())
    t.probe()
    n = 20
    start = time.perf_counter()
    for _ in range(n):
        t.probe()
    per_probe = (time.perf_counter() - start) / n
    assert per_probe < 0.025  # ~1.5 ms measured on one thread; lenient for shared machines
    assert len(json.dumps(t.probe())) < 60_000


def test_a_coarse_grid_while_moving_draws_the_same_surface_in_fewer_bytes():
    # The worker asks for a 20x20 grid while a run trains at full speed (frames.py).
    t = trained(spiral())
    fine, coarse = t.probe({"boundary"}), t.probe({"boundary"}, resolution=20)
    b = coarse["boundary"]
    assert b["resolution"] == 20 and shape(b["output"]) == (20, 20)
    assert all(shape(g) == (10, 10) for col in b["neurons"] for g in col)
    assert b["weights"] == fine["boundary"]["weights"]  # the links do not depend on the grid
    # The coarse grid's corners are the fine grid's corners (both span the whole extent).
    f, c = decode_grid(fine["boundary"]["output"]), decode_grid(b["output"])
    for i, j in ((0, 0), (0, -1), (-1, 0), (-1, -1)):
        assert abs(f[i, j] - c[i, j]) <= 1 / 255 + 1e-6
    assert len(json.dumps(coarse)) < len(json.dumps(fine)) * 0.7


def test_histc_is_torchs_binning_exactly():
    rng = np.random.default_rng(0)
    a = np.concatenate(
        [rng.standard_normal((5, 997)), np.tanh(rng.standard_normal((5, 997)) * 3)]
    ).astype(np.float32)
    a[0, :10] = a[0].max()  # values on the top edge: the last bin
    lo, hi = a.min(axis=1), a.max(axis=1)
    got = probes.histc(a, lo, hi)
    for row, counts in zip(a, got, strict=True):
        want = torch.histc(
            torch.from_numpy(row), probes.HIST_BINS, float(row.min()), float(row.max())
        )
        assert counts.tolist() == want.long().tolist()


def test_activation_statistics_bin_as_torch_histc_does():
    # ReLU maps (many values exactly 0, the bottom edge), values on a coarse lattice (many on
    # bin edges), tiny and huge scales, constants: the histogram is torch.histc's to the count.
    rng = np.random.default_rng(1)
    for trial in range(300):
        n = int(rng.integers(1, 5000))
        scale = float(rng.choice([1e-4, 1.0, 1e4]))
        a = (rng.standard_normal(n) * scale).astype(np.float32)
        if trial % 3 == 0:
            a = np.maximum(a, 0)
        if trial % 4 == 1:
            a = (np.round(a / scale * 4) * scale / 4).astype(np.float32)
        if trial % 25 == 7:
            a[:] = 1.5
        t = torch.from_numpy(a)
        stats = probes.activation_stats(t)
        if a.max() > a.min():
            want = torch.histc(t, probes.HIST_BINS, float(a.min()), float(a.max()))
        else:
            want = torch.tensor([n] + [0] * (probes.HIST_BINS - 1))
        assert stats["hist"]["counts"] == want.long().tolist(), trial
