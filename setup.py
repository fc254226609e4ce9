"""The wheel's packages: every package under server/, found (so a new one cannot be left
out), plus the page's static/ and templates/ folders (and their subfolders) as server.static
and server.templates, mapped in pyproject.toml. Everything else is in pyproject.toml."""

from setuptools import find_namespace_packages, find_packages, setup


def assets(folder: str) -> list[str]:
    """`folder` and every folder under it, as packages of server (data only)."""
    inside = find_namespace_packages(where=folder)
    return [f"server.{folder}", *(f"server.{folder}.{name}" for name in inside)]


setup(
    packages=[
        *find_packages(include=["server", "server.*"]),
        *assets("static"),
        *assets("templates"),
    ]
)
