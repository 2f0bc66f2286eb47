"""Webhooks and Slack against a local receiver: the signature verifies, 5xx and timeouts are retried
with backoff, 4xx are not; and the SSRF guard refuses inner addresses directly, by redirect and by
DNS name, while pinning the address it checked."""

from __future__ import annotations

import ipaddress
import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from services.errors import DeliveryFailed, DeliveryRefused, UnsafeDestination
from services.notifications.outbox import Outgoing, SqlOutbox, deliver, enqueue
from services.notifications.slack import SlackChannel, slack_message
from services.notifications.ssrf import SsrfGuard, refusal
from services.notifications.webhooks import JsonPoster, WebhookChannel, WebhookConfig, encode, sign, verify_signature
from services.storage.db import session_factory, session_scope
from services.storage.models import Notification
from tests.support.mail import self_signed_certificate
from tests.support.webhook_receiver import SECRET, local_allow, webhook_receiver


class Sleeps(list):
    """Records the backoff instead of waiting it."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


class FixedResolver:
    """Answers from a table, like a DNS server the attacker controls."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table

    def resolve(self, host: str, port: int) -> list[str]:
        return self.table[host]


def poster(
    allow: str | None = None, *, retries: int = 2, timeout: float = 2.0, resolver=None, secret=SECRET, ca_file=None
) -> JsonPoster:
    config = WebhookConfig(
        timeout_s=timeout, retries=retries, backoff_s=0.5, max_redirects=3, secret=secret, ca_file=ca_file
    )
    return JsonPoster(
        SsrfGuard.from_setting(local_allow() if allow is None else allow, resolver=resolver), config, sleep=Sleeps()
    )


def test_a_signed_webhook_is_received_and_its_signature_verifies(database_url):
    with webhook_receiver(200) as receiver:
        channel = WebhookChannel(poster())
        item = Outgoing(
            "m-1:webhook:x", "webhook", receiver.url(), "order.filled", {"event": "order.filled", "data": {"id": 7}}
        )
        with session_scope(database_url) as session:
            ids = enqueue(session=session, items=[item], now=datetime.now(UTC))
        report = deliver(
            ids,
            outbox=SqlOutbox(session_factory(database_url)),
            channels={"webhook": channel},
            lease=timedelta(minutes=10),
        )
    assert report.sent == ids
    [request] = receiver.requests
    assert request.signature_ok and request.headers["Content-Type"] == "application/json"
    body = json.loads(request.body)
    assert body["event"] == "order.filled" and body["data"] == {"id": 7}
    assert (
        request.headers["X-Tickwork-Event"] == "order.filled" and request.headers["X-Tickwork-Delivery"] == body["id"]
    )
    with session_scope(database_url) as session:
        assert session.get(Notification, ids[0]).last_response == '200 {"ok": true}'


def test_the_signature_refuses_a_changed_body_another_secret_and_an_old_timestamp():
    body, now = b'{"a":1}', time.time()
    header = sign(SECRET, body, int(now))
    assert verify_signature(SECRET, body, header, now=now)
    assert not verify_signature(SECRET, b'{"a":2}', header, now=now)
    assert not verify_signature("another-secret-of-some-length", body, header, now=now)
    assert not verify_signature(SECRET, body, sign(SECRET, body, int(now) - 600), now=now)
    assert not verify_signature(SECRET, body, "v1=deadbeef", now=now)


def test_5xx_is_retried_with_backoff_until_it_succeeds():
    with webhook_receiver(503, 502, 200) as receiver:
        sender = poster(retries=2)
        answer = sender.post(receiver.url(), {"event": "x"})
    assert answer.startswith("200") and len(receiver.requests) == 3
    assert sender.sleep == [0.5, 1.0] and all(r.signature_ok for r in receiver.requests)


def test_a_timeout_is_retried():
    with webhook_receiver(("sleep", 1.0, 200), 200) as receiver:
        answer = poster(retries=1, timeout=0.3).post(receiver.url(), {"event": "x"})
    assert answer.startswith("200") and len(receiver.requests) == 2


def test_a_4xx_is_not_retried_and_5xx_to_the_end_is_deferred():
    with webhook_receiver(400) as receiver, pytest.raises(DeliveryRefused, match="400"):
        poster(retries=3).post(receiver.url(), {"event": "x"})
    assert len(receiver.requests) == 1
    with webhook_receiver(500) as receiver, pytest.raises(DeliveryFailed, match="after 3 tries: 500"):
        poster(retries=2).post(receiver.url(), {"event": "x"})
    assert len(receiver.requests) == 3


