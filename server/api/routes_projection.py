"""The embedding projector: a run's validation activations at any layer, projected to 2D.

`GET /api/runs/{id}/projection?layer=&method=pca|tsne&limit=&examples=` answers from the
run's worker while it runs or is paused (on whichever replica owns it: asked here, answered
there, server/cluster/relay.py) (in the run's turn, bounded like `/predict` by
LAYERLAB_MAX_ASKS_*), and from its saved weights in the offline process once it has ended.
t-SNE never runs in a worker nor on the event loop: the worker hands over the activations
(at most 50 principal components) and the offline process runs scikit-learn's t-SNE, within
LAYERLAB_TSNE_TIMEOUT_S, counted against LAYERLAB_MAX_OFFLINE_JOBS (429 past it).
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request

from ..core.statuses import ACTIVE
from ..runs.manager import BadInput, ControlRefused
from ..uploads.access import uses
from ..web.owner import MaybeOwner, owns
from .deps import ClientDep, ManagerDep, OfflineDep, RunDep, SettingsDep, StoreDep, TokenDep
from .disconnect import until_disconnected
from .relayed import cluster_of, relay_query
from .routes_runs import export_bytes

router = APIRouter(prefix="/api/runs", tags=["runs"])

EXPORT_WAITS, EXPORT_WAIT_S = 20, 0.25  # a run that just ended: its export within 5 s
FIELDS = ("layer", "method", "limit", "user", "k")  # what an engine refusal may name

REFUSALS: dict[int | str, dict[str, Any]] = {
    403: {"description": "a run on an uploaded dataset: its owner's only"},
    404: {"description": "no such run"},
    409: {"description": "the run cannot answer (ended without weights, failed, diverged)"},
    422: {"description": "a parameter the run cannot answer; `loc` names it"},
    429: {
        "description": "too many questions waiting (LAYERLAB_MAX_ASKS_PER_RUN, "
        "LAYERLAB_MAX_ASKS_PER_CLIENT, LAYERLAB_MAX_OFFLINE_JOBS)"
    },
    503: {"description": "the t-SNE took too long (LAYERLAB_TSNE_TIMEOUT_S) or its process died"},
}


def refuse_field(field: str, msg: str) -> HTTPException:
    """A 422 whose detail names the query parameter, like FastAPI's own validation errors."""
    return HTTPException(422, [{"loc": ["query", field], "msg": msg, "type": "value_error"}])


def guard_examples(run: Any, owner: Any, token: str | None) -> None:
    """A projection shows the validation examples: a run on an uploaded dataset is its owner's
    (X-Run-Token, or the X-Owner-Token it was created with), as its trace is."""
    if uses(run.experiment) and not (run.owns(token) or owns(owner, run.owner)):
        raise HTTPException(
            403,
            "this run trains on an uploaded dataset: its examples are its owner's "
            "(header X-Run-Token or X-Owner-Token)",
        )


async def ask_run(
    run: Any,
    kind: str,
    params: dict,
    *,
    manager: Any,
    store: Any,
    offline: Any,
    client: str,
    request: Request,
) -> dict[str, Any]:
    """The run's answer to a query (engine/queries.py): from its worker while active, from
    its weights in the offline process once ended; a deferred t-SNE (`reduced`) finished in
    the offline process. Engine refusals become 422s at the field they name."""
    cluster = cluster_of(request)
    try:
        answer = None
        if cluster is not None and run.status in ACTIVE and manager.get(run.id) is None:
            # Another replica's run: its owner's worker answers, in the run's turn there.
            question = relay_query(cluster, request, run.id, kind, params, client)
            answer = await until_disconnected(request, question)
            if answer is None:  # it ended meanwhile: read it again, its weights answer
                run = await asyncio.to_thread(manager.find, run.id) or run
        elif run.active:
            try:
                answer = await until_disconnected(
                    request, manager.query(run, kind, params, client=client)
                )
            except ControlRefused:
                if run.active:
                    raise
                # It ended while asked (its worker let it go): its saved weights answer.
        if answer is None:
            answer = await ask_saved(run, kind, params, store=store, offline=offline)
    except BadInput as err:
        msg = str(err)
        field = msg.split(" ", 1)[0]
        raise refuse_field(field if field in FIELDS else "layer", msg) from None
    await finish_tsne(answer.get("map", answer), offline)
    return answer


async def ask_saved(run: Any, kind: str, params: dict, *, store: Any, offline: Any) -> dict:
    """An ended run's answer, from its saved weights in the offline process. A run that has
    just ended may not have its export written yet: its weights are waited for a moment."""

    def weights() -> bytes:  # read once the offline process is this job's
        for _ in range(EXPORT_WAITS):
            try:
                return export_bytes(run, store, "weights.safetensors")
            except HTTPException as err:
                if err.status_code != 404 or run.status not in ("finished", "stopped"):
                    raise HTTPException(409, f"run {run.id} cannot answer: {err.detail}") from None
                last = err
            time.sleep(EXPORT_WAIT_S)
        raise HTTPException(409, f"run {run.id} cannot answer: {last.detail}")

    try:
        error, answer = await offline.query(run.id, run.experiment, weights, (kind, params))
    except RuntimeError as err:
        raise HTTPException(409, f"run {run.id} cannot answer now: {err}") from None
    if error:
        raise BadInput(error)
    return answer


async def finish_tsne(projection: dict[str, Any], offline: Any) -> None:
    """Replace a deferred t-SNE's `reduced` activations with its points (in place)."""
    reduced = projection.pop("reduced", None)
    if reduced is None:
        return
    try:
        projection["points"] = await offline.tsne(reduced)
    except RuntimeError as err:
        raise HTTPException(503, str(err), headers={"Retry-After": "5"}) from None


@router.get("/{run_id}/projection", responses=REFUSALS)
async def get_projection(
    run: RunDep,
    manager: ManagerDep,
    store: StoreDep,
    offline: OfflineDep,
    settings: SettingsDep,
    client: ClientDep,
    request: Request,
    owner: MaybeOwner,
    token: TokenDep = None,
    layer: Annotated[
        str,
        Query(
            max_length=40,
            description="a layer's index (0 is the first), its id, input (-1) or head",
        ),
    ] = "0",
    method: Annotated[
        Literal["pca", "tsne"], Query(description="pca: live and exact; tsne: on demand")
    ] = "pca",
    limit: Annotated[
        int,
        Query(
            ge=1, description="validation examples drawn, at most LAYERLAB_PROJECTION_MAX_POINTS"
        ),
    ] = 300,
    examples: Annotated[
        bool, Query(description="add each image example as a small byte grid, for the hover")
    ] = False,
) -> dict[str, Any]:
    """The validation set's activations at one layer in 2D, with each point's class (or
    target), example index and a hover text: `points` (N, 2), `labels` or `values`,
    `class_names`, `index`, `hover`, `layers` (what may be asked), `dim` (values per example)."""
    if limit > settings.projection_max_points:
        raise refuse_field(
            "limit",
            f"limit must be at most {settings.projection_max_points} "
            f"(LAYERLAB_PROJECTION_MAX_POINTS), not {limit}",
        )
    guard_examples(run, owner, token)
    chosen: int | str = int(layer) if re.fullmatch(r"-?\d{1,6}", layer) else layer
    params = {"layer": chosen, "method": method, "limit": limit, "examples": examples}
    return await ask_run(
        run,
        "project",
        params,
        manager=manager,
        store=store,
        offline=offline,
        client=client,
        request=request,
    )
