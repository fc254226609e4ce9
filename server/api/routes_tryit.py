"""Try it (issue 23): the map of a text run's words without a sentence to ask about, and
validation clips of a speech run's data to try when there is no microphone.

The text try-it view gets the map with every explained answer (predict's `word_map`); this
route gives it on its own, for a page that opens on a run or a script. It asks through the same
path as `/predict` (the run's turn in its worker while it is active, its saved weights in an
offline process once it ended), so the same bounds hold: LAYERLAB_MAX_ASKS_PER_RUN and
LAYERLAB_MAX_ASKS_PER_CLIENT (429), LAYERLAB_MAX_OFFLINE_JOBS, the watchdog.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request

from ..engine.tryit_clips import MAX_CLIPS, ClipsError, validation_clips
from ..runs.manager import BadInput
from .deps import ClientDep, ManagerDep, OfflineDep, RunDep, SettingsDep, StoreDep
from .models import PredictRequest
from .routes_inspect import predict_run

router = APIRouter(prefix="/api/runs", tags=["runs"])


@router.get(
    "/{run_id}/words",
    responses={
        404: {"description": "no such run, or its data has no words (only sets like sentiment)"},
        409: {"description": "the run ended without weights, or its model has no embedding first"},
        429: {"description": "too many predictions waiting (LAYERLAB_MAX_ASKS_*)"},
    },
)
async def get_words(
    run: RunDep,
    manager: ManagerDep,
    store: StoreDep,
    offline: OfflineDep,
    client: ClientDep,
    request: Request,
) -> dict[str, Any]:
    """The embedding of every vocabulary word projected to 2D by PCA, with the model's class
    probabilities for each word read alone: `{"words", "points" (V, 2), "alone" (V, classes),
    "dim", "class_names"}` (the current weights of an active run, the saved ones after)."""
    question = PredictRequest(input="", explain=True)  # no words: only the map is wanted
    try:
        answer = await predict_run(run, question, manager, store, offline, client, request)
    except BadInput:  # a set without words refuses a sentence
        raise HTTPException(404, f"run {run.id} reads no words: its data has none") from None
    if not answer.get("words"):
        raise HTTPException(404, f"run {run.id} reads no words: its data has token ids only")
    if not answer.get("word_map"):
        raise HTTPException(
            409, f"run {run.id} has no map of words: its first layer is not an embedding"
        )
    return {**answer["word_map"], "class_names": answer.get("class_names")}


@router.get(
    "/{run_id}/clips",
    responses={404: {"description": "no such run, or its data offers no clips"}},
)
def get_clips(
    run: RunDep,
    settings: SettingsDep,
    count: Annotated[int, Query(ge=1, le=MAX_CLIPS, description="how many clips")] = 20,
) -> dict[str, Any]:
    """Validation examples of the run's data (its split: clips it did not train on), the
    classes in turn: `{"images" (k, H, W) in 0..1, "labels", "class_names", "split"}`; for
    spoken_digits, what the speech try-it sends when there is no microphone."""
    try:
        return validation_clips(run.experiment.get("dataset") or {}, settings, count)
    except ClipsError as err:
        raise HTTPException(404, f"run {run.id} has no clips: {err}") from None
