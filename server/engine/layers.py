"""The layer registry: each layer type is defined once, here.

A layer type holds its parameter schema (`Params`), its shape rule (`output_shape`), its
PyTorch builder (`build`) and a one-line description. Shapes never include the batch: flat
features are `(F,)`, images `(C, H, W)`, sequences `(T, F)`, token sequences `(T,)`.
The browser's palette and forms come from `describe_layers()`, so a new layer type is one class.
"""

from __future__ import annotations

import math
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor, nn

from .errors import ShapeError

Shape = tuple[int, ...]
Activation = Literal["relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "linear"]

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "linear": nn.Identity,
}


def activation_module(name: str) -> nn.Module:
    return ACTIVATIONS[name]()


def shape_text(shape: Shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


class LayerContext(BaseModel):
    """What a layer may need to know beyond its input shape."""

    tokens: bool = False  # the input holds integer token ids
    vocab_size: int | None = None


class LayerParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LayerType:
    """Base of every layer type. Subclasses set the class attributes and override the rules."""

    name: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str]
    category: ClassVar[str]
    Params: ClassVar[type[LayerParams]] = LayerParams

    def output_shape(self, shape: Shape, p: LayerParams, ctx: LayerContext) -> Shape:
        """The output shape for `shape`, or ShapeError; `{source}` in a message names the input."""
        raise NotImplementedError

    def build(self, shape: Shape, p: LayerParams, ctx: LayerContext) -> nn.Module:
        raise NotImplementedError


LAYERS: dict[str, LayerType] = {}


def register(cls: type[LayerType]) -> type[LayerType]:
    LAYERS[cls.name] = cls()
    return cls


def _need(kind: str, shape: Shape, hint: str = "") -> ShapeError:
    tail = f"; {hint}" if hint else ""
    return ShapeError(f"needs {kind} but receives {shape_text(shape)} from {{source}}{tail}")


def _need_image(shape: Shape) -> Shape:
    if len(shape) != 3:
        hint = "add a reshape layer first" if len(shape) == 1 else ""
        raise _need("an image-shaped input (C, H, W)", shape, hint)
    return shape


def _need_sequence(shape: Shape, ctx: LayerContext) -> Shape:
    if ctx.tokens:
        raise _need("a sequence of feature vectors (T, F)", shape, "add an embedding layer first")
    if len(shape) != 2:
        hint = "add a reshape layer to (T, F) first" if len(shape) == 1 else ""
        raise _need("a sequence input (T, F)", shape, hint)
    return shape


def _refuse_tokens(ctx: LayerContext, shape: Shape) -> None:
    if ctx.tokens:
        raise _need("real-valued input", shape, "token ids need an embedding layer first")


# ---------------------------------------------------------------- core


class DenseParams(LayerParams):
    units: int = Field(8, ge=1, le=100_000, description="neurons in the layer")
    activation: Activation = Field("relu", description="non-linearity applied to each neuron")
    bias: bool = Field(True, description="learn an offset per neuron")


@register
class Dense(LayerType):
    name = "dense"
    title = "Dense"
    description = "Fully connected: every neuron weighs every input, adds a bias, applies f."
    category = "core"
    Params = DenseParams

    def output_shape(self, shape, p, ctx):
        _refuse_tokens(ctx, shape)
        if len(shape) not in (1, 2):
            raise _need("flat features (F,) or a sequence (T, F)", shape, "add a flatten layer")
        return (*shape[:-1], p.units)

    def build(self, shape, p, ctx):
        return nn.Sequential(
            nn.Linear(shape[-1], p.units, bias=p.bias), activation_module(p.activation)
        )


# ---------------------------------------------------------------- convolution


class Conv2dParams(LayerParams):
    filters: int = Field(8, ge=1, le=1024, description="output channels (feature maps)")
    kernel_size: int = Field(3, ge=1, le=15, description="height and width of each filter")
    stride: int = Field(1, ge=1, le=8, description="step between filter positions")
    padding: Literal["same", "valid"] = Field("same", description="same keeps H×W at stride 1")
    activation: Activation = Field("relu", description="non-linearity applied to each map")


def _conv_out(size: int, k: int, s: int, pad: int) -> int:
    return (size + 2 * pad - k) // s + 1


@register
class Conv2d(LayerType):
    name = "conv2d"
    title = "Conv 2D"
    description = "Slides small learned filters over an image; each filter makes a feature map."
    category = "convolution"
    Params = Conv2dParams

    def output_shape(self, shape, p, ctx):
        c, h, w = _need_image(shape)
        pad = p.kernel_size // 2 if p.padding == "same" else 0
        if h + 2 * pad < p.kernel_size or w + 2 * pad < p.kernel_size:
            raise ShapeError(
                f"has kernel_size {p.kernel_size}, larger than the {h}×{w} image it receives "
                "from {source}; use a smaller kernel or padding 'same'"
            )
        return (
            p.filters,
            _conv_out(h, p.kernel_size, p.stride, pad),
            _conv_out(w, p.kernel_size, p.stride, pad),
        )

    def build(self, shape, p, ctx):
        pad = p.kernel_size // 2 if p.padding == "same" else 0
        conv = nn.Conv2d(shape[0], p.filters, p.kernel_size, stride=p.stride, padding=pad)
        return nn.Sequential(conv, activation_module(p.activation))


