"""A class can watch it learn (issue 17): the stage never moves, the pace is live and shared,
overfitting is marked, a weight can be edited while paused, and the type is large enough.

Every wait is on an event of the page (a status, a snapshot, a record), never on a sleep, so
the tests hold on a slow machine; runs that must still be active later train with
`epochs: null`.
"""

from __future__ import annotations

import contextlib
import json

import pytest
from browser_helpers import experiment_hash, spiral, wait_status

pytestmark = pytest.mark.browser

HD = {"width": 1280, "height": 720}

# Every box of the stage that a class looks at: the header and its controls, the run bar and
# its parts, the three columns, the network, each view on the stage and its canvas.
BOXES = """
() => {
  const sel = ['.top', '#lessons', '#starter', '#projector', '#share-live', '#export-links',
    '#run-bar', '#train', '#pace', '#epoch', '#status', '#main', '#data-column',
    '#model-column', '#output-column', '#model-panel', '#graph', '#loss-chart', '#fit-note',
    '#loss-numbers', '#step-mode'];
  const out = {};
  const box = (el) => {
    const r = el.getBoundingClientRect();
    return [r.x, r.y + window.scrollY, r.width, r.height].map((v) => Math.round(v * 2) / 2);
  };
  for (const s of sel) {
    const el = document.querySelector(s);
    if (el && el.offsetParent !== null) out[s] = box(el);
  }
  for (const v of document.querySelectorAll('#output-views > .view')) {
    if (v.hidden) continue;
    out['view ' + v.id] = box(v);
    const c = v.querySelector('canvas');
    if (c) out['canvas ' + v.id] = box(c);
  }
  return out;
}
"""

STARTERS = (
    "() => [...document.querySelectorAll('#starter option')].map((o) => o.value).filter(Boolean)"
)


@contextlib.contextmanager
def page_at(browser, base: str, viewport: dict):
    """A page of its own size (the lab fixture's is 1400x900); fails on console errors."""
    from browser_helpers import PageWatch

    context = browser.new_context(viewport=viewport)
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        watch = PageWatch(page, base)
        yield watch
        assert not watch.unexpected_errors(), watch.unexpected_errors()
    finally:
        context.close()


def settle(page) -> None:
    """The design checked and its preview drawn: the idle stage is complete."""
    page.wait_for_selector("body[data-check='ok']")
    page.wait_for_function(
        "!document.querySelector('#dataset-panel')?.textContent.includes('Loading a preview')"
    )
    page.wait_for_function(
        "new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))"
    )


def differences(a: dict, b: dict) -> list[str]:
    keys = sorted(set(a) | set(b))
    return [f"{k}: {a.get(k)} -> {b.get(k)}" for k in keys if a.get(k) != b.get(k)]


def check_starters_never_move(browser, base: str, projector: bool) -> dict:
    """For every starter: boxes before, during (training, a snapshot drawn) and after a run."""
    moved = {}
    overflow = {}
    with page_at(browser, base, HD) as lab:
        page = lab.page
        lab.open()
        if projector:
            page.click("#projector")
        starters = page.evaluate(STARTERS)
        assert len(starters) >= 15
        for sid in starters:
            page.evaluate("(id) => { location.hash = '#starter=' + id; }", sid)
            page.wait_for_function(
                "(id) => document.getElementById('starter').value === id", arg=sid
            )
            settle(page)
            before = page.evaluate(BOXES)
            page.click("#train")
            wait_status(page, "running")
            page.wait_for_function(
                "window.layerlab.session.snapshot !== null && window.layerlab.session.epoch >= 2",
                timeout=120_000,
            )
            page.wait_for_function(
                "new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))"
            )
            during = page.evaluate(BOXES)
            page.click("#stop")
            wait_status(page, "stopped")
            # The export links are offered (in Projector mode the header keeps them out of view).
            try:
                page.wait_for_function(
                    "!document.getElementById('export-links').classList.contains('off')",
                    timeout=120_000,
                )
            except Exception as err:
                raise AssertionError(f"{sid}: no export links after Stop") from err
            page.wait_for_function(
                "new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))"
            )
            after = page.evaluate(BOXES)
            diff = differences(before, during) + differences(during, after)
            if diff:
                moved[sid] = diff
            # The whole stage on the screen in both modes: nothing below 720 px, nothing
            # cut at the right (the deeper views start under it).
            low = {
                k: v
                for k, v in after.items()
                if v[1] + v[3] > HD["height"] + 0.5 or v[0] + v[2] > HD["width"] + 0.5
            }
            if low:
                overflow[sid] = low
            if sid == "spiral-mlp":
                lab.screenshot(
                    f"stage-{'projector' if projector else 'normal'}-1280x720-spiral-after"
                )
            page.click("#reset")
            wait_status(page, "idle")
    return {"moved": moved, "overflow": overflow}


