"""Recommendations on the page: a real recommender trains on `ratings` in the real server; the
learner opens "Try it" from the stage, sees the network beat the mean-rating baseline (RMSE,
asserted: it learned), a user's top items (none they already rated), the item vectors as a
map with the recommended items ringed, hovers one to read its name, and picks another user."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from browser_helpers import canvas_colours, experiment_hash, wait_status

pytestmark = pytest.mark.browser
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def recommender(epochs: int = 8) -> dict:
    doc = json.loads((EXAMPLES / "ratings_recommender.json").read_text())
    doc["training"].update(epochs=epochs)
    return doc


def test_a_trained_recommender_recommends_unrated_items_and_maps_them(lab):
    page = lab.page
    lab.open(experiment_hash(recommender()))
    page.wait_for_selector("body[data-check='ok']")
    assert page.is_visible("#open-recommend") and page.is_visible("#open-projector")
    page.click("#train")
    wait_status(page, "finished", timeout=180_000)
    page.click("#open-recommend")
    page.wait_for_selector("#rec-rmse[data-better]", timeout=60_000)
    page.wait_for_selector("#rec-status[data-state='ready']")
    rmse = float(page.get_attribute("#rec-rmse", "data-rmse"))
    baseline = float(page.get_attribute("#rec-rmse", "data-baseline"))
    assert rmse < 0.9 * baseline, (rmse, baseline)  # the network learned the tastes
    assert "better" in page.text_content("#rec-rmse")

    top = [
        int(i)
        for i in page.eval_on_selector_all("#rec-top li", "els => els.map(e => e.dataset.item)")
    ]
    rated = page.eval_on_selector_all(
        "#rec-rated li[data-item]", "els => els.map(e => e.dataset.item)"
    )
    assert len(top) == 10 and rated
    assert not {int(i) for i in rated} & set(top)  # already rated: never recommended
    names = page.locator("#rec-top .rec-name").all_text_contents()

    page.wait_for_selector("#rec-map[data-drawn='true']")
    assert canvas_colours(page, "rec-map") > 8
    placed = page.evaluate("document.getElementById('rec-map').projected")
    assert len(placed) == 120  # every item
    x, y = placed[top[0]]
    box = page.locator("#rec-map").bounding_box()
    page.mouse.move(box["x"] + x, box["y"] + y)
    card = page.locator("#rec-hover")
    card.wait_for(state="visible")
    hovered = int(card.get_attribute("data-index"))
    assert hovered in top or abs(placed[hovered][0] - x) + abs(placed[hovered][1] - y) < 16
    if hovered == top[0]:
        assert names[0] in card.text_content()
    assert "class: " in card.text_content()  # its genre
    lab.screenshot("recommendations-trained")

    page.fill("#rec-user", "7")
    page.dispatch_event("#rec-user", "change")
    page.wait_for_function(
        "document.getElementById('rec-status').textContent.startsWith('User 7 of 200')"
    )
    assert page.locator("#rec-top li").count() == 10