class ConvTransposeParams(LayerParams):
    filters: int = Field(8, ge=1, le=1024, description="output channels")
    kernel_size: int = Field(2, ge=1, le=15, description="height and width of each filter")
    stride: int = Field(2, ge=1, le=8, description="upsampling factor")
    activation: Activation = Field("relu", description="non-linearity applied to each map")


@register
class ConvTranspose2d(LayerType):
    name = "conv_transpose2d"
    title = "Conv transpose 2D"
    description = "Learned upsampling for decoders: spreads each pixel into a stride×stride patch."
    category = "convolution"
    Params = ConvTransposeParams

    def output_shape(self, shape, p, ctx):
        _c, h, w = _need_image(shape)
        return (p.filters, (h - 1) * p.stride + p.kernel_size, (w - 1) * p.stride + p.kernel_size)

    def build(self, shape, p, ctx):
        conv = nn.ConvTranspose2d(shape[0], p.filters, p.kernel_size, stride=p.stride)
        return nn.Sequential(conv, activation_module(p.activation))


class PoolParams(LayerParams):
    pool_size: int = Field(2, ge=1, le=16, description="window height and width")
    stride: int | None = Field(None, ge=1, le=16, description="step; null means pool_size")


class _Pool(LayerType):
    category = "pooling"
    Params = PoolParams
    module: ClassVar[type[nn.Module]]

    def output_shape(self, shape, p, ctx):
        c, h, w = _need_image(shape)
        if h < p.pool_size or w < p.pool_size:
            raise ShapeError(
                f"has pool_size {p.pool_size}, larger than the {h}×{w} maps it receives from "
                "{source}"
            )
        s = p.stride or p.pool_size
        return (c, _conv_out(h, p.pool_size, s, 0), _conv_out(w, p.pool_size, s, 0))

    def build(self, shape, p, ctx):
        return self.module(p.pool_size, stride=p.stride or p.pool_size)


@register
class MaxPool2d(_Pool):
    name = "maxpool2d"
    title = "Max pool 2D"
    description = "Keeps the strongest response in each window: smaller maps, some shift tolerance."
    module = nn.MaxPool2d


@register
class AvgPool2d(_Pool):
    name = "avgpool2d"
    title = "Average pool 2D"
    description = "Averages each window: smaller, smoother maps."
    module = nn.AvgPool2d


class UpsampleParams(LayerParams):
    scale: int = Field(2, ge=1, le=8, description="each side grows by this factor")
    mode: Literal["nearest", "bilinear"] = Field("nearest", description="how new pixels are filled")


@register
class Upsample(LayerType):
    name = "upsample"
    title = "Upsample"
    description = "Enlarges feature maps without weights (decoders)."
    category = "convolution"
    Params = UpsampleParams

    def output_shape(self, shape, p, ctx):
        c, h, w = _need_image(shape)
        return (c, h * p.scale, w * p.scale)

    def build(self, shape, p, ctx):
        return nn.Upsample(scale_factor=p.scale, mode=p.mode)


# ---------------------------------------------------------------- shape


@register
class Flatten(LayerType):
    name = "flatten"
    title = "Flatten"
    description = "Lays every value out in one row, e.g. feature maps before a dense layer."
    category = "shape"

    def output_shape(self, shape, p, ctx):
        _refuse_tokens(ctx, shape)
        return (math.prod(shape),)

    def build(self, shape, p, ctx):
        return nn.Flatten()


class ReshapeParams(LayerParams):
    shape: list[int] = Field(
        [1, 8, 8], min_length=1, max_length=3, description="target shape; one entry may be -1"
    )


class ReshapeModule(nn.Module):
    """(N, ...) -> (N, *shape): a reshape that keeps the batch."""

    def __init__(self, shape: Shape):
        super().__init__()
        self.shape = shape

    def forward(self, x: Tensor) -> Tensor:
        return x.reshape(x.shape[0], *self.shape)

    def extra_repr(self) -> str:
        return f"shape={self.shape}"


