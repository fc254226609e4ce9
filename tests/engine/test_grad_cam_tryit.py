"""Grad-CAM for the speech try-it (engine/predict.py `grad_cam`): Captum's LayerGradCam on the
last convolution, ReLU, upsampled to the input. Checked on a network whose answer is known by
construction, then on a spoken-digits CNN through `predict`."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from server.config import Settings
from server.engine.model import parse_experiment
from server.engine.predict import grad_cam, predict
from server.engine.trainer import Trainer

SETTINGS = Settings()


def loudness_net() -> tuple[nn.Module, nn.Module]:
    """(model, its conv): a strided 2×2 averaging conv (32×32 -> 16×16), ReLU, global mean,
    then class 1 = loud (+mean), class 0 = quiet (-mean). Only cells with sound move class 1."""
    conv = nn.Conv2d(1, 1, kernel_size=2, stride=2)
    head = nn.Linear(1, 2)
    with torch.no_grad():
        conv.weight.fill_(0.25)
        conv.bias.zero_()
        head.weight.copy_(torch.tensor([[-1.0], [1.0]]))
        head.bias.zero_()
    model = nn.Sequential(conv, nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), head)
    return model.eval(), conv


def test_grad_cam_is_the_inputs_shape_non_negative_and_lies_on_the_signal():
    model, conv = loudness_net()
    x = torch.zeros(1, 1, 32, 32)
    x[0, 0, 8:16, 20:28] = 1.0  # the "word": a loud patch, silence elsewhere
    x[0, 0, 0, 0] = -1.0  # a negative cell: ReLU'd away by the net, and by Grad-CAM
    cam = grad_cam(model, conv, x, target=1)
    assert cam.shape == x.shape[2:]
    assert bool(torch.isfinite(cam).all()) and float(cam.min()) >= 0.0
    inside = cam[8:16, 20:28].mean()
    outside = torch.cat([cam[:6].flatten(), cam[:, :18].flatten()]).mean()
    assert float(inside) > 0 and float(outside) < 0.05 * float(inside), (inside, outside)
    # The other class ("quiet"): the loud patch speaks against it, and the ReLU drops it.
    assert float(grad_cam(model, conv, x, target=0)[8:16, 20:28].max()) == 0.0


@pytest.fixture(scope="module")
def speech() -> Trainer:
    doc = {
        "dataset": {"name": "spoken_digits", "samples": 400, "seed": 1},
        "model": {
            "layers": [
                {"type": "conv2d", "filters": 8, "kernel_size": 3, "activation": "relu"},
                {"type": "maxpool2d", "pool_size": 2},
                {"type": "conv2d", "filters": 8, "kernel_size": 3, "activation": "relu"},
                {"type": "flatten"},
            ]
        },
        "training": {"optimizer": "adam", "learning_rate": 0.003, "batch_size": 16, "epochs": 2},
    }
    t = Trainer(parse_experiment(doc, SETTINGS), SETTINGS, device="cpu")
    while not t.finished:
        t.train_epoch()
    return t


def test_a_spectrogram_gets_its_top_words_and_a_grad_cam_as_large_as_it(speech):
    clip = speech.x_val[0, 0].tolist()  # a validation spectrogram, (32, 32) values 0..1
    answer = predict(speech, clip, explain=True)
    assert answer["input_kind"] == "images" and len(answer["output"]) == 10
    assert answer["label"] in answer["class_names"]
    cam = torch.tensor(answer["attribution"]["grad_cam"])
    assert cam.shape == (32, 32)
    assert bool(torch.isfinite(cam).all()) and float(cam.min()) >= 0.0
