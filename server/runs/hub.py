"""Fan-out: each run's stream to its viewers, one queue and one sender per viewer.

The hub never waits on a viewer. Publishing appends to each viewer's own queue and wakes its
sender task (or writes at once to a caught-up viewer's transport: viewer.py); a viewer that stops reading only grows its own queue, and is dropped when its
queue passes `viewer_buffer_bytes` or one send has been blocked for `viewer_timeout_s`.

Per viewer, in order: `hello` (the run and its history), then every epoch record exactly once
(consecutive records batched into one `epoch` message), and status changes where they happened.
Snapshots are latest-wins: one pending slot per viewer, sent at most `snapshot_rate` per second
(less often while the viewer lags: viewer.py), and always flushed before a status message (so
the final state precedes `finished`). Each viewer's queue and sender: viewer.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable

from ..config import Settings
from .history import History
from .messages import (
    TERMINAL,
    dumps,
    epoch_message,
    hello_message,
    json_safe,
    status_message,
)
from .stamps import Stamps
from .viewer import LAG_S, RECORD, TEXT, Send, Viewer, WriteNow

SWEEP_S = 0.5
HELLO_HISTORY_BYTES = 256 * 1024  # history beyond this follows the hello as epoch messages
LAYER_HISTORY = 240  # per-layer summaries kept per run; the older half is thinned beyond it
BATCHES_KEPT = 8  # epoch messages cached per run for the viewers sending the same batch


class RunChannel:
    """One run's stream state: status, history, latest snapshot, and its viewers."""

    def __init__(self, run_id: str, info: dict):
        self.id = run_id
        self.info = info  # id, experiment, check: what hello describes besides the status
        self.status = "queued"
        self.message: str | None = None
        self.epoch = 0
        self.history = History()  # the epoch records, each kept once as the text sent
        self.snapshot: str | None = None
        self.layer_history: list[str] = []  # {"epoch", "layers"} of snapshots so far, encoded
        self.trace: str | None = None  # the latest step_batch trace, encoded
        # A run on an uploaded dataset: its rows are its owner's, so other viewers get neither
        # traces nor the snapshot sections that show examples (`public_snapshot`).
        dataset = (info.get("experiment") or {}).get("dataset")
        self.private = isinstance(dataset, dict) and dataset.get("name") == "upload"
        self.public_snapshot: str | None = None
        self.best_epoch: int | None = None  # early stopping kept this epoch's weights
        self.viewers: set[Viewer] = set()
        # The `epoch` messages built lately, by batch ((id of its first record's text, length)
        # -> message): viewers that are caught up send the same batch, encoded once for all.
        self._batches: dict[tuple[int, int], str] = {}

    def epoch_batch(self, records: list[str]) -> str:
        """The `epoch` message of `records` (texts of `history.texts`, consecutive), built
        once per batch however many viewers send it. The texts stay alive in the history, so
        the id of the first and the length name the batch."""
        key = (id(records[0]), len(records))
        message = self._batches.get(key)
        if message is None:
            if len(self._batches) >= BATCHES_KEPT:
                self._batches.clear()
            message = self._batches[key] = epoch_message(records)
        return message

    def describe(self) -> dict:
        info = {**self.info, "status": self.status, "message": self.message, "epoch": self.epoch}
        if self.best_epoch is not None:
            info["best_epoch"] = self.best_epoch
        return info


