"""The engine's `upload` dataset (read from the npz server/uploads writes) and the multi-class
2D sets: loads, splits, standardisation, a raw row scaled like training, the class surface."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch

from server.config import Settings
from server.engine import probes
from server.engine.bytegrid import decode_grid
from server.engine.datasets import dataset_shapes, load_data, preview_data
from server.engine.errors import ExperimentError
from server.engine.preprocess import Preprocessing
from server.engine.schema import Experiment
from server.engine.trainer import Trainer
from server.uploads.csv_table import CsvOptions, parse_csv, parse_points
from server.uploads.repository import write_file


def settings_in(tmp_path: Path) -> Settings:
    return Settings(state_dir=tmp_path, data_dir=tmp_path, cache_dir=tmp_path)


def stored(settings: Settings, processed, upload_id: str = "0123456789ab") -> dict:
    write_file(settings.state_dir, upload_id, processed.npz())
    return {"name": "upload", "id": upload_id}


def test_a_csv_upload_loads_standardised_on_its_training_rows(tmp_path: Path):
    settings = settings_in(tmp_path)
    rows = "\n".join(f"{i},{i * 10 % 7},{'ab'[i % 2]},{['x', 'y'][i % 3 == 0]}" for i in range(40))
    csv = f"n,m,t,label\n{rows}\n".encode()
    spec = stored(settings, parse_csv(io.BytesIO(csv), "t.csv", CsvOptions(), settings))
    data = load_data({**spec, "train_fraction": 0.5, "seed": 2}, settings)
    assert data.task == "classification" and data.class_names == ["x", "y"]
    assert data.feature_names == ["n", "m", "t=a", "t=b"]
    assert data.n_train == 20 and data.n_val == 20
    assert torch.allclose(data.x_train.mean(dim=0), torch.zeros(4), atol=1e-5)
    shapes = dataset_shapes(spec, settings)
    assert shapes.input_shape == (4,) and shapes.target_shape == (2,)
    # A raw row in the table's own units (one-hot already) is scaled like the training rows.
    trainer = Trainer(
        Experiment.model_validate(
            {"dataset": spec, "model": {"layers": []}, "training": {"epochs": 1}}
        ),
        settings,
    )
    pre = Preprocessing.of("upload", trainer.plan)
    assert pre.kind == "tabular"
    d = trainer.data
    raw = d.x_val[0] * d.meta["std"] + d.meta["mean"]
    assert torch.allclose(pre.to_input(raw.tolist())[0], d.x_val[0], atol=1e-4)
    preview = preview_data(spec, settings)
    assert preview["family"] == "tabular" and preview["kind"] == "table"


def test_a_missing_upload_is_named_at_dataset_id(tmp_path: Path):
    with pytest.raises(ExperimentError) as err:
        dataset_shapes({"name": "upload", "id": "ffffffffffff"}, settings_in(tmp_path))
    assert err.value.errors[0]["loc"] == ("dataset", "id")


def test_drawn_points_are_a_2d_set_with_crosses(tmp_path: Path):
    settings = settings_in(tmp_path)
    rng = np.random.default_rng(0)
    pts = rng.uniform(-5, 5, size=(60, 2))
    lines = [f"{a:.3f},{b:.3f},{int(a * b > 0)}" for a, b in pts]
    csv = ("x1,x2,label\n" + "\n".join(lines)).encode()
    spec = stored(settings, parse_points(io.BytesIO(csv), "drawn.csv", CsvOptions(), settings))
    data = load_data({**spec, "crosses": ["x1", "x2", "x1_x2"]}, settings)
    assert data.input_shape == (3,) and data.meta["crosses"] == ["x1", "x2", "x1_x2"]
    assert data.meta["extent"] == [-6.0, 6.0, -6.0, 6.0]
    assert preview_data(spec, settings)["family"] == "2d"


def test_blobs_train_to_a_class_coloured_surface():
    doc = {
        "dataset": {"name": "blobs", "samples": 300, "noise": 0.05},
        "model": {"layers": [{"type": "dense", "units": 8, "activation": "tanh"}]},
        "training": {"optimizer": "adam", "learning_rate": 0.03, "batch_size": 16, "epochs": 30},
    }
    trainer = Trainer(Experiment.model_validate(doc), Settings())
    assert trainer.data.class_names == ["red", "green", "blue"]
    for _ in range(30):
        record = trainer.train_epoch()
    assert record["metrics"]["val_accuracy"] >= 0.95, record
    boundary = trainer.probe(kinds=["boundary"])["boundary"]
    assert boundary["kind"] == "class" and boundary["classes"] == 3
    classes = decode_grid(boundary["output"]).round().astype(int)
    assert set(np.unique(classes)) == {0, 1, 2}  # every class owns part of the square
    assert classes.shape[0] == probes.GRID_RES


def test_the_three_armed_spiral_has_three_balanced_arms():
    data = load_data({"name": "spiral3", "samples": 300}, Settings())
    counts = torch.bincount(torch.cat([data.y_train, data.y_val]), minlength=3)
    assert counts.tolist() == [100, 100, 100] and data.target_shape == (3,)
