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


def test_network_edit_operations_are_pure(lab):
    lab.open()
    result = run(
        lab,
        """
        const e = await m('widgets/network-editor/edits.js');
        const layers = [{type: 'dense', units: 4, activation: 'relu'}, {type: 'dropout', p: 0.1}];
        const frozen = JSON.stringify(layers);
        const snap = {neuron_layers: [-1, 0, 2], weights: [[[1, 2], [3, 4]], [[5, 6]]],
                      biases: [[0.1, 0.2], [0.3]]};
        return {
          inserted: e.insertLayer(layers, 1, 'dense', {units: 8}),
          removed: e.removeLayer(layers, 0),
          moved: e.moveLayer(layers, 0, 1),
          edge: e.moveLayer(layers, 1, 1),
          units: e.changeUnits(layers, 0, -10)[0].units,
          lastHidden: e.lastHiddenIndex(layers),
          none: e.lastHiddenIndex([]),
          added: e.addHiddenLayer(layers, {}, 1),
          flattened: e.addHiddenLayer([{type: 'conv2d'}], {units: 16}, 3),
          rank: [e.rankAt({input_shape: [2], layers: [{index: 0, output_shape: [1, 8, 8]}]}, 1),
                 e.rankAt(null, 0)],
          weight: e.weightEdit(snap, 1, 1, 0, 0.5),
          head: e.weightEdit(snap, 2, 0, 1, -2),
          bias: e.weightEdit(snap, 1, 0, null, 0.7),
          outside: e.weightEdit(snap, 0, 0, 0, 1),
          shown: e.withWeight(snap, 1, 1, 0, 0.5).weights[0],
          shownBias: e.withWeight(snap, 2, 0, null, 9).biases,
          untouched: JSON.stringify(layers) === frozen && snap.weights[0][1][0] === 3,
        };
        """,
    )
    assert result["inserted"] == {
        "layers": [
            {"type": "dense", "units": 4, "activation": "relu"},
            {"type": "dense", "units": 8},
            {"type": "dropout", "p": 0.1},
        ],
        "select": 1,
    }
    assert result["removed"] == {"layers": [{"type": "dropout", "p": 0.1}], "select": None}
    assert result["moved"]["select"] == 1 and result["moved"]["layers"][0]["type"] == "dropout"
    assert result["edge"] is None
    assert result["units"] == 1
    assert result["lastHidden"] == 0 and result["none"] == -1
    assert result["added"]["layers"][-1] == {"type": "dense", "units": 4, "activation": "relu"}
    assert result["added"]["select"] == 2
    assert [x["type"] for x in result["flattened"]["layers"]] == ["conv2d", "flatten", "dense"]
    assert result["rank"] == [3, None]
    assert result["weight"] == {"layer": 0, "to": 1, "from": 0, "weight": 0.5}
    assert result["head"] == {"layer": "head", "to": 0, "from": 1, "weight": -2}
    assert result["bias"] == {"layer": 0, "to": 0, "bias": 0.7}
    assert result["outside"] is None
    assert result["shown"] == [[1, 2], [0.5, 4]]
    assert result["shownBias"] == [[0.1, 0.2], [9]]
    assert result["untouched"] is True


def test_fit_reads_the_best_epoch_and_overfitting(lab):
    lab.open()
    result = run(
        lab,
        """
        const f = await m('fit.js');
        // Validation loss falls to epoch 50, then rises for 100 epochs; training keeps falling.
        const rising = Array.from({length: 150}, (_, i) => ({epoch: i + 1, loss: 1 / (i + 2),
          val_loss: i < 50 ? 1 - i * 0.015 : 0.265 + (i - 49) * 0.01}));
        const falling = rising.map((r) => ({...r, val_loss: 1 / (r.epoch + 1)}));
        const log = f.xAxis('log', 1, 1000);
        const recent = f.xAxis('recent', 1, 1000, 200);
        return {
          best: f.bestEpoch(rising), over: f.overfitting(rising), fine: f.overfitting(falling),
          short: f.overfitting(rising.slice(0, 30)),
          ema: f.ema([1, null, 3], 0.5), none: f.bestEpoch([{epoch: 1, val_loss: null}]),
          smooth: [f.smoothingFor(10), f.smoothingFor(4000)],
          log: [log.x(1), log.x(1000), log.ticks], recent: [recent.e0, recent.x(900)],
        };
        """,
    )
    assert result["best"]["epoch"] == 50
    assert result["over"]["since"] == 50 and result["over"]["now"] > result["over"]["best"]
    assert result["fine"] is None and result["short"] is None
    assert result["ema"] == [1, 1, 2]
    assert result["none"] is None
    assert result["smooth"] == [1, 0.01]
    assert result["log"][0] == 0 and result["log"][1] == pytest.approx(1)
    assert result["log"][2] == [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
    assert result["recent"] == [800, 0.5]
