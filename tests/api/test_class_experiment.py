"""A class as one experiment, through the live server: 20 students across five learning rates
fill the experiment's table as their runs end; a run that blows up is flagged `diverged` on
the teacher's dashboard and its student reads why and what to change; hands go up and down."""

from __future__ import annotations

import csv
import io
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from live_server import Live, Stream, spiral

RATES = [0.003, 0.01, 0.03, 0.1, 0.3]
STUDENTS = 20


def open_class(live: Live) -> tuple[str, dict]:
    response = live.http.post("/api/classes", json={"name": "experiment class"})
    assert response.status_code == 201, response.text
    opened = response.json()
    return opened["code"], {"X-Teacher-Token": opened["teacher_token"]}


def join(live: Live, code: str, name: str) -> dict:
    response = live.http.post(f"/api/classes/{code}/join", json={"name": name})
    assert response.status_code == 201, response.text
    return {"X-Student-Token": response.json()["student_token"]}


def test_an_experiment_of_twenty_fills_its_table_as_runs_end(live: Live, limits):
    live.wait_idle()
    limits(max_runs_per_client=3, max_runs=48, max_runs_per_class=40, max_runs_per_student=2)
    code, teacher = open_class(live)
    with ThreadPoolExecutor(8) as pool:
        students = list(pool.map(lambda i: join(live, code, f"Student {i:02d}"), range(STUDENTS)))
    base = spiral(epochs=4, samples=200)
    url = f"/api/classes/{code}/experiment"

    # Only the teacher starts one; a bad value is refused naming its index and field.
    body = {"experiment": base, "setting": "learning_rate", "values": RATES}
    assert live.http.post(url, json=body, headers=students[0]).status_code == 403
    bad = live.http.post(url, json={**body, "values": [0.1, -1]}, headers=teacher)
    assert bad.status_code == 422, bad.text
    assert bad.json()["detail"][0]["loc"][:5] == ["body", "values", 1, "training", "learning_rate"]
    unknown = live.http.post(url, json={**body, "setting": "colour"}, headers=teacher)
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["body", "setting"]
    started = live.http.post(url, json=body, headers=teacher)
    assert started.status_code == 201, started.text
    assert started.json()["assigned"] == STUDENTS

    # Each student is told their value, evenly: four per learning rate.
    me = [live.http.get(f"/api/classes/{code}/me", headers=s).json() for s in students]
    assignments = [m["assignment"] for m in me]
    assert Counter(a["value"] for a in assignments) == {rate: 4 for rate in RATES}
    for a in assignments:
        assert a["setting"] == "learning_rate"
        assert a["experiment"]["training"]["learning_rate"] == a["value"]

    # Locked to it: another learning rate is refused, theirs is trained.
    other = next(r for r in RATES if r != assignments[0]["value"])
    wrong = spiral(epochs=4, samples=200, learning_rate=other)
    refused = live.http.post("/api/runs", json=wrong, headers=students[0])
    assert refused.status_code == 423 and "learning_rate" in refused.json()["detail"]

    with ThreadPoolExecutor(8) as pool:
        created = list(
            pool.map(
                lambda pair: live.http.post(
                    "/api/runs", json=pair[1]["experiment"], headers=pair[0]
                ),
                zip(students, assignments, strict=True),
            )
        )
    assert [r.status_code for r in created] == [201] * STUDENTS, [r.text for r in created]
    runs = [r.json() for r in created]

    # The table fills as runs end: each ended run is a row, with its value and final metrics.
    ended: set[str] = set()
    for run, assignment in zip(runs, assignments, strict=True):
        token = teacher["X-Teacher-Token"]
        stream = Stream(f"{live.ws_base}/ws/runs/{run['id']}?teacher={token}")
        try:
            stream.read_to_end(timeout=120)
        finally:
            stream.close()
        ended.add(run["id"])
        table = live.http.get(url, headers=teacher).json()
        by_run = {row["run_id"]: row for row in table["rows"]}
        assert ended <= set(by_run)
        row = by_run[run["id"]]
        assert row["value"] == assignment["value"] and row["status"] == "finished"
        assert row["epoch"] == 4 and row["metric_name"] == "val_accuracy"
        assert 0 <= row["metric"] <= 1 and row["val_loss"] > 0
    table = live.http.get(url, headers=teacher).json()
    assert len(table["rows"]) == STUDENTS
    assert table["experiment"]["values"] == RATES
    assert Counter(r["value"] for r in table["rows"]) == {rate: 4 for rate in RATES}

    download = live.http.get(f"{url}.csv", headers=teacher)
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(download.text)))
    assert len(lines) == STUDENTS and {float(r["value"]) for r in lines} == set(RATES)

    # Ended: students may change the setting again.
    assert live.http.delete(url, headers=teacher).json() == {"ended": True}
    assert (
        live.http.get(f"/api/classes/{code}/me", headers=students[0]).json()["assignment"] is None
    )


