"""Sweep specs without a server: axes expand into variants, each setting lands where it
should, bad axes are named; the training-data fraction trains on a nested, seeded subset."""

from __future__ import annotations

import pytest
import torch

from server.config import Settings
from server.engine.model import parse_experiment
from server.engine.trainer import Trainer, data_subset
from server.engine.validation import validate_experiment
from server.sweeps import spec as spec_module
from server.sweeps import validate as validate_module
from server.sweeps.spec import Axis, SpecError, SweepIn, expand
from server.sweeps.summary import main_metric, sweep_status
from server.sweeps.validate import check_sweep

SETTINGS = Settings(device="cpu", fast_path=False)


def base() -> dict:
    return {
        "dataset": {"name": "circle", "samples": 200, "seed": 1},
        "model": {
            "layers": [
                {"type": "dense", "units": 8, "activation": "tanh"},
                {"type": "dropout", "rate": 0.1},
                {"type": "dense", "units": 4, "activation": "tanh"},
            ]
        },
        "training": {"optimizer": "sgd", "learning_rate": 0.1, "epochs": 3},
    }


def test_two_axes_give_every_combination_first_axis_slowest():
    variants = expand(
        base(),
        [
            Axis(setting="learning_rate", values=[0.01, 0.1]),
            Axis(setting="optimizer", values=["sgd", "adam", "rmsprop"]),
        ],
    )
    assert [v.label for v in variants[:4]] == [
        "learning_rate=0.01, optimizer=sgd",
        "learning_rate=0.01, optimizer=adam",
        "learning_rate=0.01, optimizer=rmsprop",
        "learning_rate=0.1, optimizer=sgd",
    ]
    assert variants[5].experiment["training"] == {
        **base()["training"],
        "learning_rate": 0.1,
        "optimizer": "rmsprop",
    }


def test_layer_settings_go_to_one_layer_or_every_layer_that_takes_them():
    one = expand(base(), [Axis(setting="units", layer=2, values=[16])])[0].experiment
    assert [layer.get("units") for layer in one["model"]["layers"]] == [8, None, 16]
    every = expand(base(), [Axis(setting="activation", values=["relu"])])[0].experiment
    assert [layer.get("activation") for layer in every["model"]["layers"]] == ["relu", None, "relu"]


def test_number_of_layers_cuts_the_stack_or_repeats_its_last_layer():
    variants = expand(base(), [Axis(setting="layers", values=[0, 1, 5])])
    assert [len(v.experiment["model"]["layers"]) for v in variants] == [0, 1, 5]
    assert variants[2].experiment["model"]["layers"][3:] == [base()["model"]["layers"][2]] * 2
    with pytest.raises(SpecError) as err:
        expand({**base(), "model": {"layers": []}}, [Axis(setting="layers", values=[2])])
    assert err.value.errors[0]["loc"] == ["body", "axes", 0, "values", 0]


def test_every_variant_is_checked_and_a_bad_one_named_by_setting_and_value():
    spec = SweepIn(experiment=base(), axes=[Axis(setting="batch_size", values=[10, 0])])
    with pytest.raises(SpecError) as err:
        check_sweep(spec, SETTINGS, validate_experiment)
    (error,) = err.value.errors
    assert error["loc"] == ["body", "axes", 0, "values", 1]
    assert error["msg"].startswith("batch_size = 0 cannot run: training.batch_size")
    doc, variants = check_sweep(
        SweepIn(experiment=base(), axes=[Axis(setting="batch_size", values=[10, 20])]),
        SETTINGS,
        validate_experiment,
    )
    assert [v.check["total_params"] > 0 for v in variants] == [True, True]
    assert main_metric(variants[0].check) == ("val_accuracy", True)


def test_sweep_status_follows_its_runs():
    assert sweep_status(["finished", "running"], stopped=True) == "running"
    assert sweep_status(["finished", "finished"], stopped=False) == "finished"
    assert sweep_status(["finished", "stopped"], stopped=True) == "stopped"
    assert sweep_status(["finished", "diverged"], stopped=False) == "ended"


def test_data_fraction_trains_on_a_nested_seeded_subset_with_the_whole_validation_set():
    small, large = data_subset(100, 0.05, seed=3), data_subset(100, 0.5, seed=3)
    assert len(small) == 5 and len(large) == 50
    assert set(small.tolist()) <= set(large.tolist())
    assert torch.equal(data_subset(100, 0.5, seed=3), large)
    doc = {**base(), "training": {**base()["training"], "data_fraction": 0.25}}
    whole = Trainer(parse_experiment(base(), SETTINGS), SETTINGS)
    part = Trainer(parse_experiment(doc, SETTINGS), SETTINGS)
    assert part.x_train.shape[0] == round(whole.x_train.shape[0] * 0.25)
    assert torch.equal(part.x_val, whole.x_val)
    keep = data_subset(whole.x_train.shape[0], 0.25, seed=0)
    assert torch.equal(part.x_train, whole.x_train[keep])
    record = part.train_epoch()
    assert record["epoch"] == 1 and record["val_loss"] > 0


def test_a_tiny_fraction_still_trains_batch_norm():
    doc = {
        **base(),
        "model": {"layers": [{"type": "dense", "units": 4}, {"type": "batchnorm"}]},
        "training": {**base()["training"], "data_fraction": 1e-6, "batch_size": 2},
    }
    trainer = Trainer(parse_experiment(validate_experiment(doc, SETTINGS)[0], SETTINGS), SETTINGS)
    assert trainer.x_train.shape[0] == 2
    assert trainer.train_epoch()["epoch"] == 1


@pytest.mark.parametrize("layers", [33, 3_000_000, 10**9])
def test_a_layers_value_over_the_limit_is_refused_before_any_variant_is_built(layers, monkeypatch):
    """Issue 20: 3 million layers took 32.7 s and 1.1 GB before its 422 (a billion never
    answered): the bound is checked first, and nothing is built or checked at all."""

    def never(*args, **kwargs):
        raise AssertionError("a variant was built or checked before the bound")

    monkeypatch.setattr(spec_module, "apply", never)
    monkeypatch.setattr(validate_module, "expand", never)
    sweep = SweepIn(experiment=base(), axes=[Axis(setting="layers", values=[2, layers])])
    with pytest.raises(SpecError) as caught:
        check_sweep(sweep, SETTINGS, never)
    (error,) = caught.value.errors
    assert error["loc"] == ["body", "axes", 0, "values", 1]
    assert f"layers = {layers:,}" in error["msg"] and "LAYERLAB_MAX_LAYERS" in error["msg"]
