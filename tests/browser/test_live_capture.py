"""Data captured live in real Chromium with its fake camera and microphone: frames recorded for
two classes (a held button, a held number key), one deleted, saved as an image upload and a
CNN trained on it to a finished run; a microphone clip per class recorded, turned into its
log-mel spectrogram in the page, uploaded and trained on; the page's spectrogram matches the
Python recipe's on the same signal. Screenshots at 1280×720, 1440×900 and 390×844 go to
test-artifacts/capture-*.png."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from browser_helpers import ARTIFACTS, TERMINAL, experiment_hash, spiral, wait_status
from fake_media import browser  # noqa: F401  (the fixture: Chromium with fake media)

from server.engine.datasets import spectrogram

pytestmark = pytest.mark.browser

SIZES = [(1280, 720), (1440, 900), (390, 844)]


def cnn_design(epochs: int = 4) -> dict:
    """An image design (digits, then replaced by the capture; the network stays)."""
    return {
        "dataset": {"name": "digits", "train_fraction": 0.8, "seed": 1},
        "model": {
            "layers": [
                {"type": "conv2d", "filters": 4, "kernel_size": 3, "activation": "relu"},
                {"type": "maxpool2d", "pool_size": 2},
                {"type": "flatten"},
                {"type": "dense", "units": 16, "activation": "relu"},
            ]
        },
        "training": {
            "optimizer": "adam",
            "learning_rate": 0.003,
            "batch_size": 8,
            "epochs": epochs,
            "seed": 0,
            "device": "auto",
        },
    }


def count(page, prefix: str, i: int) -> int:
    return int(page.get_attribute(f"#{prefix}-class-{i}", "data-count"))


def wait_count(page, prefix: str, i: int, at_least: int) -> None:
    page.wait_for_function(
        "([p, i, n]) => Number(document.getElementById(`${p}-class-${i}`).dataset.count) >= n",
        arg=[prefix, i, at_least],
        timeout=60_000,
    )


def owned_upload(page) -> dict:
    """The upload the design now uses, as this browser's upload list gives it."""
    return page.evaluate(
        """async () => {
          const api = await import('/static/js/uploads-api.js');
          const id = window.layerlab.experiment.dataset.id;
          return (await api.ownedUploads('GET')).find((u) => u.id === id);
        }"""
    )


def train_to_the_end(page, epochs: int) -> None:
    page.wait_for_selector("body[data-check='ok']")
    page.click("#train")
    assert wait_status(page, TERMINAL, timeout=180_000) == "finished"
    records = page.evaluate("window.layerlab.session.records")
    assert len(records) == epochs, len(records)
    assert all(np.isfinite(r["loss"]) and np.isfinite(r["val_loss"]) for r in records)
    assert 0 <= records[-1]["metrics"]["val_accuracy"] <= 1


def shots(page, name: str, panel: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(300)  # the resize redraw is debounced
        assert page.evaluate("document.documentElement.scrollWidth") <= width, (name, width)
        page.locator(panel).scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"capture-{name}-{width}x{height}.png"))
    page.set_viewport_size({"width": 1400, "height": 900})


