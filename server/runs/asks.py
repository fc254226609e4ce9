"""A worker's questions (`/predict`, with Captum's `explain` 32+ passes) waiting their turn.

Before, an ask was answered the moment the worker read it, between two runs' turns and outside
the watchdog's busy mark: a flood of asks on one run held every other run of the worker for a
minute while the worker looked healthy. Now asks wait here, and the worker's loop answers at
most one per run per round (`take`), under that run's busy mark, beside the runs' training
turns: a run's asks cost its own turn, not its neighbours'. A caller who gives up sends
`cancel_ask`: a queued ask is dropped unanswered. The server bounds how many asks are in
flight (per run and per client, `LAYERLAB_MAX_ASKS_*`), so the queue is bounded by them;
`most` is a last guard (the oldest is dropped, answered "refused").
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Question:
    seq: int
    run_id: str
    raw: Any
    explain: bool
    target: int | None
    kind: str = "predict"  # or a query's kind ("project", "recommend"): raw holds its params


class AskQueue:
    """Questions per run, in order; runs taken in turn."""

    def __init__(self, most: int = 1024):
        self.most = most
        self._runs: OrderedDict[str, deque[Question]] = OrderedDict()
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def put(self, question: Question) -> Question | None:
        """Queue it; returns one dropped to keep the bound (answer it refused), or None."""
        self._runs.setdefault(question.run_id, deque()).append(question)
        self._size += 1
        if self._size <= self.most:
            return None
        run_id = next(iter(self._runs))
        return self._pop(run_id)

    def cancel(self, seq: int) -> bool:
        """Drop the queued question `seq` (False: already answered, or never here)."""
        for run_id, questions in self._runs.items():
            for question in questions:
                if question.seq == seq:
                    questions.remove(question)
                    self._size -= 1
                    if not questions:
                        del self._runs[run_id]
                    return True
        return False

    def drop_run(self, run_id: str) -> list[Question]:
        """The run ended: its questions, to answer refused."""
        questions = list(self._runs.pop(run_id, ()))
        self._size -= len(questions)
        return questions

    def take(self) -> list[Question]:
        """One question of each run that has any (the oldest), for this round."""
        return [self._pop(run_id) for run_id in list(self._runs)]

    def _pop(self, run_id: str) -> Question:
        questions = self._runs[run_id]
        question = questions.popleft()
        self._size -= 1
        if questions:
            self._runs.move_to_end(run_id)
        else:
            del self._runs[run_id]
        return question
