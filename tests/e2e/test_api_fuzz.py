"""Property-based fuzzing of the API from its own OpenAPI schema (schemathesis): whatever a client
sends, valid or not, the answer is never a 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

pytestmark = [
    pytest.mark.rabbitmq,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]
EXAMPLES_PER_OPERATION = 40


def test_no_request_gets_a_server_error(api):
    # Driven by hand rather than by schemathesis's pytest plugin, which does not run on this pytest.
    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json")
    headers = {"Authorization": f"Bearer {api.token('admin', name='fuzz')}"}
    failures, operations = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def never_a_server_error(case):
            case.call_and_validate(base_url=api.url, headers=headers, checks=[not_a_server_error])

        try:
            never_a_server_error()
        except Exception as error:  # collect every operation's failure, then report them together
            failures.append(f"{operation.method.upper()} {operation.path}: {error}")
    assert operations >= 20
    assert not failures, "\n\n".join(failures)
