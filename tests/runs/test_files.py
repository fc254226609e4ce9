"""runs/files.py: the files a worker without the server's folder sends and gets."""

from __future__ import annotations

from pathlib import Path

from server.config import Settings
from server.runs import checkpoints, files
from server.runs.protocol import File, decode


def _settings(tmp_path: Path) -> Settings:
    return Settings(state_dir=tmp_path / "server", data_dir=tmp_path, cache_dir=tmp_path)


def test_a_checkpoint_and_an_export_are_written_where_the_server_keeps_them(tmp_path):
    settings = _settings(tmp_path)
    message = decode(("file", "abc123", "checkpoint", {"abc123.safetensors": b"weights"}))
    assert isinstance(message, File)
    files.receive(settings, message)
    assert checkpoints.path_for(settings, "abc123").read_bytes() == b"weights"
    files.receive(settings, File("abc123", "checkpoint", None))
    assert not checkpoints.path_for(settings, "abc123").exists()
    files.receive(settings, File("abc123", "export", {"model.py": b"print()"}))
    assert (settings.state_dir / "exports" / "abc123" / "model.py").read_bytes() == b"print()"


def test_files_past_the_cap_or_outside_the_folder_are_refused(tmp_path, monkeypatch):
    settings = _settings(tmp_path)
    monkeypatch.setattr(files, "MAX_FILE_BYTES", 4)
    files.receive(settings, File("abc123", "checkpoint", {"x": b"12345"}))
    files.receive(settings, File("../up", "checkpoint", {"x": b"1"}))
    assert not (settings.state_dir / "checkpoints").exists()
    sent: list[tuple] = []
    files.ship(lambda *m: sent.append(m), "abc123", "export", {"model.py": b"12345"})
    assert sent == []

    own = tmp_path / "actor"
    files.place(own, ("shutdown",), {"../escape": b"1", "/abs": b"1"})
    assert not (tmp_path / "escape").exists() and not own.exists()


def test_a_resume_travels_with_its_checkpoint_and_lands_in_the_workers_folder(tmp_path):
    settings = _settings(tmp_path)
    path = checkpoints.path_for(settings, "abc123")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"weights")
    start = ("start", "abc123", {"dataset": {"name": "spiral"}}, False, {"path": str(path)})
    command, sent = files.needed(settings, start)
    assert sent == {"checkpoints/abc123.safetensors": b"weights"}
    assert command[4]["path"] == "checkpoints/abc123.safetensors"
    own = tmp_path / "actor"
    placed = files.place(own, command, sent)
    assert placed[4]["path"] == str(own / "checkpoints" / "abc123.safetensors")
    assert Path(placed[4]["path"]).read_bytes() == b"weights"
    assert files.needed(settings, ("shutdown",)) == (("shutdown",), {})
