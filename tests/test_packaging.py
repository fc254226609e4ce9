"""A non-editable install carries the page: static/ and templates/ travel in the wheel."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

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