class Hub:
    """Every run's channel; publishing from the worker side, joining from the WebSocket side."""

    def __init__(self, settings: Settings, on_watch: Callable[[str, bool], None] | None = None):
        self.settings = settings
        self.channels: dict[str, RunChannel] = {}
        self.on_watch = on_watch
        self.stamps = Stamps(settings.stream_stamps, settings.replica_id)
        self._least_delay: dict[str, float] = {}  # run id -> its promptest record's delay
        self._sweeper: asyncio.Task | None = None

    async def start(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep())

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        for channel in self.channels.values():
            for viewer in list(channel.viewers):
                viewer.drop("server shutting down")
        self.stamps.close()

    def open(self, run_id: str, info: dict) -> RunChannel:
        channel = self.channels[run_id] = RunChannel(run_id, info)
        return channel

    def remove(self, run_id: str) -> None:
        channel = self.channels.pop(run_id, None)
        self._least_delay.pop(run_id, None)
        if channel is not None:
            for viewer in list(channel.viewers):
                viewer.drop("run removed")

    # -- publishing ---------------------------------------------------------------------
    def publish_epoch(self, run_id: str, record: dict, text: str | None = None) -> None:
        """One epoch record to every viewer; `text`: the record already encoded (`dumps`),
        as the owner sends it to Redis and a mirror reads it back, so it is encoded once."""
        channel = self.channels.get(run_id)
        if channel is None or channel.status in TERMINAL:
            return
        if text is None:
            text = dumps(record)
        channel.history.append(json_safe(record), text)
        channel.epoch = int(record.get("epoch", channel.epoch + 1))
        if self.stamps.on:
            self.stamps.published(run_id, channel.epoch, time.time())
        late = bool(channel.viewers) and self._published_late(run_id, record.get("time"))
        for viewer in channel.viewers:
            viewer.push(RECORD, text, channel.epoch, late)

    def _published_late(self, run_id: str, made: object) -> bool:
        """Whether this record reached the hub `LAG_S` later than the promptest of its run did
        (this process is behind: its snapshots give way, viewer.py). Measured against the
        promptest, so a worker's clock set apart from this machine's does not count."""
        if not isinstance(made, int | float):
            return False
        delay = time.time() - made
        least = self._least_delay[run_id] = min(self._least_delay.get(run_id, delay), delay)
        return delay - least > LAG_S

    def publish_snapshot(
        self, run_id: str, epoch: int, text: str, layers: str | None = None
    ) -> None:
        channel = self.channels.get(run_id)
        if channel is None:
            return
        channel.snapshot = text
        if channel.private:
            channel.public_snapshot = without_examples(text)
        if layers is not None:
            kept = channel.layer_history
            kept.append(layers)
            if len(kept) > LAYER_HISTORY:  # thin the older half: the whole run stays visible
                half = LAYER_HISTORY // 2
                channel.layer_history = kept[:half:2] + kept[half:]
        for viewer in channel.viewers:
            viewer.push_snapshot(text if viewer.examples else channel.public_snapshot)

    def publish_trace(self, run_id: str, text: str) -> None:
        """The trace of one optimiser step: kept as the run's latest, sent to every viewer in
        order (a person steps at their own pace: there is no flood to thin)."""
        channel = self.channels.get(run_id)
        if channel is None:
            return
        channel.trace = text
        message = '{"type":"trace","trace":' + text + "}"
        for viewer in channel.viewers:
            if viewer.examples:
                viewer.push(TEXT, message)

    def publish_text(self, run_id: str, text: str) -> None:
        """A small message every viewer receives in order (e.g. `pace`); not kept for later
        viewers, whose hello describes the run as it is."""
        channel = self.channels.get(run_id)
        if channel is None or channel.status in TERMINAL:
            return
        for viewer in channel.viewers:
            viewer.push(TEXT, text)

    def publish_status(
        self, run_id: str, status: str, message: str | None = None, epoch: int | None = None
    ) -> None:
        channel = self.channels.get(run_id)
        if channel is None or channel.status in TERMINAL:
            return  # a run ends once; later news (e.g. its worker dying) is moot
        channel.status, channel.message = status, message
        if epoch is not None:
            channel.epoch = max(channel.epoch, epoch)
        text = status_message(status, message, channel.epoch, channel.best_epoch)
        terminal = status in TERMINAL
        for viewer in channel.viewers:
            viewer.push_status(text, terminal)

    # -- viewers ------------------------------------------------------------------------
    def join(
        self,
        run_id: str,
        send: Send,
        examples: bool = True,
        label: str = "",
        write_now: WriteNow | None = None,
    ) -> Viewer | None:
        """A new viewer: hello with the history so far, then the live stream (no await here,
        so nothing can slip between the history and the first live record). `examples`:
        whether it may see a private run's examples (its owner); `label`: its name in the
        timing stamps (stamps.py); `write_now`: its fast path, where it has one (`Viewer`)."""
        channel = self.channels.get(run_id)
        if channel is None:
            return None
        viewer = Viewer(channel, send, self.settings, examples, self.stamps, label, write_now)
        history, rest, size = [], [], 0
        texts = channel.history.texts
        for i, text in enumerate(texts):
            size += len(text)
            if size > HELLO_HISTORY_BYTES:
                rest = texts[i:]
                break
            history.append(text)
        viewer.push(TEXT, hello_message(channel.describe(), history, channel.layer_history))
        epochs = channel.history.epochs  # (they matter to the stamps only)
        for i, text in enumerate(rest, start=len(history)):
            viewer.push(RECORD, text, epochs[i])
        if channel.trace is not None and viewer.examples:  # a class joining mid-lesson
            viewer.push(TEXT, '{"type":"trace","trace":' + channel.trace + "}")
        if channel.snapshot is not None:
            viewer.push_snapshot(channel.snapshot if viewer.examples else channel.public_snapshot)
        if channel.status in TERMINAL:
            msg = status_message(channel.status, channel.message, channel.epoch, channel.best_epoch)
            viewer.push_status(msg, True)
        channel.viewers.add(viewer)
        if len(channel.viewers) == 1 and self.on_watch is not None:
            self.on_watch(run_id, True)
        return viewer

    def leave(self, viewer: Viewer) -> None:
        channel = viewer.channel
        if viewer in channel.viewers:
            channel.viewers.discard(viewer)
            if not channel.viewers and self.on_watch is not None:
                self.on_watch(channel.id, False)

    async def _sweep(self) -> None:
        """Drop viewers whose current send has been blocked longer than `viewer_timeout_s`."""
        timeout = self.settings.viewer_timeout_s
        while True:
            await asyncio.sleep(SWEEP_S)
            now = time.monotonic()
            for channel in list(self.channels.values()):
                for viewer in list(channel.viewers):
                    started = viewer.send_started
                    if started is not None and now - started > timeout:
                        viewer.drop(f"viewer stopped reading for {timeout:g} s")


# Snapshot sections made of the dataset's own examples (sample images and the feature maps
# of one, reconstructions, series windows): left out of a private run's public snapshot. The
# boundary (the model over a grid) and per-layer statistics show no example.
EXAMPLE_SECTIONS = ("images", "autoencoder", "sequence")


def without_examples(text: str) -> str:
    """A snapshot message without its example sections (as a dataset without them has)."""
    message = json.loads(text)
    snapshot = message.get("snapshot") or {}
    for key in EXAMPLE_SECTIONS:
        snapshot.pop(key, None)
    return dumps(message)
