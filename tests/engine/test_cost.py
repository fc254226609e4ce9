"""The compute of one training step, counted at check time: per layer, per example, bounded."""

import copy
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch
from sample_designs import HEAVY
from torch.utils.flop_counter import FlopCounterMode

from server.api.models import SPIRAL_EXAMPLE
from server.config import Settings
from server.engine import model
from server.engine.cost import FlopCounts
from server.engine.errors import ExperimentError
from server.engine.model import build_model, check, parse_experiment, plan


@pytest.fixture
def settings(tmp_path):
    return Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")


def run_check(doc, settings):
    return check(parse_experiment(doc, settings), settings)


def errors_of(doc, settings):
    with pytest.raises(ExperimentError) as err:
        run_check(doc, settings)
    return err.value.errors


def test_dense_flops_per_layer_are_forward_and_backward_per_example(settings):
    doc = {
        "dataset": {"name": "spiral", "samples": 100},
        "model": {"layers": [{"type": "dense", "units": 32}, {"type": "dense", "units": 16}]},
        "training": {"batch_size": 10},
    }
    result = run_check(doc, settings)
    first, second = result["layers"]
    # The first layer: forward 2·in·out and the weights' gradient 2·in·out (no input gradient).
    assert first["flops"] == 4 * 2 * 32
    # Later layers also pass the gradient to their input: 3 products of 2·in·out.
    assert second["flops"] == 6 * 32 * 16
    assert result["head"]["flops"] == 6 * 16 * 2
    assert result["total_flops"] == first["flops"] + second["flops"] + result["head"]["flops"]
    assert result["step_flops"] == result["total_flops"] * 10


def test_conv_count_matches_a_real_forward_and_backward(settings):
    layers = [
        {"type": "conv2d", "filters": 8, "kernel_size": 3},
        {"type": "conv2d", "filters": 4, "kernel_size": 5},
        {"type": "flatten"},
    ]
    doc = {
        "dataset": {"name": "digits"},
        "model": {"layers": layers},
        "training": {"batch_size": 4},
    }
    experiment = parse_experiment(doc, settings)
    result = check(experiment, settings)
    net = build_model(plan(experiment, settings))
    counter = FlopCounterMode(display=False)
    with counter:
        net(torch.randn(4, 1, 8, 8)).sum().backward()
    assert result["step_flops"] == counter.get_total_flops()


def test_recurrent_rule_is_close_to_the_counted_cost(settings):
    doc = {
        "dataset": {"name": "waveform", "length": 32},
        "model": {"layers": [{"type": "gru", "units": 16}]},
        "training": {"batch_size": 2},
    }
    experiment = parse_experiment(doc, settings)
    by_rule = check(experiment, settings)["layers"][0]["flops"]
    gru = build_model(plan(experiment, settings)).body[0]
    counter = FlopCounterMode(display=False)
    with counter:
        gru(torch.randn(2, 32, 1)).sum().backward()
    counted = counter.get_total_flops() / 2
    assert 0.8 * counted <= by_rule <= 1.25 * counted


def test_the_heavy_design_is_refused_at_the_batch_size_with_what_would_fit(settings):
    settings.max_step_flops = 2.4e12  # a batch of one fits, 256 do not
    (error,) = errors_of(HEAVY, settings)
    assert error["loc"] == ("training", "batch_size")
    msg = error["msg"]
    assert "TFLOPs" in msg and "LAYERLAB_MAX_STEP_FLOPS" in msg
    assert "layer 2 (conv2d) takes 99%" in msg
    fits = int(re.search(r"at most ([\d,]+\d)", msg).group(1).replace(",", ""))
    assert 1 <= fits < 256
    smaller = {**HEAVY, "training": {**HEAVY["training"], "batch_size": fits}}
    assert run_check(smaller, settings)["step_flops"] <= settings.max_step_flops


def test_a_design_whose_single_example_is_over_budget_is_refused_at_its_layer(settings):
    (error,) = errors_of(HEAVY, settings)  # default limit: 22.9 GFLOPs per example
    assert error["loc"] == ("model", "layers", 2)
    assert "one example costs 22.9 GFLOPs" in error["msg"]
    assert "fewer filters" in error["msg"]


def test_every_example_design_fits_the_default_budget(settings):
    import json
    from pathlib import Path

    for path in sorted(Path("examples").glob("*.json")):
        result = run_check(json.loads(path.read_text()), settings)
        assert 0 < result["step_flops"] <= settings.max_step_flops / 10, path.name


