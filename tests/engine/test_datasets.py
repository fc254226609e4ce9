"""The dataset registry: every set loads, is deterministic, validates its parameters, and
previews as JSON; MNIST-style sets read (and download) small IDX files made here."""

from __future__ import annotations

import gzip
import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from server.config import Settings
from server.engine.datasets import (
    CROSSES,
    DATASETS,
    Data,
    DataShapes,
    IdxError,
    cross_features,
    dataset_shapes,
    describe_datasets,
    get_dataset,
    load_data,
    mnist_files,
    parse_params,
    preview_data,
    read_idx,
    write_idx,
)
from server.engine.datasets.idx import parse_idx
from server.engine.errors import ExperimentError

IDX_SETS = ("mnist", "fashion_mnist")
# Uploads need a file to load: tests/engine/test_upload_dataset.py makes one.
GENERATED = [name for name in DATASETS if name not in (*IDX_SETS, "upload")]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache", max_samples=70_000)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Downloads only ever reach files these tests make (mirrors that do not exist)."""
    for name in IDX_SETS:
        monkeypatch.setitem(
            mnist_files.SOURCES, name, mnist_files.Source(mirrors=("file:///nonexistent/",), md5={})
        )


def write_image_set(folder: Path, n_train: int = 60, n_test: int = 20, gz: bool = False) -> None:
    """Four small MNIST-style IDX files with labels cycling through 0..9."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    suffix = ".gz" if gz else ""
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels)


def assert_consistent(data: Data) -> None:
    """Shapes, dtypes and task agree with what the data says about itself."""
    int_inputs = data.meta.get("input_dtype") == "int64"
    for x, y in ((data.x_train, data.y_train), (data.x_val, data.y_val)):
        assert x.dtype == (torch.int64 if int_inputs else torch.float32)
        assert tuple(x.shape[1:]) == data.input_shape
        assert len(x) == len(y) > 0
        if data.task == "classification":
            # per-position sets (meta positions = T) label every position: (N, T)
            positions = data.meta.get("positions")
            assert y.dtype == torch.int64 and y.ndim == (2 if positions else 1)
            assert positions is None or y.shape[1] == positions
            assert int(y.min()) >= 0 and int(y.max()) < data.target_shape[0]
            assert len(data.class_names) == data.target_shape[0]
        else:
            assert y.dtype == torch.float32
            assert tuple(y.shape[1:]) == data.target_shape
        if not int_inputs:
            assert torch.isfinite(x).all()
    if data.task == "reconstruction":
        assert data.input_shape == data.target_shape


def same(a: Data, b: Data) -> bool:
    return all(
        torch.equal(getattr(a, k), getattr(b, k)) for k in ("x_train", "y_train", "x_val", "y_val")
    )


# --- every registered dataset -----------------------------------------------------------


@pytest.mark.parametrize("name", GENERATED)
def test_loads_with_defaults_and_matches_its_shapes(name: str, settings: Settings) -> None:
    data = load_data({"name": name}, settings)
    assert_consistent(data)
    assert data.task == DATASETS[name].task
    assert dataset_shapes({"name": name}, settings) == DataShapes.of(data)


@pytest.mark.parametrize("name", GENERATED)
def test_same_seed_same_data_other_seed_other_data(name: str, settings: Settings) -> None:
    first = load_data({"name": name, "seed": 3}, settings)
    again = load_data({"name": name, "seed": 3}, settings)
    other = load_data({"name": name, "seed": 4}, settings)
    assert same(first, again)
    assert not same(first, other)


@pytest.mark.parametrize("name", GENERATED)
def test_preview_is_json_safe(name: str, settings: Settings) -> None:
    preview = preview_data({"name": name}, settings)
    text = json.dumps(preview, allow_nan=False)
    assert len(text) < 200_000
    assert preview["name"] == name and preview["kind"] != "none"


def test_describe_lists_every_dataset_with_forms(settings: Settings) -> None:
    described = describe_datasets(settings)
    assert [d["name"] for d in described] == list(DATASETS)
    json.dumps(described, allow_nan=False)
    for entry in described:
        assert set(entry) == {
            "name",
            "title",
            "description",
            "family",
            "task",
            "params",
            "defaults",
        }
        assert "\n" not in entry["description"]
        dataset = get_dataset(entry["name"])
        dataset.Params.model_validate(entry["defaults"])  # defaults are valid params
        for field, prop in entry["params"]["properties"].items():
            assert prop.get("description"), f"{entry['name']}.{field} has no description"
            assert "default" in prop, f"{entry['name']}.{field} has no default"
            if prop.get("type") in ("integer", "number"):
                assert "minimum" in prop and "maximum" in prop, f"{entry['name']}.{field}"
            if prop.get("type") == "array":
                items = prop["items"]
                assert "maxItems" in prop, f"{entry['name']}.{field}"
                assert "enum" in items or "maximum" in items, f"{entry['name']}.{field}"


def test_describe_lowers_sample_bounds_to_the_server_limit(tmp_path: Path) -> None:
    small = Settings(max_samples=300, data_dir=tmp_path, cache_dir=tmp_path)
    by_name = {d["name"]: d for d in describe_datasets(small)}
    assert by_name["spiral"]["params"]["properties"]["samples"]["maximum"] == 300
    assert by_name["mnist"]["defaults"]["samples"] == 300
    # A default above the limit is lowered, a typed value above it is refused.
    _, params = parse_params({"name": "mnist"}, small)
    assert params.samples == 300
    _, params = parse_params({"name": "sine"}, small)
    assert params.samples == 300


# --- validation ------------------------------------------------------------------------


def error_of(spec: object, settings: Settings) -> dict:
    with pytest.raises(ExperimentError) as caught:
        parse_params(spec, settings)  # type: ignore[arg-type]
    return caught.value.errors[0]


def test_unknown_dataset_names_the_choices(settings: Settings) -> None:
    error = error_of({"name": "foo"}, settings)
    assert error["loc"] == ("dataset", "name")
    assert "unknown dataset 'foo'" in error["msg"] and "spiral" in error["msg"]
    assert error_of({"samples": 10}, settings)["loc"] == ("dataset", "name")
    assert error_of("spiral", settings)["loc"] == ("dataset",)


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"name": "circle", "noise": 0.9}, "noise"),
        ({"name": "circle", "noise": float("nan")}, "noise"),
        ({"name": "circle", "samples": 5}, "samples"),
        ({"name": "circle", "samples": 10**9}, "samples"),
        ({"name": "circle", "train_fraction": 1.0}, "train_fraction"),
        ({"name": "circle", "seed": -1}, "seed"),
        ({"name": "circle", "crosses": []}, "crosses"),
        ({"name": "circle", "crosses": ["x1", "x1"]}, "crosses"),
        ({"name": "circle", "crosses": ["x3"]}, "crosses"),
        ({"name": "sine", "window": 100_000}, "window"),
        ({"name": "tokens", "vocab_size": 2}, "vocab_size"),
        ({"name": "mnist", "validation": "both"}, "validation"),
        ({"name": "mnist", "validation": "split", "samples": 59_000}, "val_samples"),
        ({"name": "digits_anomaly", "normal_classes": [0, 0]}, "normal_classes"),
        ({"name": "digits_anomaly", "normal_classes": list(range(10))}, "normal_classes"),
        ({"name": "digits_anomaly", "normal_classes": [10]}, "normal_classes"),
        ({"name": "planar_reconstruction", "source": "plane"}, "source"),
    ],
)
def test_bad_params_name_the_field(spec: dict, field: str, settings: Settings) -> None:
    error = error_of(spec, settings)
    assert error["loc"][:2] == ("dataset", field)
    assert error["msg"]
    json.dumps(error["msg"])


def test_unknown_field_is_named(settings: Settings) -> None:
    error = error_of({"name": "spiral", "sample": 100}, settings)
    assert error["loc"] == ("dataset", "sample")
    assert "'sample'" in error["msg"] and "samples" in error["msg"]


def test_samples_over_the_server_limit_are_refused(tmp_path: Path) -> None:
    small = Settings(max_samples=100, data_dir=tmp_path, cache_dir=tmp_path)
    error = error_of({"name": "spiral", "samples": 200}, small)
    assert error["loc"] == ("dataset", "samples") and "100" in error["msg"]
    error = error_of({"name": "mnist", "samples": 50, "val_samples": 500}, small)
    assert error["loc"] == ("dataset", "val_samples")
    assert load_data({"name": "spiral", "samples": 100}, small).n_train == 50


def test_parse_accepts_a_pydantic_spec(settings: Settings) -> None:
    from pydantic import BaseModel, ConfigDict

    class Spec(BaseModel):
        model_config = ConfigDict(extra="allow")
        name: str

    dataset, params = parse_params(Spec(name="xor", noise=0.2), settings)
    assert dataset.name == "xor" and params.noise == 0.2


def test_data_refuses_inconsistent_shapes() -> None:
    x = torch.zeros(4, 2)
    with pytest.raises(ValueError, match="x_train"):
        Data(
            x,
            torch.zeros(4, dtype=torch.int64),
            x,
            torch.zeros(4, dtype=torch.int64),
            task="classification",
            input_shape=(3,),
            target_shape=(2,),
        )
    with pytest.raises(ValueError, match="labels"):
        Data(x, torch.full((4,), 2), x, torch.zeros(4, dtype=torch.int64),
             task="classification", input_shape=(2,), target_shape=(2,))  # fmt: skip


# --- 2D sets ---------------------------------------------------------------------------


def test_crosses_compute_the_named_features(settings: Settings) -> None:
    crosses = ["sin_x1", "x1_x2", "x2_squared", "x1", "x1_squared", "sin_x2", "x2"]
    data = load_data({"name": "spiral", "crosses": crosses, "noise": 0.2}, settings)
    assert data.input_shape == (7,) and data.feature_names == crosses
    assert data.meta["crosses"] == crosses and data.meta["extent"] == [-6.0, 6.0, -6.0, 6.0]
    p = data.meta["points_train"]
    assert p.shape == (data.n_train, 2) and data.meta["points_val"].shape == (data.n_val, 2)
    x = data.x_train
    torch.testing.assert_close(x[:, 0], torch.sin(p[:, 0]))
    torch.testing.assert_close(x[:, 1], p[:, 0] * p[:, 1])
    torch.testing.assert_close(x[:, 2], p[:, 1] ** 2)
    torch.testing.assert_close(x[:, 3], p[:, 0])
    torch.testing.assert_close(x[:, 4], p[:, 0] ** 2)
    torch.testing.assert_close(x[:, 5], torch.sin(p[:, 1]))
    torch.testing.assert_close(x[:, 6], p[:, 1])
    # Probes evaluate a grid the same way.
    grid = torch.cartesian_prod(torch.linspace(-6, 6, 5), torch.linspace(-6, 6, 5))
    assert cross_features(grid, list(CROSSES)).shape == (25, 7)
    with pytest.raises(ValueError):
        cross_features(grid, ["x3"])


def test_playground_generators_without_noise(settings: Settings) -> None:
    def points(name: str) -> tuple[torch.Tensor, torch.Tensor]:
        data = load_data({"name": name, "samples": 400, "noise": 0.0}, settings)
        return data.meta["points_train"], data.y_train

    p, y = points("circle")
    assert torch.equal(p.norm(dim=1) < 2.5, y == 1)
    p, y = points("xor")
    assert torch.equal(p[:, 0] * p[:, 1] >= 0, y == 1) and (p.abs() >= 0.3).all()
    p, y = points("gauss")
    assert (p[y == 1].mean(0) > 1).all() and (p[y == 0].mean(0) < -1).all()
    p, y = points("spiral")
    assert p.norm(dim=1).max() <= 5.0
    p, y = points("plane")
    torch.testing.assert_close(y[:, 0], p.sum(dim=1) / 10)
    p, y = points("multi_gauss")
    assert y.abs().max() <= 1.0
    for name in ("circle", "xor", "gauss", "spiral", "moons", "plane", "multi_gauss"):
        data = load_data({"name": name, "samples": 101, "train_fraction": 0.3}, settings)
        assert data.n_train + data.n_val == 101 and data.n_train == 30
        if name in ("circle", "gauss", "spiral", "moons"):
            counts = torch.bincount(torch.cat([data.y_train, data.y_val]), minlength=2)
            assert abs(int(counts[0]) - int(counts[1])) <= 1  # half of each, as the Playground


# --- images and IDX files --------------------------------------------------------------


def test_idx_round_trip_and_gzip(tmp_path: Path) -> None:
    for dtype in (np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64):
        array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
        for name in ("a.idx", "a.idx.gz"):
            write_idx(tmp_path / name, array)
            back = read_idx(tmp_path / name)
            assert back.dtype == array.dtype and np.array_equal(back, array)
    assert (tmp_path / "a.idx.gz").read_bytes()[:2] == b"\x1f\x8b"


def test_idx_rejects_malformed_files(tmp_path: Path) -> None:
    good = bytes([0, 0, 0x08, 1]) + (3).to_bytes(4, "big") + b"abc"
    assert parse_idx(good).tolist() == [97, 98, 99]
    for bad, reason in [
        (b"\x01\x02" + good[2:], "magic"),
        (bytes([0, 0, 0x07, 1]) + good[4:], "magic"),
        (bytes([0, 0, 0x08, 0]) + good[4:], "magic"),
        (good[:-1], "bytes"),
        (good + b"d", "bytes"),
        (good[:6], "header"),
    ]:
        (tmp_path / "bad").write_bytes(bad)
        with pytest.raises(IdxError, match=reason):
            read_idx(tmp_path / "bad")
    (tmp_path / "bad.gz").write_bytes(gzip.compress(good)[:-6])
    with pytest.raises(IdxError):
        read_idx(tmp_path / "bad.gz")


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("name", IDX_SETS)
def test_mnist_style_sets_read_local_idx_files(name: str, gz: bool, settings: Settings) -> None:
    write_image_set(Path(settings.data_dir) / name, gz=gz)
    data = load_data({"name": name}, settings)
    assert_consistent(data)
    assert data.input_shape == (1, 28, 28) and data.meta["image_shape"] == (28, 28)
    assert (data.n_train, data.n_val) == (60, 20)  # fewer files than asked: all of them
    assert float(data.x_train.min()) >= 0 and float(data.x_train.max()) <= 1
    assert same(data, load_data({"name": name}, settings))
    assert not same(data, load_data({"name": name, "seed": 2}, settings))
    split = load_data(
        {"name": name, "validation": "split", "samples": 40, "val_samples": 15}, settings
    )
    assert (split.n_train, split.n_val) == (40, 15)
    assert dataset_shapes({"name": name}, settings) == DataShapes.of(data)
    preview = preview_data({"name": name}, settings)
    assert preview["available"] and len(preview["images"]) == 10
    assert len(preview["images"][0]) == 28
    json.dumps(preview, allow_nan=False)


def test_mnist_without_files_or_network_says_where_to_put_them(settings: Settings) -> None:
    with pytest.raises(ExperimentError) as caught:
        load_data({"name": "mnist"}, settings)
    error = caught.value.errors[0]
    assert error["loc"] == ("dataset", "name")
    assert "'mnist'" in error["msg"] and str(Path(settings.data_dir) / "mnist") in error["msg"]
    assert "train-images-idx3-ubyte" in error["msg"]
    preview = preview_data({"name": "fashion_mnist"}, settings)  # never downloads
    assert preview["available"] is False and "fashion_mnist" in preview["message"]
    json.dumps(preview, allow_nan=False)


def test_mnist_downloads_once_into_the_cache(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror = tmp_path / "mirror"
    write_image_set(mirror, gz=True)
    md5 = {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in mirror.iterdir()}
    source = mnist_files.Source(mirrors=("file:///nonexistent/", mirror.as_uri() + "/"), md5=md5)
    monkeypatch.setitem(mnist_files.SOURCES, "mnist", source)
    data = load_data({"name": "mnist"}, settings)
    cache = Path(settings.cache_dir) / "mnist"
    assert sorted(p.name for p in cache.iterdir()) == sorted(md5)  # no partial files left
    assert_consistent(data)
    # A corrupted mirror is caught by its checksum and nothing is kept.
    wrong = mnist_files.Source(mirrors=(mirror.as_uri() + "/",), md5=dict.fromkeys(md5, "0" * 32))
    monkeypatch.setitem(mnist_files.SOURCES, "fashion_mnist", wrong)
    with pytest.raises(ExperimentError, match="MD5"):
        load_data({"name": "fashion_mnist"}, settings)
    assert not (Path(settings.cache_dir) / "fashion_mnist").exists() or not any(
        (Path(settings.cache_dir) / "fashion_mnist").iterdir()
    )


def test_digits_split_is_stratified(settings: Settings) -> None:
    data = load_data({"name": "digits", "train_fraction": 0.5}, settings)
    assert data.input_shape == (1, 8, 8) and data.n_train + data.n_val == 1797
    train_counts = torch.bincount(data.y_train, minlength=10)
    val_counts = torch.bincount(data.y_val, minlength=10)
    assert ((train_counts - val_counts).abs() <= 1).all()
    assert float(data.x_train.max()) == 1.0 and float(data.x_train.min()) == 0.0


# --- tabular, sequences ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["iris", "wine", "breast_cancer"])
def test_tabular_standardised_on_training_rows(name: str, settings: Settings) -> None:
    data = load_data({"name": name}, settings)
    torch.testing.assert_close(
        data.x_train.mean(0), torch.zeros(data.input_shape), atol=1e-5, rtol=0
    )
    torch.testing.assert_close(
        data.x_train.std(0, unbiased=False), torch.ones(data.input_shape), atol=1e-4, rtol=0
    )
    assert len(data.feature_names) == data.input_shape[0]
    assert data.meta["mean"].shape == data.meta["std"].shape == data.input_shape


def test_sine_windows_and_clean_targets(settings: Settings) -> None:
    spec = {"name": "sine", "window": 16, "horizon": 4, "noise": 0.0, "samples": 50}
    data = load_data(spec, settings)
    assert data.input_shape == (16, 1) and data.target_shape == (4,)
    series = data.meta["series_val"]
    assert series.shape == (data.n_val, 20)
    torch.testing.assert_close(series[:, :16], data.x_val[:, :, 0])
    torch.testing.assert_close(series[:, 16:], data.y_val)
    assert data.x_train.abs().max() <= 1.0


def test_waveform_classes_are_balanced(settings: Settings) -> None:
    data = load_data({"name": "waveform", "samples": 400, "length": 32}, settings)
    counts = torch.bincount(torch.cat([data.y_train, data.y_val]))
    assert counts.tolist() == [100, 100, 100, 100] and data.input_shape == (32, 1)


def test_tokens_label_counts_of_one_and_two(settings: Settings) -> None:
    data = load_data({"name": "tokens", "vocab_size": 5, "length": 6}, settings)
    assert data.meta == {"vocab_size": 5, "input_dtype": "int64"}
    x = torch.cat([data.x_train, data.x_val])
    y = torch.cat([data.y_train, data.y_val])
    ones, twos = (x == 1).sum(1), (x == 2).sum(1)
    assert (ones != twos).all()  # no ties
    assert torch.equal(y, (ones > twos).long())
    assert int(x.min()) >= 0 and int(x.max()) < 5
    assert 0.4 < y.float().mean() < 0.6


# --- autoencoder sets ------------------------------------------------------------------


def test_reconstruction_targets_are_the_inputs(settings: Settings) -> None:
    for name in ("digits_reconstruction", "planar_reconstruction", "digits_anomaly"):
        data = load_data({"name": name}, settings)
        assert torch.equal(data.y_train, data.x_train) and torch.equal(data.y_val, data.x_val)
        assert data.meta["labels_val"].shape == (data.n_val,)
        assert data.meta["labels_train"].shape == (data.n_train,)
    assert load_data({"name": "digits_reconstruction"}, settings).output_activation == "sigmoid"
    planar = load_data({"name": "planar_reconstruction", "source": "circle"}, settings)
    assert planar.output_activation is None and planar.input_shape == (2,)


def test_anomaly_set_trains_on_normal_digits_only(settings: Settings) -> None:
    spec = {"name": "digits_anomaly", "normal_classes": [3, 1], "anomaly_ratio": 2.0}
    data = load_data(spec, settings)
    assert data.meta["normal_classes"] == [1, 3]
    assert set(data.meta["labels_train"].tolist()) == {1, 3}
    flags, labels = data.meta["val_anomaly"], data.meta["labels_val"]
    assert flags.dtype == torch.int64 and flags.shape == (data.n_val,)
    assert torch.equal(flags.bool(), ~torch.isin(labels, torch.tensor([1, 3])))
    assert int(flags.sum()) == 2 * int((flags == 0).sum())


def test_small_dense_autoencoder_spots_the_default_anomalies(settings: Settings) -> None:
    """The default setup (normal digit 0) must be easy: ROC-AUC >= 0.8 within seconds."""
    from sklearn.metrics import roc_auc_score

    data = load_data({"name": "digits_anomaly"}, settings)
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Flatten(),
        torch.nn.Linear(64, 16),
        torch.nn.ReLU(),
        torch.nn.Linear(16, 64),
        torch.nn.Sigmoid(),
        torch.nn.Unflatten(1, (1, 8, 8)),
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(10):
        for batch in data.x_train.split(10):
            loss = torch.nn.functional.mse_loss(model(batch), batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        scores = ((model(data.x_val) - data.x_val) ** 2).flatten(1).mean(1)
    auc = roc_auc_score(data.meta["val_anomaly"].numpy(), scores.numpy())
    assert math.isfinite(auc) and auc >= 0.8


def test_preview_of_a_huge_sequence_set_is_drawn_from_a_few_samples():
    # 70,000 x 512 would cost ~700 MB in the API process; the page draws only a few series.
    spec = {"name": "waveform", "samples": 70_000, "length": 512}
    preview = preview_data(spec)
    assert (preview["n_train"], preview["n_val"]) == (56_000, 14_000)
    assert len(preview["inputs"]) <= 16 and len(preview["inputs"][0]) == 512
