"""Classes: open one (teacher), join it (students), the teacher's controls, the class socket.

`POST /api/classes` -> code and teacher token; `POST /api/classes/{code}/join` -> a student
token, which `POST /api/runs` (header `X-Student-Token`) turns into class runs. The teacher
(header `X-Teacher-Token`) reads the class, spotlights a run, pushes a design, locks editing,
pauses, resumes or stops every run, and closes the class. `WS /ws/classes/{code}` carries the
class's `state` changes to every page and the dashboard to the teacher's.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, WebSocket
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field, field_validator
from starlette.concurrency import run_in_threadpool

from ..classes import codes
from ..classes.errors import ClassRefused
from ..classes.hub import ClassViewer
from ..classes.registry import Classroom, Student
from ..classes.service import Classes
from ..classes.throttle import client_key
from ..engine.errors import ExperimentError
from ..engine.validation import validate_experiment
from .class_access import ClassesDep, TeacherTokenDep, chosen_subprotocol, get_classes, who_of
from .deps import ClientDep, ManagerDep, SettingsDep, get_client
from .sockets import close_socket, read_until_closed, refuse_socket

router = APIRouter(tags=["classes"])

TEACHER_ONLY = {
    403: {"description": "missing or wrong X-Teacher-Token, or no class with this code"},
    429: {"description": "too many unknown codes or refused tokens from this address"},
}


def _stripped(value: str) -> str:
    if not value.strip():
        raise ValueError("the name is empty")
    return value.strip()


class ClassOpen(BaseModel):
    name: str = Field(min_length=1, max_length=120, description="what students see, e.g. 9B")
    max_runs: int | None = Field(
        None,
        ge=1,
        description="the class's run budget: active runs of its students together (at most "
        "LAYERLAB_MAX_RUNS_PER_CLASS, the default)",
    )

    _name = field_validator("name")(_stripped)


class StudentJoin(BaseModel):
    name: str = Field(min_length=1, max_length=40, description="a display name, nothing else")

    _name = field_validator("name")(_stripped)


class ClassOpened(BaseModel):
    code: str = Field(description="the join code, e.g. K7Q-4MX: students open /#class=<code>")
    teacher_token: str = Field(description="keep it: every teacher control needs it")
    max_runs: int = Field(description="the class's run budget")
    join: str
    dashboard: str


class Joined(BaseModel):
    student_token: str
    student: dict
    class_: dict = Field(alias="class")


class Spotlight(BaseModel):
    run_id: str | None = Field(
        max_length=32, description="a run of this class; null ends the spotlight"
    )


class Push(BaseModel):
    experiment: dict[str, Any] = Field(description="the design every student's page loads")


class Lock(BaseModel):
    locked: bool


class ControlAll(BaseModel):
    action: Literal["pause", "resume", "stop"] = "pause"


class Share(BaseModel):
    shared: bool


def lookup_guard(request: Request, answer_tells: bool = False) -> None:
    """429 while the address has spent its guesses at codes and tokens. A request that proves
    a class token passes where the answer is the same for an unknown code and a refused token
    (it learns nothing, and a teacher or student behind the same school NAT as a guesser keeps
    working); where the answer tells a code exists (`answer_tells`: a join), none passes.

    Replicas count guesses in Redis (a blocking call): sync dependencies call this as is (in
    a thread), coroutines through `run_in_threadpool`, as every call into `classes.limits`
    that may reach Redis (`miss`, `spend_join`, `open_socket`, ...)."""
    if not answer_tells and not who_of(request).anonymous:
        return
    try:
        get_classes(request).limits.check_lookup(get_client(request))
    except ClassRefused as err:
        raise _refusal(err) from None


def teacher_room(code: str, request: Request, token: TeacherTokenDep = None) -> Classroom:
    """The class whose teacher token the request holds. An unknown code and a wrong or missing
    token get the same 403 (a code cannot be told from a guess), and each spends a guess."""
    lookup_guard(request)
    classes = get_classes(request)
    room = classes.registry.get(code)
    if room is None or who_of(request).teacher_of != room.code or token is None:
        classes.limits.miss(get_client(request))
        raise HTTPException(403, _teacher_needed(code))
    return room


def _teacher_needed(code: str) -> str:
    return f"class {codes.normalize(code)[:16]!r}'s teacher token is needed (X-Teacher-Token)"


TeacherRoom = Annotated[Classroom, Depends(teacher_room)]


def _refusal(err: ClassRefused) -> HTTPException:
    return HTTPException(err.status, err.message, err.headers)


@router.post(
    "/api/classes",
    status_code=201,
    responses={
        422: {"description": "a bad name, or max_runs over LAYERLAB_MAX_RUNS_PER_CLASS"},
        429: {"description": "this address has LAYERLAB_MAX_CLASSES_PER_CLIENT classes open"},
    },
)
async def create_class(
    body: ClassOpen, classes: ClassesDep, settings: SettingsDep, client: ClientDep
) -> ClassOpened:
    """Open a class: its join code (read it aloud), the teacher's token and its run budget."""
    cap = settings.max_runs_per_class
    if body.max_runs is not None and body.max_runs > cap:
        raise HTTPException(
            422,
            [
                {
                    "loc": ["body", "max_runs"],
                    "msg": f"a class may have at most {cap} active runs "
                    "(LAYERLAB_MAX_RUNS_PER_CLASS)",
                    "type": "less_than_equal",
                }
            ],
        )
    try:
        classes.limits.check_open(client, classes.registry.classes.values())
    except ClassRefused as err:
        raise _refusal(err) from None
    room, token = classes.registry.open_class(body.name, client_key(client), body.max_runs)
    return ClassOpened(
        code=room.code,
        teacher_token=token,
        max_runs=classes.limits.class_budget(room),
        join=f"/#class={room.code}",
        dashboard="/teach",
    )


