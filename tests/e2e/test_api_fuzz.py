"""Property-based fuzzing of the whole API from its own OpenAPI schema (schemathesis), with every
check schemathesis has: whatever a client sends, valid or not, the answer is never a 5xx, always one
the schema documents (status, content type, headers, body), invalid data is refused, valid data
accepted, and authentication is enforced. Bounded for CI: a fixed number of examples per operation
and generation mode."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.checks import positive_data_acceptance as schemathesis_positive_data_acceptance

pytestmark = [
    pytest.mark.rabbitmq,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]
EXAMPLES_PER_OPERATION = int(os.environ.get("TICKWORK_FUZZ_EXAMPLES", "15"))  # per generation mode (positive, negative)


# Where a schema-valid request may still be refused (422) for a reason no JSON Schema can state; the
# positive-data check holds everywhere else. (Negative data must be refused everywhere.)
SEMANTIC_422 = {
    ("POST", "/api/v1/tasks"): "the actor must exist and the parameters fit its own schema",
    ("POST", "/api/v1/tasks/batch"): "the same, for every task of the batch",
    ("POST", "/api/v1/notifications/recipients"): "the address must suit its channel and pass the SSRF guard",
    ("POST", "/api/v1/notifications/rules"): "params must fit the rule's kind",
    ("POST", "/api/v1/dead-letters/replay"): "a selection names message_id, actor or reason, or all alone",
    ("POST", "/api/v1/dead-letters/purge"): "the same selection",
    ("POST", "/api/v1/orders"): "the pre-trade checks: cash, position, risk limits, the instrument's rules",
    ("POST", "/api/v1/orders/oco"): "the same checks, for both orders",
    ("POST", "/api/v1/bots"): "params must fit the strategy, sizing_value its sizing mode",
    ("PUT", "/api/v1/bots/{bot_id}"): "the same, for the settings after the change",
}
LATER_THAN_30_DAYS = "scheduled_for may be at most 30 days ahead"  # relative to now: no schema can say it
# Any string of any body: PostgreSQL stores no NUL character, in text or in jsonb; the API says so (422)
# rather than fail with a 500 (services/api/app.py maps DataError).
NOT_STORABLE = "a value in the request cannot be stored (control characters?)"


def positive_data_acceptance(ctx, response, case):
    """schemathesis's check, but for the refusals that SEMANTIC_422, the 30-day limit and NUL characters document."""
    if response.status_code == 422:
        said = response.text
        if (case.operation.method.upper(), case.operation.path) in SEMANTIC_422:
            return None
        if LATER_THAN_30_DAYS in said or NOT_STORABLE in said:
            return None
    return schemathesis_positive_data_acceptance(ctx, response, case)


def every_check() -> list:
    load_all_checks()
    checks = [check for check in CHECKS.get_all() if check is not schemathesis_positive_data_acceptance]
    return [*checks, positive_data_acceptance]


def test_every_operation_passes_every_check(api):
    # Driven by hand rather than by schemathesis's pytest plugin, which does not run on this pytest.
    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json")
    # Every call carries the admin token below, which would put back a negated Authorization header;
    # authentication is checked by schemathesis's own auth checks (ignored_auth) instead.
    schema.config.generation.update(with_security_parameters=False)
    headers = {"Authorization": f"Bearer {api.token('admin', name='fuzz')}"}
    checks = every_check()
    assert len(checks) >= 14 and positive_data_acceptance in checks
    failures, operations = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        if not operation.path.startswith("/api/"):
            continue  # /healthz, /readyz: no parameters, nothing negative to generate
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
            except Unsatisfiable:
                # Nothing of this operation can be invalid (no body, free-text path, no query): only
                # its Authorization header, which every call carries.
                assert mode is GenerationMode.NEGATIVE, f"{operation.method.upper()} {operation.path}: no valid case"
            except (Exception, BaseExceptionGroup) as error:  # every operation's failures, reported together
                found = [error, *getattr(error, "exceptions", ())]  # a group's own lines name no check
                said = "\n".join(str(item) for item in found)
                failures.append(f"{operation.method.upper()} {operation.path} ({mode.value}): {said}")
    assert operations >= 37
    assert not failures, "\n\n".join(failures)
