"""The lesson gallery: every starter design is a lesson, opened from the header or a link."""

from __future__ import annotations

import re

import pytest
from browser_helpers import ARTIFACTS, LABELS, PageWatch, wait_drawn, wait_status

pytestmark = pytest.mark.browser

STARTERS = "import('/static/js/starters.js').then((m) => m.STARTERS)"
# Each view's title as the page shows it (a view may append a menu to its title).
VIEW_TITLES = (
    "[...document.querySelectorAll('.view-title')].map((t) => t.firstChild.textContent.trim())"
)


def lesson_texts(starter: dict) -> list[str]:
    lesson = starter["lesson"]
    return [lesson["summary"], lesson["watch"], *lesson["next"]]


def note_text(page) -> str:
    return " ".join(page.text_content("#lesson-note").split())


def gallery_open(page) -> bool:
    return page.evaluate("document.getElementById('lesson-gallery').open")


def focused(page, expression: str):
    return page.evaluate(f"(() => {{ const el = document.activeElement; return {expression}; }})()")


def test_every_lesson_is_short_and_its_design_passes_the_check(lab):
    page = lab.page
    lab.open()
    starters = page.evaluate(STARTERS)
    titles = page.evaluate(VIEW_TITLES)
    assert "Weight and gradient norms" in titles
    for s in starters:
        texts = lesson_texts(s)
        assert all(t.strip() for t in texts), s["id"]
        sentences = len(re.findall(r"[.?!](?:\s|$)", " ".join(texts)))
        assert 3 <= sentences <= 6, (s["id"], sentences)
        # What to watch names a view the way the page titles it.
        assert any(t in s["lesson"]["watch"] for t in titles), (s["id"], s["lesson"]["watch"])
    # A lesson on vanishing gradients: a deep sigmoid MLP on a 2D set.
    assert any(
        s["family"] == "2d"
        and sum(
            layer.get("activation") == "sigmoid" for layer in s["experiment"]["model"]["layers"]
        )
        >= 4
        for s in starters
    )
    statuses = page.evaluate(
        """(starters) => Promise.all(starters.map((s) => fetch('/api/check', {
             method: 'POST', headers: {'Content-Type': 'application/json'},
             body: JSON.stringify(s.experiment)}).then((r) => [s.id, r.status])))""",
        starters,
    )
    assert statuses == [[s["id"], 200] for s in starters]


def test_gallery_from_the_keyboard_loads_the_spiral_lesson(lab, browser):
    page = lab.page
    lab.open("#starter=digits-cnn")
    page.wait_for_selector("body[data-check='ok']")
    starters = {s["id"]: s for s in page.evaluate(STARTERS)}
    spiral = starters["spiral-mlp"]
    assert page.is_hidden("#lesson-note")

    # The header's Lessons button, from the keyboard: focus moves into the gallery.
    page.focus("#lessons")
    page.keyboard.press("Enter")
    page.wait_for_selector("#lesson-gallery[open]")
    assert focused(page, "document.getElementById('lesson-gallery').contains(el)")
    assert focused(page, "el.dataset.lesson") == "spiral-mlp"  # the first card
    # Every card is a button with its title and one line, grouped by family.
    cards = page.locator("#lesson-gallery button.lesson-card")
    assert cards.count() == len(starters)
    for s in starters.values():
        card = page.locator(f"#lesson-gallery button[data-lesson='{s['id']}']")
        assert card.locator(".lesson-card-title").text_content() == s["title"]
        assert card.locator(".lesson-card-line").text_content() == s["lesson"]["summary"]
    families = page.eval_on_selector_all(
        "#lesson-gallery .lesson-family h3", "els => els.map((e) => e.textContent)"
    )
    assert families == ["2D points", "Tables", "Images", "Sequences", "Autoencoders"]
    assert page.evaluate(LABELS) == []
    page.keyboard.press("Tab")
    assert focused(page, "el.dataset.lesson") == "circle-crosses"
    page.keyboard.press("Shift+Tab")
    assert focused(page, "el.dataset.lesson") == "spiral-mlp"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "lessons-gallery.png"))

    # Enter picks the spiral lesson: its design loads and its note shows its text.
    page.keyboard.press("Enter")
    page.wait_for_function("!document.getElementById('lesson-gallery').open")
    page.wait_for_selector("#lesson-note:visible")
    # Checked: the input block shows the spiral's two features (the digits showed 1×8×8).
    page.wait_for_function(
        "document.querySelector('#input-block .layer-shape')?.textContent === '2'"
    )
    assert page.get_attribute("body", "data-check") == "ok"
    assert page.evaluate("window.layerlab.experiment") == spiral["experiment"]
    assert page.locator("#layer-stack > li").count() == len(spiral["experiment"]["model"]["layers"])
    assert page.input_value("#starter") == "spiral-mlp"
    text = note_text(page)
    assert "Lesson" in page.text_content("#lesson-note-title")
    assert spiral["title"] in page.text_content("#lesson-note-title")
    for t in lesson_texts(spiral):
        assert t in text, t
    assert focused(page, "document.getElementById('lesson-note').contains(el)")
    assert page.url.endswith("#lesson=spiral-mlp")
    assert page.evaluate(LABELS) == []
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "lesson-note.png"))
    # Projector mode: the note grows with the page's type.
    size = page.evaluate(
        "parseFloat(getComputedStyle(document.getElementById('lesson-note')).fontSize)"
    )
    page.click("#projector")
    bigger = page.evaluate(
        "parseFloat(getComputedStyle(document.getElementById('lesson-note')).fontSize)"
    )
    assert bigger > size * 1.2
    page.screenshot(path=str(ARTIFACTS / "lesson-note-projector.png"))

    # The link, opened in a new page elsewhere, shows the same lesson.
    link = page.url
    other = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        p2 = other.new_page()
        watch = PageWatch(p2, lab.base)
        p2.goto(link)
        p2.wait_for_selector("body[data-ready='true']")
        p2.wait_for_selector("body[data-check='ok']")
        assert p2.is_visible("#lesson-note")
        assert note_text(p2) == text
        assert p2.evaluate("window.layerlab.experiment") == spiral["experiment"]
        assert p2.locator("#layer-stack > li").count() == 2

        # Trying what the lesson suggests keeps the note, and the URL keeps naming the lesson.
        p2.click("[data-layer-index='1'] button[aria-label^='Remove']")
        p2.wait_for_function("window.layerlab.experiment.model.layers.length === 1")
        assert re.search(r"#e=[\w-]+&lesson=spiral-mlp$", p2.url), p2.url
        assert p2.is_visible("#lesson-note")
        p2.reload()
        p2.wait_for_selector("body[data-check='ok']")
        assert p2.locator("#layer-stack > li").count() == 1
        assert note_text(p2) == text
        # Dismissed, the note goes and the URL holds the design alone.
        p2.click("#lesson-dismiss")
        assert p2.is_hidden("#lesson-note")
        assert "lesson=" not in p2.url and "#e=" in p2.url
        assert p2.evaluate("document.activeElement.id") == "lessons"
        assert watch.unexpected_errors() == []
    finally:
        other.close()


