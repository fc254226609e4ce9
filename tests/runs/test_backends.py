"""`LAYERLAB_BACKEND` picks the workers' backend; both fulfil the interface the manager drives."""

from __future__ import annotations

import importlib.util
import os

import pytest

from server.config import Settings
from server.runs.backends import Backend, make_backend
from server.runs.backends.local import LocalBackend


def _nothing(*args):
    return None


def test_the_default_backend_is_the_local_pool():
    backend = make_backend(Settings(persist_runs=False), _nothing, _nothing)
    assert isinstance(backend, LocalBackend) and isinstance(backend, Backend)
    assert backend.name == "local" and backend.describe() == []


def test_a_bad_backend_name_is_refused_naming_the_setting(monkeypatch):
    monkeypatch.setenv("LAYERLAB_BACKEND", "slurm")
    with pytest.raises(ValueError, match="backend"):
        Settings()


@pytest.mark.skipif(
    importlib.util.find_spec("ray") is None and os.environ.get("CI") != "true",
    reason="ray is not installed: pip install -e '.[ray]'",
)
def test_backend_ray_builds_the_ray_backend_without_starting_ray():
    from server.runs.backends.ray import RayBackend, actor_settings

    settings = Settings(backend="ray", persist_runs=False, state_dir="relative/state")
    backend = make_backend(settings, _nothing, _nothing)
    assert isinstance(backend, RayBackend) and isinstance(backend, Backend)
    assert backend.name == "ray" and backend.describe() == []
    # An actor's working directory is Ray's: it gets the server's folders as absolute paths.
    assert actor_settings(settings)["state_dir"] == os.path.abspath("relative/state")
