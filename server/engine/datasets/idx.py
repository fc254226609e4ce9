"""A small reader and writer for IDX files, the format of MNIST and Fashion-MNIST.

Layout: magic number (two zero bytes, a type code, the number of dimensions), then each
dimension as a big-endian uint32, then the values in C order, big-endian. A file may be
gzip-compressed (recognised by its content, not its name); writing to `*.gz` compresses.
"""

from __future__ import annotations

import gzip
import math
import struct
from pathlib import Path

import numpy as np

# IDX type code -> big-endian numpy dtype.
_CODES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"
MAX_DIMS = 8
MAX_BYTES = 1 << 30  # 1 GiB uncompressed: far above the 47 MB of MNIST's training images


class IdxError(ValueError):
    """A file that is not a well-formed IDX file; the message says what is wrong."""


def read_idx(path: str | Path) -> np.ndarray:
    """The array stored in an IDX file (plain or gzip), in native byte order."""
    path = Path(path)
    with path.open("rb") as fh:
        compressed = fh.read(2) == _GZIP_MAGIC
    opener = gzip.open if compressed else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except (OSError, EOFError) as exc:  # a damaged gzip stream
        raise IdxError(f"{path}: cannot read: {exc}") from exc
    if len(raw) > MAX_BYTES:
        raise IdxError(f"{path}: larger than {MAX_BYTES} bytes")
    return parse_idx(raw, source=str(path))


def parse_idx(raw: bytes, source: str = "IDX data") -> np.ndarray:
    """Decode IDX bytes, checking the magic number and that the dimensions match the size."""
    if len(raw) < 4:
        raise IdxError(f"{source}: {len(raw)} bytes is too short for an IDX header")
    magic = int.from_bytes(raw[:4], "big")
    code, ndim = raw[2], raw[3]
    if raw[0] != 0 or raw[1] != 0 or code not in _CODES or not 1 <= ndim <= MAX_DIMS:
        raise IdxError(
            f"{source}: bad magic number 0x{magic:08x}; an IDX file starts with 0x0000, a type "
            f"code (one of {', '.join(f'0x{c:02x}' for c in _CODES)}) and 1..{MAX_DIMS} dims"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise IdxError(f"{source}: truncated header ({len(raw)} bytes, needs {header})")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = _CODES[code]
    expected = header + math.prod(dims) * dtype.itemsize
    if len(raw) != expected:
        raise IdxError(
            f"{source}: dimensions {dims} need {expected} bytes but the file has {len(raw)}"
        )
    data = np.frombuffer(raw, dtype=dtype, count=math.prod(dims), offset=header)
    return data.reshape(dims).astype(dtype.newbyteorder("="))  # a writable native copy


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write `array` as IDX (gzip when `path` ends in .gz). Dtypes: uint8, int8, int16,
    int32, float32, float64."""
    array = np.asarray(array)
    if not 1 <= array.ndim <= MAX_DIMS:
        raise IdxError(f"IDX holds 1..{MAX_DIMS} dimensions, not {array.ndim}")
    codes = {dt.newbyteorder("="): code for code, dt in _CODES.items()}
    code = codes.get(array.dtype.newbyteorder("="))
    if code is None:
        raise IdxError(f"IDX cannot store dtype {array.dtype}")
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    body = np.ascontiguousarray(array, dtype=_CODES[code]).tobytes()
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as fh:
        fh.write(header + body)
