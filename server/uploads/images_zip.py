"""A zip of images, one folder per class (PNG or JPEG) -> an image dataset, resized with Pillow.

Layout: `<class>/<image>` or `<top>/<class>/<image>` (one folder around it all, as zipping a
folder makes). Refused before anything is decompressed, from the zip's own directory: paths
outside the zip (absolute, `..`, drive letters), links, too many files, a declared size over
`upload_max_unzipped_bytes` or a compression ratio no image has (a zip bomb). While reading:
each member read at most to its declared size (a lying header cannot inflate more), each
image's pixel count checked from its header before it is decoded (a decompression bomb), any
member that is not a PNG or JPEG named.
"""

from __future__ import annotations

import io
import stat
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import BinaryIO, Literal

import numpy as np
from PIL import Image, UnidentifiedImageError

from server.config import Settings

from .errors import UploadError, too_large
from .processed import Processed

MAX_RATIO = 200  # decompressed / compressed bytes of one member; PNG and JPEG stay far below
FORMATS = {"PNG", "JPEG"}


@dataclass(frozen=True)
class ImageOptions:
    size: int = 16  # images are resized to size x size
    color: Literal["grayscale", "rgb"] = "grayscale"


def _safe_parts(name: str) -> tuple[str, ...]:
    """The path's parts, or UploadError when it points outside the zip."""
    path = PurePosixPath(name.replace("\\", "/"))
    drive = len(path.parts) > 0 and path.parts[0].endswith(":")
    if name.startswith(("/", "\\")) or path.is_absolute() or ".." in path.parts or drive:
        raise UploadError(
            f"file {name!r} in the zip points outside it (an absolute path or '..'); refused",
            kind="path_outside",
            file=name,
        )
    return tuple(p for p in path.parts if p not in ("", "."))


def _members(zf: zipfile.ZipFile, settings: Settings) -> list[tuple[zipfile.ZipInfo, str]]:
    """(member, class name) of every image file, checked from the directory alone."""
    found: list[tuple[zipfile.ZipInfo, tuple[str, ...]]] = []
    declared = 0
    for info in zf.infolist():
        parts = _safe_parts(info.filename)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise UploadError(
                f"file {info.filename!r} is a link; refused", kind="link", file=info.filename
            )
        if info.is_dir() or not parts:
            continue
        if parts[0] == "__MACOSX" or any(p.startswith(".") for p in parts):
            continue  # Finder's and hidden files
        declared += info.file_size
        if declared > settings.upload_max_unzipped_bytes:
            raise too_large(
                f"the zip's files come to more than {settings.upload_max_unzipped_bytes:,} bytes "
                "decompressed (LAYERLAB_UPLOAD_MAX_UNZIPPED_BYTES); refused",
                file=info.filename,
            )
        if info.file_size > MAX_RATIO * max(info.compress_size, 1) and info.file_size > 1 << 20:
            raise too_large(
                f"file {info.filename!r} would decompress to {info.file_size:,} bytes from "
                f"{info.compress_size:,}: a zip bomb, not an image; refused",
                file=info.filename,
            )
        found.append((info, parts))
        if len(found) > settings.upload_max_images:
            raise too_large(
                f"the zip holds more than {settings.upload_max_images:,} files "
                "(LAYERLAB_UPLOAD_MAX_IMAGES)",
                file=info.filename,
            )
    if not found:
        raise UploadError(
            "the zip holds no files: put one folder of images per class", kind="empty"
        )
    # One folder around everything (zipping a folder) is not a class.
    tops = {parts[0] for _, parts in found}
    strip = 1 if len(tops) == 1 and all(len(p) >= 3 for _, p in found) else 0
    members = []
    for info, parts in found:
        parts = parts[strip:]
        if len(parts) != 2:
            raise UploadError(
                f"file {info.filename!r} is not in a class folder: the zip needs one folder per "
                "class with the images directly inside (cats/1.png, dogs/2.jpg)",
                kind="bad_layout",
                file=info.filename,
            )
        members.append((info, parts[0]))
    return members