def test_camera_frames_for_two_classes_become_an_upload_a_cnn_trains_on(lab):
    page = lab.page
    lab.open(experiment_hash(cnn_design()))
    page.click("#camera-details summary")
    assert page.get_attribute("#camera-details", "data-camera") == "off"  # not before the press
    page.click("#camera-start")
    page.wait_for_selector("#camera-details[data-camera='on']")
    page.fill("#camera-name-0", "wave")
    page.fill("#camera-name-1", "fist")

    # Class 1: hold its button; class 2: hold its number key.
    page.hover("#camera-record-0")
    page.mouse.down()
    wait_count(page, "camera", 0, 6)
    page.mouse.up()
    page.locator("#camera-video").click()  # focus leaves the name fields: keys record
    page.keyboard.down("2")
    wait_count(page, "camera", 1, 6)
    page.keyboard.up("2")
    held = count(page, "camera", 1)
    page.wait_for_timeout(500)  # released: no frame is added any more (a fixed look, not a wait)
    assert count(page, "camera", 1) <= held + 1  # one grab may have been in flight

    before = count(page, "camera", 0)
    page.locator("#camera-grid-0 .capture-delete").first.click()
    assert count(page, "camera", 0) == before - 1
    assert page.locator("#camera-grid-0 canvas").count() == before - 1
    shots(page, "camera", "#camera-details")

    # Folding the panel turns the camera off; unfolding and Start bring it back, frames kept.
    page.click("#camera-details summary")
    page.wait_for_selector("#camera-details[data-camera='off']")
    page.click("#camera-details summary")
    page.click("#camera-start")
    page.wait_for_selector("#camera-details[data-camera='on']")
    total = count(page, "camera", 0) + count(page, "camera", 1)
    assert total >= 11
    page.fill("#camera-size", "24")
    page.select_option("#camera-color", "rgb")
    page.click("#camera-save")
    page.wait_for_function("window.layerlab.experiment.dataset.name === 'upload'")
    text = page.text_content("#camera-status")
    assert f"{total} images, 2 classes" in text, text
    assert page.get_attribute("#camera-details", "data-camera") == "off"  # saved: camera off
    made = owned_upload(page)
    assert made["class_names"] == ["fist", "wave"], made["class_names"]
    assert made["n"] == total and made["input_shape"] == [3, 24, 24], made
    assert page.evaluate("window.layerlab.experiment.model.layers[0].type") == "conv2d"
    train_to_the_end(page, 4)


def test_number_keys_go_to_the_step_through_or_the_camera_never_both(lab):
    """Step-through's phases (keys 1-4) and the camera's classes (hold 1..6) both listened to
    the whole page: with both on, one key showed a phase and recorded frames. The keys go to
    the one the person last used (static/js/util/key-owner.js). Each check holds the key and
    reads both widgets' state, which each sets in the same keydown."""
    page = lab.page
    lab.open(experiment_hash(spiral(epochs=None)))
    page.wait_for_selector("body[data-check='ok']")
    page.click("#camera-details summary")
    page.click("#camera-start")
    page.wait_for_selector("#camera-details[data-camera='on']")
    page.click("#step-mode")  # a paused run, stepped once: the phases are shown
    page.wait_for_selector("#step-explain[data-phase='forward']", timeout=120_000)
    page.locator("#camera-details").scroll_into_view_if_needed()
    assert page.evaluate("""() => { const r = document.getElementById('camera-details')
        .getBoundingClientRect(); return r.top < innerHeight && r.bottom > 0; }""")

    # Step-through was pressed last: key 2 shows the error phase and records nothing.
    page.keyboard.down("2")
    page.wait_for_selector("#step-explain[data-phase='error']")
    assert "recording" not in page.get_attribute("#camera-record-1", "class").split()
    page.keyboard.up("2")
    assert count(page, "camera", 1) == 0

    # A press in the camera's panel: key 1 records class 1; the phase stays.
    page.locator("#camera-video").click()
    page.keyboard.down("1")
    wait_count(page, "camera", 0, 1)
    page.keyboard.up("1")
    assert page.get_attribute("#step-explain", "data-phase") == "error"
    assert page.get_attribute("#step-error", "aria-pressed") == "true"

    # Back on the network: key 1 is step-through's again (the forward phase), no recording.
    page.locator("#step-explain").click()
    page.keyboard.down("1")
    page.wait_for_selector("#step-explain[data-phase='forward']")
    assert "recording" not in page.get_attribute("#camera-record-0", "class").split()
    page.keyboard.up("1")


