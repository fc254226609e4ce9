"""Your own data in Chromium: upload a CSV written here, choose its target, train, see the views
and ask the model about a typed row; draw a 2D set, erase some of it, train on it, see the
decision surface; the drawn set's link opens it again. Screenshots at 1280×720, 1440×900 and
390×844 go to test-artifacts/uploads-*.png."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from browser_helpers import ARTIFACTS, canvas_colours, wait_drawn, wait_status

pytestmark = pytest.mark.browser

SIZES = [(1280, 720), (1440, 900), (390, 844)]


def table_csv(rows: int = 240) -> bytes:
    """Two numbers and a text column; the species depends on them; the target is not last."""
    rng = np.random.default_rng(0)
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["length", "species", "width", "soil"])
    for i in range(rows):
        length, width = rng.normal(size=2)
        soil = ["clay", "sand"][i % 2]
        score = length + width + (1.0 if soil == "clay" else -1.0)
        w.writerow([f"{length:.3f}", "tall" if score > 0 else "short", f"{width:.3f}", soil])
    return out.getvalue().encode()


def shots(lab, name: str) -> None:
    page = lab.page
    ARTIFACTS.mkdir(exist_ok=True)
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(300)  # the resize redraw is debounced
        assert page.evaluate("document.documentElement.scrollWidth") <= width, (name, width)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(ARTIFACTS / f"uploads-{name}-{width}x{height}.png"))
        page.locator("#upload-panel").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"uploads-{name}-panel-{width}x{height}.png"))
    page.set_viewport_size({"width": 1400, "height": 900})


def test_upload_a_csv_choose_the_target_train_and_try_it(lab):
    page = lab.page
    lab.open()
    page.click("#upload-details summary")
    page.set_input_files(
        "#upload-file",
        files=[{"name": "plants.csv", "mimeType": "text/csv", "buffer": table_csv()}],
    )
    # The target choice lists the header's columns; the last is preselected, species chosen.
    page.wait_for_function("document.querySelectorAll('#upload-target option').length === 4")
    assert page.input_value("#upload-target") == "soil"
    page.select_option("#upload-target", "species")
    page.click("#upload-send")
    page.wait_for_function("window.layerlab.experiment.dataset.name === 'upload'")
    assert "240 rows" in page.text_content("#upload-status")
    page.wait_for_selector("body[data-check='ok']")
    wait_drawn(page, "data-preview")
    assert page.locator("#upload-list li").count() == 1
    assert page.text_content("#upload-list li .upload-name") == "plants.csv"

    page.click("#train")
    page.wait_for_function("window.layerlab.session.epoch >= 15", timeout=120_000)
    page.click("#pause")
    wait_status(page, "paused")
    wait_drawn(page, "loss-chart")
    wait_drawn(page, "histograms")
    accuracy = page.evaluate("window.layerlab.session.records.at(-1).metrics.val_accuracy")
    assert accuracy >= 0.85, accuracy

    # Try the model: one row typed in the table's own units (one-hot for the text column).
    page.locator("#try-section").scroll_into_view_if_needed()
    names = page.locator(".try-field > span:first-child").all_text_contents()
    assert names == ["length", "width", "soil=clay", "soil=sand"], names
    for i, value in enumerate(["2", "2", "1", "0"]):
        page.fill(f"#try-input-{i}", value)
    page.click("#try-ask")
    page.wait_for_selector("#try-label", timeout=60_000)
    assert page.text_content("#try-label") == "The model says: tall"
    assert page.locator("#try-probabilities li").count() == 2
    page.locator("#data-column").scroll_into_view_if_needed()
    shots(lab, "csv")
    page.click("#stop")


def test_a_bad_csv_is_refused_with_the_row_named(lab):
    page = lab.page
    lab.open()
    page.click("#upload-details summary")
    bad = b"a,b,label\n1,2,x\n3,4\n5,6,y\n7,8,x\n"
    lab.allow("422")
    page.set_input_files(
        "#upload-file", files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": bad}]
    )
    page.click("#upload-send")
    page.wait_for_selector("#upload-status.field-error")
    text = page.text_content("#upload-status")
    assert "bad.csv was refused" in text and "row 2" in text and "2 cells" in text, text
    assert page.evaluate("window.layerlab.experiment.dataset.name") != "upload"


def click_at(page, canvas, fx: float, fy: float) -> None:
    box = canvas.bounding_box()
    side = min(box["width"], box["height"])
    x0 = box["x"] + (box["width"] - side) / 2
    y0 = box["y"] + (box["height"] - side) / 2
    page.mouse.click(x0 + fx * side, y0 + fy * side)


def test_draw_a_2d_set_erase_some_train_it_and_open_its_link(lab, browser, server_url):
    page = lab.page
    lab.open()  # the default starter is a 2D set: the data panel offers drawing
    page.wait_for_selector("body[data-check='ok']")
    page.click("#draw-details summary")
    canvas = page.locator("#draw-canvas")
    canvas.scroll_into_view_if_needed()
    rng = np.random.default_rng(3)
    # Three classes in three bands: left, middle, right.
    for cls, (lo, hi) in enumerate([(0.05, 0.3), (0.38, 0.62), (0.7, 0.95)]):
        page.select_option("#draw-class", str(cls))
        for _ in range(12):
            click_at(page, canvas, rng.uniform(lo, hi), rng.uniform(0.05, 0.95))
    assert canvas.get_attribute("data-points") == "36"
    # A stray point, then a drag across it erases it (and maybe a neighbour).
    page.select_option("#draw-class", "0")
    click_at(page, canvas, 0.5, 0.02)
    assert canvas.get_attribute("data-points") == "37"
    box = canvas.bounding_box()
    side = min(box["width"], box["height"])
    x0 = box["x"] + (box["width"] - side) / 2
    y0 = box["y"] + (box["height"] - side) / 2
    page.mouse.move(x0 + 0.44 * side, y0 + 0.02 * side)
    page.mouse.down()
    for i in range(10):
        page.mouse.move(x0 + (0.44 + 0.012 * i) * side, y0 + 0.02 * side)
    page.mouse.up()
    left = int(canvas.get_attribute("data-points"))
    assert 33 <= left <= 36, left

    page.click("#draw-use")
    page.wait_for_function("window.layerlab.experiment.dataset.name === 'upload'")
    page.wait_for_selector("body[data-check='ok']")
    wait_drawn(page, "data-preview")
    page.click("#train")
    page.wait_for_function("window.layerlab.session.epoch >= 40", timeout=120_000)
    main = page.evaluate("document.body.dataset.mainView")
    wait_drawn(page, main, timeout=60_000)
    assert canvas_colours(page, main) > 8
    shots(lab, "drawn")
    page.click("#stop")
    wait_status(page, "stopped")

    # The design's link holds the upload's id: a fresh page opens the same drawn set.
    url = page.url
    upload_id = page.evaluate("window.layerlab.experiment.dataset.id")
    other = browser.new_context(viewport={"width": 1280, "height": 720})
    fresh = other.new_page()
    try:
        fresh.goto(url)
        fresh.wait_for_selector("body[data-check='ok']", timeout=20_000)
        assert fresh.evaluate("window.layerlab.experiment.dataset.id") == upload_id
        wait_drawn(fresh, "data-preview")
    finally:
        other.close()


def stripes_png(kind: str, rng: np.random.Generator, size: int = 16) -> bytes:
    from PIL import Image

    img = np.zeros((size, size))
    if kind == "rows":
        img[::4] = img[1::4] = 1.0
    else:
        img[:, ::4] = img[:, 1::4] = 1.0
    img = np.clip(img * 200 + rng.normal(0, 20, size=img.shape) + 20, 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(img).save(out, "PNG")
    return out.getvalue()


def test_upload_a_zip_of_images_train_and_drop_an_image_on_the_model(lab):
    import zipfile

    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for cls in ("rows", "columns"):
            for i in range(40):
                zf.writestr(f"stripes/{cls}/{i}.png", stripes_png(cls, rng))
    page = lab.page
    lab.open()
    page.click("#upload-details summary")
    page.set_input_files(
        "#upload-file",
        files=[{"name": "stripes.zip", "mimeType": "application/zip", "buffer": buf.getvalue()}],
    )
    page.wait_for_selector("#upload-image-options:not([hidden])")
    assert page.locator("#upload-csv-options").is_hidden()
    page.fill("#upload-size", "8")
    page.click("#upload-send")
    page.wait_for_function("window.layerlab.experiment.dataset.name === 'upload'")
    # Another family: the network starts as a small CNN.
    types = page.evaluate("window.layerlab.experiment.model.layers.map((l) => l.type)")
    assert types[0] == "conv2d" and "flatten" in types
    page.wait_for_selector("body[data-check='ok']")
    wait_drawn(page, "data-preview")
    page.click("#train")
    page.wait_for_function("window.layerlab.session.epoch >= 8", timeout=120_000)
    page.click("#pause")
    wait_status(page, "paused")
    assert page.evaluate("document.body.dataset.mainView") == "predictions"
    wait_drawn(page, "predictions")
    page.locator("#try-section").scroll_into_view_if_needed()
    page.set_input_files(
        "#try-image",
        files=[{"name": "one.png", "mimeType": "image/png", "buffer": stripes_png("rows", rng)}],
    )
    page.wait_for_selector("#try-label", timeout=60_000)
    assert page.text_content("#try-label") == "The model says: rows"
    assert page.get_attribute("#try-drop-preview", "data-drawn") == "true"
    page.screenshot(path=str(ARTIFACTS / "uploads-images-try-1440x900.png"))
    page.click("#stop")


def test_upload_a_series_to_forecast_and_see_the_forecast(lab):
    t = np.arange(300)
    values = np.sin(2 * np.pi * t / 20)
    series = (
        "when,level\n" + "\n".join(f"{i},{v:.4f}" for i, v in zip(t, values, strict=True))
    ).encode()
    page = lab.page
    lab.open()
    page.click("#upload-details summary")
    page.set_input_files(
        "#upload-file", files=[{"name": "levels.csv", "mimeType": "text/csv", "buffer": series}]
    )
    page.wait_for_function("document.querySelectorAll('#upload-target option').length === 2")
    page.select_option("#upload-task", "forecasting")
    page.wait_for_selector("#upload-series-options:not([hidden])")
    page.fill("#upload-window", "12")
    page.select_option("#upload-time", "when")
    page.click("#upload-send")
    page.wait_for_function("window.layerlab.experiment.dataset.name === 'upload'")
    assert "windows of 12 values" in page.text_content("#upload-status")
    assert page.evaluate("window.layerlab.experiment.model.layers[0].type") == "lstm"
    page.wait_for_selector("body[data-check='ok']")
    wait_drawn(page, "data-preview")
    page.click("#train")
    page.wait_for_function("window.layerlab.session.epoch >= 3", timeout=120_000)
    assert page.evaluate("document.body.dataset.mainView") == "forecast"
    wait_drawn(page, "forecast", timeout=60_000)
    page.click("#stop")
