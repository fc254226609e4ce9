"""The worker loop in-process, with the real trainer: time slicing, controls, failures."""

from __future__ import annotations

import threading
import time
from multiprocessing import Pipe

import pytest

from server.config import Settings
from server.engine.trainer import Trainer
from server.runs.worker import Worker


def spiral(epochs: int, **training) -> dict:
    return {
        "dataset": {"name": "spiral", "samples": 100},
        "model": {"layers": [{"type": "dense", "units": 4, "activation": "tanh"}]},
        "training": {"epochs": epochs, **training},
    }


class Harness:
    """A Worker on a thread of this process, talked to through pipes as the pool does."""

    def __init__(self, beat=None, **settings):
        cmd_read, self.cmd = Pipe(duplex=False)
        self.out, msg_write = Pipe(duplex=False)
        config = Settings(**{"persist_runs": False, "time_slice_s": 0.01, **settings})
        self.worker = Worker(config, cmd_read, msg_write, Trainer, beat)
        self.thread = threading.Thread(target=self.worker.loop, daemon=True)
        self.thread.start()
        self.messages: list[tuple] = []

    def send(self, *command) -> None:
        self.cmd.send(command)

    def read_until(self, predicate, timeout: float = 30.0) -> tuple:
        while True:
            if not self.out.poll(timeout):
                raise TimeoutError(self.messages[-5:])
            message = self.out.recv()
            self.messages.append(message)
            if predicate(message):
                return message

    def status(self, run_id: str, status: str):
        return lambda m: m[0] == "status" and m[1] == run_id and m[2] == status

    def epochs(self, run_id: str) -> list[int]:
        return [m[2]["epoch"] for m in self.messages if m[0] == "epoch" and m[1] == run_id]

    def close(self) -> None:
        self.send("shutdown")
        self.thread.join(10)


@pytest.fixture
def harness():
    h = Harness()
    yield h
    h.close()


def test_runs_are_time_sliced_round_robin(harness: Harness):
    ids = ["a", "b", "c"]
    for run_id in ids:
        harness.send("start", run_id, spiral(8), False)
    finished: set[str] = set()
    while finished != set(ids):
        message = harness.read_until(lambda m: m[0] == "status" and m[2] == "finished")
        finished.add(message[1])
    for run_id in ids:
        assert harness.epochs(run_id) == list(range(1, 9))
    first_epochs = [
        next(i for i, m in enumerate(harness.messages) if m[0] == "epoch" and m[1] == r)
        for r in ids
    ]
    first_finish = next(i for i, m in enumerate(harness.messages) if m[2:3] == ("finished",))
    assert max(first_epochs) < first_finish
    # Unwatched runs are probed once, at the end, for late viewers.
    snapshots = [m for m in harness.messages if m[0] == "snapshot"]
    assert sorted(m[1] for m in snapshots) == ids


def test_pause_step_watch_set_lr_and_stop(harness: Harness):
    harness.send("start", "r", spiral(1000), False)
    harness.send("control", 1, "r", "pause", None)
    harness.read_until(lambda m: m[0] == "ack" and m[1] == 1)
    assert harness.messages[-2][:3] == ("status", "r", "paused")
    done = len(harness.epochs("r"))

    harness.send("control", 2, "r", "watch", True)
    harness.send("control", 3, "r", "set_lr", 0.5)
    harness.send("control", 4, "r", "step", None)
    harness.read_until(harness.status("r", "paused"))
    assert harness.epochs("r") == list(range(1, done + 2))  # exactly one more epoch
    record = [m[2] for m in harness.messages if m[0] == "epoch"][-1]
    assert record["lr"] == 0.5 and isinstance(record["time"], float)
    assert any(m[0] == "snapshot" for m in harness.messages)  # watched: it probes

    harness.send("control", 5, "r", "resume", None)
    harness.read_until(harness.status("r", "running"))
    harness.send("control", 6, "r", "stop", None)
    harness.read_until(harness.status("r", "stopped"))
    harness.send("control", 7, "r", "pause", None)
    ack = harness.read_until(lambda m: m[0] == "ack" and m[1] == 7)
    assert ack[3] == "the run is no longer active"


def test_failures_end_one_run_with_a_reason(harness: Harness):
    harness.send("start", "gpu", spiral(3, device="cuda"), False)  # no GPU here
    diverging = {
        "dataset": {"name": "plane", "samples": 100},
        "model": {"layers": [{"type": "dense", "units": 8, "activation": "relu"}]},
        "training": {"learning_rate": 10, "epochs": 50},
    }
    harness.send("start", "boom", diverging, False)
    harness.send("start", "fine", spiral(3), False)
    harness.read_until(harness.status("fine", "finished"))
    outcomes = {m[1]: m[2:4] for m in harness.messages if m[0] == "status"}
    assert outcomes["gpu"][0] == "failed" and "CUDA" in outcomes["gpu"][1]
    assert outcomes["boom"][0] == "diverged" and "learning rate" in outcomes["boom"][1]
    assert harness.thread.is_alive()


def test_ended_runs_leave_their_export_in_the_spool(tmp_path):
    harness = Harness(persist_runs=True, state_dir=tmp_path)
    try:
        spool = tmp_path / "exports"
        harness.send("start", "done", spiral(2), False)
        harness.read_until(harness.status("done", "finished"))
        # Written before the final status: whoever sees "finished" finds the files.
        assert sorted(p.name for p in (spool / "done").iterdir()) == [
            "model.py",
            "weights.safetensors",
        ]
        assert "def build_model()" in (spool / "done" / "model.py").read_text()

        harness.send("start", "halt", spiral(1000), False)
        harness.read_until(lambda m: m[0] == "epoch" and m[1] == "halt")
        harness.send("control", 1, "halt", "stop", None)
        harness.read_until(harness.status("halt", "stopped"))
        assert (spool / "halt" / "weights.safetensors").is_file()

        harness.send("start", "gpu", spiral(3, device="cuda"), False)  # fails: no export
        harness.read_until(harness.status("gpu", "failed"))
        assert not (spool / "gpu").exists()
    finally:
        harness.close()