@router.post(
    "/api/classes/{code}/join",
    status_code=201,
    responses={
        404: {"description": "no such class"},
        409: {"description": "name taken, or the class is full (LAYERLAB_CLASS_MAX_STUDENTS)"},
        429: {"description": "too many joins or unknown codes from this address"},
    },
)
async def join_class(
    code: str, body: StudentJoin, classes: ClassesDep, client: ClientDep, request: Request
) -> Joined:
    """Join a class with a display name: a student token (keep it in the browser)."""
    await run_in_threadpool(lookup_guard, request, True)
    room = classes.registry.get(code)
    if room is None:
        await run_in_threadpool(classes.limits.miss, client)
        raise HTTPException(
            404, f"no class with code {codes.normalize(code)[:16]!r}: check the code"
        )
    try:
        _joinable(classes, room, body.name)
        await run_in_threadpool(classes.limits.spend_join, client)
        # Checked again with no await before the join: another join may have taken the name
        # or the last place while this one waited for its turn (Redis, in a thread).
        _joinable(classes, room, body.name)
    except ClassRefused as err:
        raise _refusal(err) from None
    student, token = classes.registry.join(room, body.name)
    classes.announce(room, "join")
    return Joined.model_validate(
        {"student_token": token, "student": _student(student), "class": room.state()}
    )


def _joinable(classes: Classes, room: Classroom, name: str) -> None:
    """Whether `name` may join `room` now: open, the name free, a place left (memory only)."""
    if room.closed is not None:
        raise ClassRefused(410, f"class {room.code} has been closed by its teacher")
    if any(s.name.casefold() == name.casefold() for s in room.students.values()):
        raise ClassRefused(
            409, f"someone in class {room.code} is already called {name!r}: add an initial"
        )
    classes.limits.check_room(room)


@router.get("/api/classes/{code}", responses=TEACHER_ONLY)
def get_class(room: TeacherRoom, classes: ClassesDep, manager: ManagerDep) -> dict:
    """The class (teacher only): its state, and every student with their runs."""
    runs: dict[str, list[dict]] = {}
    for member in classes.registry.runs_of(room.code):
        found = manager.find(member.run_id)  # memory, then the database
        if found is None:
            continue
        summary = {**found.summary(), "shared": member.shared}
        runs.setdefault(member.student_id, []).append(summary)
    return {
        **room.state(),
        "created": room.created,
        "max_runs": classes.limits.class_budget(room),
        "students_list": [
            {**_student(s), "joined": s.joined, "runs": runs.get(s.id, [])}
            for s in room.students.values()
        ],
    }


