"""Alert rules on real tables: each kind fires on its data, the cooldown keeps repeats quiet, a
cleared condition resolves (and says so once), and notices reach recipients by severity."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from services.notifications.alert_rules import Rule, Thresholds, evaluate_alert_rules, rules_in_force
from services.notifications.dispatch import AlertNotice, Operators, destinations, plan_alert
from services.storage.db import session_scope
from services.storage.models import (
    Alert,
    AlertRule,
    CashFlow,
    DailyBar,
    Instrument,
    Notification,
    NotificationRecipient,
    Portfolio,
    PortfolioSnapshot,
    Position,
)

pytestmark = pytest.mark.both_databases

NOW = datetime(2026, 3, 11, 15, 0, tzinfo=UTC)  # a Wednesday, the market open
HOUR = timedelta(hours=1)


def portfolio(session, *, account="acme", name="Growth", value="100000", snapshots=()) -> Portfolio:
    row = Portfolio(name=name, account=account, created_at=NOW, total_value=Decimal(value), valued_at=NOW)
    session.add(row)
    session.flush()
    for day, total in snapshots:
        session.add(
            PortfolioSnapshot(
                portfolio_id=row.id,
                day=day,
                taken_at=datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=21),
                cash=Decimal(0),
                market_value=Decimal(total),
                total_value=Decimal(total),
                cost_basis=Decimal(0),
                unrealized_pnl=Decimal(0),
            )
        )
    return row


def set_value(database_url, portfolio_id, value) -> None:
    with session_scope(database_url) as session:
        row = session.get(Portfolio, portfolio_id)
        row.total_value = Decimal(value)
        session.add(row)


def evaluate(database_url, rules, now, **kwargs):
    with session_scope(database_url) as session:
        return evaluate_alert_rules(session=session, rules=rules, now=now, **kwargs)


def drawdown_rule(cooldown=HOUR) -> Rule:
    return Rule("default:drawdown", "drawdown", 0.10, "warning", cooldown, default=True)


def test_drawdown_fires_keeps_quiet_in_cooldown_reminds_after_it_and_resolves(database_url):
    # Given a portfolio that peaked at 120,000 and is worth 100,000 now (16.7 % down)
    with session_scope(database_url) as session:
        p = portfolio(session, snapshots=[(date(2026, 3, 9), "120000"), (date(2026, 3, 10), "110000")]).id
    rule = drawdown_rule()
    # When the rules run, the drawdown is raised and told to the account
    [raised] = evaluate(database_url, [rule], NOW)
    assert raised.state == "raised" and raised.account == "acme" and raised.portfolio_id == p
    assert raised.title == "Growth: drawdown 16.7%"
    # Then within the cooldown nothing more is said, after it a reminder
    assert evaluate(database_url, [rule], NOW + 10 * timedelta(minutes=1)) == []
    [reminder] = evaluate(database_url, [rule], NOW + HOUR)
    assert reminder.state == "reminder"
    # When the value recovers, the alert resolves once
    set_value(database_url, p, "115000")
    [resolved] = evaluate(database_url, [rule], NOW + 2 * HOUR)
    assert resolved.state == "resolved" and resolved.title == "Growth: drawdown 16.7%"
    assert evaluate(database_url, [rule], NOW + 3 * HOUR) == []
    with session_scope(database_url) as session:
        [record] = session.exec(select(Alert)).all()
    assert record.account == "acme" and record.resolved_at is not None and record.kind == "drawdown"


def test_a_flapping_condition_is_recorded_but_not_notified_again_within_the_cooldown(database_url):
    with session_scope(database_url) as session:
        p = portfolio(session, value="80000", snapshots=[(date(2026, 3, 9), "100000")]).id
    rule = drawdown_rule()
    assert [n.state for n in evaluate(database_url, [rule], NOW)] == ["raised"]
    set_value(database_url, p, "95000")
    assert [n.state for n in evaluate(database_url, [rule], NOW + timedelta(minutes=5))] == ["resolved"]
    # it comes back 10 minutes after the first notice: recorded, not sent
    set_value(database_url, p, "80000")
    assert evaluate(database_url, [rule], NOW + timedelta(minutes=10)) == []
    # and clearing a firing nobody was told about says nothing either
    set_value(database_url, p, "95000")
    assert evaluate(database_url, [rule], NOW + timedelta(minutes=15)) == []
    with session_scope(database_url) as session:
        assert len(session.exec(select(Alert)).all()) == 2
    # after the cooldown, a new firing is told again
    set_value(database_url, p, "80000")
    assert [n.state for n in evaluate(database_url, [rule], NOW + 2 * HOUR)] == ["raised"]


def test_daily_pnl_is_net_of_the_days_cash_flows(database_url):
    with session_scope(database_url) as session:
        p = portfolio(session, value="108000", snapshots=[(date(2026, 3, 10), "100000")])
        session.add(CashFlow(portfolio_id=p.id, at=NOW - HOUR, amount=Decimal("10000"), note="deposit"))
        pid = p.id
    rule = Rule("default:daily_pnl", "daily_pnl", 0.05, "warning", HOUR, default=True)
    # a 10,000 deposit and a value of 108,000: a 2 % loss, under the limit
    assert evaluate(database_url, [rule], NOW) == []
    set_value(database_url, pid, "103000")  # a 7 % loss
    [notice] = evaluate(database_url, [rule], NOW)
    assert notice.title == "Growth: daily P&L -7.0%" and "net of flows +10,000.00" in notice.message


def test_position_weight_price_move_and_stale_prices(database_url):
    with session_scope(database_url) as session:
        p = portfolio(session)
        apple = Instrument(
            symbol="AAPL",
            asset_class="equity",
            last_price=Decimal("180"),
            last_price_at=NOW - timedelta(minutes=2),
        )
        bitcoin = Instrument(
            symbol="BTC-USD",
            asset_class="crypto",
            last_price=Decimal("95000"),
            last_price_at=NOW - 3 * HOUR,  # crypto ages around the clock
        )
        session.add_all([apple, bitcoin])
        session.flush()
        session.add(Position(portfolio_id=p.id, instrument_id=apple.id, quantity=1, average_cost=1, weight=0.4))
        for day, close in [(date(2026, 3, 9), "150"), (date(2026, 3, 10), "200")]:
            ts = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
            session.add(DailyBar(instrument_id=apple.id, interval="1d", ts=ts, close=Decimal(close), source="test"))
        # today's bar must not count as the previous close
        today = datetime.combine(NOW.date(), datetime.min.time(), tzinfo=UTC)
        session.add(DailyBar(instrument_id=apple.id, interval="1d", ts=today, close=Decimal("181"), source="test"))
    with session_scope(database_url) as session:
        rules = rules_in_force(session=session, thresholds=Thresholds())
    notices = {n.title: n for n in evaluate(database_url, rules, NOW, price_max_age_s=900)}
    assert set(notices) == {"Growth: AAPL is 40.0% of the portfolio", "AAPL moved -10.0%", "1 stale price(s)"}
    assert notices["Growth: AAPL is 40.0% of the portfolio"].account == "acme"
    assert notices["AAPL moved -10.0%"].account is None  # the operators'
    assert "BTC-USD" in notices["1 stale price(s)"].message


def test_an_accounts_own_rule_replaces_the_default_for_that_account(database_url):
    with session_scope(database_url) as session:
        portfolio(session, account="acme", value="95000", snapshots=[(date(2026, 3, 9), "100000")])
        portfolio(session, account="zeta", name="Zeta", value="85000", snapshots=[(date(2026, 3, 9), "100000")])
        session.add(
            AlertRule(account="acme", kind="drawdown", params={"limit": 0.04}, severity="critical", created_at=NOW)
        )
    with session_scope(database_url) as session:
        rules = [r for r in rules_in_force(session=session, thresholds=Thresholds()) if r.kind == "drawdown"]
    notices = evaluate(database_url, rules, NOW)
    assert {(n.account, n.severity, n.title) for n in notices} == {
        ("acme", "critical", "Growth: drawdown 5.0%"),
        ("zeta", "warning", "Zeta: drawdown 15.0%"),
    }


def recipient(channel: str, address: str, **fields) -> NotificationRecipient:
    return NotificationRecipient(account="acme", channel=channel, address=address, created_at=NOW, **fields)


def test_notices_reach_recipients_by_minimum_severity_and_portfolio(database_url):
    with session_scope(database_url) as session:
        p = portfolio(session)
        other = portfolio(session, name="Other")
        session.add_all(
            [
                recipient("email", "all@acme.test", min_severity="info"),
                recipient("slack", "https://hooks.slack.test/T/1", min_severity="critical"),
                recipient("webhook", "https://acme.test/other", min_severity="info", portfolio_id=other.id),
                recipient("email", "off@acme.test", active=False),
            ]
        )
        session.flush()
        warning = AlertNotice(key="k1", title="t", message="m", severity="warning", account="acme", portfolio_id=p.id)
        assert destinations(session=session, notice=warning, operators=Operators()) == [("email", "all@acme.test")]
        critical = AlertNotice(
            key="k2", title="t", message="m", severity="critical", account="acme", portfolio_id=other.id
        )
        assert destinations(session=session, notice=critical, operators=Operators()) == [
            ("email", "all@acme.test"),
            ("slack", "https://hooks.slack.test/T/1"),
            ("webhook", "https://acme.test/other"),
        ]
        ops = Operators(("ops@tickwork.test",), "https://hooks.slack.test/ops")
        mine = AlertNotice(key="k3", title="Job late", message="m", channels=frozenset({"slack"}))
        ids = plan_alert(session=session, notice=mine, operators=ops, now=NOW)
        again = plan_alert(session=session, notice=mine, operators=ops, now=NOW)
        assert ids == again and len(ids) == 1
        row = session.get(Notification, ids[0])
        assert (
            row.channel == "slack" and row.status == "queued" and row.payload["text"].startswith("[warning] Job late")
        )


def test_overdue_jobs_tell_the_operators_once_when_raised_and_once_when_resolved(database_url):
    from services.notifications.dispatch import check_overdue_and_plan
    from services.scheduling.store import sync_jobs
    from services.storage.models import ScheduledJob
    from tests.support.scheduling import job

    monitored = job("every-minute", "* * * * *", overdue_after=timedelta(minutes=5))
    ops = Operators(("ops@tickwork.test",), "https://hooks.slack.test/ops")
    with session_scope(database_url) as session:
        sync_jobs(session=session, jobs=[monitored], active={"every-minute"}, now=NOW - HOUR)
    # Given a job that has not succeeded for an hour: one notification per operator channel
    with session_scope(database_url) as session:
        overdue, raised, ids = check_overdue_and_plan([monitored], session=session, now=NOW, operators=ops)
    assert [o.job for o in overdue] == raised == ["every-minute"] and len(ids) == 2
    # the next minute's check finds it still open: nothing new
    with session_scope(database_url) as session:
        assert check_overdue_and_plan([monitored], session=session, now=NOW + HOUR / 60, operators=ops)[2] == []
    # paused, it is no longer overdue: the alert resolves and says so once
    with session_scope(database_url) as session:
        session.get(ScheduledJob, "every-minute").paused = True
    with session_scope(database_url) as session:
        _, _, resolved = check_overdue_and_plan([monitored], session=session, now=NOW + HOUR / 30, operators=ops)
        rows = session.exec(select(Notification).order_by(Notification.id)).all()
    assert len(resolved) == 2
    assert [(r.channel, r.subject) for r in rows] == [
        ("email", "[warning] Job every-minute is overdue"),
        ("slack", "[warning] Job every-minute is overdue"),
        ("email", "[resolved] Job every-minute is overdue"),
        ("slack", "[resolved] Job every-minute is overdue"),
    ]
