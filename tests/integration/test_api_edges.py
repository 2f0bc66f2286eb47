"""What the API does before and around its routes: the caller is known before the body is read,
every change is audited as it was answered, OPTIONS and 405 say `Allow`, the idempotent replay is
documented, and notifications need their own scope."""

from __future__ import annotations

import pytest

from tests.support.api_in_process import InProcessApi

NOT_JSON = {"content": b"{not json", "headers": {"Content-Type": "application/json"}}


@pytest.fixture
def api(database_url):
    return InProcessApi(database_url)


def test_a_non_json_body_is_answered_after_the_token_check_and_audited_with_its_caller(api):
    admin, reader = api.token("admin", name="ops"), api.token("read", name="viewer")
    # Given a body that is not JSON, When it comes with no token, a bad one, a weak one and a good one
    answers = [
        api.call("POST", "/api/v1/tasks", None, **NOT_JSON),
        api.call("POST", "/api/v1/tasks", "tw_nope_nope", **NOT_JSON),
        api.call("POST", "/api/v1/tasks", api.revoked_token("admin"), **NOT_JSON),
        api.call("POST", "/api/v1/tasks", reader, **NOT_JSON),
        api.call("POST", "/api/v1/tasks", admin, **NOT_JSON),
    ]
    # Then the token decides first: 401, 401, 401, 403; only a caller allowed in hears of the JSON (400)
    assert [a.status_code for a in answers] == [401, 401, 401, 403, 400]
    assert answers[0].json()["error"] == "missing bearer token" and answers[0].headers["WWW-Authenticate"] == "Bearer"
    assert answers[4].json()["error"] == "the request body is not valid JSON"
    # And every one is audited with the caller it had
    trail = [(e.who.split(" ")[-1], e.action, e.status) for e in api.audit_trail()]
    assert trail == [
        ("anonymous", "POST /api/v1/tasks", 401),
        ("anonymous", "POST /api/v1/tasks", 401),
        ("anonymous", "POST /api/v1/tasks", 401),
        ("(viewer)", "POST /api/v1/tasks", 403),
        ("(ops)", "POST /api/v1/tasks", 400),
    ]


def test_a_body_refused_by_its_content_length_is_audited(api):
    admin = api.token("admin", name="ops")
    big = b'{"actor": "x", "parameters": {"tag": "' + b"x" * (10 * 1024 * 1024) + b'"}}'
    reply = api.call("POST", "/api/v1/tasks", admin, content=big, headers={"Content-Type": "application/json"})
    assert reply.status_code == 413 and "larger than" in reply.json()["error"]
    [entry] = api.audit_trail()
    assert (entry.who.endswith("(ops)"), entry.action, entry.status) == (True, "POST /api/v1/tasks", 413)


def test_a_nul_in_the_path_is_audited_escaped(api):
    admin = api.token("admin")
    for path in ("/api/v1/tasks/a%00b", "/api/v1/jobs/x%00y/trigger", "/api/v1/notifications/rules/1%00"):
        api.call("DELETE" if "tasks" in path else "POST", path, admin)
    targets = [entry.target for entry in api.audit_trail()]
    assert targets[:2] == ["/api/v1/tasks/a\\x00b", "/api/v1/jobs/x\\x00y/trigger"]
    assert all("\x00" not in target for target in targets)


