"""Stream messages are valid JSON for a browser: no NaN, no infinity, compact."""

import json
import math

from server.runs.messages import dumps, epoch_message, hello_message, json_safe, status_message


def test_non_finite_floats_become_null():
    doc = {"loss": math.nan, "grid": [1.0, math.inf, -math.inf], "nested": {"x": (2, math.nan)}}
    text = dumps(doc)
    assert json.loads(text) == {"loss": None, "grid": [1.0, None, None], "nested": {"x": [2, None]}}
    assert "NaN" not in text and "Infinity" not in text


def test_numpy_and_torch_scalars_are_plain_numbers():
    import numpy as np
    import torch

    doc = json_safe({"a": np.float32(0.5), "b": torch.tensor(3), "c": np.array([1, 2])})
    assert doc == {"a": 0.5, "b": 3, "c": [1, 2]}


def test_messages_are_built_from_encoded_records():
    records = [dumps({"epoch": 1}), dumps({"epoch": 2})]
    assert json.loads(epoch_message(records)) == {
        "type": "epoch",
        "records": [{"epoch": 1}, {"epoch": 2}],
    }
    hello = json.loads(hello_message({"id": "r1", "status": "queued"}, records))
    assert hello["type"] == "hello" and [r["epoch"] for r in hello["history"]] == [1, 2]
    status = json.loads(status_message("diverged", "loss became NaN", 3))
    assert status == {
        "type": "status",
        "status": "diverged",
        "message": "loss became NaN",
        "epoch": 3,
    }
