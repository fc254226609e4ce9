"""Schemathesis over every route of the OpenAPI schema (runs, designs, sweeps, uploads,
classes, inspection, the server), against a real server process with its own worker: valid
and invalid requests generated from the schema, and never a 5xx; every operation is called at
least once.

A process, not a thread of this one: CPython 3.11 keeps `ast.parse`'s depth count per
interpreter, so the server's threads parsing (NumPy's header of an upload, pydantic's
signatures) while hypothesis and pytest's import rewriting parse here failed the test with
`SystemError: AST constructor recursion depth mismatch` (CI, once in about ten runs).

Bounded in time: `LAYERLAB_TEST_FUZZ_EXAMPLES` examples per operation and mode (default 3).
Where the time went (67 s, measured per operation): hypothesis searching for an invalid
request to operations that have none to give (only free-text path parameters: anything is a
valid string, so it churns until `Unsatisfiable`, up to 30 s each), and the upload parse
pool's first process (it imports numpy and Pillow). So: invalid requests only to operations
whose schema can be broken, one example to operations that take nothing, and the parse pool
warmed by a real upload in the background while the other operations are fuzzed.
"""

from __future__ import annotations

import os
import threading

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from servers import layerlab_env, running

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("LAYERLAB_TEST_FUZZ_EXAMPLES", "3"))
OWNER = {"X-Owner-Token": "schema-fuzz-owner-0123456789"}
CONSTRAINTS = {"enum", "const", "pattern", "format", "minLength", "maxLength"}


def free_text(schema: dict) -> bool:
    """A schema every string (or null) satisfies."""
    options = schema.get("anyOf", [schema])
    return all(o.get("type") in ("string", "null") and not CONSTRAINTS & set(o) for o in options)


def can_be_invalid(operation: dict) -> bool:
    """Whether some request to `operation` breaks its schema: a body, a parameter with a type
    or constraint, or a required query or header parameter (left out)."""
    if "requestBody" in operation:
        return True
    return any(
        not free_text(p.get("schema", {})) or (p.get("required") and p["in"] != "path")
        for p in operation.get("parameters", [])
    )


def warm_parse_pool(base: str) -> threading.Thread:
    """A real CSV upload in the background: the parse pool's first process starts meanwhile."""

    def post() -> None:
        with httpx.Client(base_url=base, timeout=300, trust_env=False) as http:
            http.post(
                "/api/datasets/uploads",
                files={"file": ("warm.csv", b"a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n")},
                data={"target": "label"},
                headers=OWNER,
            )

    thread = threading.Thread(target=post, daemon=True)
    thread.start()
    return thread


def test_no_route_answers_5xx_to_anything_its_schema_generates(tmp_path):
    env = layerlab_env(
        state_dir=tmp_path / "state", persist_runs=True, max_runs=4, upload_parse_timeout_s=10
    )
    with running(env=env, workers=1) as server:
        base = server.base
        warming = warm_parse_pool(base)
        document = httpx.get(f"{base}/openapi.json", timeout=30).json()
        schema = schemathesis.openapi.from_dict(document)
        failures: list[str] = []
        called: dict[str, int] = {}
        operations = [result.ok() for result in schema.get_all_operations()]
        # The uploads last: their parse process has started meanwhile.
        operations.sort(key=lambda op: "/uploads" in op.path)
        for operation in operations:
            spec = document["paths"][operation.path][operation.method.lower()]
            takes_nothing = "requestBody" not in spec and not spec.get("parameters")
            modes = [GenerationMode.POSITIVE]
            if can_be_invalid(spec):
                modes.append(GenerationMode.NEGATIVE)
            if "/uploads" in operation.path:
                warming.join()
            called.setdefault(operation.label, 0)
            for mode in modes:

                @settings(
                    max_examples=1 if takes_nothing else EXAMPLES,
                    deadline=None,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                )
                @given(case=operation.as_strategy(generation_mode=mode))
                def check(case) -> None:
                    headers = {**OWNER, **(case.headers or {})}
                    response = case.call(base_url=base, headers=headers, timeout=60)
                    called[case.operation.label] += 1
                    if response.status_code >= 500:
                        failures.append(
                            f"{case.method} {case.formatted_path} -> {response.status_code}: "
                            f"{response.text[:200]} (query {case.query}, body {case.body!r:.200})"
                        )

                try:
                    check()
                except Unsatisfiable:  # a schema whose every request is valid after all
                    assert mode is GenerationMode.NEGATIVE, operation.label
        print(f"\n[schema fuzz] {sum(called.values())} requests over {len(called)} operations")
        assert not failures, "\n".join(failures[:20])
        assert len(called) >= len(document["paths"])
        assert not [label for label, n in called.items() if n == 0], called
