"""The store on its own, against SQLite and PostgreSQL: migrations, the write-behind thread,
paged and filtered reads, rows validated on read, old JSON files imported, and a database
that cannot be written (kept serving, nothing lost)."""

from __future__ import annotations

import json
import threading
import time

from alembic.script import ScriptDirectory
from store_sql import sql, write_lock

from server.store import queries
from server.store.db import MIGRATIONS
from server.store.queries import RunFilter
from server.store.store import Store, token_hash

pytest_plugins = ["store_fixtures"]  # its fixtures (see there why not a conftest.py)

CHECK = {"input_shape": [2], "layers": [], "total_params": 6}


def experiment(dataset: str = "spiral", lr: float = 0.03) -> dict:
    return {
        "dataset": {"name": dataset},
        "model": {"layers": []},
        "training": {"epochs": 5, "learning_rate": lr},
    }


def add_run(store: Store, run_id: str, created: float, **kw) -> None:
    store.add_run(
        run_id,
        status=kw.pop("status", "running"),
        client="127.0.0.1",
        experiment=kw.pop("experiment", experiment()),
        check=CHECK,
        created=created,
        **kw,
    )


def test_migrations_run_once_and_records_come_back_in_pages(settings):
    store = Store(settings)
    store.open()
    store.close()
    store = Store(settings)  # a second start finds the schema up to date
    store.open()
    try:
        add_run(store, "r1", 1.0, owner=token_hash("alice-token-0123456789"), token="secret")
        for epoch in range(1, 26):
            store.add_epoch("r1", epoch, json.dumps({"epoch": epoch, "loss": 1 / epoch}))
        store.add_layers("r1", 25, json.dumps({"epoch": 25, "layers": []}))
        store.update_run("r1", status="finished", ended=2.0)
        assert store.writer.flush()
        run = store.get_run("r1")
        assert (run.status, run.epoch, run.last["epoch"], run.epochs) == ("finished", 25, 25, 5)
        assert run.token_hash == token_hash("secret")  # never the token itself
        page = store.read(queries.history, "r1", 0, 10)
        assert [json.loads(t)["epoch"] for t in page] == list(range(1, 11))
        rest = store.read(queries.history, "r1", 20, 10)
        assert [json.loads(t)["epoch"] for t in rest] == [21, 22, 23, 24, 25]
        assert len(store.read(queries.layer_history, "r1")) == 1
        # Every branch of the migrations is applied (features add theirs off "0001").
        versions = {v for (v,) in sql(settings, "SELECT version_num FROM alembic_version")}
        assert versions == set(ScriptDirectory(str(MIGRATIONS)).get_heads())
    finally:
        store.close()


def test_listing_is_paged_newest_first_and_filtered(settings):
    store = Store(settings)
    store.open()
    try:
        alice = token_hash("alice-token-0123456789")
        add_run(store, "a", 1.0, owner=alice, design_id="d1")
        add_run(store, "b", 2.0, experiment=experiment("moons"), status="finished")
        add_run(store, "c", 3.0, owner=alice, experiment=experiment("xor", lr=0.5))
        assert store.writer.flush()

        def ids(where=None, limit=10, offset=0):
            runs, total = store.read(queries.list_runs, where or RunFilter(), limit, offset)
            return [r.id for r in runs], total

        assert ids() == (["c", "b", "a"], 3)
        assert ids(limit=2, offset=1) == (["b", "a"], 3)
        assert ids(RunFilter(owner=alice)) == (["c", "a"], 2)
        assert ids(RunFilter(status="finished")) == (["b"], 1)
        assert ids(RunFilter(dataset="xor")) == (["c"], 1)
        assert ids(RunFilter(design="d1")) == (["a"], 1)
        assert ids(RunFilter(text="MOONS")) == (["b"], 1)
        assert ids(RunFilter(text="100%")) == ([], 0)  # % is a character, not a wildcard
    finally:
        store.close()


def test_bad_rows_are_skipped_and_logged_never_fatal(settings, caplog):
    store = Store(settings)
    store.open()
    try:
        add_run(store, "good", 1.0)
        store.add_epoch("good", 1, json.dumps({"epoch": 1}))
        store.add_epoch("good", 2, json.dumps({"epoch": 2}))
        assert store.writer.flush()
        columns = "id, status, client, experiment_json, check_json, epoch, created"
        bad = [
            ("bogus", "bogus", "c", "{}", "{}", 0, 2.0),  # unknown status
            ("notjson", "finished", "c", "{not json", "{}", 0, 3.0),
            ("nullcheck", "finished", "c", "{}", "null", 0, 4.0),
            ("listexp", "finished", "c", "[1, 2]", "{}", 0, 5.0),
            ("negative", "finished", "c", "{}", "{}", -3, 6.0),
        ]
        for row in bad:
            sql(settings, f"INSERT INTO runs ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?)", row)
        sql(
            settings,
            "INSERT INTO epochs (run_id, epoch, record_json) VALUES ('good', 3, '[1, 2]'), "
            "('good', 4, 'not json'), ('good', 5, '{\"epoch\": 5}')",
        )
        runs, total = store.read(queries.list_runs, RunFilter(), 100, 0)
        assert [r.id for r in runs] == ["good"] and total == 1
        for run_id, *_ in bad:
            assert store.get_run(run_id) is None
        history = store.read(queries.history, "good", 0, 100)
        assert [json.loads(t)["epoch"] for t in history] == [1, 2, 5]
        assert "skipping the unreadable stored run 'bogus'" in caplog.text
        assert "unreadable epoch record of run good" in caplog.text
    finally:
        store.close()


