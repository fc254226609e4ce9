"""Files a worker writes that the server needs, when the worker has a disk of its own (a Ray
actor on another machine): they travel through the worker's message channel.

Two ways, both by the server's folder layout (`<state_dir>/...`, the same on both sides):
- worker -> server: a `("file", run_id, kind, files)` message (`protocol.File`) right after
  the worker wrote them in its own folder, so the server writes them (`receive`) before the
  messages that depend on them: a checkpoint (kind "checkpoint", `{name: bytes}`, or None when
  the worker forgot it: the run ended) and a run's export files (kind "export", before the
  run's final status);
- server -> worker: the files a start command reads (`needed`: a resume's checkpoint, an
  uploaded dataset) go with it, `{relative path: bytes}`, written by the worker (`place`)
  under its own folder before the command is taken.

The local pool shares the server's folder and uses none of this. No database code here.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path, PurePosixPath
from typing import Any

from ..config import Settings
from ..store.spool import NAME, ExportSpool
from . import checkpoints
from .protocol import File

log = logging.getLogger("layerlab.workers")

# What one message may carry: a checkpoint of the largest model allowed is a few MB (its
# weights and Adam's two moments), an export a few times that. Past this something is wrong:
# the file is refused (logged) instead of stalling the worker's channel.
MAX_FILE_BYTES = 64 * 2**20
KINDS = ("checkpoint", "export")


def size(files: dict[str, bytes] | None) -> int:
    return sum(len(data) for data in (files or {}).values())


def receive(settings: Settings, message: File) -> None:
    """Write (or remove) what a worker sent under this server's `state_dir`, atomically (a
    temporary file renamed into place). A refused or failed write costs only that file."""
    try:
        if message.kind not in KINDS:
            raise ValueError(f"unknown kind of file {message.kind!r}")
        if size(message.files) > MAX_FILE_BYTES:
            raise ValueError(f"{size(message.files)} bytes, over {MAX_FILE_BYTES}")
        if not NAME.match(message.run_id):
            raise ValueError(f"not a run id: {message.run_id!r}")
        if message.kind == "checkpoint":
            path = checkpoints.path_for(settings, message.run_id)
            if message.files is None:
                path.unlink(missing_ok=True)
                return
            (data,) = message.files.values()
            write_atomic(path, data)
        else:
            ExportSpool(Path(settings.state_dir) / "exports").write(
                message.run_id, message.files or {}
            )
    except (OSError, ValueError) as err:
        log.error("a %s file of run %s was not kept: %s", message.kind, message.run_id, err)


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def needed(settings: Settings, command: tuple) -> tuple[tuple, dict[str, bytes]]:
    """A start command as a worker without the server's folder gets it: the files it reads
    (`{path relative to state_dir: bytes}`: the resume's checkpoint, an uploaded dataset),
    and the resume naming its checkpoint by that relative path. Other commands go as they
    are. A file that cannot be read is left out (the worker then says what is missing)."""
    if not command or command[0] != "start":
        return command, {}
    root = Path(settings.state_dir)
    files: dict[str, bytes] = {}
    if len(command) > 4 and isinstance(command[4], dict) and command[4].get("path"):
        resume = dict(command[4])
        path = Path(resume["path"])
        with contextlib.suppress(ValueError):
            resume["path"] = path.relative_to(root).as_posix()
            _read(root, resume["path"], files)
        command = (*command[:4], resume)
    dataset = command[2].get("dataset") if isinstance(command[2], dict) else None
    if isinstance(dataset, dict) and dataset.get("name") == "upload":
        from ..engine.datasets.upload import upload_path

        with contextlib.suppress(ValueError, TypeError):
            relative = upload_path(root, str(dataset.get("id"))).relative_to(root)
            _read(root, relative.as_posix(), files)
    return command, files


def _read(root: Path, relative: str, files: dict[str, bytes]) -> None:
    try:
        data = (root / relative).read_bytes()
    except OSError as err:
        log.warning("%s not sent to a worker: %s", relative, err)
        return
    if len(data) > MAX_FILE_BYTES:
        log.error("%s not sent to a worker: %d bytes, over %d", relative, len(data), MAX_FILE_BYTES)
        return
    files[relative] = data


def place(state_dir: Path, command: tuple, files: dict[str, bytes] | None) -> tuple:
    """Worker side of `needed`: write `files` under this worker's own `state_dir` and make a
    resume's relative checkpoint path absolute again."""
    root = Path(state_dir)
    for relative, data in (files or {}).items():
        parts = PurePosixPath(relative).parts
        if not parts or PurePosixPath(relative).is_absolute() or ".." in parts:
            log.error("refused a file outside the worker's folder: %r", relative)
            continue
        write_atomic(root.joinpath(*parts), data)
    if command and command[0] == "start" and len(command) > 4 and isinstance(command[4], dict):
        resume = dict(command[4])
        if resume.get("path") and not Path(resume["path"]).is_absolute():
            resume["path"] = str(root / resume["path"])
        command = (*command[:4], resume)
    return command


def ship(send: Any, run_id: str, kind: str, files: dict[str, bytes] | None) -> None:
    """Worker side of `receive`: send `files` (None: removed) as one "file" message, unless
    they are over MAX_FILE_BYTES (said on stderr: the worker's log)."""
    if size(files) > MAX_FILE_BYTES:
        print(
            f"layerlab worker: the {kind} of run {run_id} is {size(files)} bytes, over "
            f"{MAX_FILE_BYTES}: not sent to the server",
            flush=True,
        )
        return
    send("file", run_id, kind, files)
