"""A non-editable install carries the page (static/ and templates/ travel in the wheel) and
every package: the wheel alone, in a new environment, serves."""

import zipfile
from pathlib import Path

import pytest
import servers
import wheel_env

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_contains_the_front_end(tmp_path):
    wheel = wheel_env.build_wheel(tmp_path)
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "server/templates/index.html" in names
    static = {n for n in names if n.startswith("server/static/")}
    expected = {
        "server/static/" + p.relative_to(ROOT / "static").as_posix()
        for p in (ROOT / "static").rglob("*")
        if p.is_file()
    }
    assert expected and expected <= static
    assert "server/engine/layers.py" in names
    assert "server/runs/backends/ray.py" in names  # the Ray backend travels too (its extra aside)
    assert any(n.endswith("entry_points.txt") for n in names)


@pytest.mark.slow
def test_the_wheel_installs_alone_and_serves(tmp_path):
    """Build the wheel, install it into a new virtual environment that sees none of the
    source tree (wheel_env.py: --no-index, this one's dependencies), start its `layerlab
    serve` from elsewhere and read /api/health."""
    venv = wheel_env.install_wheel(tmp_path)
    with servers.running(
        env=wheel_env.wheel_server_env(tmp_path),
        command=[str(venv / "bin" / "layerlab")],
        cwd=tmp_path,
        log=tmp_path / "log",
    ) as server:
        health = server.http.get("/api/health")
        assert health.status_code == 200, health.text
        assert health.json()["workers_ready"] >= 1
        page = server.http.get("/")
        assert page.status_code == 200 and "<html" in page.text.lower()
        assert server.http.get("/static/js/main.js").status_code == 200
        assert server.http.get("/api/sweeps", headers={"X-Owner-Token": "t" * 32}).json() == []


def test_the_dockerfile_copies_what_the_build_reads():
    """`pip install .` in the image needs the build files and every folder the wheel takes
    (setup.py finds the packages: without it in the image, the wheel would be empty)."""
    copied = set()
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            copied |= set(line.split()[1:-1])
    assert {"pyproject.toml", "setup.py", "README.md", "server", "static", "templates"} <= copied
