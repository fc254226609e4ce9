"""Uploaded files are parsed in their own processes, never in the API's threads.

A 2 MB zip of 10,000 small images costs minutes of CPU (issue 20: 147 CPU-seconds in the API's
thread pool, beside everything else the server answers). `ParsePool` holds
`LAYERLAB_UPLOAD_PARSE_WORKERS` slots, each a one-process executor (spawned on first use, kept
warm, ended with the server: `core.orphans`); an upload waits for a free slot at most
`PARSE_WAIT_S` (then 429 with Retry-After) and is given `LAYERLAB_UPLOAD_PARSE_TIMEOUT_S` to
parse: past it that slot's process is killed and replaced (the other slots' uploads go on)
and the client gets a 413 naming the setting.

The child gets the file's bytes and returns the parsed arrays and their npz (compressing is
CPU too), or the `UploadError` as plain values (`ParseFailed`).
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import queue
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from ..config import Settings
from ..core.orphans import exit_with_parent
from .csv_table import CsvOptions, parse_csv, parse_points
from .errors import UploadError, too_large
from .images_zip import ImageOptions, parse_images
from .processed import Processed

PARSE_WAIT_S = 10.0  # how long an upload waits for a free slot before a 429
START_S = 120.0  # a new slot's process imports numpy and Pillow first: not the upload's time


class ParseBusy(Exception):
    """Every slot is parsing (429 with Retry-After)."""


@dataclass(frozen=True, slots=True)
class ParseJob:
    """What a child parses: the file's bytes and the options of its kind."""

    kind: str  # csv | images | points
    name: str
    data: bytes
    csv: CsvOptions
    images: ImageOptions
    settings: Settings


@dataclass(frozen=True, slots=True)
class Parsed:
    processed: Processed
    npz: bytes


@dataclass(frozen=True, slots=True)
class ParseFailed:
    """An UploadError's values (an exception with keyword fields does not unpickle)."""

    msg: str
    status: int
    kind: str
    where: dict

    def error(self) -> UploadError:
        return UploadError(self.msg, status=self.status, kind=self.kind, **self.where)


def parse_job(job: ParseJob) -> Parsed | ParseFailed:
    """In the child: parse the file as its kind says."""
    file = io.BytesIO(job.data)
    try:
        if job.kind == "images":
            processed = parse_images(file, job.name, job.images, job.settings)
        elif job.kind == "points":
            processed = parse_points(file, job.name, job.csv, job.settings)
        else:
            processed = parse_csv(file, job.name, job.csv, job.settings)
    except UploadError as err:
        return ParseFailed(err.msg, err.status, err.kind, err.where)
    return Parsed(processed, processed.npz())


class ParsePool:
    """`settings.upload_parse_workers` one-process executors, lent one upload at a time."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._free: queue.Queue[ProcessPoolExecutor | None] = queue.Queue()
        for _ in range(settings.upload_parse_workers):
            self._free.put(None)  # a slot whose process starts on first use
        self._closed = False

    def parse(self, job: ParseJob) -> Parsed:
        """Parse in a child (blocking: call it from a thread). Raises UploadError (the
        file's fault, or the time limit: 413) or ParseBusy."""
        try:
            slot = self._free.get(timeout=PARSE_WAIT_S)
        except queue.Empty:
            raise ParseBusy(
                f"{self.settings.upload_parse_workers} uploads are being parsed; try again "
                "shortly (LAYERLAB_UPLOAD_PARSE_WORKERS)"
            ) from None
        try:
            if slot is None:
                slot = _new_executor()
                slot.submit(_ready).result(timeout=START_S)  # the time limit is the parse's
            future = slot.submit(parse_job, job)
            result = future.result(timeout=self.settings.upload_parse_timeout_s)
        except FutureTimeout:
            _discard(slot)
            slot = None
            raise too_large(
                f"parsing the file took over {self.settings.upload_parse_timeout_s:g} s "
                "(LAYERLAB_UPLOAD_PARSE_TIMEOUT_S)"
            ) from None
        except BrokenProcessPool:
            _discard(slot)
            slot = None
            raise too_large(
                "parsing the file ended its process (out of memory?): send a smaller file"
            ) from None
        finally:
            if self._closed:
                _discard(slot)
            else:
                self._free.put(slot)
        if isinstance(result, ParseFailed):
            raise result.error()
        return result

    def close(self) -> None:
        """End every idle slot's process (a busy one ends when its upload returns)."""
        self._closed = True
        while True:
            try:
                _discard(self._free.get_nowait())
            except queue.Empty:
                return


def _ready() -> bool:
    return True


def _new_executor() -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=1,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=exit_with_parent,  # a kill -9 of the server ends it too
        initargs=(os.getpid(),),
    )


def _discard(pool: ProcessPoolExecutor | None) -> None:
    if pool is None:
        return
    for process in list(getattr(pool, "_processes", {}).values()):
        with contextlib.suppress(Exception):
            process.kill()
    pool.shutdown(wait=False, cancel_futures=True)
