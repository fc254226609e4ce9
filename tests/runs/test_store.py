"""Ended runs on disk: saved as JSON beside their exports, loaded back, forgotten whole."""

from server.runs.store import RunStore


def _doc(run_id: str) -> dict:
    return {"id": run_id, "experiment": {}, "check": {}, "status": "finished", "history": []}


def test_saved_runs_load_back_and_forget_removes_every_file(tmp_path):
    store = RunStore(tmp_path)
    for run_id in ("a", "b"):
        store.save(run_id, _doc(run_id))
        store.save_export(run_id, {"model.py": b"# script", "weights.safetensors": b"\0"})
    assert [d["id"] for d in store.load(10)] == ["a", "b"]

    store.forget("a")
    assert [d["id"] for d in store.load(10)] == ["b"]
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == [
        "b.json",
        "b.py",
        "b.safetensors",
    ]


def test_unreadable_files_are_skipped(tmp_path):
    store = RunStore(tmp_path)
    store.save("a", _doc("a"))
    (tmp_path / "runs" / "broken.json").write_text("{not json")
    assert [d["id"] for d in store.load(10)] == ["a"]