def test_active_runs_are_checkpointed_and_resume_from_it(tmp_path):
    from server.runs.checkpoints import path_for, read_checkpoint

    harness = Harness(persist_runs=True, state_dir=tmp_path, checkpoint_interval_s=0.05)
    try:
        harness.send("start", "long", spiral(10_000), False)
        harness.read_until(lambda m: m[0] == "epoch" and m[1] == "long" and m[2]["epoch"] >= 30)
        settings = harness.worker.settings
        deadline = time.monotonic() + 30  # the first checkpoint follows its interval
        while (found := read_checkpoint(settings, "long")) is None:
            assert time.monotonic() < deadline, "no checkpoint was written"
            time.sleep(0.02)
        epoch, history = found
        assert epoch >= 1 and [r["epoch"] for r in history] == list(range(1, epoch + 1))
        resume = {"path": str(path_for(settings, "long")), "history": history}
        harness.send("start", "again", spiral(epoch + 2), False, resume)
        harness.read_until(harness.status("again", "finished"))
        again = [m[2]["epoch"] for m in harness.messages if m[0] == "epoch" and m[1] == "again"]
        assert again == [epoch + 1, epoch + 2]  # onwards from the checkpoint's epoch
        assert not path_for(settings, "again").exists()  # ended: nothing left to resume
    finally:
        harness.close()


def test_an_export_that_fails_costs_only_the_export(tmp_path, capfd):
    blocked = tmp_path / "state"
    blocked.write_text("a file where the state directory should be")
    harness = Harness(persist_runs=True, state_dir=blocked)
    try:
        harness.send("start", "a", spiral(2), False)
        harness.read_until(harness.status("a", "finished"))
        harness.send("start", "b", spiral(2), False)  # the worker carries on
        harness.read_until(harness.status("b", "finished"))
    finally:
        harness.close()
    assert "could not export run a" in capfd.readouterr().err


def test_a_garbled_command_is_logged_and_the_worker_goes_on(harness: Harness, capfd):
    harness.send("start", "r")  # too short
    harness.send("frobnicate", 1)  # no such command
    harness.send("control", 1, "r", "pause", None, "extra")  # too long: refused at once
    harness.send("ask", 9, "r", [0.1], False, None, "extra")  # its caller told too
    harness.cmd.send("not a tuple")
    harness.send("start", "r", spiral(1000), True)
    harness.send("control", 2, "r", "step", None)
    harness.send("control", 3, "r", "pause", None)
    ack = harness.read_until(lambda m: m[0] == "ack")
    assert ack[:3] == ("ack", 1, "r") and "could not read" in ack[3]  # not left to time out
    reply = harness.read_until(lambda m: m[0] == "reply")
    assert reply[:3] == ("reply", 9, "r") and reply[3][0] == "refused" and reply[4] is None
    ack = harness.read_until(lambda m: m[0] == "ack" and m[1] != 1)
    assert ack == ("ack", 2, "r", None)  # the first command after the garbled ones
    assert harness.thread.is_alive()
    assert [m for m in harness.messages if m[0] == "accepted"] == [("accepted", "r")]
    err = capfd.readouterr().err
    assert err.count("layerlab worker: ignored a garbled command") == 5
    assert "start with 1 fields" in err and "unknown command 'frobnicate'" in err
    assert "control with 5 fields" in err and "not a command: str" in err


def test_no_raw_pytorch_message_reaches_a_user(harness: Harness):
    """Issue 7.8: batch norm with a batch of one (were the check bypassed) failed with PyTorch's
    "Expected more than 1 value per channel when training"."""
    doc = {
        "dataset": {"name": "iris"},
        "model": {"layers": [{"type": "dense", "units": 4}, {"type": "batchnorm"}]},
        "training": {"batch_size": 1, "epochs": 1},
    }
    harness.send("start", "bn1", doc, False)
    message = harness.read_until(harness.status("bn1", "failed"))[3]
    assert "batch size of at least 2" in message and "batchnorm" in message
    assert "Expected" not in message and "torch" not in message.lower()


def test_the_beat_says_the_worker_is_alive_and_which_run_the_loop_is_busy_with():
    import multiprocessing

    from server.runs.beat import HEARTBEAT_S, Beat

    beat = Beat(multiprocessing.get_context("spawn"))
    harness = Harness(time_slice_s=0.2, beat=beat)
    stamper = threading.Thread(target=harness.worker.heartbeat, daemon=True)
    before = beat.stamp
    stamper.start()
    try:
        time.sleep(HEARTBEAT_S * 3)
        assert beat.stamp > before and time.monotonic() - beat.stamp < HEARTBEAT_S * 2
        assert beat.current() == (None, 0.0)
        harness.send("start", "long", spiral(10_000), False)
        deadline = time.monotonic() + 30
        while beat.current()[0] != "long":
            assert time.monotonic() < deadline, "the beat never named the busy run"
            time.sleep(0.01)
        assert 0 <= beat.current()[1] < 30
        harness.send("control", 1, "long", "stop", None)
        harness.read_until(harness.status("long", "stopped"))
    finally:
        harness.close()
    accepted = [m for m in harness.messages if m[0] == "accepted"]
    assert accepted == [("accepted", "long")]
