"""The periodic alert jobs as use cases: `evaluate_alerts` (the alert rules) and `monitor_jobs` (jobs
overdue). Each evaluates and plans its notifications in one transaction, so a crash cannot lose a
notification nor a redelivery repeat one; it sends them once that transaction has committed, then
sends what earlier tasks left behind. A refused notification does not fail the run (the outbox
records it); one deferred is sent again by the next run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from sqlmodel import Session

from services.engine.progress import NullReporter, ProgressReporter
from services.notifications.alert_checks import Rule
from services.notifications.alert_rules import Thresholds, evaluate_alert_rules, rules_in_force
from services.notifications.delivery import Delivery
from services.notifications.dispatch import AlertNotice, Operators, check_overdue_and_plan, plan_alerts
from services.notifications.outbox import DeliveryReport
from services.scheduling.jobs import Job
from services.scheduling.overdue import Overdue
from services.storage.db import SessionFactory


class AlertRules(Protocol):
    """The steps of an evaluation, each in the caller's transaction (RuleEvaluation)."""

    def in_force(self, *, session: Session, thresholds: Thresholds) -> list[Rule]: ...

    def evaluate(
        self, *, session: Session, rules: Sequence[Rule], now: datetime, price_max_age_s: float, jobs: Sequence[Job]
    ) -> list[AlertNotice]: ...

    def plan(
        self, *, session: Session, notices: Sequence[AlertNotice], operators: Operators, now: datetime
    ) -> list[int]: ...


class RuleEvaluation:
    """The rules of the `alert_rules` table and the settings' defaults, their states, the outbox."""

    def in_force(self, *, session: Session, thresholds: Thresholds) -> list[Rule]:
        return rules_in_force(session=session, thresholds=thresholds)

    def evaluate(
        self, *, session: Session, rules: Sequence[Rule], now: datetime, price_max_age_s: float, jobs: Sequence[Job]
    ) -> list[AlertNotice]:
        return evaluate_alert_rules(session=session, rules=rules, now=now, price_max_age_s=price_max_age_s, jobs=jobs)

    def plan(
        self, *, session: Session, notices: Sequence[AlertNotice], operators: Operators, now: datetime
    ) -> list[int]:
        return plan_alerts(session=session, notices=notices, operators=operators, now=now)


RULE_EVALUATION = RuleEvaluation()


@dataclass(frozen=True)
class AlertsEvaluated:
    rules: int
    notices: int
    report: DeliveryReport
    earlier: DeliveryReport  # rows earlier tasks left behind

    def summary(self) -> str:
        return (
            f"{self.rules} rules, {self.notices} notice(s): {self.report.summary()}; "
            f"earlier rows: {self.earlier.summary()}"
        )


def evaluate_alerts(
    *,
    thresholds: Thresholds,
    jobs: Sequence[Job],
    operators: Operators,
    session_factory: SessionFactory,
    delivery: Delivery,
    rules: AlertRules = RULE_EVALUATION,
    now: datetime | None = None,
    reporter: ProgressReporter | None = None,
) -> AlertsEvaluated:
    """The rules in force → evaluated → notices planned (one transaction) → sent → the sweep."""
    now, reporter = now or datetime.now(UTC), reporter or NullReporter()
    with session_factory() as session:
        in_force = rules.in_force(session=session, thresholds=thresholds)
        notices = rules.evaluate(
            session=session, rules=in_force, now=now, price_max_age_s=thresholds.price_max_age_s, jobs=jobs
        )
        ids = rules.plan(session=session, notices=notices, operators=operators, now=now)
    reporter.progress(0.5, f"{len(notices)} notice(s)")
    report = delivery.send(ids)
    return AlertsEvaluated(len(in_force), len(notices), report, delivery.sweep(now))


@dataclass(frozen=True)
class JobsMonitored:
    overdue: list[Overdue]
    raised: list[str]  # jobs whose alert was raised by this run

    def summary(self) -> str:
        if self.overdue:
            jobs = ", ".join(item.job for item in self.overdue)
            return f"{len(self.overdue)} overdue: {jobs} ({len(self.raised)} newly raised)"
        return "no job overdue"


def monitor_jobs(
    *,
    jobs: Sequence[Job],
    operators: Operators,
    session_factory: SessionFactory,
    delivery: Delivery,
    now: datetime | None = None,
    reporter: ProgressReporter | None = None,
) -> JobsMonitored:
    """Raise an alert for each job that has not succeeded within its interval, resolve the rest, and
    notify the operators of each change (one open alert per job, refreshed rather than repeated)."""
    now, reporter = now or datetime.now(UTC), reporter or NullReporter()
    with session_factory() as session:
        overdue, raised, ids = check_overdue_and_plan(jobs, session=session, now=now, operators=operators)
    reporter.progress(0.8, "notifying")
    delivery.send(ids)
    delivery.sweep(now)
    return JobsMonitored(overdue, raised)