def test_old_json_run_files_are_imported_once(tmp_path, settings):
    if settings.database_url:  # the JSON files lived beside the SQLite default only
        settings.database_url = ""
    folder = tmp_path / "state" / "runs"
    folder.mkdir(parents=True)

    def doc(run_id, **kw):
        base = {
            "id": run_id,
            "status": "finished",
            "experiment": experiment(),
            "check": CHECK,
            "history": [{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": 0.4}],
            "created": 10.0,
            "ended": 11.0,
            "client": "1.2.3.4",
        }
        return {**base, **kw}

    files = {
        "ok": doc("ok"),
        "was_running": doc("was_running", status="running"),
        "history_ints": doc("history_ints", history=[1, 2]),
        "check_null": doc("check_null", check=None),
        "bogus": doc("bogus", status="bogus"),
        "int_id": doc(7),
    }
    for name, content in files.items():
        (folder / f"{name}.json").write_text(json.dumps(content))
    (folder / "broken.json").write_text("{not json")
    (folder / "ok.py").write_text("# script")
    (folder / "ok.safetensors").write_bytes(b"\0weights")

    for _ in range(2):  # the second start imports nothing twice
        store = Store(settings)
        store.open()
        runs, total = store.read(queries.list_runs, RunFilter(), 100, 0)
        assert sorted(r.id for r in runs) == ["ok", "was_running"] and total == 2
        assert store.get_run("was_running").status == "interrupted"
        assert [json.loads(t)["epoch"] for t in store.read(queries.history, "ok", 0, 10)] == [1, 2]
        assert store.export_file("ok", "weights.safetensors") == b"\0weights"
        store.close()


def test_a_database_that_cannot_be_written_keeps_everything_and_recovers(settings):
    failures: list[tuple[str, set]] = []
    recovered = threading.Event()
    store = Store(
        settings,
        on_failure=lambda reason, ids: failures.append((reason, ids)),
        on_recovery=lambda ids: recovered.set(),
    )
    store.open()
    try:
        add_run(store, "r", 1.0)
        assert store.writer.flush()
        with write_lock(settings):
            for epoch in range(1, 51):
                store.add_epoch("r", epoch, json.dumps({"epoch": epoch}))
            deadline = time.monotonic() + 30
            while store.health()["ok"]:
                assert time.monotonic() < deadline, "the failure was not noticed"
                time.sleep(0.05)
            health = store.health()
            assert health["error"] and health["pending"] == 50
            assert failures and failures[0][1] == {"r"}
            assert store.get_run("r").epoch == 0  # reads go on while writes fail
        assert recovered.wait(30)
        assert store.health()["ok"] and store.health()["pending"] == 0
        history = store.read(queries.history, "r", 0, 100)
        assert [json.loads(t)["epoch"] for t in history] == list(range(1, 51))
    finally:
        store.close()


def test_a_full_queue_drops_epoch_records_counts_them_and_keeps_the_run(settings):
    """Issue 20: a locked database grew the writer's queue without bound (68,000 writes,
    +157 MB a minute). Past `store_max_pending` epoch records are dropped and counted; a
    run's own row and status still go through (up to twice the bound). Here without the
    journal that takes them first (test_the_journal_takes_what_memory_cannot_...)."""
    store = Store(settings.model_copy(update={"store_max_pending": 100, "store_journal_mb": 0}))
    store.open()
    try:
        add_run(store, "r", 1.0)
        assert store.writer.flush()
        with write_lock(settings):
            for epoch in range(1, 251):
                store.add_epoch("r", epoch, json.dumps({"epoch": epoch}))
            store.update_run("r", status="stopped", ended=2.0)
            health = store.health()
            assert health["pending"] == 101 and health["dropped"] == 150
            assert store.writer.take_dropped("r") == 150 and store.writer.take_dropped("r") == 0
        assert store.writer.flush(30)
        assert store.health()["ok"] and store.health()["pending"] == 0
        history = store.read(queries.history, "r", 0, 1000)
        assert [json.loads(t)["epoch"] for t in history] == list(range(1, 101))
        assert store.get_run("r").status == "stopped"
    finally:
        store.close()


def test_the_journal_takes_what_memory_cannot_and_only_its_overflow_is_dropped(settings):
    """Past `store_max_pending` writes go to the journal file, replayed in order once the
    database can be written; only past `store_journal_mb` are epoch records dropped."""
    store = Store(settings.model_copy(update={"store_max_pending": 100, "store_journal_mb": 1}))
    store.open()
    pad = "x" * 1000  # about 1 KB a record: the 1 MiB journal is full after ~1,000
    try:
        add_run(store, "r", 1.0)
        assert store.writer.flush()
        with write_lock(settings):
            epoch = 0
            while not store.health()["dropped"]:
                assert epoch < 5000, "the journal's bound was never reached"
                for _ in range(101):  # past memory's bound: its thread spills them
                    epoch += 1
                    store.add_epoch("r", epoch, json.dumps({"epoch": epoch, "pad": pad}))
                deadline = time.monotonic() + 30
                while store.writer.held and not store.writer.journal.full:
                    assert time.monotonic() < deadline, (store.health(), epoch)
                    time.sleep(0.01)
            health = store.health()
            assert 1000 < health["journaled"] < epoch
            assert health["dropped"] == epoch - health["pending"]  # the others wait
            store.update_run("r", status="stopped", ended=2.0)  # a run's status still goes
        assert store.writer.flush(60)
        health = store.health()
        assert health["ok"] and health["pending"] == 0 and health["journaled"] == 0
        history = store.read(queries.history, "r", 0, 10000)
        kept = [json.loads(t)["epoch"] for t in history]
        assert kept == list(range(1, len(kept) + 1))  # in order, no gap, none twice
        assert len(kept) == epoch - health["dropped"]
        assert store.get_run("r").status == "stopped"
    finally:
        store.close()
