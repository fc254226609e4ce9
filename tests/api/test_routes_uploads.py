"""Uploaded datasets over REST: a CSV and a zip of images written here, uploaded, trained
through the server to a threshold; every bad file refused with a 4xx naming the place."""

from __future__ import annotations

import csv
import io
import secrets
import zipfile

import numpy as np
import pytest
from live_server import Live
from PIL import Image

UPLOADS = "/api/datasets/uploads"


def owner() -> dict:
    return {"X-Owner-Token": secrets.token_urlsafe(24)}


ME = owner()  # who uploads and trains here unless a test says otherwise


def upload(live: Live, name: str, data: bytes, headers: dict | None = None, **form):
    return live.http.post(
        UPLOADS,
        files={"file": (name, data)},
        data={k: str(v) for k, v in form.items()},
        headers=headers or ME,
    )


def table_csv(rows: int = 400, seed: int = 0) -> bytes:
    """a, b numbers, colour text, note with formula-like cells; label from a + b and colour."""
    rng = np.random.default_rng(seed)
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["a", "b", "colour", "note", "label"])
    for i in range(rows):
        a, b = rng.normal(size=2)
        colour = ["red", "green", "blue"][i % 3]
        score = a + b + (1.5 if colour == "red" else 0.0)
        note = '=HYPERLINK("http://evil")' if i % 4 == 0 else "plain"
        w.writerow([f"{a:.4f}", f"{b:.4f}", colour, note, "high" if score > 0.5 else "low"])
    return out.getvalue().encode()


def train(
    live: Live, dataset: dict, layers: list, epochs: int, lr: float = 0.01, headers: dict = ME
) -> list[dict]:
    doc = {
        "dataset": dataset,
        "model": {"layers": layers},
        "training": {"optimizer": "adam", "learning_rate": lr, "batch_size": 16, "epochs": epochs},
    }
    started = live.http.post("/api/runs", json=doc, headers=headers)  # an upload: its owner's
    assert started.status_code == 201, started.text
    run = started.json()
    stream = live.stream(run["id"])
    try:
        messages = stream.read_to_end(timeout=240)
    finally:
        stream.close()
    statuses = [m for m in messages if m["type"] == "status"]
    assert statuses[-1]["status"] == "finished", statuses[-1]
    return stream.records()


@pytest.mark.slow
def test_a_csv_written_here_trains_through_the_server(live: Live):
    me = owner()
    made = upload(live, "plants.csv", table_csv(), headers=me, target="label")
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["task"] == "classification" and body["class_names"] == ["high", "low"]
    assert body["kind"] == "csv" and body["family"] == "tabular" and body["n"] == 400
    # Numbers kept, text one-hot, the formula-like cells kept as text (never evaluated).
    assert body["feature_names"][:2] == ["a", "b"]
    assert "colour=red" in body["feature_names"]
    assert 'note==HYPERLINK("http://evil")' in body["feature_names"]
    assert body["input_shape"] == [len(body["feature_names"])] == [2 + 3 + 2]
    roles = {c["name"]: c["role"] for c in body["columns"]}
    assert roles["label"] == "target" and roles["colour"] == "feature"
    assert body["preview"]["rows"][1][3] == '=HYPERLINK("http://evil")'
    assert body["preview"]["kind"] == "table" and body["preview"]["family"] == "tabular"
    assert body["dataset"] == {"name": "upload", "id": body["id"]}

    records = train(
        live, {**body["dataset"], "seed": 3}, [{"type": "dense", "units": 16}], 40, headers=me
    )
    assert records[-1]["metrics"]["val_accuracy"] >= 0.9, records[-1]

    # Listed for its owner only; deleted by its owner only; then runs on it are refused.
    assert [u["id"] for u in live.http.get(UPLOADS, headers=me).json()] == [body["id"]]
    assert live.http.get(UPLOADS, headers=owner()).json() == []
    assert live.http.delete(f"{UPLOADS}/{body['id']}", headers=owner()).status_code == 403
    assert live.http.delete(f"{UPLOADS}/{body['id']}", headers=me).status_code == 204
    gone = live.http.post("/api/check", json={"dataset": body["dataset"], "model": {"layers": []}})
    assert gone.status_code == 422 and gone.json()["detail"][0]["loc"] == ["dataset", "id"]