def _image(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, opts: ImageOptions, settings: Settings
) -> np.ndarray:
    """One member -> uint8 (C, size, size)."""
    with zf.open(info) as member:
        data = member.read(info.file_size + 1)  # never more than it declared, plus one
    if len(data) > info.file_size:
        raise too_large(
            f"file {info.filename!r} holds more than its header says; refused", file=info.filename
        )
    try:
        with warnings.catch_warnings():
            # Pillow warns, then raises, past its own bomb limit; ours is lower and checked first.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # Only the PNG and JPEG parsers ever see the bytes (not every plugin Pillow has).
            with Image.open(io.BytesIO(data), formats=sorted(FORMATS)) as img:
                w, h = img.size
                if w * h > settings.upload_max_pixels:
                    raise too_large(
                        f"file {info.filename!r} is {w}×{h} pixels, over "
                        f"{settings.upload_max_pixels:,} (LAYERLAB_UPLOAD_MAX_PIXELS): a "
                        "decompression bomb or a photo far larger than needed; refused",
                        file=info.filename,
                    )
                mode = "L" if opts.color == "grayscale" else "RGB"
                small = img.convert(mode).resize((opts.size, opts.size), Image.Resampling.BILINEAR)
                arr = np.asarray(small, dtype=np.uint8)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise too_large(
            f"file {info.filename!r} has too many pixels (a decompression bomb); refused",
            file=info.filename,
        ) from None
    except UnidentifiedImageError:
        raise UploadError(
            f"file {info.filename!r} is not an image read here (only PNG and JPEG are)",
            kind="not_an_image",
            file=info.filename,
        ) from None
    except (OSError, ValueError, SyntaxError) as err:
        if isinstance(err, UploadError):
            raise
        raise UploadError(
            f"file {info.filename!r} is a damaged image: {str(err)[:120]}",
            kind="bad_image",
            file=info.filename,
        ) from None
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def parse_images(
    file: BinaryIO, filename: str, opts: ImageOptions, settings: Settings
) -> Processed:
    """A zip of class folders -> `Processed` (an image dataset), or UploadError naming the file."""
    if not 4 <= opts.size <= settings.upload_max_image_side:
        raise UploadError(
            f"image_size must lie in 4..{settings.upload_max_image_side}, got {opts.size}",
            kind="bad_option",
        )
    try:
        zf = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise UploadError("this file is not a zip archive", kind="not_a_zip") from None
    with zf:
        members = _members(zf, settings)
        class_names = sorted({c for _, c in members})
        if len(class_names) < 2:
            raise UploadError(
                f"the zip has one class folder only ({class_names[0]!r}): a classifier needs at "
                "least two",
                kind="one_class",
            )
        if len(class_names) > settings.upload_max_classes:
            raise UploadError(
                f"the zip has {len(class_names)} class folders; at most "
                f"{settings.upload_max_classes} (LAYERLAB_UPLOAD_MAX_CLASSES)",
                kind="too_many_classes",
            )
        index = {c: i for i, c in enumerate(class_names)}
        channels = 1 if opts.color == "grayscale" else 3
        x = np.empty((len(members), channels, opts.size, opts.size), dtype=np.uint8)
        y = np.empty(len(members), dtype=np.int64)
        for i, (info, cls) in enumerate(members):
            x[i] = _image(zf, info, opts, settings)
            y[i] = index[cls]
    counts = np.bincount(y, minlength=len(class_names))
    return Processed(
        kind="images",
        family="image",
        task="classification",
        x=x,
        y=y,
        class_names=class_names,
        feature_names=[],
        name=filename,
        extra={
            "image_size": opts.size,
            "color": opts.color,
            "class_counts": counts.tolist(),
        },
    )
