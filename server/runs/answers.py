"""A worker's answers to its runs' questions: asks (`/predict`, with Captum's `explain`) and
queries (a layer's projection, recommendations: engine/queries.py), `Answers`, a base of
`runs/worker.Worker`.

A question waits in the worker's `AskQueue` (asks.py) for its run's turn: the loop answers at
most one per run per round (`answer_asks`), under that run's busy mark, so the watchdog sees
(and ends) an answer that holds the worker as it does a training step. Every question gets
one "reply": the answer's JSON, or why there is none ("input": it does not fit the model;
"refused": anything else). A question never ends its run.
"""

from __future__ import annotations

import sys
import traceback
from typing import TYPE_CHECKING, Any

from .asks import AskQueue, Question
from .beat import Beat
from .job import Job
from .messages import dumps, json_safe


class Answers:
    """A worker's questions, queued and answered. A base of `Worker`, whose `send`, `jobs`
    and `build` (a run's trainer, when its question comes before its first turn) it uses."""

    asks: AskQueue
    beat: Beat | None
    jobs: dict[str, Job]

    if TYPE_CHECKING:  # Worker's (build: its base Jobs'), which this base calls

        def send(self, *msg: Any) -> None: ...
        def build(self, job: Job) -> None: ...

    def queue(self, question: Question) -> None:
        """Queue a question for its run's turn; the oldest one past the bound is refused."""
        dropped = self.asks.put(question)
        if dropped is not None:
            self.send("reply", dropped.seq, dropped.run_id, ("refused", "too many asks"), None)

    def answer_asks(self) -> None:
        """One waiting question per run, each under its run's busy mark: the watchdog sees
        (and ends) an answer that holds the worker like a training step that does."""
        for question in self.asks.take():
            if self.beat is not None:
                self.beat.busy(question.run_id)
            try:
                if question.kind == "predict":
                    error, answer = self.ask(
                        question.run_id, question.raw, question.explain, question.target
                    )
                else:
                    error, answer = self.query(question.run_id, question.kind, question.raw)
            finally:
                if self.beat is not None:
                    self.beat.idle()
            self.send("reply", question.seq, question.run_id, error, answer)

    def ask(self, run_id: str, raw: Any, explain: bool, target: int | None):
        """Predict (and explain) one raw input with a run's current weights."""
        from server.engine.predict import predict

        return self._answer(run_id, lambda trainer: predict(trainer, raw, explain, target))

    def query(self, run_id: str, kind: str, params: dict):
        """Answer a query (a projection, recommendations: engine/queries.py) with a run's
        current weights; a t-SNE is left to the server (its activations travel instead)."""
        from server.engine.queries import answer_query

        return self._answer(run_id, lambda trainer: answer_query(trainer, kind, params))

    def _answer(self, run_id: str, compute: Any):
        """(None, JSON text) or (("input" | "refused", why), None): never raises."""
        from server.engine.predict import InputError

        job = self.jobs.get(run_id)
        if job is None:
            return ("refused", "the run is no longer active"), None
        try:
            if job.trainer is None:
                self.build(job)
            return None, dumps(json_safe(compute(job.trainer)))
        except InputError as err:
            return ("input", str(err)), None
        except Exception as err:  # noqa: BLE001 - a question must never end the run
            traceback.print_exc(file=sys.stderr)
            return ("refused", f"could not predict: {type(err).__name__}"), None
