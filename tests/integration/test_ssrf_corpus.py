"""The SSRF corpus (tests/support/ssrf_corpus.py): every inner form is refused when a recipient is
saved and again when a notification is sent, and a live local receiver proves nothing reached it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from services.notifications.outbox import Outgoing, SqlOutbox, deliver, enqueue
from services.notifications.preferences import PreferenceInvalid
from services.notifications.recipients import RecipientIn, add_recipient
from services.notifications.ssrf import SsrfGuard
from services.notifications.webhooks import JsonPoster, WebhookChannel, WebhookConfig
from services.storage.db import session_factory, session_scope
from tests.support.ssrf_corpus import (
    ALLOW_ANOTHER_PORT,
    ALLOW_RECEIVER,
    REFUSED_ALWAYS,
    REFUSED_UNLISTED,
    REFUSED_WRAPPED,
)
from tests.support.webhook_receiver import SECRET, Receiver, webhook_receiver

NOW = datetime(2026, 3, 2, 15, tzinfo=UTC)
CASES = [(allow, url, says) for allow in [ALLOW_RECEIVER] for url, says in REFUSED_ALWAYS + REFUSED_WRAPPED]
CASES += [(ALLOW_ANOTHER_PORT, url, says) for url, says in REFUSED_UNLISTED]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with webhook_receiver(200) as running:
        yield running


def guard(allow: str, receiver: Receiver) -> SsrfGuard:
    return SsrfGuard.from_setting(allow.format(port=receiver.port))


@pytest.mark.parametrize(("allow", "url", "says"), CASES)
def test_an_inner_form_is_refused_when_saved_and_when_sent(database_url, receiver, allow, url, says):
    target, before = url.format(port=receiver.port), len(receiver.requests)
    # When an operator saves it as a webhook recipient, Then it is refused, saying why
    wanted = RecipientIn(account="acme", channel="webhook", address=target, digest=False)
    with session_scope(database_url) as session, pytest.raises(PreferenceInvalid, match=says):
        add_recipient(session=session, recipient=wanted, guard=guard(allow, receiver), now=NOW)
    # When a notification to it is due anyway (a task's own URL), Then it is refused for good
    config = WebhookConfig(timeout_s=2, retries=2, backoff_s=0, max_redirects=3, secret=SECRET)
    channel = WebhookChannel(JsonPoster(guard(allow, receiver), config, sleep=lambda _: None))
    item = Outgoing(f"corpus:{target}", "webhook", target, "alert.raised", {"event": "alert.raised", "data": {}})
    with session_scope(database_url) as session:
        ids = enqueue(session=session, items=[item], now=NOW)
    report = deliver(
        outbox=SqlOutbox(session_factory(database_url)),
        ids=ids,
        channels={"webhook": channel},
        lease=timedelta(minutes=5),
    )
    assert list(report.refused) == ids and not report.sent, report.summary()
    assert says in report.refused[ids[0]]
    # And nothing reached the receiver
    assert len(receiver.requests) == before


def test_the_receiver_is_reachable_where_the_allow_list_says(database_url, receiver):
    # The control: the corpus proves something only if the receiver answers an allowed URL.
    config = WebhookConfig(timeout_s=2, retries=0, backoff_s=0, max_redirects=0, secret=SECRET)
    poster = JsonPoster(guard(ALLOW_RECEIVER, receiver), config)
    before = len(receiver.requests)
    assert poster.post(receiver.url(), {"event": "x"}).startswith("200")
    assert len(receiver.requests) == before + 1
