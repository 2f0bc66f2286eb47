"""Recipients and alert rules as operators manage them (services.notifications.recipients and
.stored_rules): checked when saved (email
syntax, URL scheme, the SSRF guard, severities, each rule kind's parameters), used by the dispatch
and the rule evaluation as they are, and every URL shown redacted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.errors import DeliveryFailed, PortfolioNotFound
from services.notifications.addresses import AddressBook
from services.notifications.alert_checks import KINDS, Rule
from services.notifications.alert_rules import Thresholds, rules_in_force
from services.notifications.dispatch import AlertNotice, Operators, plan_alert
from services.notifications.outbox import SqlOutbox, deliver
from services.notifications.outbox_view import list_outbox, outbox_view
from services.notifications.preferences import PreferenceInvalid
from services.notifications.recipients import (
    RecipientIn,
    RecipientNotFound,
    add_recipient,
    list_recipients,
    recipient_view,
    remove_recipient,
)
from services.notifications.redaction import redact_url
from services.notifications.slack import SlackChannel
from services.notifications.ssrf import SsrfGuard
from services.notifications.stored_rules import PARAMETERS, RuleIn, RuleNotFound, add_rule, remove_rule, set_rule_active
from services.notifications.webhooks import JsonPoster, WebhookChannel, WebhookConfig
from services.storage.db import session_factory, session_scope
from services.storage.models import Notification, Portfolio
from tests.support.webhook_receiver import SECRET, local_allow, webhook_receiver

NOW = datetime(2026, 3, 2, 15, tzinfo=UTC)
SLACK = "https://hooks.slack.com/services/T000/B000/secretpart"


class FixedResolver:
    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table

    def resolve(self, host: str, port: int) -> list[str]:
        return self.table[host]


RESOLVER = FixedResolver({"hooks.slack.com": ["34.1.2.3"], "inner.example.com": ["10.0.0.5"]})


def guard() -> SsrfGuard:
    """Lets the running receivers through, and port 9 of loopback (where nobody listens)."""
    return SsrfGuard.from_setting(",".join(filter(None, [local_allow(), "127.0.0.1/32:9"])), resolver=RESOLVER)


def portfolio(database_url: str, account: str = "acme") -> int:
    with session_scope(database_url) as session:
        row = Portfolio(name="Main", account=account, created_at=NOW)
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def add(database_url: str, **fields: Any) -> dict[str, Any]:
    wanted = RecipientIn(**{"account": "acme", "channel": "email", "address": "ann@example.com", **fields})
    with session_scope(database_url) as session:
        return recipient_view(add_recipient(session=session, recipient=wanted, guard=guard(), now=NOW))


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"address": "ann.example.com"}, "is not an email address"),
        ({"address": "ann@exa mple.com"}, "is not an email address"),
        ({"address": "Ann <ann@example.com>"}, "is not an email address"),
        ({"channel": "sms"}, "unknown channel"),
        ({"channel": "webhook", "address": "ftp://hooks.example.com/x"}, "must be an https:// \\(or http://\\) URL"),
        ({"channel": "webhook", "address": "file:///etc/passwd"}, "must be an https:// \\(or http://\\) URL"),
        ({"channel": "webhook", "address": "http://169.254.169.254/latest"}, "metadata"),
        ({"channel": "slack", "address": "https://inner.example.com/services/x"}, "private"),
        ({"channel": "webhook", "address": "https://user:pw@hooks.slack.com/x"}, "credentials"),
        ({"min_severity": "urgent"}, "unknown severity"),
        ({"account": " "}, "account must be"),
    ],
)
def test_a_recipient_is_checked_when_it_is_saved(database_url, fields, says):
    with pytest.raises(PreferenceInvalid, match=says):
        add(database_url, **fields)
    with session_scope(database_url) as session:
        assert list_recipients(session=session) == []


def test_a_refused_url_is_named_by_its_host_never_its_path(database_url):
    with pytest.raises(PreferenceInvalid) as refused:
        add(database_url, channel="slack", address="https://inner.example.com/services/T1/B1/topsecret")
    assert "inner.example.com" in str(refused.value) and "topsecret" not in str(refused.value)


def test_recipients_are_added_listed_redacted_and_removed(database_url):
    mine = portfolio(database_url)
    email = add(database_url, min_severity="critical")
    slack = add(database_url, channel="slack", address=SLACK, portfolio_id=mine, digest=False)
    assert email["address"] == "ann@example.com" and email["min_severity"] == "critical" and email["digest"]
    assert slack["address"] == redact_url(SLACK) and "secretpart" not in slack["address"]
    assert slack["address"].startswith("https://hooks.slack.com/…#") and not slack["digest"]
    with pytest.raises(PreferenceInvalid, match="already has"):
        add(database_url)
    with pytest.raises(PortfolioNotFound):
        add(database_url, address="bob@example.com", portfolio_id=mine + 100)
    other = portfolio(database_url, account="globex")
    with pytest.raises(PreferenceInvalid, match="another account"):
        add(database_url, address="bob@example.com", portfolio_id=other)
    with session_scope(database_url) as session:
        assert [r.id for r in list_recipients(session=session, account="acme")] == [email["id"], slack["id"]]
        assert list_recipients(session=session, account="globex") == []
        remove_recipient(session=session, recipient_id=email["id"])
        with pytest.raises(RecipientNotFound):
            remove_recipient(session=session, recipient_id=email["id"])
        assert [r.id for r in list_recipients(session=session)] == [slack["id"]]


def test_every_alert_kind_has_its_parameters_declared():
    assert set(PARAMETERS) == set(KINDS)


@pytest.mark.parametrize(
    ("kind", "params", "says"),
    [
        ("volatility", {}, "unknown rule kind"),
        ("drawdown", {"limit": 0}, "drawdown.limit must be"),
        ("drawdown", {"limit": 1.5}, "drawdown.limit must be"),
        ("drawdown", {"limit": "0.1"}, "drawdown.limit must be"),
        ("drawdown", {"limit": True}, "drawdown.limit must be"),
        ("drawdown", {"window_days": 0.5}, "drawdown.window_days must be"),
        ("daily_pnl", {"direction": "up"}, "both, loss or gain"),
        ("position_weight", {"direction": "loss"}, "does not take direction"),
        ("stale_prices", {"max_age_seconds": -1}, "max_age_seconds must be"),
        ("overdue_jobs", {"limit": 0.1}, "takes no parameters"),
    ],
)
def test_a_rule_is_checked_against_its_kind(database_url, kind, params, says):
    with session_scope(database_url) as session, pytest.raises(PreferenceInvalid, match=says):
        add_rule(session=session, rule=RuleIn(kind=kind, params=params), now=NOW)


def test_a_saved_rule_is_in_force_until_disabled_and_removed(database_url):
    mine = portfolio(database_url)
    wanted = RuleIn(
        kind="drawdown",
        params={"limit": 0.2, "window_days": 30},
        account="acme",
        portfolio_id=mine,
        severity="critical",
        cooldown_s=600,
    )
    with session_scope(database_url) as session:
        rule_id = add_rule(session=session, rule=wanted, now=NOW).id
        assert rule_id is not None
        with pytest.raises(PreferenceInvalid, match="unknown severity"):
            add_rule(session=session, rule=RuleIn(kind="price_move", params={}, severity="loud"), now=NOW)
        with pytest.raises(PreferenceInvalid, match="cooldown"):
            add_rule(session=session, rule=RuleIn(kind="price_move", params={}, cooldown_s=-1), now=NOW)
    key = f"rule:{rule_id}"

    def in_force() -> dict[str, Rule]:
        with session_scope(database_url) as session:
            return {r.key: r for r in rules_in_force(session=session, thresholds=Thresholds())}

    stored = in_force()[key]
    assert (stored.limit, stored.severity, stored.cooldown, stored.account, stored.portfolio_id) == (
        0.2,
        "critical",
        timedelta(seconds=600),
        "acme",
        mine,
    )
    with session_scope(database_url) as session:
        set_rule_active(session=session, rule_id=rule_id, active=False)
    assert key not in in_force()
    with session_scope(database_url) as session:
        set_rule_active(session=session, rule_id=rule_id, active=True)
    assert key in in_force()
    with session_scope(database_url) as session:
        remove_rule(session=session, rule_id=rule_id)
        with pytest.raises(RuleNotFound):
            set_rule_active(session=session, rule_id=rule_id, active=True)
    assert key not in in_force()


def test_an_alert_reaches_a_saved_webhook_and_the_outbox_view_hides_its_url(database_url):
    with webhook_receiver(200) as receiver:
        url = receiver.url("/hooks/T1/B1/secret-token-path")
        add(database_url, channel="webhook", address=url, digest=False)
        add(database_url, address="ann@example.com", min_severity="critical")  # below its minimum: not sent
        notice = AlertNotice(key="a-1", title="Drawdown", message="12 %", severity="warning", account="acme")
        with session_scope(database_url) as session:
            ids = plan_alert(session=session, notice=notice, operators=Operators(), now=NOW)
        config = WebhookConfig(timeout_s=2, retries=0, backoff_s=0, max_redirects=0, secret=SECRET)
        channel = WebhookChannel(JsonPoster(guard(), config))
        book = AddressBook(session_factory(database_url))
        report = deliver(
            ids,
            outbox=SqlOutbox(session_factory(database_url)),
            channels={"webhook": channel},
            lease=timedelta(minutes=5),
            addresses=book,
        )
    assert len(ids) == 1 and report.sent == ids
    [request] = receiver.requests
    assert request.signature_ok and request.path == "/hooks/T1/B1/secret-token-path"
    with session_scope(database_url) as session:  # the outbox itself keeps no trace of the URL
        stored = session.get(Notification, ids[0])
        assert stored is not None and "secret-token-path" not in f"{stored.key} {stored.recipient} {stored.payload}"
    with session_scope(database_url) as session:
        [row] = [outbox_view(r) for r in list_outbox(session=session, status="sent")]
        assert list_outbox(session=session, status="failed") == []
        with pytest.raises(PreferenceInvalid, match="unknown status"):
            list_outbox(session=session, status="lost")
    assert row["recipient"] == redact_url(url) and row["status"] == "sent"
    assert "secret-token-path" not in str(row)


def test_redacted_urls_keep_the_host_and_tell_urls_apart():
    first, second = redact_url(SLACK), redact_url(SLACK + "x")
    assert first != second and first.startswith("https://hooks.slack.com/…#")
    assert redact_url("http://127.0.0.1:8080/a/b?token=1").startswith("http://127.0.0.1:8080/…#")
    assert "secret" not in redact_url("not a url secret")


def test_errors_and_answers_that_quote_a_url_are_stored_and_reported_redacted(database_url):
    url = "http://127.0.0.1:9/hooks/T1/B1/secret-token-path"  # nobody listens on port 9
    recipient = add(database_url, channel="webhook", address=url, digest=False)
    notice = AlertNotice(key="a-2", title="Drawdown", message="12 %", severity="critical", account="acme")
    with session_scope(database_url) as session:
        ids = plan_alert(session=session, notice=notice, operators=Operators(), now=NOW)
    config = WebhookConfig(timeout_s=2, retries=0, backoff_s=0, max_redirects=0, secret=SECRET)
    channels = {"webhook": WebhookChannel(JsonPoster(guard(), config))}
    report = deliver(
        ids,
        outbox=SqlOutbox(session_factory(database_url)),
        channels=channels,
        lease=timedelta(minutes=5),
        addresses=AddressBook(session_factory(database_url)),
    )
    assert list(report.deferred) == ids and "ConnectionError" in report.deferred[ids[0]]
    with pytest.raises(DeliveryFailed) as raised:
        report.raise_for_outcome()
    with session_scope(database_url) as session:
        stored = session.get(Notification, ids[0])
        assert stored is not None and "ConnectionError" in (stored.last_response or "")
        assert "secret-token-path" not in f"{stored.last_response} {report.deferred} {raised.value}"
        # A recipient removed before the next try: the row fails for good, nothing is sent elsewhere.
        remove_recipient(session=session, recipient_id=recipient["id"])
    later = NOW + timedelta(minutes=10)
    sessions = session_factory(database_url)
    again = deliver(
        ids, outbox=SqlOutbox(sessions), channels=channels, lease=timedelta(minutes=5), addresses=AddressBook(sessions),
        clock=lambda: later,
    )  # fmt: skip
    assert list(again.refused) == ids and "was removed" in again.refused[ids[0]]


def test_the_operators_slack_url_is_read_from_the_settings_and_must_not_have_changed(database_url):
    with webhook_receiver(200) as receiver:
        slack = receiver.url("/services/T1/B1/operators-secret")
        notice = AlertNotice(key="a-3", title="Stale prices", message="12 instruments")
        with session_scope(database_url) as session:
            ids = plan_alert(session=session, notice=notice, operators=Operators(slack_url=slack), now=NOW)
            stored = session.get(Notification, ids[0])
            assert stored is not None and stored.recipient == redact_url(slack)
        config = WebhookConfig(timeout_s=2, retries=0, backoff_s=0, max_redirects=0)
        channels = {"slack": SlackChannel(JsonPoster(guard(), config))}
        lease = timedelta(minutes=5)
        changed = AddressBook(session_factory(database_url), operator_slack_url=receiver.url("/services/T1/B1/another"))
        assert (
            list(
                deliver(
                    ids,
                    outbox=SqlOutbox(session_factory(database_url)),
                    channels=channels,
                    lease=lease,
                    addresses=changed,
                ).refused
            )
            == ids
        )
        assert receiver.requests == []
        with session_scope(database_url) as session:
            ids = plan_alert(
                session=session, notice=AlertNotice(key="a-4", title="x", message="y"),
                operators=Operators(slack_url=slack), now=NOW,
            )  # fmt: skip
        book = AddressBook(session_factory(database_url), operator_slack_url=slack)
        assert (
            deliver(
                ids, outbox=SqlOutbox(session_factory(database_url)), channels=channels, lease=lease, addresses=book
            ).sent
            == ids
        )
    assert [r.path for r in receiver.requests] == ["/services/T1/B1/operators-secret"]
