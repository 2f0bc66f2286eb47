"""The installed `tickwork` command, run as an operator runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.ledger import wait_state
from tests.support.workers import ROOT, wait_for

pytestmark = pytest.mark.rabbitmq

TICKWORK = str(Path(sys.executable).with_name("tickwork"))


@pytest.fixture
def tickwork(worker_env):
    def run(*args: str, ok: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [TICKWORK, *args], cwd=ROOT, env={**worker_env, **env}, capture_output=True, text=True, timeout=60
        )
        if ok:
            assert result.returncode == 0, result.stderr
        return result

    return run


def test_send_list_show_logs_and_cancel_a_task(tickwork, start_workers, database_url):
    sent = json.loads(tickwork("send", "probe_record", "-k", "tag=from-cli", "--delay", "30").stdout)
    assert sent["queue"] == "refresh" and sent["priority"] == "low"
    listed = json.loads(tickwork("tasks", "list", "--state", "pending", "--json").stdout)
    assert [t["message_id"] for t in listed] == [sent["message_id"]]
    assert "probe_record" in tickwork("tasks", "list").stdout  # the table
    shown = json.loads(tickwork("tasks", "show", sent["message_id"], "--json").stdout)
    assert shown["args"] == {"tag": "from-cli"} and shown["scheduled_for"]
    assert "its message is skipped" in tickwork("tasks", "cancel", sent["message_id"]).stdout
    assert json.loads(tickwork("tasks", "show", sent["message_id"], "--json").stdout)["state"] == "cancelled"

    start_workers(queues=["refresh"])
    logged = json.loads(tickwork("send", "probe_progress", "--json", '{"tag": "cli", "steps": 3}').stdout)
    wait_state(database_url, logged["message_id"], "completed")
    assert tickwork("tasks", "logs", logged["message_id"]).stdout.count("line ") == 3
    workers = json.loads(tickwork("workers", "--json").stdout)
    assert [w["status"] for w in workers] == ["alive"]


def test_send_many_sends_every_line_or_none(tickwork, rabbit, database_url, tmp_path):
    # Given a file of three messages, When it is sent, Then each is printed in the file's order
    good = tmp_path / "good.jsonl"
    good.write_text(
        '{"actor": "probe_record", "parameters": {"tag": "a"}}\n\n'
        '{"actor": "probe_record", "parameters": {"tag": "b"}, "priority": "high"}\n'
        '{"actor": "probe_order", "parameters": {"tag": "c"}, "delay_s": 60}\n'
    )
    sent = [json.loads(line) for line in tickwork("send-many", str(good)).stdout.splitlines()]
    assert [(s["queue"], s["priority"]) for s in sent] == [
        ("refresh", "low"),
        ("refresh", "high"),
        ("orders", "critical"),
    ]
    assert rabbit.depth("refresh") == 2 and rabbit.depth("orders.DQ") == 1
    for message in sent:
        wait_state(database_url, message["message_id"], "pending", timeout=5)
    # And a file with one message the contract refuses sends none, naming its line
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"actor": "probe_record", "parameters": {"tag": "d"}}\n{"actor": "probe_record", "parameters": {"tag": 5}}\n'
    )
    refused = tickwork("send-many", str(bad), ok=False)
    assert refused.returncode == 2 and refused.stderr.startswith("tickwork: line 2: invalid_payload: ")
    assert "(nothing sent)" in refused.stderr and rabbit.depth("refresh") == 2
    not_json = tmp_path / "not.jsonl"
    not_json.write_text('{"actor": "probe_record"}\n{"actor": "probe_record", "priority": "urgent"}\n')
    assert "line 2: 'urgent' is not a valid Priority" in tickwork("send-many", str(not_json), ok=False).stderr


def test_dead_letters_list_show_replay_and_purge(tickwork, start_workers, rabbit):
    start_workers(queues=["refresh"])
    ids = [json.loads(tickwork("send", "probe_fatal", "-k", f"tag=d{i}").stdout)["message_id"] for i in range(3)]
    wait_for(lambda: rabbit.depth("refresh.XQ") == 3, 10, "3 dead letters")
    letters = json.loads(tickwork("dlq", "list", "--json").stdout)
    assert sorted(d["message_id"] for d in letters) == sorted(ids)
    assert all(d["reason"] == "failed" and d["error_type"] == "ProbeRefused" for d in letters)
    assert '"tag": "d0"' in tickwork("dlq", "show", ids[0], "--json").stdout
    assert tickwork("dlq", "replay", ids[0]).stdout.strip() == "replayed 1 dead letter(s)"
    wait_for(lambda: rabbit.depth("refresh.XQ") == 3, 10, "the replay to fail again")
    assert tickwork("dlq", "purge", "--actor", "probe_fatal").stdout.strip() == "purged 3 dead letter(s)"
    assert rabbit.depth("refresh.XQ") == 0


def test_errors_are_one_line_with_a_non_zero_status(tickwork):
    missing = tickwork("tasks", "show", "no-such-task", ok=False)
    assert missing.returncode == 2 and missing.stderr.strip() == "tickwork: no task 'no-such-task'"
    invalid = tickwork("send", "probe_record", "-k", "tag=1", "-k", "sleep_ms=soon", ok=False)
    assert invalid.returncode == 2 and "sleep_ms" in invalid.stderr and len(invalid.stderr.splitlines()) == 1
    unsure = tickwork("dlq", "purge", ok=False)
    assert unsure.returncode == 2 and "--all" in unsure.stderr
    bad_setting = tickwork("tasks", "list", ok=False, METRICS_PORT="many")
    assert bad_setting.returncode == 2
    assert bad_setting.stderr.strip().startswith("tickwork: invalid setting METRICS_PORT='many'")


def test_contract_export_writes_every_schema(tickwork, tmp_path):
    out = tmp_path / "schemas"
    written = tickwork("contract", "export", "--out", str(out)).stdout.split()
    assert (out / "contract.json").exists() and len(written) >= 25


def test_operator_shortcuts(tickwork, database_url):
    # Given no worker, so the sent tasks stay pending
    prices = json.loads(tickwork("update-prices", "--asset-class", "crypto", "--json").stdout)
    assert prices["actor"] == "refresh_all_prices" and prices["queue"] == "refresh"
    history = json.loads(
        tickwork("fetch-market-data", "-s", "AAPL", "-s", "MSFT", "--start", "2026-01-02", "--json").stdout
    )
    performance = json.loads(tickwork("calculate-performance", "-p", "7", "-d", "30", "--json").stdout)
    shown = json.loads(tickwork("status", history["task_id"], "--json").stdout)
    assert shown["args"] == {"symbols": ["AAPL", "MSFT"], "start": "2026-01-02", "interval": "1d"}
    assert json.loads(tickwork("status", performance["task_id"], "--json").stdout)["args"] == {
        "portfolio_id": 7,
        "days": 30,
    }
    active = {t["message_id"] for t in json.loads(tickwork("list-active", "--json").stdout)}
    assert active == {prices["task_id"], history["task_id"], performance["task_id"]}
    assert "refresh_all_prices" in tickwork("list-active").stdout  # the table
    assert "cancelled" in tickwork("cancel", prices["task_id"]).stdout
    assert tickwork("logs", history["task_id"]).stdout == ""
    assert json.loads(tickwork("worker-stats", "--json").stdout) == []
    # errors: one line, non-zero status
    bad = tickwork("fetch-market-data", "-s", "not a symbol!", ok=False)
    assert bad.returncode == 2 and bad.stderr.startswith("tickwork: ") and bad.stderr.count("\n") == 1
    missing = tickwork("status", "no-such-task", ok=False)
    assert missing.returncode == 2 and "no-such-task" in missing.stderr


def test_instruments_are_added_listed_with_their_staleness_and_reactivated(tickwork, database_url):
    from datetime import UTC, datetime

    from services.storage.db import session_scope
    from services.storage.models import Instrument

    added = tickwork(
        "instruments", "add", "AAPL", "--class", "equity", "--providers", "yahoo,stooq", "--symbol-at", "stooq=aapl.us"
    )
    assert "instrument AAPL added (providers yahoo, stooq)" in added.stdout
    refused = tickwork("instruments", "add", "X", "--class", "bond", "--providers", "yahoo", ok=False)
    assert refused.returncode != 0 and "'bond' is not one of" in refused.stderr
    with session_scope(database_url) as session:
        session.add(Instrument(symbol="ZZZ", asset_class="equity", providers=["yahoo"], unknown_at=datetime.now(UTC)))
    [aapl, zzz] = json.loads(tickwork("instruments", "list", "--stale", "--json").stdout)
    assert (aapl["symbol"], aapl["stale"], aapl["age_s"]) == ("AAPL", True, None)
    assert (zzz["symbol"], zzz["unknown"]) == ("ZZZ", True)
    assert tickwork("instruments", "reactivate", "ZZZ").returncode == 0
    [_, zzz] = json.loads(tickwork("instruments", "list", "--json").stdout)
    assert zzz["unknown"] is False
    assert tickwork("instruments", "reactivate", "NOPE", ok=False).returncode != 0
