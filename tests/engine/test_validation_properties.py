"""Property checks (hypothesis) of experiment validation, the check every design, run, sweep
and class experiment goes through: whatever JSON arrives, it answers with the normalised
experiment or an ExperimentError whose errors each name a place (`loc`), never another
exception (a 500 at the API), and what it accepts it accepts again unchanged."""

from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.api.models import SPIRAL_EXAMPLE
from server.config import Settings
from server.engine.errors import ExperimentError, error_list
from server.engine.layers import describe_layers
from server.engine.validation import validate_experiment

SETTINGS = Settings(persist_runs=False)
LAYER_TYPES = [entry["type"] for entry in describe_layers()]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
PARAM_NAMES = st.sampled_from(
    ["units", "activation", "rate", "filters", "kernel", "stride", "size", "dim", "heads", "id"]
)
LAYER = st.one_of(
    st.fixed_dictionaries(
        {"type": st.sampled_from(LAYER_TYPES)},
        optional={"units": SCALARS, "activation": SCALARS},
    ).flatmap(
        lambda layer: st.dictionaries(PARAM_NAMES, SCALARS, max_size=3).map(
            lambda extra: {**extra, **layer}
        )
    ),
    JSON,
)


@st.composite
def experiments(draw) -> object:
    """The spiral example with parts replaced: layers, a field of a section, or a section."""
    doc = copy.deepcopy(SPIRAL_EXAMPLE)
    doc["training"]["epochs"] = 2
    choice = draw(st.integers(0, 3))
    if choice == 0:
        doc["model"]["layers"] = draw(st.lists(LAYER, max_size=5))
    elif choice == 1:
        section = draw(st.sampled_from(["dataset", "model", "training"]))
        doc[section][draw(st.text(max_size=12) | st.sampled_from(sorted(doc[section])))] = draw(
            SCALARS | JSON
        )
    elif choice == 2:
        doc[draw(st.sampled_from(["dataset", "model", "training"]))] = draw(JSON)
    else:
        return draw(JSON)
    return doc


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(doc=experiments())
def test_validation_answers_every_document_with_a_result_or_located_errors(doc):
    try:
        normalised, check = validate_experiment(doc, SETTINGS)
    except ExperimentError as err:
        errors = error_list(err)
        assert errors and all(isinstance(e["loc"], list) and e["msg"] for e in errors)
        return
    assert isinstance(check, dict) and check.get("total_params") is not None
    again, _ = validate_experiment(normalised, SETTINGS)
    assert again == normalised  # accepted once, accepted again as it is