def test_ssrf_direct_loopback_is_refused_unless_allow_listed():
    with webhook_receiver(200) as receiver:
        with pytest.raises(UnsafeDestination, match="loopback"):
            poster(allow="").post(receiver.url(), {"event": "x"})
        assert receiver.requests == []
        assert poster().post(receiver.url(), {"event": "x"}).startswith("200")


def test_ssrf_by_a_dns_name_that_resolves_to_loopback_is_refused():
    with webhook_receiver(200) as receiver:
        with pytest.raises(UnsafeDestination, match=r"localhost resolves to .*loopback"):
            poster(allow="").post(receiver.url(host="localhost"), {"event": "x"})
        # a name that resolves to a public and an inner address is refused too (it could be steered)
        mixed = FixedResolver({"hooks.example": ["93.184.215.14", "10.1.2.3"]})
        with pytest.raises(UnsafeDestination, match=r"10\.1\.2\.3: private"):
            poster(allow="", resolver=mixed).post(receiver.url(host="hooks.example"), {"event": "x"})
    assert receiver.requests == []


@pytest.mark.parametrize(
    "location",
    [
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata: refused even though allowed hops exist
        "http://127.0.0.2:{port}/inner",  # loopback outside the allow-list
        "http://[::1]:{port}/inner",
        "http://[::ffff:10.0.0.1]/inner",  # IPv4-mapped IPv6 of a private address
    ],
)
def test_ssrf_by_redirect_is_refused_at_the_hop(location):
    with webhook_receiver(("redirect", 307, "")) as receiver:
        receiver.script = [("redirect", 307, location.format(port=receiver.port))]
        guard_allows = poster(retries=0)
        with pytest.raises(UnsafeDestination):
            guard_allows.post(receiver.url(), {"event": "x"})
    assert len(receiver.requests) == 1  # the allowed first hop only; the refused hop was never asked


def test_an_allowed_redirect_is_followed_with_the_same_signed_body():
    with webhook_receiver(("redirect", 308, "/moved"), 200) as receiver:
        answer = poster().post(receiver.url(), {"event": "x"})
    assert answer.startswith("200")
    assert [r.path for r in receiver.requests] == ["/hook", "/moved"]
    assert receiver.requests[1].method == "POST" and receiver.requests[1].signature_ok


def test_too_many_redirects_are_refused():
    with webhook_receiver(("redirect", 302, "/again")) as receiver, pytest.raises(UnsafeDestination, match="redirects"):
        poster().post(receiver.url(), {"event": "x"})
    assert len(receiver.requests) == 4


