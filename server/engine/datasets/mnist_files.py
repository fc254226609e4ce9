"""Finding, downloading and reading the four IDX files of MNIST-style datasets.

Files are looked for in `settings.data_dir/<name>/` (put them there by hand on an offline
machine), then in `settings.cache_dir/<name>/`; when some are in neither, they are downloaded
once into the cache from the standard mirrors and checked against their published MD5 sums.
Each file may be plain or gzip (`.gz`).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from server.config import Settings
from server.engine.errors import ExperimentError

from .idx import IdxError, read_idx

# role -> file name without `.gz`
FILES: dict[str, str] = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
DOWNLOAD_TIMEOUT_S = 20.0
MAX_DOWNLOAD_BYTES = 64 << 20
IMAGE_SIZE = (28, 28)  # the largest official file (Fashion train images) is 26 MB


@dataclass(frozen=True)
class Source:
    """Where a dataset can be downloaded: base URLs tried in order, MD5 per `.gz` name
    (a file without a listed sum is accepted unchecked)."""

    mirrors: tuple[str, ...]
    md5: dict[str, str]


SOURCES: dict[str, Source] = {
    "mnist": Source(
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ),
        md5={
            "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
        },
    ),
    "fashion_mnist": Source(
        mirrors=(
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        ),
        md5={
            "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
        },
    ),
}


@dataclass(frozen=True)
class ImageSet:
    """The four arrays: images uint8 (N, H, W), labels int64 (N,)."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def find_files(name: str, settings: Settings) -> dict[str, Path]:
    """The files present, by role: data_dir first, then the download cache."""
    found: dict[str, Path] = {}
    for role, base in FILES.items():
        for folder in (Path(settings.data_dir) / name, Path(settings.cache_dir) / name):
            hits = [folder / f for f in (base, base + ".gz") if (folder / f).is_file()]
            if hits:
                found[role] = hits[0]
                break
    return found


def _error(name: str, settings: Settings, why: str) -> ExperimentError:
    wanted = ", ".join(f"{b}[.gz]" for b in FILES.values())
    return ExperimentError.single(
        ("dataset", "name"),
        f"dataset '{name}' needs its IDX files ({wanted}): put them in "
        f"{Path(settings.data_dir).absolute() / name}, or give the server internet access once "
        f"so it can download them into {Path(settings.cache_dir).absolute() / name}. {why}",
        "missing_data",
    )


def download(name: str, settings: Settings, roles: list[str]) -> None:
    """Fetch the missing files into the cache; raises ExperimentError if any cannot be had."""
    source = SOURCES[name]
    folder = Path(settings.cache_dir) / name
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _error(name, settings, f"The cache cannot be created: {exc}") from exc
    for role in roles:
        file = FILES[role] + ".gz"
        failures = []
        for mirror in source.mirrors:
            try:
                _fetch(mirror + file, folder / file, source.md5.get(file))
                break
            except (OSError, ValueError) as exc:  # URLError is an OSError
                failures.append(f"{mirror}{file}: {exc}")
        else:
            raise _error(name, settings, "Download failed: " + "; ".join(failures))


def _fetch(url: str, dest: Path, md5: str | None) -> None:
    """Download to a temporary file beside `dest`, check it, then rename atomically (two
    workers downloading at once never see a half-written file)."""
    digest = hashlib.md5(usedforsecurity=False)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=dest.name, suffix=".part")
    try:
        with (
            os.fdopen(fd, "wb") as out,
            urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as r,
        ):
            size = 0
            while chunk := r.read(1 << 20):
                size += len(chunk)
                if size > MAX_DOWNLOAD_BYTES:
                    raise ValueError(f"larger than {MAX_DOWNLOAD_BYTES} bytes")
                digest.update(chunk)
                out.write(chunk)
        if md5 is not None and digest.hexdigest() != md5:
            raise ValueError(f"MD5 {digest.hexdigest()} does not match the published {md5}")
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@lru_cache(maxsize=8)
def _read_cached(path: str, mtime_ns: int, size: int) -> np.ndarray:
    # Keyed by modification time and size, so a replaced file is read again. Read-only,
    # because several loads in one worker share it.
    array = read_idx(path)
    array.setflags(write=False)
    return array


def read_image_set(name: str, settings: Settings, allow_download: bool = True) -> ImageSet:
    """The four arrays of dataset `name`, downloading missing files when allowed.
    Raises ExperimentError (loc `dataset.name`) when files are missing or malformed."""
    found = find_files(name, settings)
    missing = [role for role in FILES if role not in found]
    if missing:
        if not allow_download:
            raise _error(name, settings, "They are not there yet.")
        download(name, settings, missing)
        found = find_files(name, settings)
    arrays = {}
    for role, path in found.items():
        try:
            stat = path.stat()
            arrays[role] = _read_cached(str(path), stat.st_mtime_ns, stat.st_size)
        except (IdxError, OSError) as exc:
            raise _error(name, settings, f"A file is unreadable: {exc}") from exc
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if (
            images.shape[1:] != IMAGE_SIZE
            or images.dtype != np.uint8
            or labels.shape != images.shape[:1]
        ):
            raise _error(
                name,
                settings,
                f"The {split} files do not match: images {images.dtype} {images.shape}, "
                f"labels {labels.shape}; expected uint8 (N, 28, 28) and (N,).",
            )
        if labels.size and labels.max() > 9:
            raise _error(name, settings, f"The {split} labels go beyond 9.")
    return ImageSet(
        train_images=arrays["train_images"],
        train_labels=arrays["train_labels"].astype(np.int64),
        test_images=arrays["test_images"],
        test_labels=arrays["test_labels"].astype(np.int64),
    )
