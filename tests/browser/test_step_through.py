"""Step through one update: the four phases of a real step_batch drawn on the network graph
(numbers read back from the server's own trace), the keys, the example picked on the decision
surface or among a batch's images, a watcher drawing the same trace, and the lesson."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import httpx
import pytest
from browser_helpers import ARTIFACTS, experiment_hash, wait_status

pytestmark = pytest.mark.browser
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# A hash of a canvas's pixels: what is drawn changed when it changes.
PIXELS = """(id) => {
  const c = document.getElementById(id);
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let h = 0;
  for (let i = 0; i < d.length; i += 7) h = (h * 31 + d[i]) | 0;
  return h;
}"""
# Where preview point j is drawn on the decision surface, in page coordinates.
POINT_AT = """(j) => import('/static/js/widgets/heatmap.js').then((m) => {
  const c = document.getElementById('boundary');
  const box = c.getBoundingClientRect();
  const rect = m.surfaceLayout(c.clientWidth, c.clientHeight);
  const s = window.layerlab.session.snapshot;
  const p = window.__preview.points[j];
  const e = s?.boundary?.extent || window.__preview.extent;
  return {x: box.left + rect.x + (p[0] - e[0]) / (e[1] - e[0]) * rect.w,
          y: box.top + rect.y + (e[3] - p[1]) / (e[3] - e[2]) * rect.h, point: p};
})"""


def trace_of(base: str, run_id: str) -> dict:
    r = httpx.get(f"{base}/api/runs/{run_id}/trace", timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def wait_trace(page, base: str, not_batch=None) -> dict:
    """Until the page drew a trace (other than `not_batch`'s), then the server's copy of it."""
    page.wait_for_function(
        "(old) => { const t = window.layerlab.session.trace;"
        " return t && JSON.stringify([t.epoch, t.batch, t.samples]) !== old; }",
        arg=json.dumps(not_batch) if not_batch else "",
        timeout=60_000,
    )
    page.wait_for_selector("#step-explain[data-phase='forward']")
    run_id = page.evaluate("window.layerlab.session.runId")
    return trace_of(base, run_id)


def batch_key(trace: dict) -> list:
    return [trace["epoch"], trace["batch"], trace["samples"]]


def number_after(text: str, marker: str) -> float:
    m = re.search(re.escape(marker) + r"\s*(−?\d+(?:\.\d+)?(?:e[−+-]?\d+)?)", text)
    assert m, (marker, text)
    return float(m.group(1).replace("−", "-"))


def value(page, selector: str) -> float:
    """A neuron's value as drawn; during the forward/backward flow (0.9 s) a neuron the flow
    has not reached yet has none, so wait for it."""
    page.wait_for_selector(f"{selector}[data-step-value]", state="attached")
    return float(page.get_attribute(selector, "data-step-value"))


def phase(page, key: str, name: str) -> None:
    page.keyboard.press(key)
    page.wait_for_selector(f"#step-explain[data-phase='{name}']")
    assert page.get_attribute(f"#step-{name}", "aria-pressed") == "true"


def test_the_four_phases_of_one_step_on_a_2d_mlp_from_the_lesson(lab):
    page = lab.page
    lab.open("#lesson=one-step")
    page.wait_for_selector("#lesson-note:visible")
    assert "One example, one step" in page.text_content("#lesson-note-title")
    page.wait_for_selector("body[data-check='ok']")
    assert page.is_hidden("#step-panel")
    page.click("#step-mode")  # no run yet: one is created paused, then stepped once
    trace = wait_trace(page, lab.base)
    wait_status(page, "paused")
    assert page.get_attribute("#step-mode", "aria-pressed") == "true"
    assert page.is_hidden("#network-graph-readout")  # the step's own readout replaces it
    assert len(trace["samples"]) == 10 and not trace["single"]
    hidden = trace["layers"][0]
    head = trace["layers"][-1]
    assert hidden["type"] == "dense" and head["type"] == "head"

    # Forward: every drawn neuron holds its activation for example 1 of the batch.
    page.wait_for_selector("#step-links[data-phase='forward'][data-drawn='true']")
    for j in range(3):
        node = f".gblock[data-block='0'] .neuron[data-index='{j}']"
        assert value(page, node) == hidden["a"][0][j]
    for j in range(2):
        node = f".gblock-input .neuron[data-index='{j}']"
        assert value(page, node) == trace["x"][0][j]
    page.hover(".gblock[data-block='0'] .neuron[data-index='1']")
    text = page.text_content("#step-readout")
    assert "z = Σ wᵢxᵢ + b = " in text and "a = tanh(z) = tanh(" in text, text
    w = hidden["params"]["weight"]["before"][1]
    assert f"{w[0]:.2g}".replace("-", "−") in text  # the real weight is written out
    assert abs(number_after(text, "tanh(z) = tanh(") - hidden["z"][0][1]) < 0.01
    assert abs(number_after(text, ") = ") - hidden["a"][0][1]) < 0.01
    lab.screenshot("step-forward-1400")

    # Error (key 2): prediction against target, the loss with its formula and value.
    phase(page, "2", "error")
    explain = page.text_content("#step-explain")
    p = trace["output"][0][int(trace["target"][0])]
    assert "cross-entropy" in explain and "L = −log " in explain, explain
    assert abs(number_after(explain, f"−log {p:.3g} = ") - (-math.log(p))) < 0.01
    assert abs(number_after(explain, "is ") - trace["loss"]) < 1e-3
    out = ".gblock-head .neuron[data-index='0']"
    # Two classes are drawn as one node once a snapshot came (P(class 1)), else one each.
    unit = 1 if page.locator(".gblock-head .neuron").count() == 1 else 0
    assert value(page, out) == head["a"][0][unit]
    assert page.get_attribute(out, "data-step-target") in ("0", "1")

    # Backward (key 3): δ on each neuron, ∂L/∂w on each link, each layer's gradient norm,
    # drawn from the output back to the input.
    phase(page, "3", "backward")
    page.wait_for_selector("#step-links[data-phase='backward'][data-drawn='true']")
    for j in range(3):
        node = f".gblock[data-block='0'] .neuron[data-index='{j}']"
        assert value(page, node) == hidden["delta"][0][j]
    assert value(page, ".gblock-input .neuron[data-index='0']") == trace["input_grad"][0][0]
    badge = page.text_content(".gblock[data-block='0'] .step-badge")
    grad_norm = math.sqrt(
        sum(g * g for row in hidden["params"]["weight"]["grad"] for g in row)
        + sum(g * g for g in hidden["params"]["bias"]["grad"])
    )
    assert abs(number_after(badge, "‖∇‖") - grad_norm) < 0.01 * max(1, grad_norm), badge
    page.hover(".gblock[data-block='0'] .neuron[data-index='2']")
    text = page.text_content("#step-readout")
    assert "δ = ∂L/∂z = tanh′(z)·Σₖ" in text, text
    # A link, hovered at its middle: ∂L/∂w with the batch's gradient.
    box = page.locator("#step-links").bounding_box()
    found = page.evaluate(
        """() => { const a = document.querySelector(".gblock[data-block='0'] .neuron[data-index='0']").getBoundingClientRect();
                   const b = document.querySelector(".gblock-head .neuron[data-index='0']").getBoundingClientRect();
                   return {x: (a.right + b.left) / 2, y: (a.top + a.height / 2 + b.top + b.height / 2) / 2}; }"""
    )
    assert box
    page.mouse.move(found["x"], found["y"])
    text = page.text_content("#step-readout")
    assert "∂L/∂w = " in text and f"layer 1 neuron 1 to output unit {unit + 1}" in text, text
    g = head["params"]["weight"]["grad"][unit][0]
    assert abs(number_after(text, "∂L/∂w = ") - g) < 0.01 * max(1, abs(g)) + 1e-3

    # Update (key 4): before -> after and the rule; the surface redraws with the new weights.
    surface_before = page.evaluate(PIXELS, "boundary")
    phase(page, "4", "update")
    explain = page.text_content("#step-explain")
    assert "SGD: w ← w − η·∂L/∂w (η = 0.3)" in explain, explain
    bias = hidden["params"]["bias"]
    node = ".gblock[data-block='0'] .neuron[data-index='0']"
    assert abs(value(page, node) - (bias["after"][0] - bias["before"][0])) < 1e-9
    page.hover(node)
    text = page.text_content("#step-readout")
    assert "→" in text and "η = 0.3" in text, text
    page.wait_for_function(f"(h) => ({PIXELS})('boundary') !== h", arg=surface_before)

    # N: the next mini-batch, shown from the forward pass again.
    page.mouse.move(5, 5)
    page.keyboard.press("n")
    second = wait_trace(page, lab.base, not_batch=batch_key(trace))
    assert second["batch"] == trace["batch"] + 1
    assert second["layers"][0]["params"]["weight"]["before"] == hidden["params"]["weight"]["after"]

    # A point clicked on the decision surface: one step on that training example alone.
    page.evaluate(
        "import('/static/js/api.js').then(async (m) => { window.__preview ="
        " await m.api.preview(window.layerlab.experiment.dataset); })"
    )
    page.wait_for_function("window.__preview")
    at = page.evaluate(POINT_AT, 7)
    page.mouse.click(at["x"], at["y"])
    single = wait_trace(page, lab.base, not_batch=batch_key(second))
    assert single["single"] is True and single["samples"] == [7]
    assert all(abs(a - b) < 2e-3 for a, b in zip(single["x"][0], at["point"], strict=True))
    assert page.is_hidden("#step-example")  # a batch of one: nothing to choose within it
    assert "training example #7 alone" in page.text_content("#step-explain")
    page.wait_for_selector("#step-marker[data-sample='7']")  # ringed on the surface
    ring = page.locator("#step-marker").bounding_box()
    at = page.evaluate(POINT_AT, 7)  # (the surface may have been redrawn since the click)
    centre = (ring["x"] + ring["width"] / 2, ring["y"] + ring["height"] / 2)
    assert abs(centre[0] - at["x"]) < 2 and abs(centre[1] - at["y"]) < 2, (centre, at)

    # Auto-play walks the phases by itself.
    page.select_option("#step-speed", "500")
    page.click("#step-play")
    page.wait_for_selector("#step-explain[data-phase='backward']", timeout=10_000)
    page.click("#step-play")
    assert page.get_attribute("#step-play", "aria-pressed") == "false"

    # Screenshots at three sizes; at 1280x720 the stage, step controls included, fits.
    for width, height in ((1280, 720), (1440, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.keyboard.press("3")
        page.wait_for_selector("#step-links[data-phase='backward'][data-drawn='true']")
        lab.screenshot(f"step-through-{width}x{height}")
        if width >= 1280:
            fits = page.evaluate(
                """() => ['step-through', 'graph', 'output-column'].map((id) =>
                     document.getElementById(id).getBoundingClientRect().bottom <= innerHeight + 0.5)"""
            )
            assert all(fits), (width, height, fits)
    page.set_viewport_size({"width": 1400, "height": 900})
    page.click("#step-mode")  # off: the graph is the editor again
    page.wait_for_function("!document.querySelector('#graph .step-value')")
    assert page.is_hidden("#step-panel")
    page.click("#stop")
    wait_status(page, "stopped")
    ARTIFACTS.mkdir(exist_ok=True)


def digits_cnn() -> dict:
    doc = json.loads((EXAMPLES / "digits_cnn.json").read_text())
    doc["training"].update(epochs=50, device="auto")
    return doc


def test_a_cnn_step_per_filter_with_the_input_gradient_as_an_image(lab):
    page = lab.page
    lab.open(experiment_hash(digits_cnn()))
    page.wait_for_selector("body[data-check='ok']")
    page.click("#train")
    page.wait_for_function("window.layerlab.session.epoch >= 1", timeout=120_000)
    page.click("#step-mode")  # a running run is paused first
    trace = wait_trace(page, lab.base)
    wait_status(page, "paused")
    conv = trace["layers"][0]
    assert conv["type"] == "conv2d" and conv["a"]["summarised"]

    # Forward: the example's image on the input block, one bar per filter on the convolution.
    page.wait_for_selector("#step-input[data-image='x'][data-drawn='true']")
    strip = ".gblock[data-block='0'] .step-strip"
    assert page.get_attribute(strip, "data-unit") == "filter"
    assert page.get_attribute(strip, "data-values") == "16"
    norm = sum(v * v for v in conv["a"]["channel_norms"][0]) ** 0.5
    badge = page.text_content(".gblock[data-block='0'] .step-badge")
    assert abs(number_after(badge, "‖a‖") - norm) < 0.01 * norm, badge
    dense = trace["layers"][3]
    assert value(page, ".gblock[data-block='3'] .neuron[data-index='0']") == dense["a"][0][0]
    for j in range(8):  # the first 8 of the 10 class probabilities, one per output node
        assert value(page, f".gblock-head .neuron[data-index='{j}']") == trace["output"][0][j]

    # Backward: ∂L/∂x as an image, the conv's gradient norm, δ per filter.
    phase(page, "b", "backward")
    page.wait_for_selector("#step-input[data-image='input_grad'][data-drawn='true']")
    assert page.get_attribute(strip, "data-values") == "16"
    assert "‖∇‖" in page.text_content(".gblock[data-block='0'] .step-badge")
    assert value(page, ".gblock[data-block='3'] .neuron[data-index='0']") == dense["delta"][0][0]

    # Update: Adam's rule and each filter's change.
    phase(page, "u", "update")
    assert "Adam: m ← β₁m + (1 − β₁)·g" in page.text_content("#step-explain")
    assert page.get_attribute(strip, "data-values") == "16"
    assert "‖Δw‖" in page.text_content(".gblock[data-block='0'] .step-badge")
    phase(page, "e", "error")
    assert "cross-entropy" in page.text_content("#step-explain")
    phase(page, "f", "forward")

    # The batch's images: choose the third, then step on it alone.
    assert page.locator("#step-thumbs .step-thumb").count() == 16
    page.click("#step-thumbs .step-thumb >> nth=2")
    assert page.input_value("#step-example") == "2"
    assert value(page, ".gblock[data-block='3'] .neuron[data-index='0']") == dense["a"][2][0]
    page.click("#step-alone")
    single = wait_trace(page, lab.base, not_batch=batch_key(trace))
    assert single["single"] and single["samples"] == [trace["samples"][2]]
    lab.screenshot("step-through-cnn")
    page.click("#stop")
    wait_status(page, "stopped")


def test_a_watcher_draws_the_presenters_trace(lab, browser):
    from test_watch import second_page

    owner = lab.page
    lab.open("#lesson=one-step")
    owner.wait_for_selector("body[data-check='ok']")
    owner.click("#step-mode")
    first = wait_trace(owner, lab.base)
    run_id = owner.evaluate("window.layerlab.session.runId")
    with second_page(browser, lab.base) as viewer:
        page = viewer.page
        page.goto(f"{lab.base}/#watch={run_id}")
        page.wait_for_selector("body[data-ready='true']", timeout=20_000)
        # Joining late: the latest trace comes after hello, drawn at once.
        page.wait_for_selector("#step-explain[data-phase='forward']")
        node = ".gblock[data-block='0'] .neuron[data-index='0']"
        assert value(page, node) == first["layers"][0]["a"][0][0]
        assert page.is_disabled("#step-next")  # only the owner steps the run
        # The presenter's next step reaches the watcher and is drawn there.
        owner.keyboard.press("n")
        second = wait_trace(owner, lab.base, not_batch=batch_key(first))
        page.wait_for_function(
            "(b) => window.layerlab.session.trace?.batch === b", arg=second["batch"]
        )
        page.wait_for_function(
            "([sel, v]) => document.querySelector(sel)?.dataset.stepValue === String(v)",
            arg=[node, second["layers"][0]["a"][0][0]],
        )
        page.wait_for_selector(f"#step-marker[data-sample='{second['samples'][0]}']")
        page.click("#step-backward")  # outside the network's locked fieldset: clickable
        page.wait_for_selector("#step-links[data-phase='backward'][data-drawn='true']")
        assert value(page, node) == second["layers"][0]["delta"][0][0]
        viewer.screenshot("step-through-watcher")
        assert not viewer.unexpected_errors(), viewer.errors
    owner.click("#stop")
    wait_status(owner, "stopped")


def test_a_clicked_preview_point_maps_to_its_training_index(lab):
    """Previews keep at most 600 training points, evenly spread: the page's inverse is exact."""
    from server.engine.datasets.preview import first

    lab.open()
    sizes = [1, 250, 600, 601, 1000, 2500, 4999]
    mapped = lab.page.evaluate(
        """(sizes) => import('/static/js/widgets/step-through.js').then((m) =>
             sizes.map((n) => Array.from({length: Math.min(n, 600)}, (_, j) => m.trainIndex(j, n))))""",
        sizes,
    )
    for n, indices in zip(sizes, mapped, strict=True):
        assert indices == first(n, 600).tolist(), n
