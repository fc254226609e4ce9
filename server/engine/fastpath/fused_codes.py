"""The integer codes the compiled kernel (fused.py) uses; importable without numba."""

ACTIVATION_CODES = {
    "linear": 0, "relu": 1, "leaky_relu": 2, "elu": 3, "gelu": 4, "sigmoid": 5, "tanh": 6,
}  # fmt: skip
LOSS_CODES = {"cross_entropy": 0, "mse": 1, "mae": 2, "huber": 3, "bce": 4}
OPTIMIZER_CODES = {"sgd": 0, "adam": 1, "adamw": 2, "rmsprop": 3}
