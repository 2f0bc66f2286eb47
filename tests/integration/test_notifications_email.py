"""Email through a real SMTP server (aiosmtpd): the parts, the attachment, STARTTLS, implicit TLS and
AUTH; and the outbox's delivered-once rule around it."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from services.errors import DeliveryFailed, DeliveryRefused, NotificationInvalid
from services.notifications.email import EmailChannel, SmtpConfig, SmtpMailer, attachment_path
from services.notifications.outbox import Outgoing, SqlOutbox, deliver, enqueue, outbox_key
from services.storage.db import session_factory, session_scope
from services.storage.models import Notification
from tests.support.mail import PASSWORD, USER, Inbox, self_signed_certificate, smtp_server

LEASE = timedelta(minutes=10)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "daily.csv").write_text("portfolio,value\nGrowth,1234.50\n")
    return folder


def channel(port: int, reports: Path, **config: object) -> EmailChannel:
    settings = {"host": "127.0.0.1", "port": port, "security": "none", "sender": "tickwork@example.com"}
    settings |= {"timeout_s": 5.0, **config}
    return EmailChannel(SmtpMailer(SmtpConfig(**settings)), reports)  # type: ignore[arg-type]


def queue(database_url: str, *, key: str = "m-1", to: str = "ann@example.com", **payload: object) -> list[int]:
    body = {"template": "message", "context": {"body": "Hello <Ann> & co"}, "attachments": [], **payload}
    item = Outgoing(outbox_key(key, "email", to), "email", to, "Your report", body, message_id=key)
    with session_scope(database_url) as session:
        return enqueue(session=session, items=[item], now=datetime.now(UTC))


def row(database_url: str, notification_id: int) -> Notification:
    with session_scope(database_url) as session:
        found = session.get(Notification, notification_id)
        assert found is not None
        return found


def test_starttls_auth_mail_has_plain_and_html_parts_and_the_attachment(database_url, certificate, reports):
    # Given an SMTP server that requires STARTTLS and AUTH, with a certificate we trust by its file
    with smtp_server(security="starttls", auth=True, certificate=certificate) as (inbox, port):
        email = channel(port, reports, security="starttls", user=USER, password=PASSWORD, ca_file=str(certificate[0]))
        ids = queue(database_url, attachments=["daily.csv"])
        # When the outbox delivers the row
        report = deliver(ids, outbox=SqlOutbox(session_factory(database_url)), channels={"email": email}, lease=LEASE)
    # Then one message arrived with both alternatives (the HTML escaped) and the attachment
    assert report.sent == ids
    [(recipients, message)] = inbox.messages
    assert recipients == ["ann@example.com"] and message["Subject"] == "Your report"
    assert message.get_content_type() == "multipart/mixed"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Hello <Ann> & co" in text and "Hello &lt;Ann&gt; &amp; co" in html
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "daily.csv"
    assert attachment.get_content() == "portfolio,value\nGrowth,1234.50\n"
    sent = row(database_url, ids[0])
    assert sent.status == "sent" and sent.attempts == 1 and sent.last_response.startswith("250 OK queued as 1")


def test_implicit_tls_without_auth(database_url, certificate, reports):
    with smtp_server(security="tls", certificate=certificate) as (inbox, port):
        email = channel(port, reports, security="tls", ca_file=str(certificate[0]))
        report = deliver(
            queue(database_url), outbox=SqlOutbox(session_factory(database_url)), channels={"email": email}, lease=LEASE
        )
    assert len(report.sent) == 1 and len(inbox.messages) == 1
    assert inbox.messages[0][1].get_body(("plain",)).get_content().startswith("Hello <Ann>")


def test_an_untrusted_certificate_is_not_accepted_and_not_retried(database_url, certificate, reports):
    with smtp_server(security="starttls", certificate=certificate) as (inbox, port):
        email = channel(port, reports, security="starttls")  # the system's CAs only
        report = deliver(
            queue(database_url), outbox=SqlOutbox(session_factory(database_url)), channels={"email": email}, lease=LEASE
        )
    # The same certificate would come back on every retry: the row fails for good, saying what to fix.
    [notification_id] = report.refused
    assert not inbox.messages and not report.deferred
    stored = row(database_url, notification_id)
    assert stored.status == "failed" and stored.attempts == 1
    assert "certificate is not trusted" in stored.last_response and "TICKWORK_SMTP_CA_FILE" in stored.last_response
    with pytest.raises(DeliveryRefused, match=r"not trusted \(self-signed certificate\)"):
        report.raise_for_outcome()


@pytest.mark.both_databases
def test_the_same_row_delivered_twice_and_the_same_key_queued_twice_send_one_email(database_url, reports):
    with smtp_server() as (inbox, port):
        email = channel(port, reports)
        first = queue(database_url, key="m-2")
        deliver(first, outbox=SqlOutbox(session_factory(database_url)), channels={"email": email}, lease=LEASE)
        # a redelivered task queues the same key again and delivers again
        again = queue(database_url, key="m-2")
        report = deliver(again, outbox=SqlOutbox(session_factory(database_url)), channels={"email": email}, lease=LEASE)
    assert again == first and report.skipped == first and len(inbox.messages) == 1


@pytest.mark.both_databases
def test_workers_racing_for_the_same_rows_send_each_email_once(database_url, reports):
    # Given one message with three recipients, queued by two redelivered copies at once
    recipients = ["a@example.com", "b@example.com", "c@example.com"]
    with ThreadPoolExecutor(8) as pool:
        queued = list(pool.map(lambda to: queue(database_url, key="m-race", to=to), recipients * 2))
    ids = sorted({notification_id for ids in queued for notification_id in ids})
    assert len(ids) == 3
    with smtp_server() as (inbox, port):
        email = channel(port, reports)
        # When eight workers deliver them all at the same moment
        barrier = threading.Barrier(8)

        def worker(_: int):
            barrier.wait()
            return deliver(ids, outbox=SqlOutbox(session_factory(database_url)), channels={"email": email}, lease=LEASE)

        with ThreadPoolExecutor(8) as pool:
            reports_ = list(pool.map(worker, range(8)))
    # Then each recipient got one email, sent by exactly one worker
    assert sorted(to for [to], _ in inbox.messages) == recipients
    assert sorted(i for report in reports_ for i in report.sent) == ids
    assert sum(len(report.skipped) for report in reports_) == 7 * 3


@pytest.mark.both_databases
def test_a_row_left_sending_is_sent_again_only_after_the_lease(database_url, reports):
    # Given a row a worker claimed and then died with (status sending)
    ids = queue(database_url, key="m-3")
    with session_scope(database_url) as session:
        claimed = session.get(Notification, ids[0])
        claimed.status, claimed.attempts, claimed.updated_at = "sending", 1, datetime.now(UTC) - timedelta(minutes=1)
    with smtp_server() as (inbox, port):
        email = channel(port, reports)
        # When another worker delivers it within the lease, it leaves it alone
        assert (
            deliver(
                ids, outbox=SqlOutbox(session_factory(database_url)), channels={"email": email}, lease=LEASE
            ).skipped
            == ids
        )
        # and once the lease has run out, it sends it (at-least-once per recipient)
        later = deliver(
            ids, outbox=SqlOutbox(session_factory(database_url)), channels={"email": email}, lease=timedelta(seconds=30)
        )
    assert later.sent == ids and len(inbox.messages) == 1 and row(database_url, ids[0]).attempts == 2


def test_a_refused_recipient_fails_for_good_and_an_absent_server_is_retried(database_url, reports):
    with smtp_server(inbox=Inbox(refuse_rcpt=True)) as (_inbox, port):
        refused = deliver(
            queue(database_url, key="m-4"),
            outbox=SqlOutbox(session_factory(database_url)),
            channels={"email": channel(port, reports)},
            lease=LEASE,
        )
    assert next(iter(refused.refused.values())).endswith("550 5.1.1 mailbox unavailable")
    assert row(database_url, next(iter(refused.refused))).status == "failed"
    # nobody listens on the port any more: deferred, the row queued again for the task's retry
    deferred = deliver(
        queue(database_url, key="m-5"),
        outbox=SqlOutbox(session_factory(database_url)),
        channels={"email": channel(port, reports)},
        lease=LEASE,
    )
    [notification_id] = deferred.deferred
    assert row(database_url, notification_id).status == "queued"
    with pytest.raises(DeliveryFailed, match=r"SMTP 127\.0\.0\.1"):
        deferred.raise_for_outcome()


def test_attachments_come_only_from_the_reports_folder(tmp_path, reports):
    (tmp_path / "secret.txt").write_text("no")
    assert attachment_path("daily.csv", reports_dir=reports) == (reports / "daily.csv").resolve()
    for name in ["../secret.txt", str(tmp_path / "secret.txt"), "missing.csv", "/etc/passwd"]:
        with pytest.raises(NotificationInvalid):
            attachment_path(name, reports_dir=reports)
    (reports / "link.txt").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(NotificationInvalid, match="outside the reports folder"):
        attachment_path("link.txt", reports_dir=reports)


def test_a_bad_attachment_fails_the_row_without_sending(database_url, reports):
    with smtp_server() as (inbox, port):
        ids = queue(database_url, key="m-6", attachments=["../../etc/passwd"])
        report = deliver(
            ids,
            outbox=SqlOutbox(session_factory(database_url)),
            channels={"email": channel(port, reports)},
            lease=LEASE,
        )
    assert report.refused and not inbox.messages
    with session_scope(database_url) as session:
        [failed] = session.exec(select(Notification).where(Notification.key.startswith("m-6"))).all()
    assert failed.status == "failed" and "outside the reports folder" in failed.last_response