@pytest.mark.slow
def test_a_regression_csv_with_missing_cells_filled(live: Live):
    rng = np.random.default_rng(1)
    lines = ["x,y,target"]
    for i in range(300):
        x, y = rng.uniform(-1, 1, size=2)
        cell = "" if i % 10 == 0 else f"{x:.4f}"
        lines.append(f"{cell},{y:.4f},{(2 * x - y):.4f}")
    data = "\n".join(lines).encode()
    refused = upload(live, "r.csv", data)
    assert refused.status_code == 422
    err = refused.json()["detail"][0]
    assert err["row"] == 1 and err["column"] == "x" and "row 1" in err["msg"]
    made = upload(live, "r.csv", data, missing="fill", task="regression")
    assert made.status_code == 201, made.text
    assert made.json()["task"] == "regression"
    records = train(live, made.json()["dataset"], [{"type": "dense", "units": 16}], 30)
    assert records[-1]["metrics"]["val_r2"] >= 0.8, records[-1]


def stripes(kind: str, rng: np.random.Generator, size: int = 16) -> Image.Image:
    img = np.zeros((size, size), dtype=np.float64)
    if kind == "rows":
        img[::4] = 1.0
        img[1::4] = 1.0
    else:
        img[:, ::4] = 1.0
        img[:, 1::4] = 1.0
    img = np.clip(img * 200 + rng.normal(0, 20, size=img.shape) + 20, 0, 255)
    return Image.fromarray(img.astype(np.uint8), mode="L")


def image_zip(per_class: int = 40, top: str = "shapes/") -> bytes:
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for cls in ("rows", "columns"):
            for i in range(per_class):
                out = io.BytesIO()
                fmt = "PNG" if i % 2 else "JPEG"
                stripes(cls, rng).convert("RGB" if fmt == "JPEG" else "L").save(out, fmt)
                zf.writestr(f"{top}{cls}/{i}.{fmt.lower()}", out.getvalue())
    return buf.getvalue()


@pytest.mark.slow
def test_a_zip_of_generated_images_trains_through_the_server(live: Live):
    made = upload(live, "shapes.zip", image_zip(), kind="images", image_size=8)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["family"] == "image" and body["class_names"] == ["columns", "rows"]
    assert body["input_shape"] == [1, 8, 8] and body["n"] == 80
    assert body["preview"]["kind"] == "images" and len(body["preview"]["images"][0]) == 8
    layers = [{"type": "flatten"}, {"type": "dense", "units": 16}]
    records = train(live, body["dataset"], layers, 30)
    assert records[-1]["metrics"]["val_accuracy"] >= 0.9, records[-1]
    # Colour keeps three channels.
    rgb = upload(live, "shapes.zip", image_zip(6), kind="images", image_size=12, color="rgb")
    assert rgb.status_code == 201 and rgb.json()["input_shape"] == [3, 12, 12]


def zip_of(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def png(size: tuple[int, int] = (8, 8)) -> bytes:
    out = io.BytesIO()
    Image.new("L", size).save(out, "PNG")
    return out.getvalue()


BAD_FILES = [
    # (what, file name, bytes, form, status, text the message names, field naming the place)
    ("ragged rows", "t.csv", b"a,b,c\n1,2,x\n3,4\n5,6,y\n7,8,x\n", {}, 422, "row 2", ("row", 2)),
    (
        "non-numeric target for regression",
        "t.csv",
        b"a,b\n1,x\n2,y\n3,x\n4,y\n",
        {"task": "regression"},
        422,
        "row 1, column 'b'",
        ("column", "b"),
    ),
    (
        "one class only",
        "t.csv",
        b"a,b\n1,x\n2,x\n3,x\n4,x\n",
        {},
        422,
        "one class",
        ("column", "b"),
    ),
    ("an empty file", "t.csv", b"", {}, 422, "empty", None),
    ("binary junk", "t.csv", bytes(range(256)) * 8, {}, 422, "not", None),
    (
        "an unknown target",
        "t.csv",
        b"a,b\n1,x\n2,y\n3,x\n4,y\n",
        {"target": "z"},
        422,
        "'z'",
        ("column", "z"),
    ),
    (
        "a zip with paths outside itself",
        "z.zip",
        zip_of({"a/1.png": png(), "../evil/2.png": png()}),
        {"kind": "images"},
        422,
        "outside",
        ("file", "../evil/2.png"),
    ),
    (
        "a decompression bomb (an image far larger than it looks)",
        "z.zip",
        zip_of({"a/1.png": png(), "b/big.png": png((6000, 6000))}),
        {"kind": "images"},
        413,
        "6000×6000",
        ("file", "b/big.png"),
    ),
    (
        "a zip bomb",
        "z.zip",
        zip_of({"a/1.png": png(), "b/zeros.png": bytes(20 << 20)}),
        {"kind": "images"},
        413,
        "zip bomb",
        ("file", "b/zeros.png"),
    ),
    (
        "a non-image in the zip",
        "z.zip",
        zip_of({"a/1.png": png(), "b/2.png": png(), "b/notes.txt": b"hello"}),
        {"kind": "images"},
        422,
        "not an image",
        ("file", "b/notes.txt"),
    ),
    ("not a zip at all", "z.zip", b"PK\x03\x04 nope", {"kind": "images"}, 422, "not a zip", None),
    (
        "one class folder",
        "z.zip",
        zip_of({"a/1.png": png(), "a/2.png": png()}),
        {"kind": "images"},
        422,
        "one class",
        None,
    ),
]


@pytest.mark.parametrize(
    ("name", "data", "form", "status", "says", "where"),
    [case[1:] for case in BAD_FILES],
    ids=[case[0] for case in BAD_FILES],
)
def test_every_bad_file_gets_its_4xx_with_the_place(
    live: Live, name, data, form, status, says, where
):
    response = upload(live, name, data, **form)
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, list), detail
    assert says in detail[0]["msg"], detail
    if where is not None:
        assert detail[0][where[0]] == where[1], detail


