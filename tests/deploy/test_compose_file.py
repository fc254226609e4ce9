"""docker-compose.yml and what it builds, read as files: the topology the deployment promises
(a balancer in front of two replicas, Redis, PostgreSQL, a Ray head and two workers, only the
balancer published), images built FROM Debian from files that exist, and an nginx
configuration that nginx itself accepts. test_topology.py runs that topology; this catches a
compose file that drifted from it without starting anything."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from nginx_balancer import find_nginx

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_the_compose_file_is_the_replicated_topology():
    services = compose()["services"]
    assert set(services) == {"balancer", "layerlab", "redis", "db", "ray-head", "ray-worker"}
    assert services["layerlab"]["deploy"]["replicas"] == 2
    assert services["ray-worker"]["deploy"]["replicas"] == 2
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"balancer"}  # everything else stays on the compose network
    env = services["layerlab"]["environment"]
    assert env["LAYERLAB_REDIS_URL"].startswith("redis://redis:")
    assert "@db/" in env["LAYERLAB_DATABASE_URL"]
    assert env["LAYERLAB_BACKEND"] == "ray" and env["LAYERLAB_RAY_ADDRESS"] == "auto"
    assert "healthcheck" in services["layerlab"]  # the balancer waits for healthy replicas
    assert services["balancer"]["depends_on"]["layerlab"]["condition"] == "service_healthy"


def test_every_image_is_built_from_debian_out_of_files_that_exist():
    dockerfiles = set()
    for service in compose()["services"].values():
        build = service.get("build")
        assert build is not None, "every image is built here (no registry image)"
        dockerfiles.add(ROOT / build.get("dockerfile", "Dockerfile"))
    for dockerfile in dockerfiles:
        text = dockerfile.read_text()
        assert re.search(r"^ARG BASE=debian:bookworm-slim$", text, re.M), dockerfile
        assert re.search(r"^FROM \$\{BASE\}$", text, re.M), dockerfile
        for line in text.splitlines():
            if line.startswith("COPY "):
                for source in line.split()[1:-1]:
                    assert (ROOT / source).exists(), f"{dockerfile.name}: {source}"
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv" in ignored and ".git" in ignored  # a small build context


def test_nginx_accepts_the_balancer_configuration(tmp_path):
    try:
        nginx = find_nginx()
    except FileNotFoundError as err:
        if os.environ.get("CI") == "true":
            pytest.fail(f"nginx is required under CI=true: {err}")
        pytest.skip(f"no nginx here: {err}")
    conf = (ROOT / "deploy" / "nginx" / "nginx.conf").read_text()
    # Where the image puts them -> here.
    conf = conf.replace("/etc/nginx/layerlab-proxy.conf", str(ROOT / "deploy/nginx/proxy.conf"))
    conf = conf.replace("pid /run/nginx.pid;", f"pid {tmp_path}/nginx.pid;")
    (tmp_path / "nginx.conf").write_text(conf)
    checked = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr


def test_the_no_ray_variant_only_moves_training_into_the_replicas():
    override = yaml.safe_load((ROOT / "deploy" / "no-ray.yml").read_text())
    (layerlab,) = override["services"].values()
    assert set(override["services"]) == {"layerlab"}
    assert layerlab["environment"]["LAYERLAB_BACKEND"] == "local"
    assert "ray start" not in " ".join(layerlab["command"])
