"""A zip of class folders: only the PNG and JPEG parsers ever see a member's bytes (issue 20:
every Pillow parser was tried before the format check), and anything else is named."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from server.config import Settings
from server.uploads.errors import UploadError
from server.uploads.images_zip import ImageOptions, parse_images

SETTINGS = Settings()


def picture(fmt: str, value: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((8, 8), value, dtype=np.uint8)).save(buf, format=fmt)
    return buf.getvalue()


def archive(members: dict[str, bytes]) -> io.BytesIO:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    buf.seek(0)
    return buf


def test_pngs_and_jpegs_are_read():
    members = {
        f"{c}/{i}.{ext}": picture(fmt, 40 * i)
        for c in ("a", "b")
        for i, (fmt, ext) in enumerate([("PNG", "png"), ("JPEG", "jpg")] * 2)
    }
    processed = parse_images(archive(members), "z.zip", ImageOptions(size=4), SETTINGS)
    assert processed.x.shape == (8, 1, 4, 4) and processed.info()["class_names"] == ["a", "b"]


def test_no_other_parser_sees_a_members_bytes(monkeypatch):
    called: list[str] = []
    Image.init()  # every plugin registered, as in a server that has opened other files
    for fmt in ("BMP", "GIF", "TIFF", "PPM"):
        factory, accept = Image.OPEN[fmt]

        def spy(*args, _fmt=fmt, _factory=factory, **kwargs):
            called.append(_fmt)
            return _factory(*args, **kwargs)

        monkeypatch.setitem(Image.OPEN, fmt, (spy, accept))
    members = {"a/1.png": picture("PNG", 10), "a/2.png": picture("PNG", 20)}
    members |= {"b/1.png": picture("PNG", 30), "b/2.bmp": picture("BMP", 40)}
    with pytest.raises(UploadError) as caught:
        parse_images(archive(members), "z.zip", ImageOptions(size=4), SETTINGS)
    assert called == []
    assert caught.value.where == {"file": "b/2.bmp"}
    assert "not an image" in caught.value.msg and "only PNG and JPEG" in caught.value.msg