def test_no_starter_moves_the_stage_when_a_run_starts_or_ends(browser, server_url):
    result = check_starters_never_move(browser, server_url, projector=False)
    assert not result["moved"], json.dumps(result["moved"], indent=1)
    assert not result["overflow"], json.dumps(result["overflow"], indent=1)


def test_in_projector_mode_every_starter_fits_1280x720_and_never_moves(browser, server_url):
    result = check_starters_never_move(browser, server_url, projector=True)
    assert not result["moved"], json.dumps(result["moved"], indent=1)
    assert not result["overflow"], json.dumps(result["overflow"], indent=1)


def test_the_pace_control_is_live_and_a_watcher_follows(lab, browser, server_url):
    owner = lab.page
    lab.open(experiment_hash(spiral(epochs=None, samples=200)))
    owner.wait_for_selector("body[data-check='ok']")
    owner.click("#pace-normal")
    assert owner.get_attribute("#pace-normal", "aria-pressed") == "true"
    assert owner.evaluate("window.layerlab.experiment.training.pace") == 20
    owner.click("#train")
    wait_status(owner, "running")
    run_id = owner.evaluate("window.layerlab.session.runId")
    sent = []
    owner.on("request", lambda r: sent.append(r.post_data) if r.url.endswith("/control") else None)

    with page_at(browser, server_url, HD) as watcher:
        watcher.open(f"#watch={run_id}")
        w = watcher.page
        w.wait_for_function("window.layerlab.session.epoch >= 1")
        assert w.get_attribute("#pace-normal", "aria-pressed") == "true"
        assert w.is_disabled("#pace-slow"), "a watcher cannot change the pace"

        owner.click("#pace-slow")
        owner.wait_for_function(
            "document.getElementById('pace-slow').getAttribute('aria-pressed') === 'true'"
        )
        w.wait_for_function(
            "document.getElementById('pace-slow').getAttribute('aria-pressed') === 'true'"
        )
        assert w.get_attribute("#pace-normal", "aria-pressed") == "false"
        assert {"action": "pace", "value": 5} in [json.loads(b) for b in sent if b]

        owner.click("#pace-full")
        w.wait_for_function(
            "document.getElementById('pace-full').getAttribute('aria-pressed') === 'true'"
        )
        assert {"action": "pace", "value": None} in [json.loads(b) for b in sent if b]
        assert w.evaluate("window.layerlab.session.pace") is None
    owner.click("#stop")
    wait_status(owner, "stopped")


def test_starters_choose_a_pace_a_class_can_follow(lab):
    page = lab.page
    lab.open()
    paces = page.evaluate(
        """async () => {
             const { STARTERS } = await import('/static/js/starters.js');
             return STARTERS.filter((s) => !s.sweep).map((s) => [s.id, s.family, s.experiment.training.pace ?? null]);
           }"""
    )
    for sid, family, pace in paces:
        if family == "2d":
            assert pace is not None and pace <= 30, f"{sid} trains at {pace}"
    page.wait_for_selector("body[data-check='ok']")
    # The default starter shows its pace on the run bar; full speed is one click away.
    assert page.get_attribute("#pace-normal", "aria-pressed") == "true"
    assert page.is_enabled("#pace-full")


def test_overfitting_is_marked_with_what_to_try(lab):
    page = lab.page
    # Few points, a wide network and no regularisation: validation loss turns up quickly.
    doc = spiral(epochs=None, samples=60, batch_size=10, learning_rate=0.03)
    doc["dataset"]["noise"] = 0.4
    doc["model"]["layers"] = [{"type": "dense", "units": 32, "activation": "relu"}] * 3
    lab.open(experiment_hash(doc))
    page.wait_for_selector("body[data-check='ok']")
    page.click("#train")
    page.wait_for_selector("#fit-note[data-state='overfitting']", timeout=120_000)
    text = page.text_content("#fit-note")
    assert text.startswith("Overfitting since epoch ")
    since = int(text.split("epoch ")[1].split(":")[0].replace(",", ""))
    best = page.evaluate(
        """() => { const v = window.layerlab.session.records.filter((r) => r.val_loss !== null);
                   return v.reduce((a, b) => (b.val_loss < a.val_loss ? b : a)).epoch; }"""
    )
    assert since == best or since <= page.evaluate("window.layerlab.session.epoch") - 40
    for word in ("more data", "noise", "L2", "dropout", "early stopping"):
        assert word in text
    assert page.get_attribute("#loss-chart", "data-points")
    page.click("#stop")
    wait_status(page, "stopped")