def test_microphone_clips_become_spectrograms_an_upload_and_a_finished_run(lab):
    page = lab.page
    lab.open(experiment_hash(cnn_design(epochs=3)))
    page.click("#mic-details summary")
    page.click("#mic-start")
    page.wait_for_selector("#mic-details[data-mic='on']")
    page.fill("#mic-name-0", "yes")
    page.fill("#mic-name-1", "no")
    for i in (0, 1):
        for n in (1, 2):
            page.click(f"#mic-record-{i}")
            wait_count(page, "mic", i, n)
    assert "field-error" not in (page.get_attribute("#mic-status", "class") or "")
    # Each clip is drawn as its 32×32 spectrogram.
    assert page.evaluate("document.querySelector('#mic-grid-0 canvas').width") == 32
    shots(page, "microphone", "#mic-details")
    page.click("#mic-save")
    page.wait_for_function("window.layerlab.experiment.dataset.name === 'upload'")
    text = page.text_content("#mic-status")
    assert "4 spectrograms, 2 classes" in text, text
    made = owned_upload(page)
    assert made["class_names"] == ["no", "yes"] and made["input_shape"] == [1, 32, 32], made
    train_to_the_end(page, 3)


def test_the_page_spectrogram_matches_the_python_recipe(lab):
    page = lab.page
    lab.open()
    rng = np.random.default_rng(7)
    # Longer than a clip (cut), and shorter (zero-padded); resampled from the common rates.
    for rate, seconds in ((8000, 1.05), (8000, 0.5), (22050, 1.05), (44100, 0.7), (48000, 1.05)):
        t = np.arange(int(seconds * rate)) / rate
        signal = (
            0.5 * np.sin(2 * np.pi * 440 * t) * np.exp(-3 * t)
            + 0.3 * np.sin(2 * np.pi * (300 + 900 * t) * t)
            + 0.05 * rng.standard_normal(len(t))
        )
        expected = spectrogram.log_mel(spectrogram.resample(signal, rate))
        got = page.evaluate(
            """async ([samples, rate]) => {
              const m = await import('/static/js/audio/spectrogram.js');
              return Array.from(m.logMel(m.resample(Float64Array.from(samples), rate)));
            }""",
            [signal.tolist(), rate],
        )
        got = np.array(got, dtype=np.float32).reshape(spectrogram.MELS, spectrogram.FRAMES)
        assert expected.std() > 0.05  # a real picture, not a flat one
        np.testing.assert_allclose(got, expected, atol=1e-5, err_msg=f"rate {rate}, {seconds} s")


def test_the_gestures_lesson_opens_the_camera_capture(lab):
    page = lab.page
    lab.open()
    page.click("#lessons")
    page.click("#lesson-gallery button.lesson-card[data-lesson='gestures-cnn']")
    page.wait_for_selector("#camera-details[open]")
    assert "Capture with the camera" in page.text_content("#lesson-note")
    # Its CNN is kept when the captured upload replaces the placeholder digits.
    assert page.evaluate("window.layerlab.experiment.model.layers[0].type") == "conv2d"
    # The camera is still off: it starts only on the learner's press.
    assert page.get_attribute("#camera-details", "data-camera") == "off"
    # A link to the lesson opens the panel as well.
    page.goto(f"{lab.base}/#lesson=gestures-cnn")
    page.reload()
    page.wait_for_selector("body[data-ready='true']")
    page.wait_for_selector("#camera-details[open]")


def test_the_page_zip_writer_makes_a_zip_python_reads_and_checks(lab):
    page = lab.page
    lab.open()
    data = page.evaluate(
        """async () => {
          const z = await import('/static/js/util/zip.js');
          const enc = new TextEncoder();
          const big = Uint8Array.from({length: 70000}, (_, i) => (i * 31) % 251);
          return Array.from(z.zipStored([
            {name: 'wave/1.png', bytes: enc.encode('first')},
            {name: 'fäust/2.png', bytes: big},
            {name: 'empty/3.png', bytes: new Uint8Array(0)},
          ]));
        }"""
    )
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        assert zf.testzip() is None  # every member's CRC-32 checks
        assert zf.namelist() == ["wave/1.png", "fäust/2.png", "empty/3.png"]
        assert zf.read("wave/1.png") == b"first"
        assert zf.read("fäust/2.png") == bytes((i * 31) % 251 for i in range(70000))
        assert zf.read("empty/3.png") == b""
