"""Image classification sets: scikit-learn's 8x8 digits (bundled, no download) and MNIST /
Fashion-MNIST (28x28, read from IDX files, see `mnist_files`). Pixels scaled to 0..1,
inputs shaped (1, H, W) (one channel, ready for conv2d)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import numpy as np
import torch
from pydantic import Field

from server.config import Settings
from server.engine.errors import ExperimentError

from .base import Data, DatasetParams, DatasetType, DataShapes, register, summary
from .fields import seed_field, train_fraction_field
from .mnist_files import IMAGE_SIZE, read_image_set
from .preview import images_picture
from .split import stratified_split

DIGIT_NAMES = [str(d) for d in range(10)]


@lru_cache(maxsize=1)
def digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits: images float32 (1797, 8, 8) in 0..1, labels int64 (1797,).
    Read-only: shared by every load in the process (also by the autoencoder sets)."""
    from sklearn.datasets import load_digits  # local: keeps importing the registry light

    bunch = load_digits()
    images = (bunch.images / 16.0).astype(np.float32)
    labels = bunch.target.astype(np.int64)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def image_tensor(images: np.ndarray, scale: float = 1.0) -> torch.Tensor:
    """(N, H, W) array -> float32 tensor (N, 1, H, W), multiplied by `scale`."""
    return torch.from_numpy(images.astype(np.float32) * np.float32(scale)).unsqueeze(1)


class DigitsParams(DatasetParams):
    train_fraction: float = train_fraction_field(0.8)
    seed: int = seed_field()


@register
class Digits(DatasetType):
    name = "digits"
    title = "Digits 8×8"
    description = "1,797 handwritten digits, 8×8 pixels, 10 classes (bundled with scikit-learn)."
    family = "image"
    task = "classification"
    Params = DigitsParams

    def shapes(self, params: DigitsParams) -> DataShapes:
        return DataShapes(
            task="classification",
            input_shape=(1, 8, 8),
            target_shape=(10,),
            class_names=tuple(DIGIT_NAMES),
        )

    def load(self, params: DigitsParams, settings: Settings) -> Data:
        images, labels = digits_arrays()
        rng = np.random.default_rng(params.seed)
        train, val = stratified_split(labels, params.train_fraction, rng)
        return Data(
            x_train=image_tensor(images[train]),
            y_train=torch.from_numpy(labels[train]),
            x_val=image_tensor(images[val]),
            y_val=torch.from_numpy(labels[val]),
            task="classification",
            input_shape=(1, 8, 8),
            target_shape=(10,),
            class_names=list(DIGIT_NAMES),
            meta={"image_shape": (8, 8)},
        )

    def picture(self, data: Data, params: DigitsParams) -> dict:
        return images_picture(data.x_train, data.y_train)


OFFICIAL_TRAIN = 60_000  # images in the official training files
OFFICIAL_TEST = 10_000


class MnistParams(DatasetParams):
    samples: int = Field(
        10_000,
        ge=10,
        le=OFFICIAL_TRAIN,
        description="training images used: a random subset of the 60,000 official ones",
    )
    validation: Literal["test", "split"] = Field(
        "test",
        description="validate on the official test images ('test') or on training images "
        "held out from those used to train ('split')",
    )
    val_samples: int = Field(
        2_000, ge=10, le=OFFICIAL_TEST, description="validation images (a random subset)"
    )
    seed: int = seed_field()


class IdxImageDataset(DatasetType):
    """MNIST-style sets: four IDX files of 28x28 uint8 images and labels 0..9."""

    family = "image"
    task = "classification"
    Params = MnistParams
    class_names: list[str] = DIGIT_NAMES

    def shapes(self, params: MnistParams) -> DataShapes:
        return DataShapes(
            task="classification",
            input_shape=(1, *IMAGE_SIZE),
            target_shape=(10,),
            class_names=tuple(self.class_names),
        )

    def check(self, params: MnistParams, settings: Settings) -> list[dict]:
        errors = super().check(params, settings)
        if params.validation == "split" and params.samples + params.val_samples > OFFICIAL_TRAIN:
            errors.append(
                {
                    "loc": ("val_samples",),
                    "msg": f"with validation 'split', samples + val_samples must be at most "
                    f"{OFFICIAL_TRAIN} (the official training images)",
                    "type": "less_than_equal",
                }
            )
        return errors

    def load(self, params: MnistParams, settings: Settings, allow_download: bool = True) -> Data:
        files = read_image_set(self.name, settings, allow_download=allow_download)
        rng = np.random.default_rng(params.seed)
        n_train_pool = len(files.train_images)
        if params.validation == "test":
            train = rng.permutation(n_train_pool)[: params.samples]
            val = rng.permutation(len(files.test_images))[: params.val_samples]
            val_images, val_labels = files.test_images, files.test_labels
        else:
            # Held-out images come first, so fewer files than asked still give both sides.
            order = rng.permutation(n_train_pool)
            n_val = min(params.val_samples, n_train_pool // 2)
            val, train = order[:n_val], order[n_val:][: params.samples]
            val_images, val_labels = files.train_images, files.train_labels
        if len(train) == 0 or len(val) == 0:
            raise ExperimentError.single(
                ("dataset", "name"), f"dataset '{self.name}': the IDX files hold too few images"
            )
        return Data(
            x_train=image_tensor(files.train_images[train], 1 / 255),
            y_train=torch.from_numpy(files.train_labels[train]),
            x_val=image_tensor(val_images[val], 1 / 255),
            y_val=torch.from_numpy(val_labels[val]),
            task="classification",
            input_shape=(1, *IMAGE_SIZE),
            target_shape=(10,),
            class_names=list(self.class_names),
            meta={"image_shape": IMAGE_SIZE},
        )

    def preview(self, params: MnistParams, settings: Settings) -> dict:
        # The page must never trigger a download: preview only what is already on disk.
        try:
            data = self.load(params, settings, allow_download=False)
        except ExperimentError as exc:
            return {
                "name": self.name,
                "title": self.title,
                "family": self.family,
                "task": self.task,
                "kind": "images",
                "images": [],
                "labels": [],
                "class_names": list(self.class_names),
                "available": False,
                "message": exc.errors[0]["msg"],
            }
        return {**summary(self, data), **self.picture(data, params)}

    def picture(self, data: Data, params: MnistParams) -> dict:
        return {**images_picture(data.x_train, data.y_train, k=10), "available": True}


@register
class Mnist(IdxImageDataset):
    name = "mnist"
    title = "MNIST"
    description = "70,000 handwritten digits, 28×28 pixels, 10 classes (IDX files)."


@register
class FashionMnist(IdxImageDataset):
    name = "fashion_mnist"
    title = "Fashion-MNIST"
    description = "70,000 photos of clothing, 28×28 pixels, 10 classes (IDX files)."
    class_names = [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ]
