"""Schemathesis over every route of the OpenAPI schema (runs, designs, sweeps, uploads,
classes, inspection, the server), against a real app served in a thread with its own worker:
valid and invalid requests generated from the schema, and never a 5xx.

Bounded in time: `LAYERLAB_TEST_FUZZ_EXAMPLES` examples per operation and mode (default 3).
"""

from __future__ import annotations

import os

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from servers import in_thread

from server.config import Settings

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("LAYERLAB_TEST_FUZZ_EXAMPLES", "3"))
OWNER = {"X-Owner-Token": "schema-fuzz-owner-0123456789"}


def test_no_route_answers_5xx_to_anything_its_schema_generates(tmp_path):
    config = Settings(
        state_dir=tmp_path / "state",
        persist_runs=True,
        workers=1,
        max_runs=4,
        upload_parse_timeout_s=10,
    )
    with in_thread(config) as (_server, base):
        document = httpx.get(f"{base}/openapi.json", timeout=30).json()
        schema = schemathesis.openapi.from_dict(document)
        failures: list[str] = []
        tried = 0
        for result in schema.get_all_operations():
            operation = result.ok()
            for mode in GenerationMode:

                @settings(
                    max_examples=EXAMPLES,
                    deadline=None,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                )
                @given(case=operation.as_strategy(generation_mode=mode))
                def check(case) -> None:
                    nonlocal tried
                    headers = {**OWNER, **(case.headers or {})}
                    response = case.call(base_url=base, headers=headers, timeout=60)
                    tried += 1
                    if response.status_code >= 500:
                        failures.append(
                            f"{case.method} {case.formatted_path} -> {response.status_code}: "
                            f"{response.text[:200]} (query {case.query}, body {case.body!r:.200})"
                        )

                try:
                    check()
                except Unsatisfiable:  # nothing invalid to send (an operation without inputs)
                    assert mode is GenerationMode.NEGATIVE, operation.label
        print(f"\n[schema fuzz] {tried} requests over {len(document['paths'])} paths")
        assert not failures, "\n".join(failures[:20])
