"""The stage's "Try it" panel in real Chromium (issue 23): type a sentence to a trained
sentiment run and read the prediction and the coloured words; record a spoken word with
Chromium's fake microphone (a periodic beep) and see its spectrogram, the top words and the
Grad-CAM overlay; try one of its validation clips without a microphone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from browser_helpers import ARTIFACTS, TERMINAL, canvas_colours, experiment_hash, wait_status
from fake_media import browser  # noqa: F401  (the fixture: Chromium with fake media)

pytestmark = pytest.mark.browser
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SIZES = [(1280, 720), (1440, 900), (390, 844)]


def example(name: str, **dataset) -> dict:
    doc = json.loads((EXAMPLES / f"{name}.json").read_text())
    doc["dataset"].update(dataset)
    doc["training"]["device"] = "auto"
    return doc


def train_to_the_end(page) -> None:
    page.wait_for_selector("body[data-check='ok']")
    page.click("#train")
    assert wait_status(page, TERMINAL, timeout=300_000) == "finished"
    page.wait_for_selector("#tryit-panel:not([hidden]) .tryit-body > :not(.tryit-idle)")


def shots(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(300)  # the resize redraw is debounced
        assert page.evaluate("document.documentElement.scrollWidth") <= width, (name, width)
        page.locator("#tryit-panel").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"tryit-{name}-{width}x{height}.png"))
    page.set_viewport_size({"width": 1400, "height": 900})


def words_shown(page) -> list[dict]:
    return page.evaluate(
        """() => [...document.querySelectorAll('#tryit-words .tryit-word')].map((w) => ({
          word: w.dataset.word, score: Number(w.dataset.attribution),
          oov: w.classList.contains('oov'), background: getComputedStyle(w).backgroundColor}))"""
    )


def test_a_typed_sentence_shows_the_prediction_and_each_words_part(lab):
    page = lab.page
    lab.open(experiment_hash(example("sentiment_lstm")))
    # No run yet: the panel is there (so a run's start moves nothing) with a note, no box.
    page.wait_for_selector("#tryit-panel:not([hidden]) .tryit-idle")
    assert page.locator("#tryit-text").count() == 0
    train_to_the_end(page)
    # The example sentence is answered at once; then type one's own (answered as one types).
    page.wait_for_selector("#tryit-words .tryit-word")
    page.fill("#tryit-text", "")
    page.locator("#tryit-text").press_sequentially("What a wonderful zorblax", delay=20)
    page.wait_for_function(
        "document.querySelectorAll('#tryit-words .tryit-word').length === 4"
        " && document.querySelector('#tryit-words .tryit-word:last-child').dataset.word"
        " === 'zorblax'",
        timeout=60_000,
    )
    assert page.text_content("#tryit-label").startswith("The model says: positive")
    shown = words_shown(page)
    assert [w["word"] for w in shown] == ["what", "a", "wonderful", "zorblax"]
    assert [w["oov"] for w in shown] == [False, False, False, True]
    # "wonderful" carries the answer: the strongest word, drawn in the positive colour.
    best = max(shown, key=lambda w: w["score"])
    assert best["word"] == "wonderful" and best["score"] > 0
    assert len({w["background"] for w in shown}) >= 3
    assert "zorblax" in page.text_content(".tryit-legend")
    # A negated sentence, sent with the Ask button: "not" turns it, in the other colour.
    page.fill("#tryit-text", "the meal was not good")
    page.click("#tryit-ask")
    page.wait_for_function(
        "document.getElementById('tryit-label').textContent.includes('negative')",
        timeout=60_000,
    )
    shown = {w["word"]: w for w in words_shown(page)}
    assert shown["not"]["score"] > 0  # toward "negative", the answer now: in its colour
    orange = page.evaluate("getComputedStyle(document.body).getPropertyValue('--neg').trim()")
    r, g, b = (int(orange[i : i + 2], 16) for i in (1, 3, 5))
    assert shown["not"]["background"].startswith(f"rgba({r}, {g}, {b},"), shown["not"]
    # The map of words: drawn, the typed words among the vocabulary's.
    page.wait_for_selector("#tryit-word-map[data-drawn='true']")
    assert int(page.get_attribute("#tryit-word-map", "data-words")) > 50
    assert canvas_colours(page, "tryit-word-map") > 4
    shots(page, "text")


def test_a_recorded_word_shows_its_spectrogram_top_words_and_grad_cam(lab):
    page = lab.page
    doc = example("spoken_digits_cnn", samples=800)
    doc["training"]["epochs"] = 4  # past chance: Grad-CAM finds something on a clip
    lab.open(experiment_hash(doc))
    train_to_the_end(page)
    assert page.get_attribute("#tryit-panel", "data-kind") == "speech"
    assert "Nothing is stored" in page.text_content(".speech-note")
    page.click("#speech-record")  # the fake microphone: a beep, a second of it
    page.wait_for_selector("#speech-spectrogram[data-drawn='true']", timeout=30_000)
    page.wait_for_selector("#speech-top li", timeout=60_000)
    assert page.text_content("#speech-label").startswith("The model hears: ")
    assert page.locator("#speech-top li").count() == 3
    page.wait_for_selector("#speech-spectrogram[data-overlay='true']")
    assert canvas_colours(page, "speech-spectrogram") > 8
    # Without a microphone: one of the run's validation clips.
    page.click("#speech-clip")
    page.wait_for_selector("#speech-clip[data-clips]")
    page.select_option("#speech-clip", "3")
    page.wait_for_function(
        "document.getElementById('speech-status').textContent.includes('validation clip')"
    )
    page.wait_for_selector("#speech-top li")
    page.wait_for_selector("#speech-spectrogram[data-overlay='true']", timeout=60_000)
    assert float(page.get_attribute("#speech-spectrogram", "data-cam-peak")) > 0
    assert page.text_content("#speech-cam-note").startswith("Orange: where")
    with_cam = page.evaluate("document.getElementById('speech-spectrogram').toDataURL()")
    page.uncheck("#speech-overlay")
    page.wait_for_selector("#speech-spectrogram[data-overlay='false']")
    assert page.evaluate("document.getElementById('speech-spectrogram').toDataURL()") != with_cam
    page.check("#speech-overlay")
    shots(page, "speech")


def test_an_attention_model_shows_what_each_typed_word_attends_to(lab):
    page = lab.page
    doc = {
        "dataset": {"name": "sentiment", "samples": 400, "seed": 2},
        "model": {
            "layers": [
                {"type": "embedding", "dim": 8},
                {"type": "positional"},
                {"type": "attention", "heads": 2},
                {"type": "global_pool"},
            ]
        },
        "training": {"optimizer": "adam", "epochs": None, "pace": 5, "device": "auto"},
    }
    lab.open(experiment_hash(doc))
    page.wait_for_selector("body[data-check='ok']")
    page.click("#train")
    page.wait_for_function("window.layerlab.session.epoch >= 1", timeout=120_000)
    page.click("#pause")
    wait_status(page, "paused")
    page.wait_for_selector("#tryit-panel:not([hidden]) .tryit-body > :not(.tryit-idle)")
    page.fill("#tryit-text", "i loved this book")
    page.click("#tryit-ask")
    # The example sentence is asked first, as the panel opens: wait for this sentence's answer.
    page.wait_for_function(
        "[...document.querySelectorAll('#tryit-words .tryit-word')].map((w) => w.dataset.word)"
        ".join(' ') === 'i loved this book'",
        timeout=60_000,
    )
    page.wait_for_selector("#tryit-attention[data-drawn='true']")
    assert page.get_attribute("#tryit-attention", "data-heads") == "2"
    strongest = json.loads(page.get_attribute("#tryit-attention", "data-strongest"))
    assert len(strongest) == 2 and all(len(row) == 4 for row in strongest)  # four words each
    assert page.text_content("#tryit-label").startswith("The model says: ")
    words = page.locator("#tryit-words .tryit-word").all_text_contents()
    assert words == ["i", "loved", "this", "book"]
    page.locator("#tryit-attention").scroll_into_view_if_needed()
    shots(page, "attention")
    page.click("#stop")
    wait_status(page, "stopped")
