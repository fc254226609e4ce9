"""Predict, then reveal: the teacher asks one question, students answer, then the reveal.

A question is multiple choice (`choices`, an answer is an index), a number, or a sketch (the
boundary a student expects, drawn on the dataset's plane: up to MAX_STROKES strokes of
[x, y] points, MAX_POINTS in all). Until the reveal each student sees only their own answer
and the teacher only how many answered; the reveal gives every page the answers without
names (shuffled, so order tells nothing) beside the real result.

One question per class, in memory (a new one replaces it); its answers are one per student,
whom the class caps bound, each bounded in size.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field

KINDS = ("choice", "number", "sketch")
MAX_CHOICES = 8
MAX_STROKES = 8
MAX_POINTS = 400
MAX_COORD = 1e4
MAX_DATA_POINTS = 300  # the data's points drawn under a sketch


class AnswerRefused(ValueError):
    """A bad answer: `field` names what is wrong."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass
class Question:
    seq: int
    kind: str
    prompt: str
    choices: list[str] = field(default_factory=list)
    extent: list[float] | None = None  # the plane a sketch is drawn on: [xmin, xmax, ymin, ymax]
    points: list[list[float]] = field(default_factory=list)  # the data under it: [x, y, class]
    asked: float = field(default_factory=time.time)
    answers: dict[str, object] = field(default_factory=dict)  # student id -> answer
    revealed: bool = False
    result: dict | None = None

    def public(self) -> dict:
        """What every page sees: the question, how many answered, and after the reveal the
        answers (no names) and the result."""
        out = {
            "seq": self.seq,
            "kind": self.kind,
            "prompt": self.prompt,
            "choices": self.choices,
            "extent": self.extent,
            "points": self.points,
            "answered": len(self.answers),
            "revealed": self.revealed,
        }
        if self.revealed:
            answers = list(self.answers.values())
            random.Random(self.seq).shuffle(answers)
            out["answers"] = answers
            out["result"] = self.result
        return out


def check_answer(question: Question, answer: object) -> object:
    """The answer as kept, or AnswerRefused naming the field."""
    if question.kind == "choice":
        if isinstance(answer, bool) or not isinstance(answer, int):
            raise AnswerRefused("answer", "a choice answer is the index of one of the choices")
        if not 0 <= answer < len(question.choices):
            raise AnswerRefused("answer", f"choose 0 to {len(question.choices) - 1}, not {answer}")
        return answer
    if question.kind == "number":
        if isinstance(answer, bool) or not isinstance(answer, (int, float)):
            raise AnswerRefused("answer", "a number answer is a number")
        if not math.isfinite(answer) or abs(answer) > 1e12:
            raise AnswerRefused("answer", "the number must be finite (and under 1e12)")
        return answer
    return _sketch(answer)


def _sketch(answer: object) -> list[list[list[float]]]:
    if not isinstance(answer, list) or not 1 <= len(answer) <= MAX_STROKES:
        raise AnswerRefused(
            "answer", f"a sketch is a list of 1 to {MAX_STROKES} strokes of [x, y] points"
        )
    total = 0
    strokes = []
    for i, stroke in enumerate(answer):
        if not isinstance(stroke, list) or len(stroke) < 2:
            raise AnswerRefused(f"answer.{i}", "a stroke has at least two [x, y] points")
        total += len(stroke)
        if total > MAX_POINTS:
            raise AnswerRefused("answer", f"a sketch has at most {MAX_POINTS} points")
        points = []
        for j, point in enumerate(stroke):
            ok = (
                isinstance(point, list)
                and len(point) == 2
                and all(
                    isinstance(v, (int, float))
                    and not isinstance(v, bool)
                    and math.isfinite(v)
                    and abs(v) <= MAX_COORD
                    for v in point
                )
            )
            if not ok:
                raise AnswerRefused(f"answer.{i}.{j}", "a point is [x, y], two finite numbers")
            points.append([round(float(point[0]), 4), round(float(point[1]), 4)])
        strokes.append(points)
    return strokes


def sketch_points(preview: dict) -> tuple[list[float] | None, list[list[float]]]:
    """A 2D dataset preview (POST /api/datasets/preview) -> its extent, and up to
    MAX_DATA_POINTS training points as [x, y, class]."""
    points = preview.get("points") or []
    labels = preview.get("labels") or []
    if preview.get("kind") != "points" or not points or len(points[0]) != 2:
        return None, []
    step = max(1, len(points) // MAX_DATA_POINTS)
    out = [[p[0], p[1], labels[i] if i < len(labels) else 0] for i, p in enumerate(points)][::step]
    extent = preview.get("extent")
    return (list(extent) if extent and len(extent) == 4 else None), out[:MAX_DATA_POINTS]


class Predictions:
    """Every class's current question."""

    def __init__(self) -> None:
        self.by_class: dict[str, Question] = {}
        self._seq = 0

    def ask(
        self,
        code: str,
        kind: str,
        prompt: str,
        choices: list[str],
        extent: list[float] | None,
        points: list[list[float]] | None = None,
    ) -> Question:
        self._seq += 1
        question = Question(self._seq, kind, prompt, choices, extent, points or [])
        self.by_class[code] = question
        return question

    def answer(self, code: str, student_id: str, answer: object) -> Question:
        question = self.by_class[code]
        question.answers[student_id] = check_answer(question, answer)
        return question

    def reveal(self, code: str, result: dict) -> Question:
        question = self.by_class[code]
        question.revealed, question.result = True, result
        return question

    def clear(self, code: str) -> bool:
        return self.by_class.pop(code, None) is not None
