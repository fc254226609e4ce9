"""A run's records in server memory (runs/history.py): read like the list of dicts it
replaced, whichever record is asked for, while each is kept once as its text."""

from __future__ import annotations

import json

from server.classes.dashboard import sparkline
from server.engine.diagnosis import WINDOW
from server.runs.history import RECENT, History
from server.runs.messages import dumps


def records(n: int) -> list[dict]:
    return [
        {"epoch": e, "loss": 1.0 / e, **({"val_loss": 2.0 / e} if e % 3 else {})}
        for e in range(1, n + 1)
    ]


def filled(n: int) -> tuple[History, list[dict]]:
    history = History()
    out = records(n)
    for record in out:
        history.append(record, dumps(record))
    return history, out


def test_it_reads_like_the_list_of_records():
    history, plain = filled(300)
    assert len(history) == 300 and bool(history)
    assert history[0] == plain[0] and history[-1] == plain[-1]
    assert history[100] == plain[100]  # an old record: decoded from its text
    assert history[:5] == plain[:5] and history[-WINDOW:] == plain[-WINDOW:]
    assert history[250:260] == plain[250:260]
    assert list(history) == plain
    assert [json.loads(t) for t in history.texts] == plain
    assert RECENT >= WINDOW + 1


def test_texts_after_an_epoch_and_the_sparkline_match_the_records():
    history, plain = filled(500)
    assert history.texts_after(490) == [dumps(r) for r in plain[490:]]
    assert sparkline(history) == sparkline(plain)  # numbers kept, nothing decoded
    short, plain_short = filled(7)
    assert sparkline(short) == sparkline(plain_short)
    assert None in sparkline(short)  # a record without val_loss


def test_an_empty_history():
    history = History()
    assert len(history) == 0 and not history and history[:3] == []
    assert history.texts_after(0) == [] and sparkline(history) == []
