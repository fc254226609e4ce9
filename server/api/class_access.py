"""Who a request is in a class, and the class rules on the run routes and streams.

Tokens come as headers (`X-Teacher-Token`, `X-Student-Token`); on a WebSocket, where a browser
cannot set headers, as a subprotocol offered beside `layerlab` (`layerlab-teacher.<token>`,
`layerlab-student.<token>`: the server answers `layerlab`). The query parameters `teacher` and
`student` still work, but put the token in URLs (access logs redact them: `log_redact.py`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException
from starlette.requests import HTTPConnection

from ..classes.registry import Registry, Who
from ..classes.service import Classes
from ..runs.manager import RunManager
from ..runs.model import RunView

EXPORT_MARKS = ("/export/", "/history.csv")  # downloads: the owner, the teacher, or a share


def get_classes(conn: HTTPConnection) -> Classes:
    return conn.app.state.classes


def who_of(conn: HTTPConnection) -> Who:
    """The class identities the request's tokens prove (none: an outsider)."""
    classes: Classes | None = getattr(conn.app.state, "classes", None)
    if classes is None:
        return Who()
    offered = subprotocol_tokens(conn)
    teacher = (
        conn.headers.get("x-teacher-token")
        or offered.get("teacher")
        or conn.query_params.get("teacher")
    )
    student = (
        conn.headers.get("x-student-token")
        or offered.get("student")
        or conn.query_params.get("student")
    )
    return classes.registry.who(teacher, student)


SUBPROTOCOL = "layerlab"  # what the server answers when tokens come as subprotocols
_OFFER_PREFIX = "layerlab-"


def subprotocol_tokens(conn: HTTPConnection) -> dict[str, str]:
    """Tokens offered as WebSocket subprotocols: `layerlab-<role>.<token>` -> {role: token}."""
    if conn.scope.get("type") != "websocket":
        return {}
    out: dict[str, str] = {}
    for offer in conn.headers.get("sec-websocket-protocol", "").split(","):
        offer = offer.strip()
        if offer.startswith(_OFFER_PREFIX) and "." in offer:
            role, token = offer[len(_OFFER_PREFIX) :].split(".", 1)
            out.setdefault(role, token)
    return out


def chosen_subprotocol(conn: HTTPConnection) -> str | None:
    """`layerlab` when the client offered it (a browser then requires it in the answer)."""
    offers = conn.headers.get("sec-websocket-protocol", "").split(",")
    return SUBPROTOCOL if SUBPROTOCOL in {o.strip() for o in offers} else None


ClassesDep = Annotated[Classes, Depends(get_classes)]
WhoDep = Annotated[Who, Depends(who_of)]
StudentTokenDep = Annotated[
    str | None,
    Header(
        alias="X-Student-Token",
        max_length=200,
        description="a student's token (POST /api/classes/{code}/join): runs of a class",
    ),
]
TeacherTokenDep = Annotated[
    str | None,
    Header(
        alias="X-Teacher-Token",
        max_length=200,
        description="the class's teacher token (POST /api/classes)",
    ),
]


def _registry(conn: HTTPConnection) -> Registry | None:
    classes: Classes | None = getattr(conn.app.state, "classes", None)
    return classes.registry if classes is not None else None


def guard_run(conn: HTTPConnection, manager: RunManager, run: RunView) -> None:
    """403 unless the request may see this run: any run outside a class; a class run for its
    owner (run token or student token), its teacher, the class while spotlighted, or anyone
    once shared. Downloads (exports, the history CSV) leave out the spotlight."""
    registry = _registry(conn)
    if registry is None or run.id not in registry.members:
        return
    token = conn.headers.get("x-run-token") or conn.query_params.get("token")
    if run.owns(token):
        return
    who = who_of(conn)
    download = any(mark in conn.url.path for mark in EXPORT_MARKS)
    allowed = registry.can_export(run.id, who) if download else registry.can_see(run.id, who)
    if not allowed:
        code = registry.members[run.id].code
        what = "download its files" if download else "see it"
        raise HTTPException(
            403,
            f"run {run.id} belongs to class {code}: only its student, the teacher"
            + ("" if download else ", the class while it is in the spotlight")
            + f" or those it was shared with may {what} (X-Student-Token, X-Teacher-Token)",
        )


def may_watch(conn: HTTPConnection, run_id: str) -> str | None:
    """None when the stream may be opened, else why not (for the handshake's 403)."""
    registry = _registry(conn)
    if registry is None or run_id not in registry.members:
        return None
    if registry.can_see(run_id, who_of(conn)):
        return None
    code = registry.members[run_id].code
    return (
        f"run {run_id} belongs to class {code}: only its student, the teacher or the class "
        "while it is in the spotlight may watch it (?student=<token> or ?teacher=<token>)"
    )


def stream_key(conn: HTTPConnection) -> str | None:
    """Streams of a class member are counted per token, not per address (a school's NAT)."""
    who = who_of(conn)
    if who.student is not None:
        return f"student:{who.student.id}"
    if who.teacher_of is not None:
        return f"teacher:{who.teacher_of}"
    return None


def student_owns(conn: HTTPConnection, run_id: str) -> bool:
    """The request's X-Student-Token is the student who started this run."""
    registry = _registry(conn)
    return registry is not None and registry.owns(run_id, who_of(conn))


def list_filter(conn: HTTPConnection) -> dict:
    """The RunFilter fields that keep other people's class runs off a listing."""
    registry = _registry(conn)
    if registry is None:
        return {}
    who = who_of(conn)
    return {
        "extra": (registry.list_condition(who),),
        "keep": lambda run_id: registry.listable(run_id, who),
    }
