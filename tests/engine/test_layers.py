"""Every layer type's shape rule and parameter count agree with the PyTorch module it builds."""

import math

import pytest
import torch

from server.engine import model  # noqa: F401  (registers every layer module)
from server.engine.errors import ShapeError
from server.engine.layers import LAYERS, LayerContext, describe_layers

# (type, params, input shape, context): one valid use of every registered layer type.
CASES = [
    ("dense", {"units": 7, "activation": "tanh"}, (5,), LayerContext()),
    ("dense", {"units": 3, "bias": False}, (4, 6), LayerContext()),
    ("conv2d", {"filters": 4, "kernel_size": 3}, (2, 9, 9), LayerContext()),
    (
        "conv2d",
        {"filters": 4, "kernel_size": 3, "stride": 2, "padding": "valid"},
        (1, 9, 8),
        LayerContext(),
    ),
    ("conv_transpose2d", {"filters": 3, "kernel_size": 2, "stride": 2}, (5, 4, 4), LayerContext()),
    ("maxpool2d", {"pool_size": 2}, (3, 7, 8), LayerContext()),
    ("avgpool2d", {"pool_size": 3, "stride": 1}, (3, 7, 8), LayerContext()),
    ("upsample", {"scale": 3, "mode": "bilinear"}, (2, 4, 5), LayerContext()),
    ("flatten", {}, (3, 4, 5), LayerContext()),
    ("reshape", {"shape": [2, -1, 4]}, (24,), LayerContext()),
    ("dropout", {"rate": 0.5}, (6,), LayerContext()),
    ("batchnorm", {}, (6,), LayerContext()),
    ("batchnorm", {}, (3, 5, 5), LayerContext()),
    ("batchnorm", {}, (7, 4), LayerContext()),
    ("rnn", {"units": 5}, (7, 3), LayerContext()),
    ("lstm", {"units": 5, "return_sequences": True}, (7, 3), LayerContext()),
    ("gru", {"units": 6}, (7, 3), LayerContext()),
    ("embedding", {"dim": 4}, (9,), LayerContext(tokens=True, vocab_size=11)),
    # Graph and transformer parts (a merge on one input is its single-input form).
    ("add", {}, (6,), LayerContext()),
    ("concat", {"axis": "channels"}, (2, 4, 4), LayerContext()),
    ("layernorm", {}, (7, 6), LayerContext()),
    ("layernorm", {}, (2, 3, 3), LayerContext()),
    ("attention", {"heads": 2}, (7, 6), LayerContext()),
    ("attention", {"heads": 3, "dim": 9, "causal": True}, (5, 4), LayerContext()),
    ("positional", {"mode": "learned"}, (7, 6), LayerContext()),
    ("positional", {"mode": "sinusoidal"}, (7, 5), LayerContext()),
    ("global_pool", {}, (7, 6), LayerContext()),
    ("global_pool", {}, (3, 5, 5), LayerContext()),
    ("recommender", {"dim": 3}, (2,), LayerContext(tokens=True, vocab_size=11)),
]


def test_cases_cover_every_layer_type():
    assert {case[0] for case in CASES} == set(LAYERS)


@pytest.mark.parametrize(("name", "params", "shape", "ctx"), CASES)
def test_shape_and_params_match_pytorch(name, params, shape, ctx):
    layer = LAYERS[name]
    p = layer.Params.model_validate(params)
    expected = layer.output_shape(shape, p, ctx)
    torch.manual_seed(0)
    module = layer.build(shape, p, ctx).eval()
    x = torch.randint(0, ctx.vocab_size, (2, *shape)) if ctx.tokens else torch.randn(2, *shape)
    assert tuple(module(x).shape) == (2, *expected)
    with torch.device("meta"):
        meta = layer.build(shape, p, ctx)
    assert sum(t.numel() for t in meta.parameters()) == sum(t.numel() for t in module.parameters())


def test_dense_parameter_count_is_weights_plus_biases():
    p = LAYERS["dense"].Params(units=7)
    module = LAYERS["dense"].build((5,), p, LayerContext())
    assert sum(t.numel() for t in module.parameters()) == 5 * 7 + 7


@pytest.mark.parametrize(
    ("name", "params", "shape", "ctx", "words"),
    [
        (
            "conv2d",
            {},
            (64,),
            LayerContext(),
            "needs an image-shaped input (C, H, W) but receives (64,)",
        ),
        ("rnn", {}, (10,), LayerContext(), "needs a sequence input (T, F) but receives (10,)"),
        ("lstm", {}, (10,), LayerContext(tokens=True), "add an embedding layer first"),
        ("dense", {}, (3, 8, 8), LayerContext(), "add a flatten layer"),
        (
            "maxpool2d",
            {"pool_size": 4},
            (1, 2, 2),
            LayerContext(),
            "pool_size 4, larger than the 2×2",
        ),
        (
            "conv2d",
            {"kernel_size": 5, "padding": "valid"},
            (1, 3, 3),
            LayerContext(),
            "kernel_size 5",
        ),
        ("reshape", {"shape": [5, 5]}, (24,), LayerContext(), "needs 25 values"),
        ("embedding", {}, (4, 2), LayerContext(), "needs integer token ids"),
    ],
)
def test_impossible_inputs_are_explained(name, params, shape, ctx, words):
    layer = LAYERS[name]
    with pytest.raises(ShapeError, match=".*") as err:
        layer.output_shape(shape, layer.Params.model_validate(params), ctx)
    assert words in str(err.value)


def test_describe_layers_gives_schemas_and_defaults_for_the_browser():
    described = {d["type"]: d for d in describe_layers()}
    assert set(described) == set(LAYERS)
    dense = described["dense"]
    assert dense["defaults"]["units"] == 8
    assert dense["params"]["properties"]["units"]["maximum"] == 100_000
    assert "relu" in dense["params"]["properties"]["activation"]["enum"]
    for d in described.values():
        assert d["description"] and d["category"]
        assert all("description" in prop for prop in d["params"].get("properties", {}).values())


def test_reshape_infers_minus_one():
    p = LAYERS["reshape"].Params(shape=[-1, 4])
    assert LAYERS["reshape"].output_shape((3, 4, 2), p, LayerContext()) == (6, 4)
    assert math.prod((6, 4)) == 24