def test_clicking_a_link_of_a_paused_run_edits_its_weight(lab):
    page = lab.page
    lab.open(experiment_hash(spiral(epochs=None)))
    page.wait_for_selector("body[data-check='ok']")
    page.click("#step")  # a run created paused, one epoch trained
    wait_status(page, "paused")
    page.wait_for_function("window.layerlab.session.snapshot?.boundary?.weights?.length >= 2")
    page.wait_for_selector(".network-editor.weights-editable")
    # The link from x1 to layer 1, neuron 1, on the canvas: hover until the readout names it.
    target = page.evaluate(
        """() => {
             const g = document.getElementById('graph').getBoundingClientRect();
             const a = document.querySelector(".gblock-input .neuron[data-index='0']").getBoundingClientRect();
             const z = document.querySelector(".gblock[data-block='0'] .neuron[data-index='0']").getBoundingClientRect();
             return {x1: a.right, y1: a.top + a.height / 2, x2: z.left, y2: z.top + z.height / 2};
           }"""
    )
    x = target["x1"] + (target["x2"] - target["x1"]) * 0.15
    y = target["y1"] + (target["y2"] - target["y1"]) * 0.15
    page.mouse.move(x, y)
    page.wait_for_function(
        "document.getElementById('network-graph-readout').textContent.startsWith('Weight from x')"
    )
    readout = page.text_content("#network-graph-readout")
    assert "to layer 1 neuron 1" in readout, readout
    page.mouse.click(x, y)
    page.wait_for_selector("#weight-edit:not([hidden])")
    assert page.text_content("#weight-label").startswith("Weight from x")
    sent = []
    page.on(
        "request",
        lambda r: sent.append(json.loads(r.post_data)) if r.url.endswith("/control") else None,
    )
    page.fill("#weight-value", "1.25")
    page.press("#weight-value", "Enter")
    page.wait_for_function("window.layerlab.session.snapshot.boundary.weights[0][0][0] === 1.25")
    edit = next(s for s in sent if s["action"] == "set_weight")
    assert (
        edit["value"]["weight"] == 1.25 and edit["value"]["to"] == 0 and edit["value"]["layer"] == 0
    )
    # The shown weight is the new one: the readout says so on the next hover.
    page.mouse.move(1, 1)
    page.mouse.move(x, y)
    page.wait_for_function(
        "document.getElementById('network-graph-readout').textContent.includes('1.25')"
    )
    page.click("#stop")
    wait_status(page, "stopped")


def font_px(page, selector: str) -> float:
    return page.evaluate(
        "(s) => parseFloat(getComputedStyle(document.querySelector(s)).fontSize)", selector
    )


def test_the_stage_reads_from_the_back_of_the_room(browser, server_url):
    with page_at(browser, server_url, HD) as lab:
        page = lab.page
        lab.open(experiment_hash(spiral(epochs=None)))
        page.wait_for_selector("body[data-check='ok']")
        page.click("#train")
        page.wait_for_function("window.layerlab.session.epoch >= 5")
        page.wait_for_function("document.getElementById('stage-metric').textContent.endsWith('%')")
        for sel in ("#train-loss", "#val-loss", "#stage-metric", "#fit-note", "#train-loss-label"):
            assert font_px(page, sel) >= 16, sel
        # The chart's own type: its tick labels are drawn at 16 px (the canvas says so).
        assert float(page.get_attribute("#loss-chart", "data-label-px")) >= 16
        chart = page.evaluate(
            "(() => { const r = document.getElementById('loss-chart').getBoundingClientRect(); return [r.width, r.height]; })()"
        )
        assert chart[0] >= 400 and chart[1] >= 150, chart
        # The surface redraws as snapshots arrive; the loss chart at most 12 times a second
        # however fast records come (a bound, whatever the machine's speed).
        frames = page.evaluate("window.layerlab.surfaceFrames()")
        page.wait_for_function(f"window.layerlab.surfaceFrames() >= {frames + 3}")
        t0, d0 = page.evaluate(
            "[performance.now(), +document.getElementById('loss-chart').dataset.draws]"
        )
        page.wait_for_timeout(1500)
        t1, d1 = page.evaluate(
            "[performance.now(), +document.getElementById('loss-chart').dataset.draws]"
        )
        assert (d1 - d0) <= 12 * (t1 - t0) / 1000 + 2, (
            f"{d1 - d0} loss chart draws in {t1 - t0:.0f} ms"
        )
        page.click("#loss-axis-log")
        assert page.get_attribute("#loss-axis-log", "aria-pressed") == "true"
        page.click("#projector")
        page.wait_for_function("document.getElementById('loss-chart').dataset.labelPx > 16")
        assert float(page.get_attribute("#loss-chart", "data-label-px")) > 16
        lab.screenshot("stage-reads-projector")
        page.click("#stop")
        wait_status(page, "stopped")


