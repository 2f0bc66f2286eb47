"""Webhooks are signed with their recipient's own secret (TICKWORK_WEBHOOK_SECRET only where
documented), and the signed body says where it is going and who asked for it."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from services.api.access import with_requester
from services.api.schemas import TaskCreate
from services.api.tokens import Caller
from services.errors import NotificationInvalid
from services.notifications.addresses import AddressBook
from services.notifications.dispatch import AlertNotice, Operators, plan_alert
from services.notifications.outbox import Outgoing, SqlOutbox, deliver, enqueue
from services.notifications.recipients import RecipientIn, add_recipient, list_recipients, recipient_view
from services.notifications.signing_keys import RecipientKeys
from services.notifications.ssrf import SsrfGuard
from services.notifications.webhooks import JsonPoster, WebhookChannel, WebhookConfig, verify_signature
from services.storage.db import session_factory, session_scope
from services.storage.models import NotificationRecipient
from tests.support.webhook_receiver import SECRET, local_allow, webhook_receiver

NOW = datetime(2026, 3, 2, 15, tzinfo=UTC)
LEASE = timedelta(minutes=5)
CONFIG = WebhookConfig(timeout_s=2, retries=0, backoff_s=0, max_redirects=0)


def channel(database_url: str, fallback: str | None = SECRET) -> WebhookChannel:
    poster = JsonPoster(SsrfGuard.from_setting(local_allow()), CONFIG)
    return WebhookChannel(poster, keys=RecipientKeys(session_factory(database_url), fallback=fallback))


def webhook_recipient(database_url: str, url: str, account: str = "acme") -> NotificationRecipient:
    wanted = RecipientIn(account=account, channel="webhook", address=url, digest=False)
    with session_scope(database_url) as session:
        row = add_recipient(session=session, recipient=wanted, guard=SsrfGuard.from_setting(local_allow()), now=NOW)
        session.expunge(row)
    return row


def alert_to(database_url: str, key: str, **notice: object) -> list[int]:
    with session_scope(database_url) as session:
        return plan_alert(
            session=session,
            notice=AlertNotice(key=key, title="Drawdown", message="12 %", account="acme", **notice),  # type: ignore[arg-type]
            operators=Operators(),
            now=NOW,
        )


def test_each_webhook_recipient_gets_its_own_secret_shown_only_when_added(database_url):
    with webhook_receiver(200) as one, webhook_receiver(200) as two:
        first, second = webhook_recipient(database_url, one.url()), webhook_recipient(database_url, two.url())
    assert first.signing_secret and second.signing_secret and first.signing_secret != second.signing_secret
    assert first.signing_secret.startswith("whsec_") and len(first.signing_secret) > 40
    with session_scope(database_url) as session:
        listed = json.dumps([recipient_view(row) for row in list_recipients(session=session)], default=str)
    assert first.signing_secret not in listed and "signing_secret" not in listed
    email = RecipientIn(account="acme", channel="email", address="ann@example.com")
    with session_scope(database_url) as session:
        assert add_recipient(session=session, recipient=email, guard=SsrfGuard(), now=NOW).signing_secret is None


def test_a_recipients_delivery_is_signed_with_its_own_secret_not_the_global_one(database_url):
    with webhook_receiver(200) as receiver, webhook_receiver(200) as other:
        mine = webhook_recipient(database_url, receiver.url())
        theirs = webhook_recipient(database_url, other.url())
        ids = alert_to(database_url, "a-1")
        report = deliver(
            outbox=SqlOutbox(session_factory(database_url)),
            ids=ids,
            channels={"webhook": channel(database_url)},
            lease=LEASE,
            addresses=AddressBook(session_factory(database_url)),
        )
    assert len(report.sent) == 2
    [request] = receiver.requests
    header = request.headers["X-Tickwork-Signature"]
    assert verify_signature(mine.signing_secret or "", request.body, header, now=time.time())
    assert not request.signature_ok  # the global secret does not verify it
    # another recipient's secret cannot verify it either: a delivery cannot be replayed to them
    assert not verify_signature(theirs.signing_secret or "", request.body, header, now=time.time())
    body = json.loads(request.body)
    assert body["destination"] == f"http://127.0.0.1:{receiver.port}"
    assert body["requested_by"] is None  # Tickwork's own alert


def test_a_recipient_saved_without_a_secret_falls_back_to_the_global_one_or_is_refused(database_url):
    with webhook_receiver(200) as receiver:
        legacy = webhook_recipient(database_url, receiver.url())
        with session_scope(database_url) as session:
            row = session.get(NotificationRecipient, legacy.id)
            assert row is not None
            row.signing_secret = None  # as rows from before migration 0008
            session.add(row)
        ids = alert_to(database_url, "a-2")
        sent = deliver(
            outbox=SqlOutbox(session_factory(database_url)),
            ids=ids,
            channels={"webhook": channel(database_url)},
            lease=LEASE,
            addresses=AddressBook(session_factory(database_url)),
        )
        assert sent.sent == ids and receiver.requests[0].signature_ok
        refused = alert_to(database_url, "a-3")
        unsigned = deliver(
            outbox=SqlOutbox(session_factory(database_url)),
            ids=refused,
            channels={"webhook": channel(database_url, fallback=None)},
            lease=LEASE,
            addresses=AddressBook(session_factory(database_url)),
        )
    assert list(unsigned.refused) == refused and "TICKWORK_WEBHOOK_SECRET" in unsigned.refused[refused[0]]
    assert len(receiver.requests) == 1


def test_a_requested_event_says_who_asked_inside_the_signed_body(database_url):
    with webhook_receiver(200) as receiver:
        url = receiver.url()
        payload = {"event": "alert.raised", "data": {"note": "FORGED"}, "requested_by": "token:abc (ci)"}
        item = Outgoing("m-9:webhook:x", "webhook", url, "alert.raised", payload)
        with session_scope(database_url) as session:
            ids = enqueue(session=session, items=[item], now=NOW)
        deliver(
            outbox=SqlOutbox(session_factory(database_url)),
            ids=ids,
            channels={"webhook": channel(database_url)},
            lease=LEASE,
        )
        webhook_recipient(database_url, url)
        alert_ids = alert_to(database_url, "a-4", requested_by="token:def (ops)")
        deliver(
            outbox=SqlOutbox(session_factory(database_url)),
            ids=alert_ids,
            channels={"webhook": channel(database_url)},
            lease=LEASE,
            addresses=AddressBook(session_factory(database_url)),
        )
    callback, alert = (json.loads(request.body) for request in receiver.requests)
    assert receiver.requests[0].signature_ok  # webhook_callback's URL has no row: the documented fallback
    assert callback["requested_by"] == "token:abc (ci)" and callback["data"] == {"note": "FORGED"}
    assert alert["requested_by"] == "token:def (ops)" and alert["event"] == "alert.raised"


@pytest.mark.parametrize("actor", ["webhook_callback", "send_alert"])
def test_the_api_names_the_calling_token_as_requester_whatever_the_body_says(actor):
    caller = Caller("abc123", "ci", frozenset({"notify"}))
    asked = TaskCreate(actor=actor, parameters={"requested_by": "tickwork itself", "event": "e"})
    assert with_requester(asked, caller).parameters["requested_by"] == "token:abc123 (ci)"
    other = TaskCreate(actor="refresh_all_prices", parameters={})
    assert with_requester(other, caller).parameters == {}


def test_without_keys_nothing_changes_for_a_channel_with_its_own_secret(database_url):
    with webhook_receiver(200) as receiver:
        poster = JsonPoster(SsrfGuard.from_setting(local_allow()), WebhookConfig(2, 0, 0, 0, secret=SECRET))
        assert poster.post(receiver.url(), {"event": "x"}).startswith("200")
    assert receiver.requests[0].signature_ok
    with pytest.raises(NotificationInvalid):
        RecipientKeys(session_factory("sqlite://"), fallback=None).secret_for(
            type("Row", (), {"payload": {"to": {"task_arg": "url"}}})()  # type: ignore[arg-type]
        )