def test_batch_norm_with_a_batch_of_one_is_refused_at_the_layer_in_words(settings):
    doc = {
        "dataset": {"name": "iris"},
        "model": {"layers": [{"type": "dense", "units": 8}, {"type": "batchnorm"}]},
        "training": {"batch_size": 1},
    }
    (error,) = errors_of(doc, settings)
    assert error["loc"] == ("model", "layers", 1)
    assert "batch size of at least 2" in error["msg"]
    assert "Expected more than 1 value" not in error["msg"]
    doc["training"]["batch_size"] = 2
    run_check(doc, settings)
    # On images each channel has H·W values even in a batch of one: that trains.
    image = {
        "dataset": {"name": "digits"},
        "model": {"layers": [{"type": "conv2d", "filters": 4}, {"type": "batchnorm"}]},
        "training": {"batch_size": 1},
    }
    run_check(image, settings)


def test_checks_in_many_threads_at_once_count_what_one_alone_counts(settings, monkeypatch):
    """The API checks designs in its thread pool. FlopCounterMode names modules through torch's
    global module hooks, so counts made at the same moment used to count each other's
    modules (a spiral's first layer: 4,608 FLOPs instead of 256 under 24 at once). No counts
    are kept here, so that every check counts."""
    monkeypatch.setattr(model, "FLOPS", FlopCounts(size=0))
    designs = [
        SPIRAL_EXAMPLE,
        {
            "dataset": {"name": "digits"},
            "model": {
                "layers": [
                    {"type": "conv2d", "filters": 8, "kernel_size": 3},
                    {"type": "flatten"},
                    {"type": "dense", "units": 16},
                ]
            },
            "training": {"batch_size": 32},
        },
        {
            "dataset": {"name": "sine"},
            "model": {"layers": [{"type": "lstm", "units": 8}, {"type": "dense", "units": 4}]},
        },
    ]
    alone = [run_check(doc, settings) for doc in designs]
    asked = designs * 8
    gate = threading.Barrier(len(asked))

    def at_once(doc: dict) -> dict:
        gate.wait()
        return run_check(doc, settings)

    with ThreadPoolExecutor(len(asked)) as pool:
        for _ in range(5):
            got = list(pool.map(at_once, asked))
            for i, result in enumerate(got):
                assert result == alone[i % len(designs)], designs[i % len(designs)]["model"]


DIGITS_CNN = {
    "dataset": {"name": "digits"},
    "model": {
        "layers": [
            {"type": "conv2d", "filters": 8, "kernel_size": 3},
            {"type": "maxpool2d", "pool_size": 2},
            {"type": "flatten"},
            {"type": "dense", "units": 16},
        ]
    },
    "training": {"batch_size": 32},
}


def variant(path: tuple, value) -> dict:
    doc = copy.deepcopy(DIGITS_CNN)
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return doc


def test_a_network_checked_again_is_not_counted_again(settings, monkeypatch):
    monkeypatch.setattr(model, "FLOPS", FlopCounts())
    counted = []
    count = model.count_flops
    monkeypatch.setattr(model, "count_flops", lambda *a: counted.append(1) or count(*a))
    first = run_check(DIGITS_CNN, settings)
    again = run_check(DIGITS_CNN, settings)
    other_batch = run_check(variant(("training", "batch_size"), 8), settings)
    assert len(counted) == 1
    assert again == first
    assert other_batch["total_flops"] == first["total_flops"]
    assert other_batch["step_flops"] == first["total_flops"] * 8


def test_networks_differing_in_anything_they_are_built_from_are_counted_apart(
    settings, monkeypatch
):
    layer = ("model", "layers", 0)
    variants = [
        DIGITS_CNN,
        variant((*layer, "kernel_size"), 5),
        variant((*layer, "filters"), 4),
        variant((*layer, "padding"), "valid"),
        variant((*layer, "stride"), 2),
        variant(("model", "layers", 3, "units"), 32),
        variant(("dataset", "name"), "mnist"),
        variant(("training", "loss"), "mse") | {"dataset": {"name": "sine"}},
    ]
    variants[-1]["model"]["layers"] = [{"type": "dense", "units": 16}]

    def flops(doc: dict) -> list[int]:
        result = run_check(doc, settings)
        return [x["flops"] for x in result["layers"]] + [result["head"]["flops"]]

    monkeypatch.setattr(model, "FLOPS", FlopCounts(size=0))
    alone = [flops(doc) for doc in variants]
    assert len({repr(f) for f in alone}) == len(variants)  # each its own count
    monkeypatch.setattr(model, "FLOPS", FlopCounts())
    for _ in range(2):  # counted, then from the counts kept
        assert [flops(doc) for doc in variants] == alone
    assert len(model.FLOPS) == len(variants)


def test_the_counts_kept_are_bounded_least_recently_used_first():
    counts = FlopCounts(size=2)
    for key in ("a", "b"):
        counts.put(key, {"layers": [1], "head": 0, "total": 1})
    assert counts.get("a") is not None  # "b" is now the least recently used
    counts.put("c", {"layers": [2], "head": 0, "total": 2})
    assert len(counts) == 2 and counts.get("b") is None
    got = counts.get("c")
    got["layers"].append(99)  # a caller's copy: the kept counts are untouched
    assert counts.get("c") == {"layers": [2], "head": 0, "total": 2}
