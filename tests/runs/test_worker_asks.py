"""A worker's questions (`/predict`) wait their run's turn, under its busy mark, and a question
whose caller gave up is never answered (issue 20: a flood of `explain` asks on one run held a
victim run on the same worker for 60 s while the worker looked healthy)."""

from __future__ import annotations

import multiprocessing
import threading

from test_worker import Harness, spiral

from server.runs.asks import AskQueue, Question
from server.runs.beat import Beat


def test_the_queue_takes_one_question_per_run_per_round_and_drops_a_cancelled_one():
    queue = AskQueue(most=6)
    for seq in range(1, 5):
        queue.put(Question(seq, "flood", [0, 0], True, None))
    queue.put(Question(9, "victim", [0, 0], False, None))
    assert [q.seq for q in queue.take()] == [1, 9]  # the flood's first, then the victim's
    assert queue.cancel(3) and not queue.cancel(3) and not queue.cancel(9)
    assert [q.seq for q in queue.take()] == [2]
    assert [q.seq for q in queue.take()] == [4]
    assert queue.take() == [] and len(queue) == 0
    for seq in range(10, 17):  # one past `most`: the oldest is handed back to be refused
        dropped = queue.put(Question(seq, "flood", [0, 0], False, None))
    assert dropped is not None and dropped.seq == 10 and len(queue) == 6


def test_an_ask_is_answered_under_its_runs_busy_mark_and_a_cancelled_one_never():
    beat = Beat(multiprocessing.get_context("spawn"))
    harness = Harness(beat=beat)
    worker = harness.worker
    release = threading.Event()
    seen: list[tuple[int, str | None]] = []
    answer = worker.ask

    def held_ask(run_id, raw, explain, target):
        seen.append((raw[0], beat.current()[0]))
        if raw[0] == 1:
            assert release.wait(30)  # the worker is held here: the next commands pile up
        return answer(run_id, raw, explain, target)

    worker.ask = held_ask
    try:
        harness.send("start", "r", spiral(5), True)  # paused: asks are its only work
        harness.read_until(lambda m: m[0] == "accepted")
        harness.send("ask", 1, "r", [1, 0.5], False, None)
        while not seen:  # the first ask is being answered (an event, below, ends the wait)
            release.wait(0.01)
        harness.send("ask", 2, "r", [2, 0.5], False, None)
        harness.send("cancel_ask", 2)  # its caller gave up while it waited
        harness.send("ask", 3, "r", [3, 0.5], True, None)
        release.set()
        harness.read_until(lambda m: m[0] == "reply" and m[1] == 3)
    finally:
        harness.close()
    replies = [m[1] for m in harness.messages if m[0] == "reply"]
    assert replies == [1, 3]  # 2 was never computed nor answered
    assert seen == [(1, "r"), (3, "r")]  # each answered under the run's busy mark
    assert beat.current() == (None, 0.0)  # and the mark is lifted after
    third = next(m for m in harness.messages if m[0] == "reply" and m[1] == 3)
    assert third[3] is None and "attribution" in third[4]  # explained, answered
