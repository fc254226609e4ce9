"""Shared test setup: one torch thread per test process, as in a worker; a fresh store; and a
failure's one-line summary that names the test's own line."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from server.config import Settings
from server.store.store import Store

torch.set_num_threads(1)
TESTS = Path(__file__).resolve().parent


@pytest.fixture
def fresh_store(tmp_path) -> Iterator[Store]:
    """An opened store on SQLite in the test's own state folder (the packages' unit tests)."""
    store = Store(Settings(state_dir=tmp_path / "state"))
    store.open()
    yield store
    store.close()


def own_line(excinfo: pytest.ExceptionInfo) -> str | None:
    """`file:line: source` of the deepest traceback entry in this folder (the test's wait that
    timed out, not Playwright's frame), or None."""
    for entry in reversed(excinfo.traceback):
        path = Path(str(entry.path))
        if path.is_relative_to(TESTS):
            source = str(entry.statement).strip().splitlines()
            return f"{path.relative_to(TESTS)}:{entry.lineno + 1}: {source[0] if source else ''}"
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """CI shows the summary lines and the end of a traceback: a Playwright timeout's end is
    Playwright's own frames, so the summary says which line of the test was waiting."""
    report = yield
    crash = getattr(report.longrepr, "reprcrash", None)
    if report.failed and call.excinfo is not None and crash is not None:
        line = own_line(call.excinfo)
        if line and not Path(crash.path).is_relative_to(TESTS):
            first, newline, rest = crash.message.partition("\n")  # the summary shows line one
            crash.message = f"[at {line}] {first}{newline}{rest}"
    return report
