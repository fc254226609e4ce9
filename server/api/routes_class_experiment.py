"""A class as one experiment: class experiments, predict-then-reveal, help flags and hands.

Teacher (X-Teacher-Token): `POST/GET/DELETE /api/classes/{code}/experiment` (+ `.csv`),
`POST /api/classes/{code}/question`, `POST /api/classes/{code}/reveal`. Student
(X-Student-Token): `POST /api/classes/{code}/answer`, `POST /api/classes/{code}/hand`,
`GET /api/classes/{code}/help`. Both: `GET /api/classes/{code}/question`. Changes reach every
page of the class over its socket as `{"type": "experiment" | "question", ...}`.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ..classes.experiments import MAX_VALUES, SETTINGS, ValueRefused, rows_csv
from ..classes.predictions import KINDS, MAX_CHOICES, AnswerRefused, sketch_points
from ..classes.registry import Classroom, Student
from ..engine.datasets import preview_data
from ..engine.errors import ExperimentError
from ..engine.validation import validate_experiment
from .class_access import ClassesDep, get_classes, who_of
from .deps import ManagerDep, SettingsDep, get_client
from .routes_classes import TEACHER_ONLY, TeacherRoom, lookup_guard

router = APIRouter(tags=["classes"])

STUDENT_ONLY = {
    403: {"description": "not in this class, or no such class"},
    429: {"description": "too many unknown codes or refused tokens from this address"},
}


def student_in(code: str, request: Request) -> Student:
    """The student whose token the request holds, in this class (else 403)."""
    lookup_guard(request)
    classes = get_classes(request)
    room = classes.registry.get(code)
    who = who_of(request)
    if room is None or who.student is None or who.student.code != room.code:
        classes.limits.miss(get_client(request))
        raise HTTPException(403, "this class's student token is needed (X-Student-Token)")
    return who.student


ClassStudent = Annotated[Student, Depends(student_in)]


def _invalid(loc: list, msg: str) -> HTTPException:
    return HTTPException(422, [{"loc": ["body", *loc], "msg": msg, "type": "value_error"}])


class ExperimentStart(BaseModel):
    experiment: dict[str, Any] = Field(description="the base design, as POST /api/check takes")
    setting: Literal[SETTINGS] = Field(description="the one setting the class varies")  # type: ignore[valid-type]
    values: list[Any] = Field(
        min_length=1, max_length=MAX_VALUES, description="its values, one per student or group"
    )


class Question(BaseModel):
    kind: Literal[KINDS] = Field(description="choice, number or sketch")  # type: ignore[valid-type]
    prompt: str = Field(min_length=1, max_length=300)
    choices: list[Annotated[str, Field(min_length=1, max_length=80)]] = Field(
        default_factory=list, max_length=MAX_CHOICES
    )
    extent: list[float] | None = Field(
        None, min_length=4, max_length=4, description="a sketch's plane: xmin, xmax, ymin, ymax"
    )
    dataset: dict[str, Any] | None = Field(
        None, description="a sketch's data (a 2D dataset spec): its points are drawn under it"
    )


class Answer(BaseModel):
    answer: Any = Field(description="a choice's index, a number, or strokes of [x, y] points")


class Reveal(BaseModel):
    run_id: str | None = Field(None, max_length=32, description="the run whose result is shown")
    answer: float | int | None = Field(None, description="the right choice's index or number")


class Hand(BaseModel):
    raised: bool


def _announce(classes, room: Classroom, kind: str, body: dict) -> None:
    classes.hub.broadcast(room.code, {"type": kind, kind: body})


def _tell_teachers(classes, room: Classroom, kind: str, body: dict) -> None:
    """To the teacher's pages only: an answer changes a count, and 200 answers sent to 200
    pages would fill every page's queue (hub.MAX_EVENTS) for a number students do not see."""
    classes.hub.tell_teachers(room.code, json.dumps({"type": kind, kind: body}, allow_nan=False))


