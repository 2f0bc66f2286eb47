"""The operator console in real headless Chromium, against `tickwork api`, real workers and RabbitMQ.

Set TICKWORK_SCREENSHOTS=1 to write the pages' screenshots into docs/console/ (docs/console.md shows them).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from services.market_data.catalog import add_instrument
from services.market_data.instruments import PriceUpdate, record_prices
from services.market_data.provider_latency import SharedLatency
from services.scheduling.cadence import Every
from services.scheduling.jobs import Job
from services.scheduling.scheduler import Scheduler
from services.storage.db import make_engine, session_factory, session_scope
from services.storage.models import AuditEntry, BotState, Order, ScheduledRun, Task
from services.trading.kill_switch import halted_reason
from tests.support.console import SCREENSHOTS, ConsolePage, chromium, http_session, seed_trading
from tests.support.ledger import wait_state
from tests.support.trading_books import Clock, Desk
from tests.support.workers import read_probe_log, wait_for

pytestmark = [pytest.mark.rabbitmq]
PAGES = {
    "overview": "/console/",
    "tasks": "/console/tasks",
    "dead-letters": "/console/dead-letters",
    "schedules": "/console/schedules",
    "workers": "/console/workers",
    "market-data": "/console/market",
    "trading": "/console/trading",
}
PROBE_JOB = "console-probe"


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    with chromium(tmp_path / "chromium-profile") as context:
        yield context


@pytest.fixture
def scheduler(client, database_url) -> Iterator[Scheduler]:
    """The scheduler in a thread: a probe job every 2 s, and the real timetable listed as inactive."""
    from actors.timetable import TIMETABLE

    probe = Job(
        PROBE_JOB,
        "probe_record",
        Every(2),
        grace=timedelta(seconds=30),
        overdue_after=timedelta(minutes=5),
        kwargs={"tag": "tick"},
        description="a probe sent every 2 s",
    )
    running = Scheduler(
        [probe],
        session_factory=session_factory(database_url),
        send=client.send_many,
        scheduler_id="console-test",
        inactive=TIMETABLE,
        idle_wake=timedelta(seconds=1),
    )
    stop = threading.Event()
    thread = threading.Thread(target=running.run, args=(stop,), daemon=True)
    thread.start()
    yield running
    stop.set()
    thread.join(timeout=10)


def runs_of(database_url: str, job: str) -> list[ScheduledRun]:
    with session_scope(database_url) as session:
        return list(session.exec(select(ScheduledRun).where(ScheduledRun.job == job)))


def test_an_admin_sees_every_page_without_a_console_error(
    browser, api, start_workers, client, database_url, scheduler, tmp_path
):
    # Given work of every kind: done, failed into a dead letter, running with progress, and prices
    start_workers(queues=["refresh"], threads=4)
    done = [client.send("probe_record", {"tag": f"batch-{n}"}).message_id for n in range(3)]
    failed = client.send("probe_fatal", {"tag": "broken"}).message_id
    running = client.send("probe_progress", {"tag": "long", "steps": 200, "sleep_ms": 300}).message_id
    now = datetime.now(UTC)
    with session_scope(database_url) as session:
        fresh = add_instrument(session=session, symbol="AAPL", asset_class="equity", providers=["yahoo"], name="Apple")
        old = add_instrument(
            session=session, symbol="BTCUSDT", asset_class="crypto", providers=["binance"], name="Bitcoin"
        )
        add_instrument(session=session, symbol="MSFT", asset_class="equity", providers=["yahoo"], name="Microsoft")
        record_prices(
            [
                PriceUpdate(fresh.id, Decimal("231.42"), now, "yahoo"),
                PriceUpdate(old.id, Decimal("97310.5"), now - timedelta(hours=3), "binance"),
            ],
            session=session,
            checked_at=now,
        )
    latency = SharedLatency(make_engine(database_url))
    for seconds, errored in ((0.182, False), (0.240, False), (1.5, True)):
        latency.record("yahoo", seconds, failed=errored)
    trading = seed_trading(database_url)
    for task_id in done:
        wait_state(database_url, task_id, "completed")
    wait_state(database_url, failed, "failed")
    wait_state(database_url, running, "running")
    wait_for(lambda: runs_of(database_url, PROBE_JOB), 15, "the probe job's first run")

    # When an admin logs in and opens every page
    tab = ConsolePage(browser, api.url)
    tab.login(api.token("admin", name="ops"))
    shots = SCREENSHOTS if os.environ.get("TICKWORK_SCREENSHOTS") else tmp_path / "screenshots"
    for name, path in PAGES.items():
        page = tab.open(path)
        page.wait_for_load_state("networkidle")
        expect(page.locator("h1").first).to_be_visible()
        tab.screenshot(name, shots)
    tab.open(f"/console/tasks/{running}")
    expect(tab.page.locator("#step")).to_contain_text("step")
    tab.screenshot("task", shots)
    tab.open(f"/console/trading/portfolios/{trading.portfolio_id}")
    expect(tab.page.locator("#positions tr[data-symbol='BTC-USD']")).to_contain_text("49,006.125")
    tab.screenshot("portfolio", shots)

    # Then each rendered with no console error, and actions are offered
    assert tab.errors == []
    tab.open("/console/tasks")
    assert tab.page.locator("#bulk button[value=cancel]").count() == 1
    tab.open("/console/dead-letters")
    expect(tab.page.locator(f"tr[data-letter='{failed}']")).to_be_visible()
    tab.open("/console/trading")
    assert tab.page.locator(f"tr[data-order='{trading.working_order_id}'] button", has_text="Cancel").count() == 1
    # And the providers' latency is the recorded attempts': the newest, the average, the slowest, the errors
    tab.open("/console/market")
    yahoo = tab.page.locator("#providers tr", has_text="yahoo")
    for shown in ("1,500 ms", "641 ms", "3", "1"):
        expect(yahoo).to_contain_text(shown)


def test_a_read_token_is_offered_no_action_and_a_forged_one_gets_403(browser, api, start_workers, client, database_url):
    # Given a dead letter, and a portfolio with a working order and a bot
    start_workers(queues=["refresh"])
    failed = client.send("probe_fatal", {"tag": "dead"}).message_id
    wait_state(database_url, failed, "failed")
    trading = seed_trading(database_url)
    portfolio = f"/console/trading/portfolios/{trading.portfolio_id}"

    # When a read-only token logs in
    tab = ConsolePage(browser, api.url)
    tab.login(api.token("read", name="viewer"))
    # Then no page renders an action form (the filters are GET forms) and nothing errs
    for path in [*PAGES.values(), f"/console/tasks/{failed}", f"/console/dead-letters/{failed}", portfolio]:
        page = tab.open(path)
        assert page.locator("main form[method=post]").count() == 0, path
        assert page.locator("form.act").count() == 0, path
    assert tab.errors == []
    # And actions forged with the session's own CSRF token are refused for the missing scope
    forged = (
        f"/console/tasks/{failed}/cancel",
        "/console/dead-letters/replay",
        f"/console/tasks/{failed}/rerun",
        f"/console/trading/orders/{trading.working_order_id}/cancel",
        f"{portfolio}/halt",
        "/console/trading/kill-switch/halt",
        f"/console/trading/bots/{trading.bot_id}/pause",
    )
    for action in forged:
        status = tab.page.evaluate(
            """async (url) => (await fetch(url, {method: "POST", headers: {"Accept": "application/json",
                "Content-Type": "application/x-www-form-urlencoded",
                "X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').content},
                body: "all=1&reason=forged"})).status""",
            action,
        )
        assert status == 403, action
    with session_scope(database_url) as db:
        assert db.get(Order, trading.working_order_id).state == "working"
        assert halted_reason(session=db, portfolio_id=trading.portfolio_id) is None
        assert db.get(BotState, trading.bot_id).state != "paused"


def test_an_admin_halts_a_portfolio_cancels_its_working_order_and_pauses_its_bot_from_its_page(
    browser, api, database_url
):
    # Given a portfolio with a limit buy working and a bot
    trading = seed_trading(database_url)
    tab = ConsolePage(browser, api.url)
    tab.login(api.token("admin", name="ops"), then=f"/console/trading/portfolios/{trading.portfolio_id}")

    # When the admin halts its trading, saying why
    tab.page.fill("#trading input[name=reason]", "reviewing the fills")
    tab.page.locator("#trading button", has_text="Halt trading").click()
    # Then the page shows it halted, and placing refuses its new orders
    expect(tab.page.locator("#trading .trading-state")).to_have_text("halted", timeout=10000)
    expect(tab.page.locator("#trading")).to_contain_text("reviewing the fills")
    refused = Desk(database_url, Clock(datetime.now(UTC))).place(
        "BTC-USD", "buy", "0.01", portfolio_id=trading.portfolio_id
    )
    assert refused.order.state == "rejected" and refused.order.reason == "trading_halted"

    # When the admin cancels the working order, then pauses the bot
    order = tab.page.locator(f"tr[data-order='{trading.working_order_id}']")
    order.locator("button", has_text="Cancel").click()
    expect(order.locator(".order-state")).to_contain_text("cancelled", timeout=10000)
    tab.page.locator(f"tr[data-bot='{trading.bot_id}'] button", has_text="Pause").click()
    expect(tab.page.locator(f"tr[data-bot='{trading.bot_id}'] .bot-state")).to_contain_text("paused", timeout=10000)

    # Then the order is cancelled and the bot paused in the database, each action audited with who did it
    with session_scope(database_url) as db:
        assert db.get(Order, trading.working_order_id).state == "cancelled"
        assert db.get(BotState, trading.bot_id).state == "paused"
        audited = {(e.action, e.status) for e in db.exec(select(AuditEntry).where(AuditEntry.who.contains("(ops)")))}
    assert {
        ("console POST /console/trading/portfolios/{portfolio_id}/{verb}", 200),
        ("console POST /console/trading/orders/{order_id}/cancel", 200),
        ("console POST /console/trading/bots/{bot_id}/{verb}", 200),
    } <= audited
    assert tab.errors == []


def test_an_admin_halts_all_trading_with_the_kill_switch_and_resumes_it(browser, api, database_url):
    # Given a portfolio that trades
    trading = seed_trading(database_url)
    tab = ConsolePage(browser, api.url)
    tab.login(api.token("admin"), then="/console/trading")
    row = tab.page.locator(f"#portfolios tr[data-portfolio='{trading.portfolio_id}'] .trading-state")
    expect(row).to_have_text("trading")

    # When the admin halts all trading
    tab.page.fill("#kill-switch input[name=reason]", "exchange outage")
    tab.page.locator("#kill-switch button", has_text="Halt all trading").click()
    # Then the switch and every portfolio show halted, and placing refuses new orders
    expect(tab.page.locator("#kill-switch .trading-state")).to_have_text("halted", timeout=10000)
    expect(row).to_have_text("halted")
    with session_scope(database_url) as db:
        assert "exchange outage" in (halted_reason(session=db, portfolio_id=trading.portfolio_id) or "")

    # When it is resumed, trading is back
    tab.page.fill("#kill-switch input[name=reason]", "outage over")
    tab.page.locator("#kill-switch button", has_text="Resume all trading").click()
    expect(tab.page.locator("#kill-switch .trading-state")).to_have_text("trading", timeout=10000)
    with session_scope(database_url) as db:
        assert halted_reason(session=db, portfolio_id=trading.portfolio_id) is None
    assert tab.errors == []


def test_an_admin_cancels_a_running_task_from_its_page_and_sees_it_cancelled(
    browser, api, start_workers, client, database_url
):
    # Given a 30 s task running
    start_workers(queues=["refresh"])
    task_id = client.send("probe_cooperative", {"tag": "slow", "seconds": 30}).message_id
    wait_state(database_url, task_id, "running")
    tab = ConsolePage(browser, api.url)
    tab.login(api.token("admin"), then=f"/console/tasks/{task_id}")
    tab.page.evaluate("window.notReloaded = true")

    # When the admin clicks Cancel
    tab.page.click("#cancel-action button")
    clicked = time.monotonic()

    # Then the page shows it cancelled within 2 s, without a reload
    expect(tab.page.locator("#state .state")).to_have_text("cancelled", timeout=2000)
    assert time.monotonic() - clicked < 2.5
    assert tab.page.evaluate("window.notReloaded") is True
    assert wait_state(database_url, task_id, "cancelled").state == "cancelled"


def test_a_running_tasks_progress_bar_moves_without_a_reload(browser, api, start_workers, client, database_url):
    # Given a task reporting progress in 40 steps of 250 ms
    start_workers(queues=["refresh"])
    task_id = client.send("probe_progress", {"tag": "steps", "steps": 40, "sleep_ms": 250}).message_id
    wait_state(database_url, task_id, "running")
    tab = ConsolePage(browser, api.url)
    tab.login(api.token("read"), then=f"/console/tasks/{task_id}")
    tab.page.evaluate("window.notReloaded = true")
    first = tab.page.locator("#progress").evaluate("bar => bar.value")

    # When time passes, the bar and the step move
    wait_for(lambda: tab.page.locator("#progress").evaluate("bar => bar.value") > first + 0.1, 8, "the bar to move")
    # Then without a reload, and the list page's bar moves too
    assert tab.page.evaluate("window.notReloaded") is True
    expect(tab.page.locator("#step")).to_contain_text("of 40")
    tab.open("/console/tasks?state=running")
    bar = tab.page.locator(f"tr[data-task='{task_id}'] progress")
    before = bar.evaluate("bar => bar.value")
    wait_for(lambda: bar.evaluate("bar => bar.value") > before, 8, "the list's bar to move")
    assert tab.errors == []


def test_an_admin_replays_a_dead_letter_and_it_runs_again(browser, api, start_workers, client, database_url, probe_log):
    # Given a message that failed for good and sits in refresh.XQ
    start_workers(queues=["refresh"])
    task_id = client.send("probe_fatal", {"tag": "replay-me"}).message_id
    wait_state(database_url, task_id, "failed")
    tab = ConsolePage(browser, api.url)
    tab.login(api.token("admin"), then="/console/dead-letters")
    row = tab.page.locator(f"tr[data-letter='{task_id}']")
    expect(row).to_be_visible()

    # When the admin replays it
    row.locator("button", has_text="Replay").click()

    # Then the worker runs it again
    def attempts() -> int:
        return sum(1 for line in read_probe_log(probe_log) if line["tag"] == "replay-me")

    wait_for(lambda: attempts() >= 2, 15, "the replayed message to run")
    expect(tab.page.locator("#flash")).to_contain_text("1 dead letter(s) replayed")


def test_an_admin_pauses_a_job_and_the_scheduler_skips_it(browser, api, start_workers, database_url, scheduler):
    # Given the probe job running every 2 s
    start_workers(queues=["refresh"])
    wait_for(lambda: len(runs_of(database_url, PROBE_JOB)) >= 1, 15, "the probe job's first run")
    tab = ConsolePage(browser, api.url)
    tab.login(api.token("admin"), then="/console/schedules")
    row = tab.page.locator(f"tr[data-job='{PROBE_JOB}']")

    # When the admin pauses it
    row.locator("button", has_text="Pause").click()
    expect(tab.page.locator(f"tr[data-job='{PROBE_JOB}'] .job-state")).to_contain_text("paused", timeout=10000)
    paused_with = len(runs_of(database_url, PROBE_JOB))

    # Then the scheduler sends none of its ticks (three would have been due), and the page offers Resume
    time.sleep(6.5)
    assert len(runs_of(database_url, PROBE_JOB)) == paused_with
    expect(tab.page.locator(f"tr[data-job='{PROBE_JOB}'] button", has_text="Resume")).to_be_visible()
    assert tab.errors == []


def test_a_script_in_an_argument_shows_as_text(browser, api, start_workers, client, database_url):
    # Given a task whose argument is markup
    start_workers(queues=["refresh"])
    task_id = client.send("probe_record", {"tag": "<script>alert(1)</script>"}).message_id
    wait_state(database_url, task_id, "completed")
    tab = ConsolePage(browser, api.url)
    dialogs: list[str] = []
    tab.page.on("dialog", lambda dialog: dialogs.append(dialog.message))

    # When its page and the list searched for it are shown
    tab.login(api.token("read"), then=f"/console/tasks/{task_id}")
    # Then the text is shown as typed, and nothing ran
    assert "<script>alert(1)</script>" in tab.page.inner_text("#arguments")
    tab.open("/console/tasks?q=alert(1)")
    expect(tab.page.locator(f"tr[data-task='{task_id}']")).to_be_visible()
    assert dialogs == [] and tab.errors == []


def test_bulk_cancel_by_filter_and_run_again_by_selection(api, client, database_url):
    # Given three delayed tasks waiting and one completed task
    start = [client.send("probe_record", {"tag": f"later-{n}"}, delay_s=600).message_id for n in range(3)]
    session, csrf = http_session(api.url, api.token("cancel", "create", name="ops"))
    bulk = f"{api.url}/console/tasks/bulk"
    headers = {"Accept": "application/json", "X-CSRF-Token": csrf}

    # When the pending probe_record tasks are cancelled by filter
    reply = session.post(
        bulk,
        data={"op": "cancel", "by": "filter", "actor": "probe_record", "state": "pending"},
        headers=headers,
        timeout=30,
    )
    # Then every one of them is cancelled
    assert reply.status_code == 200 and reply.json()["notice"] == "3 task(s) cancelled", reply.text
    assert {wait_state(database_url, task_id, "cancelled").state for task_id in start} == {"cancelled"}

    # When one is sent again by selection, it is a new task linked to the old one
    reply = session.post(bulk, data={"op": "rerun", "by": "selection", "ids": start[0]}, headers=headers, timeout=30)
    assert reply.json()["notice"] == "1 task(s) sent again", reply.text
    with session_scope(database_url) as db:
        [copy] = db.exec(select(Task).where(Task.rerun_of == start[0])).all()
    assert copy.actor == "probe_record" and copy.args == {"tag": "later-0"}