def test_limits_are_checked_while_reading(live: Live, limits):
    limits(upload_max_rows=10, upload_max_columns=3)
    many = "a,b\n" + "\n".join(f"{i},{i % 2}" for i in range(50))
    refused = upload(live, "t.csv", many.encode())
    assert refused.status_code == 413 and "10 rows" in refused.json()["detail"][0]["msg"]
    wide = upload(live, "t.csv", b"a,b,c,d\n1,2,3,4\n")
    assert wide.status_code == 413 and "4 columns" in wide.json()["detail"][0]["msg"]
    limits(upload_max_rows=1000, upload_max_columns=200, upload_max_cells=100)
    cells = upload(live, "t.csv", ("a,b\n" + "\n".join(f"{i},{i % 2}" for i in range(60))).encode())
    assert cells.status_code == 413 and "100 cells" in cells.json()["detail"][0]["msg"]


def test_an_upload_needs_an_owner_and_json_rules_stay_for_other_paths(live: Live):
    anonymous = live.http.post(UPLOADS, files={"file": ("t.csv", table_csv(20))})
    assert anonymous.status_code == 415 and "X-Owner-Token" in anonymous.json()["detail"]
    form = live.http.post("/api/check", files={"file": ("t.csv", b"x")}, headers=owner())
    assert form.status_code == 415
    assert live.http.get(f"{UPLOADS}/000000000000", headers=owner()).status_code == 404


@pytest.mark.slow
def test_a_series_csv_with_a_time_column_forecasts(live: Live):
    t = np.arange(400)
    rng = np.random.default_rng(2)
    order = rng.permutation(len(t))  # rows shuffled: the time column puts them back in order
    values = np.sin(2 * np.pi * t / 25) + 0.5 * np.sin(2 * np.pi * t / 9)
    lines = ["day,level"] + [f"{t[i]},{values[i]:.4f}" for i in order]
    made = upload(
        live,
        "levels.csv",
        "\n".join(lines).encode(),
        task="forecasting",
        target="level",
        time="day",
        window=20,
        horizon=2,
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["family"] == "sequence" and body["task"] == "forecasting"
    assert body["input_shape"] == [20, 1] and body["n"] == 400 - 20 - 2 + 1
    assert body["preview"]["kind"] == "series"
    records = train(live, body["dataset"], [{"type": "lstm", "units": 16}], 30, lr=0.01)
    assert records[-1]["metrics"]["val_r2"] >= 0.9, records[-1]
    short = upload(live, "s.csv", b"v\n1\n2\n3\n4\n5\n", task="forecasting", window=4)
    assert short.status_code == 422 and "windows" in short.json()["detail"][0]["msg"]


def test_an_all_missing_series_filled_is_a_422_naming_its_column(live: Live):
    """Issue 20: a forecasting column with no value at all and `missing=fill` raised
    IndexError in the parser: a 500."""
    data = ("t,value\n" + "\n".join(f"{i}," for i in range(30)) + "\n").encode()
    refused = upload(live, "gaps.csv", data, task="forecasting", window=4, missing="fill")
    assert refused.status_code == 422, refused.text
    assert "'value'" in refused.text and "every cell is empty" in refused.text


def test_openapi_documents_the_upload_form(live: Live):
    paths = live.http.get("/openapi.json").json()["paths"]
    post = paths[UPLOADS]["post"]
    form = post["requestBody"]["content"]["multipart/form-data"]["schema"]
    doc = live.http.get("/openapi.json").json()
    ref = form["$ref"].rsplit("/", 1)[-1]
    fields = doc["components"]["schemas"][ref]["properties"]
    assert {"file", "kind", "target", "task", "missing", "image_size", "color", "window"} <= set(
        fields
    )
    assert {"201", "413", "422"} <= set(post["responses"])
    assert set(paths[f"{UPLOADS}/{{upload_id}}"]) == {"get", "delete"}
