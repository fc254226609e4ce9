"""The built wheel, installed alone in a new virtual environment (`import wheel_env`): what a
deployment runs, not this checkout. Used by tests/test_packaging.py and tests/deploy.

The new environment reuses this one's installed dependencies (a .pth line naming its
site-packages: their own .pth files, this checkout's editable install among them, are not
run), and pip installs with --no-index: a dependency the wheel names but nothing here
provides fails the install instead of being downloaded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build_wheel(dist: Path) -> Path:
    """This checkout's wheel, built into `dist` (no build isolation: nothing downloaded)."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
        + ["-w", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("layerlab-*.whl")
    return wheel


def install_wheel(tmp_path: Path, extras: str = "") -> Path:
    """Build the wheel and install it (with `extras`, e.g. "replicas") into a new virtual
    environment under `tmp_path`; its folder. AssertionError with pip's output on failure."""
    wheel = build_wheel(tmp_path / "dist")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    (site_packages,) = venv.glob("lib/python*/site-packages")
    here = [p for p in map(Path, sys.path) if p.name == "site-packages" and p.is_dir()]
    (site_packages / "layerlab-test-deps.pth").write_text("\n".join(map(str, here)) + "\n")
    target = f"{wheel}[{extras}]" if extras else str(wheel)
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-index", "-q"]
        + [target],
        capture_output=True,
        text=True,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    where = subprocess.run(
        [str(python), "-c", "import server; print(server.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(venv), where  # the wheel's copy, not the checkout
    return venv


def wheel_server_env(tmp_path: Path) -> dict[str, str]:
    """Environment for a server from the wheel: none of this checkout on its path, its own
    folders under `tmp_path`."""
    return {
        "PYTHONPATH": "",
        "LAYERLAB_STATE_DIR": str(tmp_path / "state"),
        "LAYERLAB_DATA_DIR": str(tmp_path / "data"),
        "LAYERLAB_CACHE_DIR": str(tmp_path / "cache"),
        "LAYERLAB_FAST_PATH_COMPILED": "false",
    }