@router.get(
    "/api/classes/{code}/me",
    responses={
        403: {"description": "not in this class, or no such class"},
        429: {"description": "too many unknown codes or refused tokens from this address"},
    },
)
def get_membership(code: str, request: Request, classes: ClassesDep) -> dict:
    """The student's own view of the class (X-Student-Token): its state and who they are."""
    lookup_guard(request)
    room = classes.registry.get(code)
    who = who_of(request)
    if room is None or who.student is None or who.student.code != room.code:
        classes.limits.miss(get_client(request))
        raise HTTPException(403, "this class's student token is needed (X-Student-Token)")
    return {
        "class": room.state(),
        "student": _student(who.student),
        "assignment": classes.experiments.assignment(room, who.student),
    }


@router.post("/api/classes/{code}/spotlight", responses=TEACHER_ONLY)
async def set_spotlight(room: TeacherRoom, body: Spotlight, classes: ClassesDep) -> dict:
    """Show one run of the class to every page (read-only); `{"run_id": null}` ends it."""
    if body.run_id is not None:
        member = classes.registry.members.get(body.run_id)
        if member is None or member.code != room.code:
            raise HTTPException(
                422,
                [
                    {
                        "loc": ["body", "run_id"],
                        "msg": f"run {body.run_id!r} is not a run of class {room.code}",
                        "type": "value_error",
                    }
                ],
            )
    room.spotlight = body.run_id
    classes.registry.save_class(room)
    classes.announce(room, "spotlight")
    return room.state()


@router.post("/api/classes/{code}/push", responses=TEACHER_ONLY)
async def push_design(
    room: TeacherRoom, body: Push, classes: ClassesDep, settings: SettingsDep
) -> dict:
    """Load a design on every student's page ("load this"); checked like POST /api/check."""
    try:
        experiment, _ = await run_in_threadpool(validate_experiment, body.experiment, settings)
    except ExperimentError as err:
        detail = [{**e, "loc": ["body", "experiment", *e["loc"]]} for e in err.errors]
        raise HTTPException(422, detail) from None
    room.push, room.push_seq = experiment, room.push_seq + 1
    classes.registry.save_class(room)
    classes.announce(room, "push")
    return room.state()


@router.post("/api/classes/{code}/lock", responses=TEACHER_ONLY)
async def lock_editing(room: TeacherRoom, body: Lock, classes: ClassesDep) -> dict:
    """Lock (or unlock) editing: while locked, students may train only the pushed design."""
    room.locked = body.locked
    classes.registry.save_class(room)
    classes.announce(room, "lock")
    return room.state()


@router.post("/api/classes/{code}/pause-all", responses=TEACHER_ONLY)
async def pause_all(room: TeacherRoom, classes: ClassesDep, body: ControlAll | None = None) -> dict:
    """Pause (default), resume or stop every active run of the class: `{"action"}`."""
    action = body.action if body is not None else "pause"
    changed = await classes.control_all(room, action)
    return {"action": action, "runs": changed}


@router.post("/api/classes/{code}/close", responses=TEACHER_ONLY)
async def close_class(room: TeacherRoom, classes: ClassesDep) -> dict:
    """Close the class: every run stops, nobody joins or starts runs; its runs stay."""
    room.closed = room.closed or time.time()
    room.spotlight = None
    room.locked = False
    classes.registry.save_class(room)
    await classes.control_all(room, "stop")
    classes.announce(room, "close")
    return room.state()