def test_the_checked_address_is_the_one_connected_to():
    # "hooks.example" does not exist offline: the request can only arrive through the pinned address,
    # and the receiver still sees the name in the Host header
    resolver = FixedResolver({"hooks.example": ["127.0.0.1"]})
    with webhook_receiver(200) as receiver:
        poster(resolver=resolver).post(receiver.url(host="hooks.example"), {"event": "x"})
    assert receiver.requests[0].headers["Host"] == f"hooks.example:{receiver.port}"


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "a cloud metadata address"),
        ("169.254.10.10", "link-local"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("0.0.0.0", "unspecified"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fd12:3456::1", "private"),
        ("fd00:ec2::254", "a cloud metadata address"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "a cloud metadata address"),
        ("ff02::1", "multicast"),
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_refusal_rules(address, reason):
    assert refusal(ipaddress.ip_address(address)) == reason


def test_metadata_is_refused_even_when_its_network_is_allow_listed():
    guard = SsrfGuard.from_setting("169.254.0.0/16:80,10.0.0.0/8:80")
    assert guard.check("http://10.1.1.1/x").address == "10.1.1.1"
    with pytest.raises(UnsafeDestination, match="never allowed"):
        guard.check("http://169.254.169.254/latest")
    for url in ["file:///etc/passwd", "gopher://x/", "http://user:pw@example.com/"]:
        with pytest.raises(UnsafeDestination):
            guard.check(url)


def test_slack_gets_text_and_blocks_unsigned():
    with webhook_receiver(200) as receiver:
        channel = SlackChannel(poster(secret=None))
        payload = slack_message(title="Drawdown <12%>", message="Growth fell & more", severity="critical")
        row = Notification(
            key="k", channel="slack", recipient=receiver.url(), subject="s", status="sending", payload=payload
        )
        channel.send(row)
    [request] = receiver.requests
    body = json.loads(request.body)
    assert body["text"] == "[critical] Drawdown &lt;12%&gt;: Growth fell &amp; more"
    assert [block["type"] for block in body["blocks"]] == ["header", "section", "context"]
    assert "X-Tickwork-Signature" not in request.headers


def test_the_receiver_snippet_in_the_docs_verifies_what_we_sign():
    from tests.support.workers import ROOT

    text = (ROOT / "docs" / "notifications.md").read_text()
    snippet = text.split("A receiver in Python:\n\n```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(compile(snippet, "docs/notifications.md", "exec"), namespace)
    verify = namespace["verify_tickwork_signature"]
    body, now = b'{"event":"x"}', int(time.time())
    assert verify(SECRET, body, sign(SECRET, body, now))
    assert not verify(SECRET, body + b" ", sign(SECRET, body, now))
    assert not verify(SECRET, body, sign(SECRET, body, now - 3600))
    # the event check: signed for this receiver, and Tickwork's own (or a known requester's)
    event = namespace["tickwork_event"]
    me, own = "https://hooks.example.com", {"event": "alert.raised", "requested_by": None}
    signed = encode({**own, "destination": me})
    assert event(SECRET, signed, sign(SECRET, signed, now), me=me)["event"] == "alert.raised"
    assert event(SECRET, signed, sign(SECRET, signed, now), me="https://other.example.com") is None
    asked = encode({**own, "destination": me, "requested_by": "token:abc (ci)"})
    assert event(SECRET, asked, sign(SECRET, asked, now), me=me) is None
    assert event(SECRET, asked, sign(SECRET, asked, now), me=me, requesters=frozenset({"token:abc (ci)"}))
    assert event("another-secret-0123456789", signed, sign(SECRET, signed, now), me=me) is None
    example = "t=1773241200,v1=3be664c4f834e727afa42d0d08fb223b27867f5693a75958ded0c7551844261a"
    assert example in text and sign("whsec_example", body, 1773241200) == example


def test_https_goes_to_the_pinned_address_and_checks_the_certificate_against_the_urls_name(tmp_path):
    cert, key = self_signed_certificate(tmp_path)  # for localhost and 127.0.0.1
    with webhook_receiver(200, tls=(cert, key)) as receiver:
        # the name resolves (once, by the guard) to 127.0.0.1; TLS verifies "localhost" against the certificate
        answer = poster(ca_file=str(cert)).post(receiver.url(host="localhost"), {"event": "x"})
        assert answer.startswith("200") and receiver.requests[0].signature_ok
        # a name the certificate does not carry is refused, although it resolves to the same address
        resolver = FixedResolver({"hooks.example": ["127.0.0.1"]})
        # and at once, with the in-attempt retries left unused: another try meets the same certificate
        with pytest.raises(DeliveryRefused, match=r"hostname 'hooks\.example' doesn't match.*TICKWORK_WEBHOOK_CA"):
            poster(retries=2, resolver=resolver, ca_file=str(cert)).post(receiver.url(host="hooks.example"), {})
    assert len(receiver.requests) == 1


def test_an_untrusted_certificate_fails_the_row_for_good_without_a_retry(database_url, tmp_path):
    cert, key = self_signed_certificate(tmp_path)
    sleeps = Sleeps()
    with webhook_receiver(200, tls=(cert, key)) as receiver:
        channel = WebhookChannel(poster(retries=2))  # the system's CAs only
        channel.poster.sleep = sleeps
        url = receiver.url(host="localhost")
        item = Outgoing("m-tls:webhook:x", "webhook", url, "order.filled", {"event": "order.filled", "data": {}})
        with session_scope(database_url) as session:
            ids = enqueue(session=session, items=[item], now=datetime.now(UTC))
        report = deliver(
            ids,
            outbox=SqlOutbox(session_factory(database_url)),
            channels={"webhook": channel},
            lease=timedelta(minutes=10),
        )
    assert list(report.refused) == ids and not report.deferred and sleeps == []
    with pytest.raises(DeliveryRefused, match="not trusted"):
        report.raise_for_outcome()
    with session_scope(database_url) as session:
        stored = session.get(Notification, ids[0])
        assert stored.status == "failed" and stored.attempts == 1
        assert (
            "not trusted (self-signed certificate)" in stored.last_response
            and "TICKWORK_WEBHOOK_CA_FILE" in stored.last_response
        )
