"""The messages between the server and its workers: one named, typed message per kind.

On the wire (a pipe, or a Ray call) a message stays a plain tuple: tuples pickle small and
fast. Everything on the server side speaks the dataclasses below: `Command.wire()` makes a
command's tuple, `decode(tuple)` reads a worker's message; the worker reads its commands with
`decode_command(tuple)` and dispatches on their types (runs/worker.py). Both decoders refuse a
tuple of an unknown kind or the wrong length (`ProtocolError`): the backend treats the worker
that sent it as garbled and replaces it, the worker logs the command and ignores it. The
worker writes its messages as the bare tuples (`Worker.send("epoch", run_id, record)`, no
dataclass on its side: thousands of epochs a second go through it). This module is the only
home of the wire formats:

Commands (server -> worker):
  ("start", run_id, experiment_doc, paused[, resume])  resume: {"path", "history"} (checkpoints.py)
  ("control", seq, run_id, action, value)  seq None: no ack wanted
      action: pause | resume | step | stop | set_lr | watch (value: bool)
              step_batch (value: a training sample or None: one traced step, engine/trace.py)
              pace (value: epochs/s or None: full speed; pace.py)
              set_weight (value: {"layer", "to", "from"?, "weight"? | "bias"?}; paused only)
              hand_over (replicas: checkpoint and pause silently, another trains it on)
  ("ask", seq, run_id, raw_input, explain, target)  predict one input (engine/predict.py)
  ("query", seq, run_id, kind, params)  project a layer, recommend (engine/queries.py);
                                        answered like an ask, with a "reply"
  ("cancel_ask", seq)                   the ask's caller gave up: drop it if still queued
  ("shutdown",)                         checkpoint every run, end the loop
Messages (worker -> server):
  ("ready", pid)
  ("accepted", run_id)                  a start command was taken: the run is this worker's
  ("status", run_id, status, message, epoch)
  ("epoch", run_id, record)
  ("snapshot", run_id, epoch, json_text, layers_json)  layers_json: {"epoch", "layers"} or None
  ("trace", run_id, json_text)          the trace of one step_batch (engine/trace.py)
  ("early_stopped", run_id, best_epoch)  before its finished status: the weights kept
  ("file", run_id, kind, files)         a worker with a folder of its own (a Ray actor):
                                        a checkpoint or export it wrote (files.py)
  ("ack", seq, run_id, error)           error: None or why the control was refused
  ("reply", seq, run_id, error, json_text)  the answer to an ask or a query; error: None or
                                            ("input"|"refused", why), json_text then None

The store's writer has its own operations (`server/store/ops.py`), since the store sits
below `runs` and must not import it.
"""

from __future__ import annotations

from dataclasses import MISSING, astuple, dataclass, fields
from typing import Any


class ProtocolError(ValueError):
    """A worker message of an unknown kind or shape."""


# -- server -> worker ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Start:
    """Build this run's trainer and train it (`paused`: wait for step or resume first);
    `resume` names the checkpoint it continues from (`{"path", "history"}`)."""

    run_id: str
    experiment: dict
    paused: bool
    resume: dict | None = None

    def wire(self) -> tuple:
        head = ("start", self.run_id, self.experiment, self.paused)
        return head if self.resume is None else (*head, self.resume)


@dataclass(frozen=True, slots=True)
class Control:
    """An action on one run (`pause`, `resume`, `step`, `stop`, `set_lr`, `step_batch`,
    `watch`...); `seq` None wants no acknowledgement."""

    seq: int | None
    run_id: str
    action: str
    value: Any = None

    def wire(self) -> tuple:
        return ("control", self.seq, self.run_id, self.action, self.value)


@dataclass(frozen=True, slots=True)
class Ask:
    """Predict (and with `explain`, attribute) one raw input with the run's weights."""

    seq: int
    run_id: str
    raw: Any
    explain: bool
    target: int | None

    def wire(self) -> tuple:
        return ("ask", self.seq, self.run_id, self.raw, self.explain, self.target)


@dataclass(frozen=True, slots=True)
class Query:
    """Ask a run's network something besides a prediction, answered like an Ask (a Reply):
    `kind` "project" (a layer's validation activations in 2D) or "recommend" (a user's top
    items), `params` its parameters (engine/queries.py)."""

    seq: int
    run_id: str
    kind: str
    params: dict

    def wire(self) -> tuple:
        return ("query", self.seq, self.run_id, self.kind, self.params)


@dataclass(frozen=True, slots=True)
class CancelAsk:
    """The caller of ask `seq` gave up: drop it if the worker has not answered it yet."""

    seq: int

    def wire(self) -> tuple:
        return ("cancel_ask", self.seq)