@register
class Reshape(LayerType):
    name = "reshape"
    title = "Reshape"
    description = (
        "Rearranges values into a new shape, e.g. a flat code into an image for a decoder."
    )
    category = "shape"
    Params = ReshapeParams

    def output_shape(self, shape, p, ctx):
        _refuse_tokens(ctx, shape)
        target = list(p.shape)
        size = math.prod(shape)
        if target.count(-1) > 1 or any(d == 0 or d < -1 for d in target):
            raise ShapeError("has shape with a 0, a negative size, or more than one -1")
        if -1 in target:
            known = -math.prod(target)
            if size % known:
                raise ShapeError(
                    f"cannot fit {size} values from {{source}} into {shape_text(tuple(target))}"
                )
            target[target.index(-1)] = size // known
        if math.prod(target) != size:
            raise ShapeError(
                f"needs {math.prod(target)} values for {shape_text(tuple(target))} but receives "
                f"{size} {shape_text(shape)} from {{source}}"
            )
        return tuple(target)

    def build(self, shape, p, ctx):
        return ReshapeModule(self.output_shape(shape, p, ctx))


# ---------------------------------------------------------------- regularisation


class DropoutParams(LayerParams):
    rate: float = Field(0.2, ge=0, lt=1, description="fraction of values zeroed while training")


@register
class Dropout(LayerType):
    name = "dropout"
    title = "Dropout"
    description = "Randomly silences values while training so no neuron is relied on alone."
    category = "regularisation"
    Params = DropoutParams

    def output_shape(self, shape, p, ctx):
        _refuse_tokens(ctx, shape)
        return shape

    def build(self, shape, p, ctx):
        return nn.Dropout(p.rate)


class _SequenceBatchNorm(nn.BatchNorm1d):
    """BatchNorm1d over the features of a (N, T, F) sequence: PyTorch wants (N, F, T)."""

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x.transpose(1, 2)).transpose(1, 2)


@register
class BatchNorm(LayerType):
    name = "batchnorm"
    title = "Batch norm"
    description = "Rescales each feature to zero mean and unit variance over the batch, then learns a scale and shift."
    category = "regularisation"

    def output_shape(self, shape, p, ctx):
        _refuse_tokens(ctx, shape)
        return shape

    def build(self, shape, p, ctx):
        if len(shape) == 3:
            return nn.BatchNorm2d(shape[0])
        if len(shape) == 2:
            return _SequenceBatchNorm(shape[1])
        return nn.BatchNorm1d(shape[0])


# ---------------------------------------------------------------- recurrent


class RecurrentParams(LayerParams):
    units: int = Field(16, ge=1, le=4096, description="size of the hidden state")
    return_sequences: bool = Field(
        False,
        description="output the hidden state at every step (T, units), else the last (units,)",
    )


class _Recurrent(nn.Module):
    """Wraps nn.RNN/LSTM/GRU (batch_first): (N, T, F) -> (N, T, H) or the last step (N, H)."""

    def __init__(self, cell: nn.Module, return_sequences: bool):
        super().__init__()
        self.cell = cell
        self.return_sequences = return_sequences

    def forward(self, x: Tensor) -> Tensor:
        out, _ = self.cell(x)
        return out if self.return_sequences else out[:, -1]


class _RecurrentType(LayerType):
    category = "recurrent"
    Params = RecurrentParams
    cell: ClassVar[type[nn.Module]]

    def output_shape(self, shape, p, ctx):
        t, _f = _need_sequence(shape, ctx)
        return (t, p.units) if p.return_sequences else (p.units,)

    def build(self, shape, p, ctx):
        return _Recurrent(self.cell(shape[1], p.units, batch_first=True), p.return_sequences)


@register
class RNN(_RecurrentType):
    name = "rnn"
    title = "Simple RNN"
    description = "Reads a sequence step by step, carrying a hidden state: h = tanh(W·x + U·h)."
    cell = nn.RNN


@register
class LSTM(_RecurrentType):
    name = "lstm"
    title = "LSTM"
    description = "A recurrent layer with gated memory cells that keep information over long spans."
    cell = nn.LSTM


@register
class GRU(_RecurrentType):
    name = "gru"
    title = "GRU"
    description = "A lighter gated recurrent layer: update and reset gates steer the hidden state."
    cell = nn.GRU


class EmbeddingParams(LayerParams):
    dim: int = Field(8, ge=1, le=4096, description="length of each token's learned vector")


@register
class Embedding(LayerType):
    name = "embedding"
    title = "Embedding"
    description = "Looks up a learned vector for each token id: (T,) tokens become (T, dim)."
    category = "recurrent"
    Params = EmbeddingParams

    def output_shape(self, shape, p, ctx):
        if not ctx.tokens or len(shape) != 1:
            raise _need("integer token ids (T,)", shape, "use a token dataset")
        return (shape[0], p.dim)

    def build(self, shape, p, ctx):
        return nn.Embedding(ctx.vocab_size or 1, p.dim)


def describe_layers() -> list[dict]:
    """The registry as the browser needs it: GET /api/layers."""
    out = []
    for layer in LAYERS.values():
        schema = layer.Params.model_json_schema()
        out.append(
            {
                "type": layer.name,
                "title": layer.title,
                "description": layer.description,
                "category": layer.category,
                "params": schema,
                "defaults": layer.Params().model_dump(),
            }
        )
    return out
