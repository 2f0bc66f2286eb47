"""evaluate_alerts' pipeline (rules → evaluate → plan in one transaction, then send, then the sweep)
and monitor_jobs' summary, with hand-written fakes of the rules, the transaction and the delivery."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from services.notifications.alert_checks import Rule
from services.notifications.alert_rules import Thresholds
from services.notifications.alerting import evaluate_alerts
from services.notifications.dispatch import AlertNotice, Operators
from services.notifications.outbox import DeliveryReport

NOW = datetime(2026, 11, 24, 15, tzinfo=UTC)


@dataclass
class Journal:
    """What happened, in order, across the fakes."""

    events: list[str] = field(default_factory=list)


@dataclass
class FakeTransactions:
    journal: Journal
    session: object = field(default_factory=object)

    @contextmanager
    def __call__(self) -> Iterator[object]:
        self.journal.events.append("begin")
        yield self.session
        self.journal.events.append("commit")


@dataclass
class FakeRules:
    journal: Journal
    sessions: list[object] = field(default_factory=list)
    seen: dict[str, object] = field(default_factory=dict)

    def in_force(self, *, session: object, thresholds: Thresholds) -> list[Rule]:
        self.journal.events.append("rules")
        self.sessions.append(session)
        self.seen["thresholds"] = thresholds
        return [Rule("default:drawdown", "drawdown", thresholds.drawdown), Rule("rule:1", "price_move", 0.2)]

    def evaluate(
        self, *, session: object, rules: Sequence[Rule], now: datetime, price_max_age_s: float, jobs: Sequence[object]
    ) -> list[AlertNotice]:
        self.journal.events.append("evaluate")
        self.sessions.append(session)
        self.seen.update(rules=[r.key for r in rules], now=now, price_max_age_s=price_max_age_s, jobs=jobs)
        return [AlertNotice(key="rule:1:AAPL:raised", title="AAPL moved 25 %", message="from 100 to 125")]

    def plan(
        self, *, session: object, notices: Sequence[AlertNotice], operators: Operators, now: datetime
    ) -> list[int]:
        self.journal.events.append("plan")
        self.sessions.append(session)
        self.seen.update(notices=[n.key for n in notices], operators=operators)
        return [41, 42]


@dataclass
class FakeDelivery:
    journal: Journal
    sent: list[list[int]] = field(default_factory=list)
    swept: list[datetime] = field(default_factory=list)

    def send(self, ids: Iterable[int], *, urls: Iterable[str] = ()) -> DeliveryReport:
        self.journal.events.append("send")
        self.sent.append(list(ids))
        return DeliveryReport(sent=[41], deferred={42: "slack 503"})

    def sweep(self, now: datetime) -> DeliveryReport:
        self.journal.events.append("sweep")
        self.swept.append(now)
        return DeliveryReport(sent=[7])


def test_rules_are_evaluated_and_planned_in_one_transaction_and_sent_after_it_commits():
    # Given thresholds from the settings, a stored rule and what it finds
    journal = Journal()
    rules, delivery = FakeRules(journal), FakeDelivery(journal)
    transactions = FakeTransactions(journal)
    thresholds = Thresholds(drawdown=0.15, price_max_age_s=600.0)
    operators = Operators(emails=("ops@example.com",))
    # When the alerts are evaluated
    result = evaluate_alerts(
        thresholds=thresholds,
        jobs=["job"],  # type: ignore[list-item]
        operators=operators,
        session_factory=transactions,  # type: ignore[arg-type]
        delivery=delivery,
        rules=rules,
        now=NOW,
    )
    # Then rules → evaluate → plan share one transaction, and nothing is sent before it commits
    assert journal.events == ["begin", "rules", "evaluate", "plan", "commit", "send", "sweep"]
    assert rules.sessions == [transactions.session] * 3
    # and each step got what the one before it produced
    assert rules.seen["thresholds"] == thresholds and rules.seen["rules"] == ["default:drawdown", "rule:1"]
    assert rules.seen["price_max_age_s"] == 600.0 and rules.seen["now"] == NOW and rules.seen["jobs"] == ["job"]
    assert rules.seen["notices"] == ["rule:1:AAPL:raised"] and rules.seen["operators"] == operators
    assert delivery.sent == [[41, 42]] and delivery.swept == [NOW]
    # and a deferred row does not fail the run: the summary says what happened
    assert result.summary() == (
        "2 rules, 1 notice(s): sent 1, skipped 0, deferred 1, refused 0; "
        "earlier rows: sent 1, skipped 0, deferred 0, refused 0"
    )


def test_with_nothing_found_the_run_still_sweeps_what_earlier_tasks_left():
    journal = Journal()

    class QuietRules(FakeRules):
        def evaluate(self, **_: object) -> list[AlertNotice]:  # type: ignore[override]
            return []

        def plan(self, *, notices: Sequence[AlertNotice], **_: object) -> list[int]:  # type: ignore[override]
            return [] if not notices else [1]

    delivery = FakeDelivery(journal)
    result = evaluate_alerts(
        thresholds=Thresholds(),
        jobs=[],
        operators=Operators(),
        session_factory=FakeTransactions(journal),  # type: ignore[arg-type]
        delivery=delivery,
        rules=QuietRules(journal),
        now=NOW + timedelta(minutes=1),
    )
    assert delivery.sent == [[]] and delivery.swept == [NOW + timedelta(minutes=1)]
    assert result.summary().startswith("2 rules, 0 notice(s): ")