@dataclass(frozen=True, slots=True)
class Shutdown:
    """Checkpoint every active run and end the loop (the server is stopping)."""

    def wire(self) -> tuple:
        return ("shutdown",)


Command = Start | Control | Ask | Query | CancelAsk | Shutdown

_COMMANDS: dict[str, type] = {
    "start": Start,
    "control": Control,
    "ask": Ask,
    "query": Query,
    "cancel_ask": CancelAsk,
    "shutdown": Shutdown,
}


def decode_command(message: Any) -> Command:
    """The typed command for one wire tuple (the worker's side; raises ProtocolError)."""
    kind, args = _split(message, "command")
    return _typed(_COMMANDS, "command", kind, args)


# -- worker -> server ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Ready:
    """The worker has warmed up (torch and the engine imported)."""

    pid: int | None = None


@dataclass(frozen=True, slots=True)
class Accepted:
    """The worker took a run's start: from now on the run lives or dies with it."""

    run_id: str


@dataclass(frozen=True, slots=True)
class Epoch:
    run_id: str
    record: dict


@dataclass(frozen=True, slots=True)
class Snapshot:
    run_id: str
    epoch: int
    text: str  # the snapshot message, JSON
    layers: str | None = None  # its per-layer summary, JSON (stored about once a second)


@dataclass(frozen=True, slots=True)
class Status:
    run_id: str
    status: str
    message: str | None
    epoch: int | None


@dataclass(frozen=True, slots=True)
class Trace:
    run_id: str
    text: str


@dataclass(frozen=True, slots=True)
class EarlyStopped:
    """Sent right before a run's `finished` status: it stopped early and keeps the weights
    of `best_epoch` (its final status to viewers carries it)."""

    run_id: str
    best_epoch: int


@dataclass(frozen=True, slots=True)
class Ack:
    """A control done (`error` None) or refused (the reason)."""

    seq: int
    run_id: str
    error: str | None


@dataclass(frozen=True, slots=True)
class Reply:
    """An ask's answer (JSON text), or why there is none: `refusal` is "input" (the input
    does not fit the model: HTTP 422) or "refused" (anything else: 409)."""

    seq: int
    run_id: str
    refusal: str | None
    error: str | None
    answer: str | None


@dataclass(frozen=True, slots=True)
class File:
    """Files the worker wrote in a folder of its own that the server keeps (a Ray actor:
    runs/files.py): `kind` "checkpoint" or "export", `files` {name: bytes}, None: removed."""

    run_id: str
    kind: str
    files: dict | None


Message = Ready | Accepted | Epoch | Snapshot | Status | Trace | EarlyStopped | Ack | Reply | File

_KINDS: dict[str, type] = {
    "ready": Ready,
    "accepted": Accepted,
    "epoch": Epoch,
    "snapshot": Snapshot,
    "status": Status,
    "trace": Trace,
    "early_stopped": EarlyStopped,
    "ack": Ack,
    "file": File,
}


def decode(message: Any) -> Message:
    """The typed message for one wire tuple (raises ProtocolError)."""
    kind, args = _split(message, "worker message")
    if kind == "reply":
        if len(args) != 4:
            raise ProtocolError(f"reply with {len(args)} fields")
        seq, run_id, error, answer = args
        refusal, why = (None, None) if error is None else error
        return Reply(seq, run_id, refusal, why, answer)
    return _typed(_KINDS, "worker message", kind, args)


def _split(message: Any, noun: str) -> tuple[str, tuple]:
    """A wire tuple's kind and fields (ProtocolError for anything else)."""
    if not isinstance(message, tuple) or not message or not isinstance(message[0], str):
        raise ProtocolError(f"not a {noun}: {type(message).__name__}")
    return message[0], message[1:]


def _typed(kinds: dict[str, type], noun: str, kind: str, args: tuple) -> Any:
    """The dataclass of `kind` from its fields, checked against its arity."""
    cls = kinds.get(kind)
    if cls is None:
        raise ProtocolError(f"unknown {noun} {kind!r}")
    least, most = _ARITY[cls]
    if not least <= len(args) <= most:
        raise ProtocolError(f"{kind} with {len(args)} fields")
    return cls(*args)


_ARITY: dict[type, tuple[int, int]] = {  # fields without a default, and all of them
    cls: (sum(f.default is MISSING for f in fields(cls)), len(fields(cls)))
    for cls in (*_KINDS.values(), *_COMMANDS.values())
}


def wire(message: Message) -> tuple:
    """A worker message as its wire tuple (tests and stand-in workers)."""
    if isinstance(message, Reply):
        error = None if message.refusal is None else (message.refusal, message.error)
        return ("reply", message.seq, message.run_id, error, message.answer)
    kind = next(k for k, cls in _KINDS.items() if cls is type(message))
    return (kind, *astuple(message))
