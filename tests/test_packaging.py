"""A non-editable install carries the page (static/ and templates/ travel in the wheel) and
every package: the wheel alone, in a new environment, serves."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import servers

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_contains_the_front_end(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("layerlab-*.whl")
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
    source tree, start its `layerlab serve` from elsewhere and read /api/health.

    The new environment reuses this one's installed dependencies (a .pth line naming its
    site-packages: their own .pth files, this checkout's editable install among them, are not
    run), and pip installs with --no-index: a dependency the wheel names but nothing here
    provides fails the install instead of being downloaded."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
        + ["-w", str(tmp_path / "dist"), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("layerlab-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    (site_packages,) = venv.glob("lib/python*/site-packages")
    here = [p for p in map(Path, sys.path) if p.name == "site-packages" and p.is_dir()]
    (site_packages / "layerlab-test-deps.pth").write_text("\n".join(map(str, here)) + "\n")
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-index", "-q"]
        + [str(wheel)],
        capture_output=True,
        text=True,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    where = subprocess.run(
        [str(python), "-c", "import server, sys; print(server.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(venv), where  # the wheel's copy, not the checkout
    state = tmp_path / "state"
    env = {
        "PYTHONPATH": "",
        "LAYERLAB_STATE_DIR": str(state),
        "LAYERLAB_DATA_DIR": str(tmp_path / "data"),
        "LAYERLAB_CACHE_DIR": str(tmp_path / "cache"),
        "LAYERLAB_FAST_PATH_COMPILED": "false",
    }
    with servers.running(
        env=env, command=[str(venv / "bin" / "layerlab")], cwd=tmp_path, log=tmp_path / "log"
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