def test_escape_closes_the_gallery_and_the_note(lab):
    page = lab.page
    lab.open("#starter=digits-cnn")
    page.wait_for_selector("body[data-check='ok']")
    before = page.evaluate("window.layerlab.experiment")

    page.click("#lessons")
    page.wait_for_selector("#lesson-gallery[open]")
    page.keyboard.press("Escape")
    page.wait_for_function("!document.getElementById('lesson-gallery').open")
    assert page.evaluate("document.activeElement.id") == "lessons"
    assert page.evaluate("window.layerlab.experiment") == before
    assert page.is_hidden("#lesson-note")
    # Its Close button closes it too.
    page.click("#lessons")
    page.click("#lesson-gallery-close")
    assert not gallery_open(page)

    # A lesson's note: "All lessons" reopens the gallery at its card; Escape there dismisses it.
    page.click("#lessons")
    page.click("#lesson-gallery button[data-lesson='xor-mlp']")
    page.wait_for_selector("#lesson-note:visible")
    assert page.url.endswith("#lesson=xor-mlp")
    page.click("#lesson-more")
    page.wait_for_selector("#lesson-gallery[open]")
    assert focused(page, "el.dataset.lesson") == "xor-mlp"
    assert focused(page, "el.getAttribute('aria-current')") == "true"
    page.keyboard.press("Escape")
    page.wait_for_function("!document.getElementById('lesson-gallery').open")
    assert page.is_visible("#lesson-note")
    page.focus("#lesson-dismiss")
    page.keyboard.press("Escape")
    assert page.is_hidden("#lesson-note")
    assert "lesson=" not in page.url

    # A design picked from the Design menu is no lesson: a shown note goes away.
    page.click("#lessons")
    page.click("#lesson-gallery button[data-lesson='sine-lstm']")
    page.wait_for_selector("#lesson-note:visible")
    page.select_option("#starter", "digits-cnn")
    assert page.is_hidden("#lesson-note")
    assert "lesson=" not in page.url
    # An unknown lesson in a link says so and shows a starter design.
    page.goto(f"{lab.base}/#lesson=no-such-lesson")
    page.reload()
    page.wait_for_selector("body[data-ready='true']")
    assert "no lesson" in page.text_content("#page-error")
    assert page.is_hidden("#lesson-note")


def test_deep_sigmoid_lesson_shows_vanishing_gradients(lab):
    """What the lesson says is what LayerLab draws: gradients shrink layer by layer."""
    page = lab.page
    lab.open("#lesson=deep-sigmoid")
    page.wait_for_selector("body[data-check='ok']")
    assert "Weight and gradient norms" in note_text(page)
    page.fill("#training-epochs", "3")
    page.wait_for_function("window.layerlab.experiment.training.epochs === 3")
    page.click("#train")
    wait_status(page, "finished")
    wait_drawn(page, "norms-chart")
    norms = page.evaluate("window.layerlab.session.snapshot.layers.map((l) => l.grad_norm)")
    assert len(norms) == 7  # six sigmoid layers and the head
    assert norms[0] < norms[-1] / 1000, norms
    assert all(a < b for a, b in zip(norms, norms[1:], strict=False)), norms