@router.post(
    "/api/classes/{code}/runs/{run_id}/share",
    responses={
        403: {"description": "not the run's student, or no such run in this class"},
        429: {"description": "too many unknown codes or refused tokens from this address"},
    },
)
async def share_run(
    code: str, run_id: str, body: Share, request: Request, classes: ClassesDep
) -> dict:
    """Share one of your class runs (X-Student-Token): anyone with its link may then watch it
    and download its export (it stays off other people's run lists)."""
    await run_in_threadpool(lookup_guard, request)
    registry = classes.registry
    member = registry.members.get(run_id)
    if (
        member is None
        or member.code != codes.normalize(code)
        or not registry.owns(run_id, who_of(request))
    ):
        await run_in_threadpool(classes.limits.miss, get_client(request))
        raise HTTPException(403, "only the student who started this run may share it")
    member.shared = body.shared
    registry.save_share(member)
    return {"run_id": run_id, "shared": member.shared}


@router.websocket("/ws/classes/{code}")
async def stream_class(websocket: WebSocket, code: str) -> None:
    """hello, then `state` on every change; the teacher's page also `dashboard` each second."""
    classes = get_classes(websocket)
    client = get_client(websocket)
    who = who_of(websocket)
    try:  # every call into classes.limits here may wait on Redis: in a thread
        if who.anonymous:
            await run_in_threadpool(classes.limits.check_lookup, client)
    except ClassRefused as err:
        await refuse_socket(websocket, 429, 4429, err.message)
        return
    room = classes.registry.get(code)
    teacher = room is not None and who.teacher_of == room.code
    student = (
        who.student
        if room is not None and who.student is not None and who.student.code == room.code
        else None
    )
    if room is None or (not teacher and student is None):  # an unknown code looks the same
        await run_in_threadpool(classes.limits.miss, client)
        await refuse_socket(websocket, 403, 4403, NEEDS_TOKEN)
        return
    member = f"student:{student.id}" if student is not None else f"teacher:{room.code}"
    try:
        await run_in_threadpool(classes.limits.open_socket, client, member, room.code)
    except ClassRefused as err:
        await refuse_socket(websocket, 429, 4429, err.message)
        return
    try:
        await _serve_class(websocket, classes, room, teacher, student)
    finally:  # anyio lets the thread finish even if this task is being cancelled
        await run_in_threadpool(classes.limits.close_socket, client, member, room.code)


NEEDS_TOKEN = (
    "this class's teacher or student token is needed (subprotocol layerlab-teacher.<token> "
    "or layerlab-student.<token>, header X-Teacher-Token or X-Student-Token)"
)


async def _serve_class(
    websocket: WebSocket,
    classes: Classes,
    room: Classroom,
    teacher: bool,
    student: Student | None,
) -> None:
    await websocket.accept(subprotocol=chosen_subprotocol(websocket))
    race = teacher and websocket.query_params.get("view") == "race"  # the projector's board
    viewer = ClassViewer(
        room.code, teacher, websocket.send_text, race, student.id if student else None
    )
    classes.hub.join(viewer)
    hello = {
        "type": "hello",
        "role": "race" if race else "teacher" if teacher else "student",
        "class": room.state(),
        "student": _student(student) if student else None,
    }
    await websocket.send_json(hello)
    if race:
        await classes.hub.push_race(room.code)
    elif teacher:
        await classes.hub.push_dashboard(room.code)
    timeout = websocket.app.state.settings.viewer_timeout_s
    sender = asyncio.create_task(viewer.run(timeout))
    receiver = asyncio.create_task(read_until_closed(websocket))
    try:
        await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        classes.hub.leave(viewer)
        for task in (sender, receiver):
            task.cancel()
        await asyncio.gather(sender, receiver, return_exceptions=True)
    if viewer.dropped is not None:
        await close_socket(websocket, 1013, viewer.dropped[:120])


@router.get("/teach", response_class=HTMLResponse, include_in_schema=False)
def get_teacher_page(request: Request) -> Response:
    """The teacher's page: open a class, the dashboard."""
    return request.app.state.templates.TemplateResponse(request, "teach.html", {})


def _student(student: Student) -> dict:
    return {"id": student.id, "name": student.name, "alias": student.alias, "group": student.group}