def test_early_stopping_ends_the_run_and_names_the_best_epoch(lab):
    page = lab.page
    doc = spiral(epochs=None, samples=60, batch_size=10, learning_rate=0.03, early_stopping=25)
    doc["dataset"]["noise"] = 0.4
    doc["model"]["layers"] = [{"type": "dense", "units": 32, "activation": "relu"}] * 3
    lab.open(experiment_hash(doc))
    page.wait_for_selector("body[data-check='ok']")
    # The patience is a training setting of its own (the form is generated from the schema).
    assert page.input_value("#training-early_stopping") == "25"
    page.click("#train")
    wait_status(page, "finished", timeout=120_000)
    page.wait_for_selector("#fit-note[data-state='stopped-early']")
    best = page.evaluate("window.layerlab.session.bestEpoch")
    assert isinstance(best, int) and best >= 1
    assert f"epoch {best:,}" in page.text_content("#fit-note")
    assert page.evaluate("window.layerlab.session.epoch") >= best + 25


STEP_VALUES = """
() => [...document.querySelectorAll('#graph .step-value')].filter((v) => v.textContent).map((v) => {
  const node = v.parentElement.getBoundingClientRect();
  const text = document.createRange();
  text.selectNodeContents(v);
  const r = text.getBoundingClientRect();
  return {text: v.textContent, px: parseFloat(getComputedStyle(v).fontSize),
          inside: r.left >= node.left - 0.5 && r.right <= node.right + 0.5};
})
"""


@pytest.mark.parametrize("projector", [False, True])
def test_step_through_reads_from_the_back_with_its_formula_and_lesson_beside(
    browser, server_url, projector
):
    with page_at(browser, server_url, HD) as lab:
        page = lab.page
        lab.open("#lesson=one-step")
        page.wait_for_selector("body[data-check='ok']")
        if projector:
            page.click("#projector")
        page.click("#step-mode")
        page.wait_for_selector("#step-links[data-phase='forward'][data-drawn='true']")
        values = page.evaluate(STEP_VALUES)
        assert len(values) >= 5, values
        for v in values:
            assert v["px"] >= 14 and v["inside"], v
        # The formula is on screen without hovering: the output's, in its band by the graph.
        formula = page.locator("#step-formula")
        assert formula.is_visible()
        assert page.text_content("#step-readout").startswith("Output unit 1")
        box = formula.bounding_box()
        assert box["y"] + box["height"] <= HD["height"]
        # Beside the graph, not under it: to its right, level with it.
        beside = page.locator("#graph").bounding_box()
        assert box["x"] >= beside["x"] + beside["width"], (box, beside)
        assert box["y"] < beside["y"] + beside["height"] and box["y"] + box["height"] > beside["y"]
        assert box["width"] >= 160, box
        assert (
            float(
                page.evaluate(
                    "parseFloat(getComputedStyle(document.getElementById('step-readout')).fontSize)"
                )
            )
            >= 15
        )
        # The lesson's note sits beside the stage, on screen with the graph.
        note = page.locator("#lesson-note").bounding_box()
        graph = page.locator("#graph").bounding_box()
        assert note["x"] + note["width"] <= graph["x"] and note["y"] < HD["height"] / 2
        if projector:  # the whole stage, the note and the step controls included, on screen
            for part in ("#data-column", "#model-column", "#output-column"):
                box = page.locator(part).bounding_box()
                assert box["y"] + box["height"] <= HD["height"] + 0.5, (part, box)
        lab.screenshot(f"step-through-{'projector' if projector else 'normal'}-1280x720")
        page.click("#stop")
        wait_status(page, "stopped")