# -- class experiments ------------------------------------------------------------------
@router.post("/api/classes/{code}/experiment", status_code=201, responses=TEACHER_ONLY)
async def start_experiment(
    room: TeacherRoom, body: ExperimentStart, classes: ClassesDep, settings: SettingsDep
) -> dict:
    """Start a class experiment: each student (or group) gets one of the setting's values."""

    def check(doc: dict) -> dict:
        return validate_experiment(doc, settings)[0]

    try:
        exp = await run_in_threadpool(
            classes.experiments.start, room, body.experiment, body.setting, body.values, check
        )
    except ValueRefused as err:
        cause = err.__cause__
        if isinstance(cause, ExperimentError):
            detail = [{**e, "loc": ["body", "values", err.index, *e["loc"]]} for e in cause.errors]
            raise HTTPException(422, detail) from None
        raise _invalid(["values", err.index], str(err)) from None
    classes.shared_experiment(room.code)
    _announce(classes, room, "experiment", exp.public())
    return {**exp.public(), "assigned": len(exp.assigned)}


@router.delete("/api/classes/{code}/experiment", responses=TEACHER_ONLY)
async def end_experiment(room: TeacherRoom, classes: ClassesDep) -> dict:
    """End the class experiment: students are free to change the setting again."""
    ended = classes.experiments.stop(room.code)
    classes.shared_experiment(room.code)
    _announce(classes, room, "experiment", {})
    return {"ended": ended}


def _rows(room: Classroom, classes, manager) -> list[dict]:
    runs = []
    for member in classes.registry.runs_of(room.code):
        found = manager.find(member.run_id)  # memory, then the database
        if found is not None:
            runs.append((member.student_id, member.run_id, found.summary()))
    runs.sort(key=lambda r: r[2]["created"])
    return classes.experiments.rows(room, runs)


@router.get("/api/classes/{code}/experiment", responses=TEACHER_ONLY)
def get_experiment(room: TeacherRoom, classes: ClassesDep, manager: ManagerDep) -> dict:
    """The experiment and `rows`: one per ended run, with its value and final metrics."""
    exp = classes.experiments.by_class.get(room.code)
    return {
        "experiment": exp.public() if exp else None,
        "rows": _rows(room, classes, manager),
    }


@router.get("/api/classes/{code}/experiment.csv", responses=TEACHER_ONLY)
def download_experiment(room: TeacherRoom, classes: ClassesDep, manager: ManagerDep) -> Response:
    """The experiment's rows as CSV."""
    return Response(
        rows_csv(_rows(room, classes, manager)),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{room.code}-experiment.csv"'},
    )


def _in_dataset(loc) -> list:
    loc = list(loc)
    return loc if loc[:1] == ["dataset"] else ["dataset", *loc]


# -- predict, then reveal ---------------------------------------------------------------
@router.post("/api/classes/{code}/question", status_code=201, responses=TEACHER_ONLY)
async def ask_question(
    room: TeacherRoom, body: Question, classes: ClassesDep, settings: SettingsDep
) -> dict:
    """Ask the class a question (replaces the last); students answer before the reveal."""
    if body.kind == "choice" and len(body.choices) < 2:
        raise _invalid(["choices"], "a multiple-choice question needs at least two choices")
    extent = body.extent
    if body.kind == "sketch":
        extent = extent or [-1.0, 1.0, -1.0, 1.0]
        if not (extent[0] < extent[1] and extent[2] < extent[3]):
            raise _invalid(["extent"], "extent is xmin < xmax, ymin < ymax")
    points: list = []
    if body.kind == "sketch" and body.dataset is not None:
        try:
            preview = await run_in_threadpool(preview_data, body.dataset, settings)
        except ExperimentError as err:
            detail = [{**e, "loc": ["body", *_in_dataset(e["loc"])]} for e in err.errors]
            raise HTTPException(422, detail) from None
        data_extent, points = sketch_points(preview)
        if not points:
            raise _invalid(["dataset"], "a sketch is drawn on 2D data: pick a 2D dataset")
        extent = body.extent or data_extent or extent
    question = classes.predictions.ask(
        room.code,
        body.kind,
        body.prompt,
        body.choices if body.kind == "choice" else [],
        extent,
        points,
    )
    classes.shared_question(room.code)
    _announce(classes, room, "question", question.public())
    return question.public()


