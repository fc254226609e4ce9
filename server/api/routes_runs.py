"""Runs: start one, list them (paged, filtered), read one and its history (paged, or as
CSV), control one (with its owner token), download the export of an ended one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from ..classes.service import ClassRefused
from ..core.statuses import ACTIVE
from ..designs.repository import DESIGNS
from ..engine.validation import validate_experiment
from ..runs.admission import class_identity
from ..runs.manager import RunManager
from ..runs.model import RunView
from ..store.queries import RunFilter
from ..store.store import Store
from ..web.owner import MaybeOwner
from ..web.paging import MAX_OFFSET
from .class_access import (
    ClassesDep,
    StudentTokenDep,
    WhoDep,
    get_classes,
    list_filter,
    student_owns,
)
from .control_values import check_edit, control_value
from .deps import (
    ClientDep,
    JsonBody,
    ManagerDep,
    RunDep,
    SettingsDep,
    StoreDep,
    TokenDep,
)
from .history_csv import csv_lines
from .models import ControlRequest, HistoryPage, RunCreated, RunDetail, RunSummary, Status
from .openapi import EXPERIMENT_BODY
from .relayed import cluster_of, relay_control

router = APIRouter(prefix="/api/runs", tags=["runs"])

CREATE_ERRORS = {
    403: {"description": "a page from another origin (LAYERLAB_ALLOWED_ORIGINS)"},
    415: {"description": "the body is not sent as application/json"},
    422: {"description": "the design cannot run; `detail` lists {loc, msg, type}"},
    429: {"description": "too many active runs, in all or for this client"},
}
BODY_ERRORS = {
    415: {"description": "the body is not sent as application/json"},
    422: {
        "description": "malformed JSON, or a field out of range; `detail` lists {loc, msg, type}"
    },
}
CONTROL_ERRORS = {
    403: {"description": "missing or wrong X-Run-Token, or a page from another origin"},
    404: {"description": "no such run"},
    409: {
        "description": "the run has ended, or the action does not apply now (set_weight on a run that is not paused)"
    },
    **BODY_ERRORS,
}
NOT_FOUND = {404: {"description": "no such run"}}
STORE_DOWN = {503: {"description": "the database could not be read; `detail` says why"}}


@router.post("", status_code=201, openapi_extra=EXPERIMENT_BODY, responses=CREATE_ERRORS)
async def create_run(
    doc: JsonBody,
    settings: SettingsDep,
    manager: ManagerDep,
    store: StoreDep,
    client: ClientDep,
    classes: ClassesDep,
    who: WhoDep,
    owner: MaybeOwner,
    student_token: StudentTokenDep = None,
    paused: Annotated[bool, Query(description="create it paused, to step or resume")] = False,
    design: Annotated[
        str | None,
        Query(max_length=32, description="the id of the saved design this run comes from"),
    ] = None,
) -> RunCreated:
    """Check an experiment and start training it; the token is returned only here. With
    `X-Owner-Token` the run is listed as yours (`GET /api/runs?owner=me`); with
    `X-Student-Token` it belongs to you and your class (limited per student, not per address)."""
    if student_token is not None and who.student is None:
        raise HTTPException(403, "this student token belongs to no class (X-Student-Token)")
    # Before the check, which reads the upload's file: a damaged one is written again first.
    await run_in_threadpool(manager.check_datasets, [doc], owner.hash if owner else None)
    experiment, result = await run_in_threadpool(validate_experiment, doc, settings)
    if design is not None and await run_in_threadpool(store.read, DESIGNS.get, design) is None:
        raise HTTPException(
            422,
            [
                {
                    "loc": ["query", "design"],
                    "msg": f"no saved design with id {design!r}",
                    "type": "value_error",
                }
            ],
        )
    student = who.student
    quotas = []
    if student is not None:
        try:
            quotas = classes.admit(student, experiment)  # no await from here to create's seat
        except ClassRefused as err:
            raise HTTPException(err.status, err.message, err.headers) from None
    run = await manager.create(
        experiment,
        result,
        client,
        paused=paused,
        owner=owner.hash if owner else None,
        design_id=design,
        class_code=student.code if student else None,
        student=student.id if student else None,
        quotas=quotas,
    )
    if student is not None:
        member = classes.registry.add_member(run.id, student)
        classes.registry.save_member(member)
    await manager.bus.claimed(run.id)  # replicas: its owner is findable before the 201
    return RunCreated(id=run.id, token=run.token, status=run.status, stream=f"/ws/runs/{run.id}")


@router.get("", responses={**STORE_DOWN, 422: {"description": "a filter is not valid"}})
def list_runs(
    request: Request,
    manager: ManagerDep,
    settings: SettingsDep,
    response: Response,
    owner_token: MaybeOwner,
    owner: Annotated[
        str | None,
        Query(pattern="^me$", description="`me`: only runs started with your X-Owner-Token"),
    ] = None,
    status: Annotated[Status | None, Query(description="only runs with this status")] = None,
    dataset: Annotated[str | None, Query(max_length=64, description="only this dataset")] = None,
    design: Annotated[
        str | None, Query(max_length=32, description="only runs of this saved design")
    ] = None,
    q: Annotated[
        str | None,
        Query(max_length=200, description="text in the id, dataset, message or experiment"),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, description="at most this many (LAYERLAB_MAX_HISTORY_RUNS)")
    ] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[RunSummary]:
    """Runs, newest first, one page at a time (`limit`, `offset`; the header `X-Total-Count`
    says how many match), filtered by owner, status, dataset, design and text."""
    if owner == "me" and not owner_token:
        raise HTTPException(
            422,
            [
                {
                    "loc": ["query", "owner"],
                    "msg": "owner=me needs the header X-Owner-Token",
                    "type": "value_error",
                }
            ],
        )
    where = RunFilter(
        owner=owner_token.hash if owner == "me" and owner_token else None,
        status=status,
        dataset=dataset,
        design=design,
        text=q,
        **list_filter(request),  # a class's runs only for its teacher, student, spotlight
    )
    page, total = manager.list_page(where, min(limit, settings.max_history_runs), offset)
    if where.keep is not None:  # a class run whose membership is not committed yet
        page = [summary for summary in page if where.keep(summary["id"])]
    response.headers["X-Total-Count"] = str(total)
    return [RunSummary(**summary) for summary in page]


@router.get("/{run_id}", responses={**NOT_FOUND, **STORE_DOWN})
def get_run(
    run: RunDep,
    manager: ManagerDep,
    store: StoreDep,
    settings: SettingsDep,
    history_limit: Annotated[
        int | None, Query(ge=0, description="at most this many records (default: all)")
    ] = None,
) -> RunDetail:
    """One run: status, experiment, check result, history, and its export's download paths
    once it has finished or been stopped."""
    limit = settings.max_epochs if history_limit is None else history_limit
    return RunDetail(**manager.detail(run, limit), export=export_links(run, store))


@router.get("/{run_id}/history", responses={**NOT_FOUND, **STORE_DOWN})
def get_history(
    run: RunDep,
    manager: ManagerDep,
    after: Annotated[int, Query(ge=0, description="records with an epoch after this one")] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000, description="at most this many")] = 1000,
) -> HistoryPage:
    """A page of the run's epoch records, in order: pass `next` back as `after` for the next
    page (`next` is null after the last record so far)."""
    texts = manager.history(run, after, limit)
    body = (
        '{"id":"'
        + run.id
        + '","records":['
        + ",".join(texts)
        + '],"next":'
        + (_last_epoch(texts) if len(texts) == limit else "null")
        + "}"
    )
    return Response(body, media_type="application/json")  # type: ignore[return-value]


@router.get(
    "/{run_id}/history.csv",
    response_class=StreamingResponse,
    responses={200: {"description": "one row per epoch", "content": {"text/csv": {}}}, **NOT_FOUND},
)
def get_history_csv(run: RunDep, manager: ManagerDep) -> StreamingResponse:
    """The run's history as CSV (`layerlab-<id>-history.csv`): epoch, loss, val_loss, every
    metric, lr, elapsed and time, one row per epoch."""
    pages = _pages(manager, run)
    return StreamingResponse(
        csv_lines(pages),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="layerlab-{run.id}-history.csv"'},
    )


def _pages(manager: RunManager, run: RunView, size: int = 2000):
    after = 0
    while True:
        texts = manager.history(run, after, size)
        if not texts:
            return
        yield texts
        if len(texts) < size:
            return
        after = int(_last_epoch(texts))


def _last_epoch(texts: list[str]) -> str:
    return str(json.loads(texts[-1])["epoch"])


@router.post("/{run_id}/control", responses=CONTROL_ERRORS)
async def control_run(
    run: RunDep,
    body: ControlRequest,
    manager: ManagerDep,
    request: Request,
    token: TokenDep = None,
    student_token: StudentTokenDep = None,
) -> RunSummary:
    """Pause, resume, step one epoch or one batch, stop, set the learning rate, set the pace
    (epochs per second, live; viewers receive `{"type": "pace", "value": v}`) or edit one
    weight or bias of a paused run (owner only). `resume` also brings an `interrupted` run
    back from its last weights checkpoint."""
    live = manager.get(run.id)
    cluster = cluster_of(request)
    if live is None and cluster is not None and run.status in ACTIVE:  # another replica's
        return RunSummary(**(await relay_control(cluster, run, body, token, request)))
    if live is None:  # out of memory: an ended run, or one interrupted by a restart
        if not run.owns(token):
            raise HTTPException(403, "this run's owner token is needed (header X-Run-Token)")
        if body.action == "resume" and run.status == "interrupted":
            identity = class_identity(get_classes(request).class_of, run.id)
            resumed = await manager.resume(
                run,
                token,
                class_code=identity.class_code,
                student=identity.student,
                quotas=identity.quotas,
            )
            return RunSummary(**resumed.summary())
        raise HTTPException(409, f"run {run.id} has ended ({run.status}); it takes no controls")
    if not (live.owns(token) or student_owns(request, run.id)):
        raise HTTPException(403, "this run's owner token is needed (header X-Run-Token)")
    value = control_value(body)
    if body.action == "set_weight":
        check_edit(live.check, value)
    await manager.control(live, body.action, value=value)
    return RunSummary(**run.summary())


ONNX_NAME = "model.onnx"  # made from the weights on request (routes_onnx.py)
EXPORT_PENDING = "export is available once the run has finished or been stopped"


def export_responses(media_type: str, what: str) -> dict:
    return {
        200: {"description": what, "content": {media_type: {}}},
        404: {"description": f"no such run, or no export yet: {EXPORT_PENDING}"},
    }


def export_links(run: RunView, store: Store) -> dict[str, str] | None:
    """The download paths of an ended run's export, or None where it has none. `model.onnx`
    is offered wherever there are weights: it is made from them on its first download."""
    if run.active:
        return None
    names = set(store.export_names(run.id))
    if not names:
        return None
    if "weights.safetensors" in names:
        names.add(ONNX_NAME)
    return {name: f"/api/runs/{run.id}/export/{name}" for name in sorted(names)}


def export_bytes(run: RunView, store: Store, name: str) -> bytes:
    """The contents of the run's export file called `name` (any kind: generic by file name),
    or a 404 that says why there is none. Blocking: call it off the event loop."""
    if run.active:
        raise HTTPException(404, f"run {run.id} is {run.status}: {EXPORT_PENDING}")
    for _ in range(3):
        found = store.export_file(run.id, name)
        if not isinstance(found, Path):
            break
        try:
            return found.read_bytes()
        except FileNotFoundError:  # the writer just moved it from the spool into the database
            continue
    if not isinstance(found, bytes):
        if not store.settings.persist_runs:
            why = "this server does not keep exports (LAYERLAB_PERSIST_RUNS is off)"
        elif run.status not in ("finished", "stopped"):
            why = f"it ended {run.status}"
        else:
            why = f"its export has no {name}"
        raise HTTPException(404, f"run {run.id} has no export: {why}; {EXPORT_PENDING}")
    return found


def export_file(run: RunView, store: Store, name: str, media_type: str, filename: str) -> Response:
    """An export file as a download named `filename`, or a 404 that says why there is none."""
    content = export_bytes(run, store, name)
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(content, media_type=media_type, headers=headers)


@router.get(
    "/{run_id}/export/model.py",
    response_class=Response,
    responses=export_responses("text/x-python", "the standalone PyTorch script"),
)
@router.head("/{run_id}/export/model.py", include_in_schema=False)
def export_script(run: RunDep, store: StoreDep) -> Response:
    """The trained network as a standalone PyTorch script (downloads as `model.py`, so `from
    model import load_model` works): it rebuilds the network with plain torch.nn, names the
    preprocessing its inputs need, loads the weights (`weights.safetensors` beside it) and
    predicts once when run. Available once the run has finished or been stopped; HEAD says
    whether it is."""
    return export_file(run, store, "model.py", "text/x-python", "model.py")


@router.get(
    "/{run_id}/export/weights.safetensors",
    response_class=Response,
    responses=export_responses("application/octet-stream", "the weights, safetensors"),
)
@router.head("/{run_id}/export/weights.safetensors", include_in_schema=False)
def export_weights(run: RunDep, store: StoreDep) -> Response:
    """The trained weights as safetensors (downloads as `weights.safetensors`, no pickle): the
    model's state_dict, parameters and buffers, with the keys the exported script's
    `build_model()` expects. Available once the run has finished or been stopped."""
    return export_file(
        run, store, "weights.safetensors", "application/octet-stream", "weights.safetensors"
    )
