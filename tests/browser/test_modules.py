"""The page's pure modules, run in the browser: URL state, byte grids, error sorting."""

from __future__ import annotations

import base64

import pytest

pytestmark = pytest.mark.browser


def run(lab, body: str):
    """Evaluate an async function body in the page, with `m(path)` importing a module."""
    return lab.page.evaluate(
        f"async () => {{ const m = (p) => import('/static/js/' + p); {body} }}"
    )


def test_url_state_round_trip(lab):
    lab.open()
    result = run(
        lab,
        """
        const s = await m('state.js');
        const doc = {dataset: {name: 'spiral', note: 'ünïcødé ✓ #&?'},
                     model: {layers: [{type: 'dense', units: 3}]}, training: {epochs: 2}};
        const hash = s.encodeExperiment(doc);
        return {hash, back: s.readHash(hash), bad: s.readHash('#e=%%%'),
                json: s.readHash('#json=' + encodeURIComponent(JSON.stringify(doc))),
                starter: s.readHash('#starter=digits-cnn'), none: s.readHash(''),
                incomplete: s.readHash(s.encodeExperiment({dataset: {}}))};
        """,
    )
    assert result["hash"].startswith("#e=") and "=" not in result["hash"][3:]
    assert all(c not in result["hash"][3:] for c in "+/#&?")
    assert result["back"]["experiment"]["dataset"]["note"] == "ünïcødé ✓ #&?"
    assert result["json"]["experiment"] == result["back"]["experiment"]
    assert "error" in result["bad"]
    assert result["starter"] == {"starter": "digits-cnn"}
    assert result["none"] == {}
    assert "error" in result["incomplete"]


def test_byte_grid_decoding(lab):
    lab.open()
    raw = bytes([0, 51, 102, 255, 127, 128])
    b64 = base64.b64encode(raw).decode()
    result = run(
        lab,
        f"""
        const b = await m('bytegrid.js');
        const grid = {{shape: [2, 3], lo: -1, hi: 4, b64: '{b64}'}};
        const g = b.decodeGrid(grid);
        const sym = b.divergingBytes({{shape: [3], lo: -2, hi: 2, b64: btoa(String.fromCharCode(0, 255, 127))}});
        return {{shape: g.shape, values: Array.from(b.gridValues(grid)), cached: b.decodeGrid(grid) === g,
                sym: Array.from(sym), nothing: b.decodeGrid(null)}};
        """,
    )
    assert result["shape"] == [2, 3]
    expected = [-1 + 5 * v / 255 for v in raw]
    assert result["values"] == pytest.approx(expected, abs=1e-5)
    assert result["cached"] is True
    assert result["sym"][0] == 0 and result["sym"][1] == 255 and result["sym"][2] in (127, 128)
    assert result["nothing"] is None


def test_check_errors_are_sorted_by_place(lab):
    lab.open()
    result = run(
        lab,
        """
        const c = await m('checker.js');
        const out = c.sortErrors([
          {loc: ['body', 'model', 'layers', 2, 'kernel_size'], msg: 'Input should be less than or equal to 8'},
          {loc: ['model', 'layers', 0], msg: 'layer 0 (conv2d) needs an image'},
          {loc: ['model', 'layers', 9], msg: 'out of range'},
          {loc: ['dataset', 'noise'], msg: 'Input should be less than or equal to 1'},
          {loc: ['dataset', 'name'], msg: 'unknown dataset'},
          {loc: ['training', 'epochs'], msg: 'Input should be greater than or equal to 1'},
        ], 3);
        return {layers: Object.fromEntries(out.layers), dataset: out.dataset,
                training: out.training, general: out.general};
        """,
    )
    # The validator's words become sentences about the field; layers are numbered from 1.
    assert result["layers"] == {
        "2": [
            {
                "field": "kernel_size",
                "msg": "Input should be less than or equal to 8",
                "text": "Kernel size must be at most 8.",
            }
        ],
        "0": [
            {
                "field": None,
                "msg": "layer 0 (conv2d) needs an image",
                "text": "Layer 1 (conv2d) needs an image.",
            }
        ],
    }
    assert result["dataset"] == {"noise": "Noise must be at most 1.", "": "Unknown dataset."}
    assert result["training"] == {"epochs": "Epochs must be at least 1."}
    assert result["general"] == ["model › layers › 9: Out of range."]


def test_every_layer_type_gets_a_form(lab):
    """No layer type is hard-coded: the palette and each form come from GET /api/layers."""
    lab.allow(r"status of 422")  # one of every layer in a row is no valid network
    page = lab.page
    lab.open("#starter=digits-cnn")
    types = page.evaluate("fetch('/api/layers').then((r) => r.json())")
    palette = page.eval_on_selector_all(
        "[data-add-layer]", "els => els.map(e => e.dataset.addLayer)"
    )
    assert sorted(palette) == sorted(t["type"] for t in types)
    page.click("#new")
    for t in types:
        page.click(f"[data-add-layer='{t['type']}']")
    for i, t in enumerate(types):
        card = page.locator(f"[data-layer-index='{i}']")
        assert card.get_attribute("data-layer-type") == t["type"]
        for name in t["params"].get("properties", {}):
            assert page.locator(f"#layer-{i}-{name}").count() == 1, (t["type"], name)
