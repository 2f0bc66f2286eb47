"""Property-based fuzzing of the whole API from its own OpenAPI schema (schemathesis), with every
check schemathesis has: whatever a client sends, valid or not, the answer is never a 5xx, always one
the schema documents (status, content type, headers, body), invalid data is refused, valid data
accepted, and authentication is enforced. Bounded for CI: a fixed number of examples per operation
and generation mode."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks

pytestmark = [
    pytest.mark.rabbitmq,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]
EXAMPLES_PER_OPERATION = 15  # per generation mode (positive, negative)


def every_check() -> list:
    load_all_checks()
    return list(CHECKS.get_all())


def test_every_operation_passes_every_check(api):
    # Driven by hand rather than by schemathesis's pytest plugin, which does not run on this pytest.
    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json")
    headers = {"Authorization": f"Bearer {api.token('admin', name='fuzz')}"}
    checks = every_check()
    assert len(checks) >= 14
    failures, operations = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def passes_every_check(case):
                case.call_and_validate(base_url=api.url, headers=headers, checks=checks, timeout=30)

            try:
                passes_every_check()
            except Exception as error:  # collect every operation's failure, then report them together
                failures.append(f"{operation.method.upper()} {operation.path} ({mode.value}): {error}")
    assert operations >= 37
    assert not failures, "\n\n".join(failures)
