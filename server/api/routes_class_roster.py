"""The class roster (teacher only): rename a student, set their group, remove them, show or
hide real names on projected pages, the race board as JSON, and the class's results as CSV.

`PATCH /api/classes/{code}/students/{id}` `{"name"?, "group"?}`, `DELETE` the same path,
`POST /api/classes/{code}/names` `{"show"}`, `GET /api/classes/{code}/race`,
`GET /api/classes/{code}/results.csv`, and the race board's page, `/race#class=<code>`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field, field_validator

from ..classes.export import results_csv
from ..classes.registry import Student
from .class_access import ClassesDep
from .deps import ManagerDep
from .routes_classes import TEACHER_ONLY, TeacherRoom

router = APIRouter(tags=["classes"])

NO_STUDENT = {404: {"description": "no student with this id in the class"}}


def _trimmed(value: str | None) -> str | None:
    if value is None:
        return None
    if not value.strip():
        raise ValueError("it is empty")
    return value.strip()


class StudentChange(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=40, description="a new real name")
    group: str | None = Field(
        None, max_length=40, description='a group, e.g. "A"; "" takes the student out of theirs'
    )

    _name = field_validator("name")(_trimmed)


class ShowNames(BaseModel):
    show: bool = Field(description="projected pages show real names (true) or aliases (false)")


def class_student(room: TeacherRoom, student_id: str) -> Student:
    """The student of the teacher's class with this id (404 otherwise)."""
    student = room.students.get(student_id)
    if student is None:
        raise HTTPException(404, f"class {room.code} has no student {student_id[:16]!r}")
    return student


ClassStudent = Annotated[Student, Depends(class_student)]


def _entry(student: Student) -> dict:
    return {"id": student.id, "name": student.name, "alias": student.alias, "group": student.group}


@router.patch("/api/classes/{code}/students/{student_id}", responses={**TEACHER_ONLY, **NO_STUDENT})
async def update_student(
    room: TeacherRoom, student: ClassStudent, body: StudentChange, classes: ClassesDep
) -> dict:
    """Rename a student or set their group (the alias stays)."""
    if body.name is not None and any(
        s.name.casefold() == body.name.casefold() and s is not student
        for s in room.students.values()
    ):
        raise HTTPException(
            409, f"someone in class {room.code} is already called {body.name!r} (name)"
        )
    if body.name is not None:
        student.name = body.name
    if body.group is not None:
        student.group = body.group.strip() or None
    classes.registry.save_student(student)
    classes.announce(room, "roster")
    return _entry(student)


@router.delete(
    "/api/classes/{code}/students/{student_id}", responses={**TEACHER_ONLY, **NO_STUDENT}
)
async def delete_student(room: TeacherRoom, student: ClassStudent, classes: ClassesDep) -> dict:
    """Remove a student: their active runs stop, their token no longer enters the class."""
    stopped = await classes.remove_student(room, student)
    classes.announce(room, "roster")
    return {"removed": student.id, "runs_stopped": stopped}


@router.post("/api/classes/{code}/names", responses=TEACHER_ONLY)
async def show_names(room: TeacherRoom, body: ShowNames, classes: ClassesDep) -> dict:
    """Show real names on projected pages (race board), or aliases (the default)."""
    room.show_names = body.show
    classes.registry.save_class(room)
    classes.announce(room, "names")
    return room.state()


@router.get("/api/classes/{code}/race", responses=TEACHER_ONLY)
async def get_race(room: TeacherRoom, classes: ClassesDep) -> dict:
    """The race board now (what `WS /ws/classes/{code}?view=race` sends every few seconds)."""
    return await classes.race_message(room)


@router.get(
    "/api/classes/{code}/results.csv",
    responses={**TEACHER_ONLY, 200: {"content": {"text/csv": {}}}},
    response_class=Response,
)
def get_results_csv(room: TeacherRoom, classes: ClassesDep, manager: ManagerDep) -> Response:
    """Every student's runs with their final metrics, as CSV."""
    runs: dict[str, list[dict]] = {}
    for member in classes.registry.runs_of(room.code):
        found = manager.find(member.run_id)  # memory, then the database
        if found is not None:
            summary = {**found.summary(), "experiment": found.experiment}
            runs.setdefault(member.student_id, []).append(summary)
    return Response(
        results_csv(room, runs),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="class-{room.code}.csv"'},
    )


@router.get("/race", response_class=HTMLResponse, include_in_schema=False)
def get_race_page(request: Request) -> Response:
    """The race board page (the teacher's browser, for the projector)."""
    return request.app.state.templates.TemplateResponse(request, "race.html", {})
