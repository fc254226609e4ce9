"""Property-based (hypothesis): experiment documents generated from the registries, valid and
invalid, against the live server's /api/check and /api/runs. Never a 5xx, never a dead worker,
and a failed run never shows PyTorch's own words.

The documents are built from the same JSON schemas the page gets (`GET /api/layers`,
`GET /api/datasets`, the training form): mostly in-range values (kept small so runs are
short), sometimes out of range, of the wrong type, unknown, or missing.
"""

from __future__ import annotations

import math
import time

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from live_server import TERMINAL, Live

from server.config import Settings
from server.engine.datasets import describe_datasets
from server.engine.layers import describe_layers
from server.engine.schema import describe_training

LAYERS = {entry["type"]: entry["params"] for entry in describe_layers()}
DATASETS = {entry["name"]: entry["params"] for entry in describe_datasets(Settings())}
TRAINING = describe_training(1000, 4096)["params"]
SMALL_CAP = {"samples": 300, "epochs": 2, "length": 32, "units": 32, "filters": 8, "dim": 16}
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=8),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)
RAW_TORCH = ("Expected ", "torch.Size", "mat1 and mat2", "RuntimeError", "Traceback")


def _valid(name: str, prop: dict) -> st.SearchStrategy:
    """An in-range value for one property of a registry schema (numbers kept small)."""
    if "enum" in prop:
        return st.sampled_from(prop["enum"])
    kind = prop.get("type")
    if kind is None and "anyOf" in prop:
        options = [p for p in prop["anyOf"] if p.get("type") != "null"]
        return _valid(name, options[0]) if options else st.none()
    lo, hi = prop.get("minimum"), prop.get("maximum")
    if kind == "integer":
        lo = int(lo if lo is not None else 0)
        hi = int(hi if hi is not None else lo + 64)
        hi = max(lo, min(hi, SMALL_CAP.get(name, lo + 64)))
        return st.integers(min_value=lo, max_value=hi)
    if kind == "number":
        if "exclusiveMinimum" in prop:
            lo = float(prop["exclusiveMinimum"]) + 1e-6
        if "exclusiveMaximum" in prop:
            hi = float(prop["exclusiveMaximum"]) - 1e-6
        lo = float(lo if lo is not None else 0.0)
        hi = float(hi if hi is not None else lo + 10.0)
        return st.floats(min_value=lo, max_value=min(hi, lo + 10.0), allow_nan=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        items = prop.get("items", {})
        if "enum" in items:
            return st.lists(
                st.sampled_from(items["enum"]),
                min_size=prop.get("minItems", 0),
                max_size=max(prop.get("minItems", 0), min(prop.get("maxItems", 3), 3)),
                unique=bool(prop.get("uniqueItems")),
            )
        return st.lists(st.integers(min_value=0, max_value=9), min_size=1, max_size=3)
    if kind == "string":
        return st.text(max_size=6)
    return JUNK


def _params(schema: dict) -> st.SearchStrategy[dict]:
    """A subset of a schema's properties, each valid or (sometimes) not, plus stray fields."""
    props = schema.get("properties", {})

    @st.composite
    def build(draw) -> dict:
        out: dict = {}
        for name, prop in props.items():
            # Hypothesis favours the ends of a range, so the rare choice sits in the middle.
            choice = draw(st.integers(0, 19))
            if choice < 8:
                continue  # the default
            out[name] = draw(JUNK) if choice == 13 else draw(_valid(name, prop))
        if draw(st.integers(0, 19)) == 10:
            out[draw(st.text(min_size=1, max_size=6))] = draw(JUNK)
        return out

    return build()


@st.composite
def experiments(draw) -> dict:
    """An experiment document from the registries: mostly well-formed, sometimes not."""
    name = draw(st.sampled_from([*sorted(DATASETS), "", "nonsense"]))
    dataset = {"name": name, **draw(_params(DATASETS.get(name, {})))}
    layers = []
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from([*sorted(LAYERS), "nonsense"]))
        layers.append({"type": kind, **draw(_params(LAYERS.get(kind, {})))})
    training = draw(_params(TRAINING))
    training.setdefault("epochs", 1)
    doc: dict = {"dataset": dataset, "model": {"layers": layers}, "training": training}
    mangle = draw(st.integers(0, 24))
    if mangle == 11:
        doc = draw(JUNK)
    elif mangle == 12:
        del doc[draw(st.sampled_from(sorted(doc)))]
    elif mangle == 13:
        doc["model"] = draw(JUNK)
    return doc


def _no_server_error(response, doc) -> None:
    assert response.status_code < 500, (response.status_code, response.text, doc)
    assert response.headers["content-type"].startswith("application/json"), doc


def _workers_fine(live: Live, replaced: int) -> None:
    health = live.http.get("/api/health").json()
    assert health["workers_replaced"] == replaced, health
    assert health["workers_unresponsive"] == 0, health


@settings(
    max_examples=120,
    deadline=None,
    derandomize=True,  # the same documents on every run: CI does not flake on a new find
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(doc=experiments())
def test_check_never_answers_a_5xx(live: Live, doc):
    response = live.http.post("/api/check", json=doc)
    event(f"check {response.status_code}")
    _no_server_error(response, doc)
    assert response.status_code in (200, 422), response.text
    if response.status_code == 200:
        result = response.json()
        assert result["step_flops"] <= live.settings.max_step_flops
        assert all(isinstance(layer["flops"], int) for layer in result["layers"])
    else:
        for error in response.json()["detail"]:
            assert error["msg"] and isinstance(error["loc"], list), error


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(doc=experiments())
def test_runs_never_answer_a_5xx_nor_kill_a_worker(live: Live, doc):
    replaced = live.http.get("/api/health").json()["workers_replaced"]
    response = live.http.post("/api/runs", json=doc)
    event(f"runs {response.status_code}")
    _no_server_error(response, doc)
    assert response.status_code in (201, 422), response.text
    if response.status_code == 201:
        run_id = response.json()["id"]
        deadline = time.monotonic() + 90
        while (run := live.http.get(f"/api/runs/{run_id}").json())["status"] not in TERMINAL:
            assert time.monotonic() < deadline, run
            time.sleep(0.05)
        event(f"run {run['status']}")
        if run["status"] in ("failed", "diverged"):
            assert not any(w in (run["message"] or "") for w in RAW_TORCH), run["message"]
        for record in run["history"]:
            assert record["loss"] is None or math.isfinite(record["loss"])
    _workers_fine(live, replaced)
