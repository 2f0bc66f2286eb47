"""Recipients, alert rules and the outbox from a shell (`tickwork notify ...`) and over the API
(/api/v1/notifications): saved only when valid, URLs never shown, writes only with the admin scope."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime

import pytest

from services.notifications.outbox import Outgoing, Status, enqueue, finish
from services.storage.db import session_scope
from tests.support.api import TICKWORK
from tests.support.workers import ROOT

pytestmark = pytest.mark.rabbitmq

SLACK = "https://127.0.0.1:9/services/T000/B000/secretpart"


@pytest.fixture
def tickwork(worker_env):
    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        env = {**worker_env, "TICKWORK_SSRF_ALLOW": "127.0.0.1/32:9"}
        result = subprocess.run([TICKWORK, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        if ok:
            assert result.returncode == 0, result.stderr
        return result

    return run


def failed_webhook(database_url: str, url: str) -> int:
    """An outbox row as a refused webhook leaves it (the error quotes the URL's path)."""
    now = datetime.now(UTC)
    item = Outgoing(f"m-1:webhook:{url}", "webhook", url, "order.filled", {"event": "order.filled", "data": {}})
    with session_scope(database_url) as session:
        [row_id] = enqueue(session=session, items=[item], now=now)
    with session_scope(database_url) as session:
        refusal = f"refused: 404 no hook at {url}"
        finish(session=session, notification_id=row_id, status=Status.FAILED, response=refusal, now=now)
    return row_id


def test_recipients_rules_and_outbox_from_the_cli(tickwork, database_url):
    email = json.loads(tickwork("notify", "recipients", "add", "acme", "email", "ann@example.com", "--json").stdout)
    slack = json.loads(
        tickwork("notify", "recipients", "add", "acme", "slack", SLACK, "--min-severity", "critical", "--json").stdout
    )
    assert slack["address"].startswith("https://127.0.0.1:9/…#") and not slack["digest"]
    refused = tickwork("notify", "recipients", "add", "acme", "webhook", "http://10.1.2.3/hook", ok=False)
    assert refused.returncode == 2 and "private" in refused.stderr and "Traceback" not in refused.stderr
    assert "not an email address" in tickwork("notify", "recipients", "add", "acme", "email", "x@", ok=False).stderr
    listed = json.loads(tickwork("notify", "recipients", "list", "--json").stdout)
    assert [r["id"] for r in listed] == [email["id"], slack["id"]]
    table = tickwork("notify", "recipients", "list").stdout
    assert "ann@example.com" in table and "secretpart" not in table
    assert (
        tickwork("notify", "recipients", "remove", str(email["id"])).stdout.strip()
        == f"removed recipient {email['id']}"
    )
    assert "no notification recipient" in tickwork("notify", "recipients", "remove", str(email["id"]), ok=False).stderr

    rule = json.loads(
        tickwork(
            "notify", "rules", "add", "daily_pnl", "--account", "acme", "--limit", "0.03",
            "--param", "direction=loss", "--severity", "critical", "--cooldown", "600", "--json",
        ).stdout
    )  # fmt: skip
    assert rule["params"] == {"limit": 0.03, "direction": "loss"} and rule["active"]
    bad = tickwork("notify", "rules", "add", "drawdown", "--limit", "2", ok=False)
    assert bad.returncode == 2 and "drawdown.limit must be" in bad.stderr
    assert "unknown rule kind" in tickwork("notify", "rules", "add", "weather", ok=False).stderr
    tickwork("notify", "rules", "disable", str(rule["id"]))
    assert json.loads(tickwork("notify", "rules", "list", "--json").stdout)[0]["active"] is False
    tickwork("notify", "rules", "enable", str(rule["id"]))
    assert json.loads(tickwork("notify", "rules", "list", "--account", "acme", "--json").stdout)[0]["active"] is True
    tickwork("notify", "rules", "remove", str(rule["id"]))
    assert json.loads(tickwork("notify", "rules", "list", "--json").stdout) == []

    row_id = failed_webhook(database_url, "https://127.0.0.1:9/hooks/topsecret")
    [failed] = json.loads(tickwork("notify", "outbox", "--status", "failed", "--json").stdout)
    assert failed["id"] == row_id and failed["status"] == "failed" and "404" in failed["last_response"]
    assert "topsecret" not in json.dumps(failed)
    assert json.loads(tickwork("notify", "outbox", "--status", "sent", "--json").stdout) == []
    assert "topsecret" not in tickwork("notify", "outbox").stdout


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_recipients_rules_and_outbox_over_the_api(api, database_url):
    admin, reader = api.token("admin"), api.token("read", name="reader")
    base = "/api/v1/notifications"
    body = {"account": "acme", "channel": "email", "address": "ann@example.com", "min_severity": "info"}
    assert api.call("POST", f"{base}/recipients", reader, json=body).status_code == 403
    created = api.call("POST", f"{base}/recipients", admin, json=body)
    assert created.status_code == 201, created.text
    recipient = created.json()
    assert recipient["address"] == "ann@example.com" and recipient["min_severity"] == "info"
    inner = api.call(
        "POST", f"{base}/recipients", admin, json={**body, "channel": "webhook", "address": "http://127.0.0.1/x"}
    )
    assert inner.status_code == 422 and "loopback" in inner.json()["error"]
    unknown = api.call("POST", f"{base}/recipients", admin, json={**body, "channel": "sms"})
    assert unknown.status_code == 422
    listed = api.call("GET", f"{base}/recipients?account=acme", reader)
    assert listed.status_code == 200 and [r["id"] for r in listed.json()] == [recipient["id"]]
    assert api.call("DELETE", f"{base}/recipients/{recipient['id']}", reader).status_code == 403
    assert api.call("DELETE", f"{base}/recipients/{recipient['id']}", admin).status_code == 204
    assert api.call("DELETE", f"{base}/recipients/{recipient['id']}", admin).status_code == 404

    rule_body = {"kind": "position_weight", "params": {"limit": 0.3}, "account": "acme", "severity": "info"}
    rule = api.call("POST", f"{base}/rules", admin, json=rule_body)
    assert rule.status_code == 201, rule.text
    rule_id = rule.json()["id"]
    bad = api.call("POST", f"{base}/rules", admin, json={**rule_body, "params": {"limit": 0.3, "window_days": 5}})
    assert bad.status_code == 422 and "does not take window_days" in bad.json()["error"]
    assert api.call("POST", f"{base}/rules", admin, json={**rule_body, "kind": "weather"}).status_code == 422
    toggled = api.call("PUT", f"{base}/rules/{rule_id}", admin, json={"active": False})
    assert toggled.status_code == 200 and toggled.json()["active"] is False
    assert [r["id"] for r in api.call("GET", f"{base}/rules", reader).json()] == [rule_id]
    assert api.call("DELETE", f"{base}/rules/{rule_id}", admin).status_code == 204
    assert api.call("PUT", f"{base}/rules/{rule_id}", admin, json={"active": True}).status_code == 404

    row_id = failed_webhook(database_url, "https://127.0.0.1:9/hooks/topsecret")
    outbox = api.call("GET", f"{base}/outbox?status=failed", reader)
    assert outbox.status_code == 200 and [r["id"] for r in outbox.json()] == [row_id]
    assert "topsecret" not in outbox.text
    assert api.call("GET", f"{base}/outbox?status=lost", reader).status_code == 422
    assert api.call("GET", f"{base}/outbox").status_code == 401