@router.get("/api/classes/{code}/question", responses=STUDENT_ONLY)
def get_question(code: str, request: Request, classes: ClassesDep) -> dict:
    """The class's question (null when none), and the student's own answer."""
    lookup_guard(request)
    room = classes.registry.get(code)
    who = who_of(request)
    if room is None or (
        who.teacher_of != room.code and (who.student is None or who.student.code != room.code)
    ):
        classes.limits.miss(get_client(request))
        raise HTTPException(403, "this class's teacher or student token is needed")
    question = classes.predictions.by_class.get(room.code)
    if question is None:
        return {"question": None, "mine": None}
    mine = question.answers.get(who.student.id) if who.student is not None else None
    return {"question": question.public(), "mine": mine}


@router.post("/api/classes/{code}/answer", responses=STUDENT_ONLY)
async def answer_question(student: ClassStudent, body: Answer, classes: ClassesDep) -> dict:
    """Answer the class's question (again, to change it) until the reveal."""
    question = classes.predictions.by_class.get(student.code)
    if question is None:
        raise HTTPException(409, "the teacher has not asked a question")
    if question.revealed:
        raise HTTPException(409, "the answers have been revealed: answers are closed")
    try:
        classes.predictions.answer(student.code, student.id, body.answer)
    except AnswerRefused as err:
        raise _invalid(err.field.split("."), str(err)) from None
    classes.shared_answer(student.code, student.id)
    room = classes.registry.classes[student.code]
    _tell_teachers(classes, room, "question", question.public())
    return {"question": question.public(), "mine": question.answers[student.id]}


@router.post("/api/classes/{code}/reveal", responses=TEACHER_ONLY)
async def reveal_answers(
    room: TeacherRoom, body: Reveal, classes: ClassesDep, manager: ManagerDep
) -> dict:
    """Show every answer, without names, beside the real result (a run's, and/or the answer)."""
    question = classes.predictions.by_class.get(room.code)
    if question is None:
        raise HTTPException(409, "ask a question first")
    result: dict = {"answer": body.answer}
    if body.run_id is not None:
        member = classes.registry.members.get(body.run_id)
        run = manager.get(body.run_id) if member is not None and member.code == room.code else None
        if run is None:
            raise _invalid(
                ["run_id"], f"run {body.run_id!r} is not a live run of class {room.code}"
            )
        last = run.channel.history[-1] if run.channel.history else {}
        metrics = last.get("metrics") or {}
        result.update(
            run_id=run.id,
            status=run.status,
            epoch=run.channel.epoch,
            val_loss=last.get("val_loss"),
            metrics=metrics,
            snapshot=bool(run.channel.snapshot),
        )
    classes.predictions.reveal(room.code, result)
    classes.shared_question(room.code)
    _announce(classes, room, "question", question.public())
    return question.public()


# -- help flags -------------------------------------------------------------------------
@router.post("/api/classes/{code}/hand", responses=STUDENT_ONLY)
async def raise_hand(student: ClassStudent, body: Hand, classes: ClassesDep) -> dict:
    """Raise (or lower) your hand: the teacher's dashboard shows it."""
    classes.help.set_hand(student.code, student.id, body.raised)
    classes.shared_hand(student.code, student.id)
    return {"raised": classes.help.hand(student.code, student.id)}


@router.get("/api/classes/{code}/help", responses=STUDENT_ONLY)
def get_help(student: ClassStudent, classes: ClassesDep, manager: ManagerDep) -> dict:
    """Your latest run's diagnosis (each finding: code, sentence, suggestion) and your hand."""
    latest = None
    for member in classes.registry.runs_of(student.code):
        run = manager.get(member.run_id) if member.student_id == student.id else None
        if run is not None and (latest is None or run.created > latest.created):
            latest = run
    findings = classes.help.findings(latest) if latest is not None else []
    return {
        "run_id": latest.id if latest is not None else None,
        "hand": classes.help.hand(student.code, student.id),
        "diagnosis": [f.public() for f in findings],
    }