def open_projector(lab, code: str, teacher: str) -> None:
    """The teacher's browser (its token stored) on the class link, in Projector mode."""
    lab.open()
    lab.page.evaluate(
        "(v) => localStorage.setItem('layerlab.teacher', v)",
        json.dumps({"code": code, "token": teacher}),
    )
    lab.page.goto("about:blank")
    lab.open(f"#class={code}")
    lab.page.wait_for_selector("#class-bar:visible")
    lab.page.click("#projector")


def test_the_class_projector_view_fits_in_the_spotlight(browser, server_url):
    """The teacher's playground page in Projector mode: idle, then a student's run in the
    spotlight (class bar and watch banner above the stage), all within 1280x720."""
    import httpx

    made = httpx.post(f"{server_url}/api/classes", json={"name": "9B"}).json()
    code, teacher = made["code"], made["teacher_token"]
    student = httpx.post(f"{server_url}/api/classes/{code}/join", json={"name": "Ada"}).json()
    doc = spiral(epochs=None, samples=300)
    doc["training"]["pace"] = 20
    run = httpx.post(
        f"{server_url}/api/runs", json=doc, headers={"X-Student-Token": student["student_token"]}
    ).json()
    fits = """() => ['main', 'output-column', 'model-column', 'data-column', 'class-bar']
      .map((id) => [id, document.getElementById(id).getBoundingClientRect().bottom])"""
    with page_at(browser, server_url, HD) as lab:
        page = lab.page
        open_projector(lab, code, teacher)
        for where, bottom in page.evaluate(fits):
            assert bottom <= HD["height"], (where, bottom)
        spot = httpx.post(
            f"{server_url}/api/classes/{code}/spotlight",
            json={"run_id": run["id"]},
            headers={"X-Teacher-Token": teacher},
        )
        assert spot.status_code == 200, spot.text
        page.wait_for_function("window.layerlab.watching !== null")
        page.wait_for_function("window.layerlab.session.snapshot !== null")
        page.wait_for_selector("#watch-banner:visible")
        for where, bottom in page.evaluate(fits):
            assert bottom <= HD["height"], (where, bottom)
        lab.screenshot("class-projector-spotlight-1280x720")
    httpx.post(
        f"{server_url}/api/runs/{run['id']}/control",
        json={"action": "stop"},
        headers={"X-Run-Token": run["token"], "X-Student-Token": student["student_token"]},
    )


def test_the_class_projector_view_shows_a_run_through_to_finished(browser, server_url):
    """The class's Projector view with a student's run in the spotlight, from training to
    finished: the stage keeps every box where it was and fits 1280x720 in both states."""
    import httpx

    with httpx.Client(timeout=60, trust_env=False) as http:
        made = http.post(f"{server_url}/api/classes", json={"name": "9C"}).json()
        code, teacher = made["code"], made["teacher_token"]
        student = http.post(f"{server_url}/api/classes/{code}/join", json={"name": "Bo"}).json()
        doc = spiral(epochs=400, samples=300)
        doc["training"]["pace"] = 20  # still training while the spotlight opens, however fast
        headers = {"X-Student-Token": student["student_token"]}
        run = http.post(f"{server_url}/api/runs", json=doc, headers=headers).json()
        with page_at(browser, server_url, HD) as lab:
            page = lab.page
            open_projector(lab, code, teacher)
            spot = http.post(
                f"{server_url}/api/classes/{code}/spotlight",
                json={"run_id": run["id"]},
                headers={"X-Teacher-Token": teacher},
            )
            assert spot.status_code == 200, spot.text
            page.wait_for_selector("#watch-banner:visible")
            wait_status(page, "running")
            page.wait_for_function("window.layerlab.session.snapshot !== null")
            training = page.evaluate(BOXES)
            bottoms = page.evaluate(FITS)
            # Full speed from here: the remaining epochs end the run, and the watchers see it end.
            paced = http.post(
                f"{server_url}/api/runs/{run['id']}/control",
                json={"action": "pace", "value": None},
                headers={"X-Run-Token": run["token"], **headers},
            )
            assert paced.status_code == 200, paced.text
            wait_status(page, "finished")
            assert page.evaluate("window.layerlab.session.epoch") == 400
            page.wait_for_function(
                "new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))"
            )
            for where, bottom in bottoms + page.evaluate(FITS):
                assert bottom <= HD["height"], (where, bottom)
            assert not differences(training, page.evaluate(BOXES))
            lab.screenshot("class-projector-finished-1280x720")


FITS = """() => ['main', 'output-column', 'model-column', 'data-column', 'class-bar', 'watch-banner']
  .map((id) => [id, document.getElementById(id).getBoundingClientRect().bottom])"""
