"""The REST API, running as `tickwork api`, against real RabbitMQ and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from services.storage.db import session_factory, session_scope
from services.storage.models import AuditEntry
from tests.support.api import TICKWORK
from tests.support.ledger import wait_state
from tests.support.rabbit import decode
from tests.support.workers import ROOT, wait_for

pytestmark = [
    pytest.mark.rabbitmq,
    pytest.mark.postgres,
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]

LATER = (datetime.now(UTC) + timedelta(days=1)).isoformat()


def created(api, token, body, **headers):
    reply = api.call("POST", "/api/v1/tasks", token, json=body, headers=headers)
    assert reply.status_code in (200, 201), reply.text
    return reply.json()


def test_health_readiness_and_openapi(api):
    health = api.call("GET", "/healthz").json()
    assert health["status"] == "alive" and isinstance(health["pid"], int)
    assert api.call("GET", "/readyz").json() == {"status": "ready", "broker": "ok", "database": "ok"}
    assert api.call("GET", "/docs").status_code == 200
    paths = api.call("GET", "/openapi.json").json()["paths"]
    for path in (
        "/api/v1/tasks",
        "/api/v1/tasks/{task_id}",
        "/api/v1/tasks/active",
        "/api/v1/tasks/batch",
        "/api/v1/tasks/workers",
        "/api/v1/tasks/market-data",
        "/api/v1/tasks/portfolio-prices",
        "/api/v1/tasks/asset-info",
        "/api/v1/tasks/portfolio-performance",
        "/api/v1/tasks/portfolio-snapshot",
        "/api/v1/jobs/status",
        "/api/v1/jobs/{job_name}/trigger",
        "/api/v1/jobs/{job_name}/toggle",
        "/api/v1/dead-letters",
        "/api/v1/queues",
    ):
        assert path in paths, path


def test_tokens_are_required_valid_and_unrevoked(api, worker_env):
    reply = api.call("GET", "/api/v1/tasks")
    assert reply.status_code == 401 and reply.headers["WWW-Authenticate"] == "Bearer"
    assert reply.json()["error"] == "missing bearer token"
    assert api.call("GET", "/api/v1/tasks", "tw_nope_nope").status_code == 401
    # created and revoked with the CLI, as an operator does
    made = subprocess.run(
        [TICKWORK, "tokens", "create", "ops", "--scope", "read", "--json"],
        cwd=ROOT,
        env=worker_env,
        capture_output=True,
        text=True,
        check=True,
    )
    token = json.loads(made.stdout)
    assert api.call("GET", "/api/v1/tasks", token["token"]).status_code == 200
    listed = subprocess.run(
        [TICKWORK, "tokens", "list", "--json"], cwd=ROOT, env=worker_env, capture_output=True, text=True, check=True
    ).stdout
    assert token["id"] in listed and token["token"] not in listed and "secret" not in listed
    subprocess.run(
        [TICKWORK, "tokens", "revoke", token["id"]], cwd=ROOT, env=worker_env, check=True, capture_output=True
    )
    # the API keeps a checked token for a second (services/api/tokens.py: TokenCache), no longer
    revoked = time.monotonic()
    wait_for(lambda: api.call("GET", "/api/v1/tasks", token["token"]).status_code == 401, 5, "the revocation")
    assert time.monotonic() - revoked < 1.5


ENDPOINTS = [  # (method, path, body, scope needed)
    ("GET", "/api/v1/tasks", None, "read"),
    ("GET", "/api/v1/tasks/active", None, "read"),
    ("GET", "/api/v1/tasks/workers", None, "read"),
    ("GET", "/api/v1/jobs/status", None, "read"),
    ("GET", "/api/v1/dead-letters", None, "read"),
    ("GET", "/api/v1/queues", None, "read"),
    (
        "POST",
        "/api/v1/tasks",
        {"actor": "probe_record", "parameters": {"tag": "scope"}, "scheduled_for": LATER},
        "create",
    ),
    ("POST", "/api/v1/tasks/asset-info", {"symbol": "AAPL", "scheduled_for": LATER}, "create"),
    ("DELETE", "/api/v1/tasks/no-such-task", None, "cancel"),
    ("POST", "/api/v1/jobs/no-such-job/trigger", None, "admin"),
    ("PUT", "/api/v1/jobs/no-such-job/toggle", None, "admin"),
    ("POST", "/api/v1/dead-letters/replay", {"message_id": "none"}, "admin"),
    ("POST", "/api/v1/dead-letters/purge", {"message_id": "none"}, "admin"),
]


def test_no_token_gets_more_than_its_scopes_allow(api):
    tokens = {scope: api.token(scope, name=scope) for scope in ("read", "create", "cancel", "admin")}
    for method, path, body, needed in ENDPOINTS:
        for scope, token in tokens.items():
            reply = api.call(method, path, token, json=body)
            allowed = scope in (needed, "admin")
            assert (reply.status_code != 403) == allowed, (method, path, scope, reply.status_code, reply.text)
            if not allowed and (method, path) != ("POST", "/api/v1/tasks"):
                assert reply.json()["error"] == f"this token lacks the {needed!r} scope"


def test_create_validate_list_paginate_and_show(api):
    token = api.token("read", "create")
    first = created(
        api,
        token,
        {
            "actor": "probe_record",
            "parameters": {"tag": "t0"},
            "priority": "high",
            "scheduled_for": LATER,
        },
    )
    assert first["status"] == "pending" and first["priority"] == "high" and first["queue"] == "refresh"
    assert first["scheduled_for"].startswith(LATER[:16])
    for n in range(1, 4):
        created(api, token, {"actor": "probe_record", "parameters": {"tag": f"t{n}"}, "scheduled_for": LATER})
    page = api.call("GET", "/api/v1/tasks?limit=2&offset=1&status=pending&actor=probe_record", token).json()
    assert page["total"] == 4 and page["limit"] == 2 and len(page["items"]) == 2
    everything = api.call("GET", "/api/v1/tasks?limit=50", token).json()["items"]
    assert [t["task_id"] for t in everything][1:3] == [t["task_id"] for t in page["items"]]  # newest first
    assert api.call("GET", "/api/v1/tasks?status=completed", token).json()["total"] == 0
    detail = api.call("GET", f"/api/v1/tasks/{first['task_id']}", token).json()
    assert detail["status"] == "pending" and detail["parameters"] == {"tag": "t0"}
    assert detail["messages"] == [] and detail["error"] is None
    active = api.call("GET", "/api/v1/tasks/active", token).json()
    assert first["task_id"] in [t["task_id"] for t in active]


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"actor": "no_such_actor"}, 422, "no_such_actor"),
        ({"actor": "probe_record", "parameters": {}}, 422, "tag"),
        ({"actor": "probe_record", "parameters": {"tag": 5}}, 422, "tag"),
        ({"actor": "probe_record", "parameters": {"tag": "x"}, "priority": "urgent"}, 422, "priority"),
        (
            {"actor": "probe_record", "parameters": {"tag": "x"}, "scheduled_for": "2999-01-01T00:00:00Z"},
            422,
            "30 days",
        ),
        (
            {"actor": "probe_record", "parameters": {"tag": "x"}, "scheduled_for": "2030-01-01T00:00:00"},
            422,
            "scheduled_for",
        ),
        (
            {"actor": "probe_record", "parameters": {"tag": "x"}, "retry_policy": {"max_retries": 99}},
            422,
            "max_retries",
        ),
        ({"actor": "probe_record", "surprise": 1}, 422, "surprise"),
    ],
)
def test_bad_creations_get_a_4xx_that_says_why(api, body, status, says):
    reply = api.call("POST", "/api/v1/tasks", api.token("create"), json=body)
    assert reply.status_code == status and says in reply.json()["error"], reply.text


def test_malformed_json_too_large_bodies_and_unknown_ids(api):
    token = api.token("admin")
    broken = api.call("POST", "/api/v1/tasks", token, data=b"{not json", headers={"Content-Type": "application/json"})
    assert broken.status_code == 400 and broken.json()["error"] == "the request body is not valid JSON"
    huge = api.call("POST", "/api/v1/tasks", token, json={"actor": "probe_record", "parameters": {"tag": "x" * 70_000}})
    assert huge.status_code == 413 and "larger than" in huge.json()["error"]
    chunks = (b'{"actor": "probe_record", "parameters": {"tag": "' + b"x" * 8192 for _ in range(10))
    chunked = api.call("POST", "/api/v1/tasks", token, data=chunks, headers={"Content-Type": "application/json"})
    assert chunked.status_code == 413, chunked.text
    nul = api.call("POST", "/api/v1/dead-letters/replay", token, json={"reason": "bad\u0000"})
    assert nul.status_code == 422 and "reason" in nul.json()["error"]
    assert api.call("GET", "/api/v1/tasks/a%00b", token).status_code == 404  # no task can have that id
    for method, path in (
        ("GET", "/api/v1/tasks/nope"),
        ("GET", "/api/v1/tasks/nope/logs"),
        ("DELETE", "/api/v1/tasks/nope"),
        ("POST", "/api/v1/jobs/nope/trigger"),
    ):
        reply = api.call(method, path, token)
        assert reply.status_code == 404 and "nope" in reply.json()["error"], (method, path)


def test_idempotent_creation(api):
    token = api.token("create")
    body = {"actor": "probe_record", "parameters": {"tag": "once"}, "scheduled_for": LATER}
    key = str(uuid.uuid4())
    first = api.call("POST", "/api/v1/tasks", token, json=body, headers={"Idempotency-Key": key})
    again = api.call("POST", "/api/v1/tasks", token, json=body, headers={"Idempotency-Key": key})
    assert first.status_code == 201 and again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == first.json()
    other = api.call(
        "POST", "/api/v1/tasks", token, json={**body, "parameters": {"tag": "twice"}}, headers={"Idempotency-Key": key}
    )
    assert other.status_code == 409 and "different request" in other.json()["error"]
    with session_scope(api.database_url) as session:
        from services.storage.models import Task

        assert len(session.exec(select(Task).where(Task.actor == "probe_record")).all()) == 1


def test_cancel_a_pending_and_a_running_task(api, start_workers, database_url):
    token = api.token("create", "cancel", "read")
    waiting = created(api, token, {"actor": "probe_record", "parameters": {"tag": "later"}, "scheduled_for": LATER})
    reply = api.call("DELETE", f"/api/v1/tasks/{waiting['task_id']}", token)
    assert reply.status_code == 200 and reply.json()["status"] == "cancelled"
    assert api.call("DELETE", f"/api/v1/tasks/{waiting['task_id']}", token).status_code == 409
    start_workers(queues=["refresh"])
    busy = created(api, token, {"actor": "probe_cooperative", "parameters": {"tag": "busy", "seconds": 20}})
    wait_state(database_url, busy["task_id"], "running")
    reply = api.call("DELETE", f"/api/v1/tasks/{busy['task_id']}", token)
    assert reply.status_code == 200 and reply.json()["detail"] == "its worker interrupts it"
    wait_state(database_url, busy["task_id"], "cancelled", timeout=10)


def test_a_batch_is_worked_off_once_each_by_the_workers(api, start_workers, database_url):
    # Given 50 tasks submitted in one batch to `tickwork api`
    tasks = [{"actor": "probe_record", "parameters": {"tag": f"batch-{i}"}} for i in range(50)]
    reply = api.call("POST", "/api/v1/tasks/batch", api.token("create"), json={"tasks": tasks})
    assert reply.status_code == 201, reply.text
    # When a worker group starts, Then every one completes, in its first attempt
    start_workers(queues=["refresh"])
    for task in reply.json()["tasks"]:
        assert wait_state(database_url, task["task_id"], "completed").attempts == 1


def test_logs_workers_and_typed_shortcuts(api, start_workers, database_url):
    token = api.token("create", "read")
    start_workers(queues=["refresh"])
    task = created(api, token, {"actor": "probe_progress", "parameters": {"tag": "api", "steps": 3}})
    wait_state(database_url, task["task_id"], "completed")
    lines = api.call("GET", f"/api/v1/tasks/{task['task_id']}/logs", token).json()["lines"]
    assert len([line for line in lines if "line " in line]) == 3
    detail = api.call("GET", f"/api/v1/tasks/{task['task_id']}", token).json()
    assert detail["progress"] == 1.0 and detail["result"]
    [worker] = api.call("GET", "/api/v1/tasks/workers", token).json()
    assert worker["status"] == "alive" and "refresh" in worker["queues"]
    shortcuts = {
        "market-data": ({"symbols": ["AAPL", "MSFT"], "interval": "1d"}, "fetch_market_data"),
        "portfolio-prices": ({"portfolio_id": 7}, "refresh_portfolio"),
        "asset-info": ({"symbol": "AAPL"}, "fetch_asset_info"),
        "portfolio-performance": ({"portfolio_id": 7, "days": 30}, "calculate_metrics"),
        "portfolio-snapshot": ({}, "create_portfolio_snapshot"),
    }
    for path, (body, actor) in shortcuts.items():
        reply = api.call("POST", f"/api/v1/tasks/{path}", token, json={**body, "scheduled_for": LATER})
        assert reply.status_code == 201 and reply.json()["actor"] == actor, reply.text
        shown = api.call("GET", f"/api/v1/tasks/{reply.json()['task_id']}", token).json()
        assert shown["parameters"] == body
    assert api.call("POST", "/api/v1/tasks/market-data", token, json={"symbols": []}).status_code == 422


def test_jobs_status_toggle_and_trigger(api, database_url):
    from actors.timetable import TIMETABLE
    from services.scheduling.store import sync_jobs

    with session_scope(database_url) as session:
        sync_jobs(session=session, jobs=TIMETABLE, active={"job-monitor"}, now=datetime.now(UTC))
    token = api.token("admin")
    jobs = {j["name"]: j for j in api.call("GET", "/api/v1/jobs/status", token).json()}
    assert jobs["job-monitor"]["state"] == "active" and jobs["weekly-cleanup"]["state"] == "inactive"
    paused = api.call("PUT", "/api/v1/jobs/job-monitor/toggle", token)
    assert paused.status_code == 200 and paused.json()["state"] == "paused"
    assert api.call("PUT", "/api/v1/jobs/job-monitor/toggle", token, json={"paused": True}).json()["state"] == "paused"
    assert api.call("PUT", "/api/v1/jobs/job-monitor/toggle", token).json()["state"] == "active"
    triggered = api.call("POST", "/api/v1/jobs/job-monitor/trigger", token)
    assert triggered.status_code == 202 and triggered.json()["actor"] == "monitor_jobs"
    assert api.call("GET", f"/api/v1/tasks/{triggered.json()['task_id']}", token).json()["status"] == "pending"


def test_dead_letters_list_inspect_replay_and_purge(api, start_workers, rabbit, database_url):
    token = api.token("admin")
    start_workers(queues=["refresh"])
    failed = [created(api, token, {"actor": "probe_fatal", "parameters": {"tag": f"f{n}"}}) for n in range(3)]
    wait_for(lambda: rabbit.depth("refresh.XQ") == 3, 15, "three dead letters")
    listed = api.call("GET", "/api/v1/dead-letters?actor=probe_fatal", token).json()
    assert {d["message_id"] for d in listed} == {f["task_id"] for f in failed}
    assert {d["error_type"] for d in listed} == {"ProbeRefused"}
    one = api.call("GET", f"/api/v1/dead-letters/{failed[0]['task_id']}", token).json()
    assert one["message"]["kwargs"] == {"tag": "f0"} and one["attempts"] == 1
    assert api.call("POST", "/api/v1/dead-letters/replay", token, json={}).status_code == 422
    assert api.call("GET", "/api/v1/dead-letters?queue=nope", token).status_code == 422
    replayed = api.call("POST", "/api/v1/dead-letters/replay", token, json={"message_id": failed[0]["task_id"]}).json()
    assert replayed["count"] == 1
    wait_for(lambda: rabbit.depth("refresh.XQ") == 3, 15, "the replayed one to fail again")
    purged = api.call("POST", "/api/v1/dead-letters/purge", token, json={"all": True}).json()
    assert purged["count"] == 3 and rabbit.depth("refresh.XQ") == 0
    queues = {q["queue"]: q for q in api.call("GET", "/api/v1/queues", token).json()}
    assert queues["refresh"]["consumers"] >= 1 and queues["refresh.XQ"]["ready"] == 0
    assert queues["refresh"]["publish_rate"] is None  # no management API configured here


def test_every_change_is_audited_without_secrets(api):
    token = api.token("create", "cancel")
    task = created(api, token, {"actor": "probe_record", "parameters": {"tag": "audit"}, "scheduled_for": LATER})
    api.call("DELETE", f"/api/v1/tasks/{task['task_id']}", token)
    api.call("POST", "/api/v1/dead-letters/purge", token, json={"all": True})  # refused: not admin
    api.call("POST", "/api/v1/tasks", None, json={})  # refused: no token
    with session_scope(api.database_url) as session:
        entries = session.exec(select(AuditEntry).order_by(AuditEntry.id)).all()
    trail = [(e.action, e.status, e.who.split(" ")[0].split(":")[0]) for e in entries]
    assert trail == [
        ("POST /api/v1/tasks", 201, "token"),
        ("DELETE /api/v1/tasks/{task_id}", 200, "token"),
        ("POST /api/v1/dead-letters/purge", 403, "token"),
        ("POST /api/v1/tasks", 401, "anonymous"),
    ]
    assert entries[0].detail == {"location": f"/api/v1/tasks/{task['task_id']}"}
    secret = token.split("_", 2)[2]  # tw_<id>_<secret>: the secret may hold "_" itself
    assert all(secret not in json.dumps(e.model_dump(mode="json")) for e in entries)


def test_secret_parameters_are_never_returned(api):
    token = api.token("notify", "read")
    body = {"url": "https://hooks.example.com/x", "event": "e", "data": {"api_key": "k-123", "note": "hi"}}
    task = created(api, token, {"actor": "webhook_callback", "parameters": body, "scheduled_for": LATER})
    shown = api.call("GET", f"/api/v1/tasks/{task['task_id']}", token)
    assert "k-123" not in shown.text and shown.json()["parameters"]["data"] == {"api_key": "***", "note": "hi"}


def test_the_client_side_message_is_what_a_worker_expects(api, rabbit):
    token = api.token("create")
    task = created(api, token, {"actor": "probe_record", "parameters": {"tag": "wire"}, "priority": "critical"})
    [(properties, body)] = rabbit.peek("refresh")
    message = decode(body)
    assert message["message_id"] == task["task_id"] and message["kwargs"] == {"tag": "wire"}
    assert properties.priority == 3


def test_prices_and_portfolios_show_the_age_and_staleness_of_what_they_rest_on(api, database_url):
    from decimal import Decimal

    from services.portfolio.revaluation import revalue_portfolios
    from services.portfolio.seed import seed_demo
    from services.storage.models import Instrument

    # Given the demo portfolios, with every price fresh except NVDA's, which is two days old
    now = datetime.now(UTC)
    with session_scope(database_url) as session:
        seed_demo(session=session)
        for instrument in session.exec(select(Instrument)):
            instrument.last_price, instrument.last_price_source = Decimal(100), "yahoo"
            instrument.last_price_at = now - timedelta(days=2) if instrument.symbol == "NVDA" else now
    revalue_portfolios(session_factory=session_factory(database_url), max_age_seconds=900, now=now)
    token = api.token("read")

    # Then the instruments show NVDA as stale with its age, and a portfolio holding it flags it
    stale = api.call("GET", "/api/v1/instruments?stale=true", token).json()
    assert [i["symbol"] for i in stale] == ["NVDA"] and stale[0]["age_s"] > 3600
    assert stale[0]["price"] == "100.0000000000" and stale[0]["source"] == "yahoo"
    summaries = api.call("GET", "/api/v1/portfolios", token).json()
    holders = []
    for summary in summaries:
        one = api.call("GET", f"/api/v1/portfolios/{summary['id']}", token).json()
        flagged = [p["symbol"] for p in one["positions"] if p["price_stale"]]
        assert one["stale_positions"] == len(flagged) and set(flagged) <= {"NVDA"}
        holders += flagged
    assert holders, "a demo portfolio holds NVDA"
    # And bad requests get a 4xx with a message
    assert api.call("GET", "/api/v1/portfolios/999999", token).status_code == 404
    assert api.call("GET", "/api/v1/instruments?asset_class=bond", token).status_code == 422
    assert api.call("GET", "/api/v1/instruments").status_code == 401