def test_a_run_that_blows_up_is_flagged_diverged(live: Live, limits):
    live.wait_idle()
    limits(max_runs_per_student=2)
    code, teacher = open_class(live)
    student = join(live, code, "Ada")
    calm = join(live, code, "Bo")
    # The schema's highest learning rate (a rate of 50 is refused: 422 naming the field).
    too_fast = spiral(epochs=200, samples=300, optimizer="sgd", learning_rate=50)
    refused = live.http.post("/api/runs", json=too_fast, headers=student)
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"][-2:] == ["training", "learning_rate"]
    wild = spiral(epochs=200, samples=300, optimizer="sgd", learning_rate=10, momentum=0.9)
    wild["model"]["layers"] = [{"type": "dense", "units": 64, "activation": "relu"}] * 4
    run = live.http.post("/api/runs", json=wild, headers=student)
    assert run.status_code == 201, run.text
    fine = live.http.post("/api/runs", json=spiral(epochs=5, samples=200), headers=calm)
    assert fine.status_code == 201, fine.text

    hand = live.http.post(f"/api/classes/{code}/hand", json={"raised": True}, headers=calm)
    assert hand.json() == {"raised": True}

    board = Stream(f"{live.ws_base}/ws/classes/{code}?teacher={teacher['X-Teacher-Token']}")
    try:

        def flagged(m: dict) -> bool:
            if m["type"] != "dashboard":
                return False
            rows = {r["name"]: r for r in m["students"]}
            codes = [d["code"] for d in rows["Ada"]["diagnosis"]]
            return "diverged" in codes and rows["Bo"]["status"] == "finished"

        message = board.read_until(flagged, timeout=120)
        rows = {r["name"]: r for r in message["students"]}
        ada, bo = rows["Ada"], rows["Bo"]
        assert ada["status"] == "diverged" and ada["hand"] is False
        assert "NaN or infinite" in ada["diagnosis"][0]["sentence"]
        assert bo["hand"] is True and "diverged" not in [d["code"] for d in bo["diagnosis"]]
    finally:
        board.close()

    # The student reads the sentence and the change to make.
    help_ = live.http.get(f"/api/classes/{code}/help", headers=student).json()
    assert help_["run_id"] == run.json()["id"] and help_["hand"] is False
    (diverged,) = [d for d in help_["diagnosis"] if d["code"] == "diverged"]
    assert "learning rate" in diverged["suggestion"]
    assert live.http.post(
        f"/api/classes/{code}/hand", json={"raised": False}, headers=calm
    ).json() == {"raised": False}
    assert live.http.get(f"/api/classes/{code}/help", headers=teacher).status_code == 403


def test_a_sketch_question_is_drawn_on_the_data(live: Live):
    code, teacher = open_class(live)
    ada, bo = join(live, code, "Ada"), join(live, code, "Bo")
    url = f"/api/classes/{code}/question"
    sketch = {"kind": "sketch", "prompt": "Draw the boundary"}
    bad = live.http.post(url, json={**sketch, "dataset": {"name": "nope"}}, headers=teacher)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "dataset", "name"]
    flat = live.http.post(url, json={**sketch, "dataset": {"name": "mnist"}}, headers=teacher)
    assert flat.status_code == 422 and flat.json()["detail"][0]["loc"] == ["body", "dataset"]
    asked = live.http.post(url, json={**sketch, "dataset": {"name": "spiral"}}, headers=teacher)
    assert asked.status_code == 201, asked.text
    question = asked.json()
    assert question["extent"] == [-6, 6, -6, 6] and 10 <= len(question["points"]) <= 300
    assert {p[2] for p in question["points"]} == {0, 1}

    line = [[[-5, -5], [0, 0], [5, 5]]]
    assert (
        live.http.post(
            f"/api/classes/{code}/answer", json={"answer": line}, headers=ada
        ).status_code
        == 200
    )
    nan = live.http.post(f"/api/classes/{code}/answer", json={"answer": [[[0, 0]]]}, headers=bo)
    assert nan.status_code == 422 and nan.json()["detail"][0]["loc"] == ["body", "answer", "0"]
    mine = live.http.get(url, headers=ada).json()
    assert mine["mine"] == line and "answers" not in mine["question"]  # nobody sees others'
    assert (
        live.http.post(
            f"/api/classes/{code}/answer", json={"answer": 1}, headers=teacher
        ).status_code
        == 403
    )
    revealed = live.http.post(f"/api/classes/{code}/reveal", json={}, headers=teacher).json()
    assert revealed["answers"] == [line] and "Ada" not in str(revealed)
    late = live.http.post(f"/api/classes/{code}/answer", json={"answer": line}, headers=bo)
    assert late.status_code == 409