def test_lookups_of_ids_no_row_can_have_are_not_found(api):
    reader, admin = api.token("read"), api.token("admin")
    for path in ("/api/v1/tasks/a%00b", "/api/v1/tasks/a%00b/logs", "/api/v1/dead-letters/x%00"):
        assert api.call("GET", path, reader).status_code == 404, path
    for value in (2**31, 2**63, 10**23, 0):
        assert api.call("GET", f"/api/v1/portfolios/{value}", reader).status_code == 404
        assert api.call("GET", f"/api/v1/reports/{value}", reader).status_code == 404
        assert api.call("DELETE", f"/api/v1/notifications/recipients/{value}", admin).status_code == 404
        assert api.call("PUT", f"/api/v1/notifications/rules/{value}", admin, json={"active": True}).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/api/v1/dead-letters/purge", {"all": "true"}, "all"),
        ("POST", "/api/v1/dead-letters/replay", {"all": 1}, "all"),
        ("PUT", "/api/v1/jobs/prices-daily/toggle", {"paused": 0}, "paused"),
        ("POST", "/api/v1/tasks", {"actor": "refresh_all_prices", "scheduled_for": 0}, "scheduled_for"),
        ("GET", "/api/v1/tasks?created_before=0.5", None, "created_before"),
        ("GET", "/api/v1/instruments?stale=1", None, "stale"),
        ("POST", "/api/v1/tasks/portfolio-prices", {"portfolio_id": 2**31}, "portfolio_id"),
    ],
)
def test_loose_values_are_refused_with_422_naming_the_field(api, method, path, body, field):
    reply = api.call(method, path, api.token("admin"), json=body)
    assert reply.status_code == 422 and field in reply.json()["error"], reply.text


def test_options_and_a_missing_method_say_which_methods_the_path_has(api):
    options = api.call("OPTIONS", "/api/v1/tasks")
    assert options.status_code == 204 and options.headers["Allow"] == "GET, HEAD, OPTIONS, POST"
    one = api.call("OPTIONS", "/api/v1/tasks/some-id")
    assert one.headers["Allow"] == "DELETE, GET, HEAD, OPTIONS"
    wrong = api.call("PATCH", "/api/v1/tasks", api.token("admin"))
    assert wrong.status_code == 405 and wrong.headers["Allow"] == "GET, HEAD, OPTIONS, POST"
    assert "PATCH" in wrong.json()["error"]
    assert api.call("OPTIONS", "/api/v1/nothing-here").status_code == 404


def test_the_idempotent_replay_is_a_documented_answer():
    from services.api.app import create_app
    from services.settings import Settings

    paths = create_app(Settings()).openapi()["paths"]
    for path in ("/api/v1/tasks", "/api/v1/tasks/market-data", "/api/v1/tasks/portfolio-snapshot"):
        replay = paths[path]["post"]["responses"]["200"]
        assert "Idempotent-Replayed" in replay["headers"] and "TaskCreated" in str(replay["content"])
    batch = paths["/api/v1/tasks/batch"]["post"]["responses"]["200"]
    assert "Idempotent-Replayed" in batch["headers"] and "TaskBatchCreated" in str(batch["content"])


@pytest.mark.parametrize("actor", ["webhook_callback", "send_alert", "send_email", "generate_digest"])
def test_notifications_need_the_notify_scope(api, actor):
    reply = api.call("POST", "/api/v1/tasks", api.token("create"), json={"actor": actor, "parameters": {}})
    assert reply.status_code == 403 and reply.json()["error"] == "this token lacks the 'notify' scope"
    # and notify alone does not submit other work
    other = api.call("POST", "/api/v1/tasks", api.token("notify"), json={"actor": "refresh_all_prices"})
    assert other.status_code == 403 and "'create'" in other.json()["error"]


def test_a_query_holds_only_declared_parameters_each_once(api):
    reader = api.token("read")
    typo = api.call("GET", "/api/v1/tasks?stauts=failed", reader)
    assert typo.status_code == 422 and "stauts" in typo.json()["error"]
    twice = api.call("GET", "/api/v1/tasks?actor=a&actor=b", reader)
    assert twice.status_code == 422 and "more than once" in twice.json()["error"]
    assert api.call("GET", "/api/v1/tasks?status=pending&status=failed", reader).status_code == 200  # a list
    assert api.call("GET", "/api/v1/tasks?stauts=x").status_code == 401  # the token is still checked first


def test_the_dead_letter_queue_filter_is_the_topologys_queues():
    from typing import get_args

    from services.api.routes.dead_letters import QueueName
    from services.engine.topology import QUEUES

    assert set(get_args(QueueName)) == set(QUEUES)
