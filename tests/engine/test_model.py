"""Checking whole experiments: shapes through the stack, the derived head, limits, errors."""

import pytest
import torch

from server.config import Settings
from server.engine.errors import ExperimentError
from server.engine.model import build_model, check, parse_experiment, plan


@pytest.fixture
def settings(tmp_path):
    return Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")


def experiment(settings, dataset, layers, **training):
    doc = {"dataset": dataset, "model": {"layers": layers}, "training": training}
    return parse_experiment(doc, settings)


def errors_of(call):
    with pytest.raises(ExperimentError) as err:
        call()
    return err.value.errors


DIGITS_CNN = [
    {"type": "conv2d", "filters": 8, "kernel_size": 3},
    {"type": "maxpool2d"},
    {"type": "flatten"},
    {"type": "dense", "units": 32},
]


def test_check_reports_shapes_params_and_head(settings):
    result = check(experiment(settings, {"name": "digits"}, DIGITS_CNN), settings)
    assert result["input_shape"] == [1, 8, 8]
    assert [r["output_shape"] for r in result["layers"]] == [[8, 8, 8], [8, 4, 4], [128], [32]]
    assert [r["params"] for r in result["layers"]] == [8 * 9 + 8, 0, 0, 128 * 32 + 32]
    assert result["head"]["output_shape"] == [10]
    assert result["head"]["params"] == 32 * 10 + 10
    assert result["total_params"] == sum(r["params"] for r in result["layers"]) + 330
    assert result["task"] == "classification" and result["loss"] == "cross_entropy"


def test_built_network_matches_the_check(settings):
    exp = experiment(settings, {"name": "digits"}, DIGITS_CNN)
    result = check(exp, settings)
    p = plan(exp, settings)
    net = build_model(p)
    assert sum(t.numel() for t in net.parameters()) == result["total_params"]
    out = net(p.data.x_train[:5])
    assert out.shape == (5, 10)


def test_conv_after_flatten_is_explained_at_the_layer(settings):
    layers = [{"type": "flatten"}, {"type": "dense", "units": 64}, {"type": "conv2d"}]
    errors = errors_of(lambda: check(experiment(settings, {"name": "digits"}, layers), settings))
    assert errors[0]["loc"] == ("model", "layers", 2)
    assert errors[0]["msg"] == (
        "layer 2 (conv2d) needs an image-shaped input (C, H, W) but receives (64,) from "
        "layer 1 (dense); add a reshape layer first"
    )


def test_rnn_on_flat_input_names_the_dataset(settings):
    errors = errors_of(
        lambda: check(experiment(settings, {"name": "spiral"}, [{"type": "lstm"}]), settings)
    )
    assert errors[0]["loc"] == ("model", "layers", 0)
    assert (
        "needs a sequence input (T, F) but receives (2,) from the dataset (spiral)"
        in errors[0]["msg"]
    )


def test_bad_fields_and_unknown_types_are_named(settings):
    layers = [{"type": "dense", "units": 0}, {"type": "warp"}, {"type": "dense", "colour": 1}]
    errors = errors_of(lambda: check(experiment(settings, {"name": "spiral"}, layers), settings))
    locs = [e["loc"] for e in errors]
    assert ("model", "layers", 0, "units") in locs
    assert ("model", "layers", 1, "type") in locs
    assert ("model", "layers", 2, "colour") in locs
    assert any("unknown layer type 'warp'" in e["msg"] for e in errors)


def test_hostile_dense_layer_is_refused_before_allocation(settings):
    layers = [{"type": "dense", "units": 100_000}, {"type": "dense", "units": 100_000}]
    exp = experiment(settings, {"name": "spiral"}, layers)
    # 10 billion float32 weights would need 40 GB: counted on the meta device, never allocated.
    errors = errors_of(lambda: check(exp, settings))
    assert errors[0]["loc"] == ("model", "layers", 1)
    assert "the model has 10,000,600,002 parameters" in errors[0]["msg"]
    assert "layer 1 (dense) alone has 10,000,100,000" in errors[0]["msg"]
    assert "LAYERLAB_MAX_PARAMS" in errors[0]["msg"]


def test_huge_layer_output_is_refused(settings):
    layers = [{"type": "conv2d", "filters": 1024}, {"type": "upsample", "scale": 8}]
    errors = errors_of(lambda: check(experiment(settings, {"name": "digits"}, layers), settings))
    assert "LAYERLAB_MAX_LAYER_OUTPUT" in errors[0]["msg"]


def test_training_limits_name_the_field(settings):
    doc = {"dataset": {"name": "spiral"}, "training": {"epochs": 1_000_000, "batch_size": 10**6}}
    errors = errors_of(lambda: parse_experiment(doc, settings))
    assert {e["loc"] for e in errors} == {("training", "epochs"), ("training", "batch_size")}


def test_malformed_documents_are_validation_errors(settings):
    errors = errors_of(lambda: parse_experiment({"model": {"layers": "dense"}}, settings))
    locs = {e["loc"] for e in errors}
    assert ("dataset",) in locs and ("model", "layers") in locs


def test_autoencoder_head_reconstructs_the_input_shape(settings):
    layers = [{"type": "flatten"}, {"type": "dense", "units": 3}]
    exp = experiment(settings, {"name": "digits_reconstruction"}, layers)
    result = check(exp, settings)
    assert result["task"] == "reconstruction"
    assert result["head"]["output_shape"] == [1, 8, 8]
    net = build_model(plan(exp, settings))
    assert net(torch.zeros(2, 1, 8, 8)).shape == (2, 1, 8, 8)


def test_token_data_needs_an_embedding_first(settings):
    errors = errors_of(
        lambda: check(experiment(settings, {"name": "tokens"}, [{"type": "gru"}]), settings)
    )
    assert "add an embedding layer first" in errors[0]["msg"]
    ok = [{"type": "embedding", "dim": 4}, {"type": "gru", "units": 8}]
    assert check(experiment(settings, {"name": "tokens"}, ok), settings)["layers"][1][
        "output_shape"
    ] == [8]


def test_loss_override_must_suit_the_task(settings):
    exp = experiment(settings, {"name": "spiral"}, [], loss="mse")
    errors = errors_of(lambda: check(exp, settings))
    assert errors[0]["loc"] == ("training", "loss")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_refused_at_the_device_field(settings):
    exp = experiment(settings, {"name": "spiral"}, [], device="cuda")
    errors = errors_of(lambda: check(exp, settings))
    assert errors[0]["loc"] == ("training", "device")
