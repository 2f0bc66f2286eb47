"""Webhooks: a JSON body POSTed through the SSRF guard, signed like Stripe's.

    X-Tickwork-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the shared secret>

The timestamp is inside the signed text, so a receiver that also refuses old timestamps (five
minutes, say) refuses replays; `verify_signature` is the reference check (docs/notifications.md
has a standalone copy for receivers). `X-Tickwork-Delivery` is the same for every attempt of one
notification, so a receiver can drop the rare duplicate (see the delivered-once rule).

Retries inside one attempt of the task: a 5xx, a timeout or a lost connection is tried again with
exponential backoff; a 4xx is never retried (the receiver said no), except 429, which ends the
attempt and leaves the retry to the task's own, longer delay. A certificate that does not verify
(untrusted, expired, another host's name) is refused at once: it is the same on every try.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from urllib3.util.ssl_match_hostname import CertificateError

from services.errors import DeliveryFailed, DeliveryRefused
from services.notifications.signing_keys import SigningKeys
from services.notifications.ssrf import SsrfGuard, guarded_request
from services.storage.db import as_utc
from services.storage.models import Notification

SIGNATURE_HEADER = "X-Tickwork-Signature"
USER_AGENT = "Tickwork-Webhooks/1"


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header's value for `body` sent at `timestamp`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_signature(secret: str, body: bytes, header: str, *, now: float, tolerance_s: float = 300) -> bool:
    """What a receiver checks: a v1 signature of "<t>.<body>" matches, and t is recent."""
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        fields.setdefault(name, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return any(hmac.compare_digest(expected, candidate) for candidate in fields.get("v1", []))


def encode(payload: Mapping[str, Any]) -> bytes:
    """The body as sent (and signed): compact JSON, keys sorted, Decimals and dates as strings."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str).encode()


@dataclass(frozen=True)
class WebhookConfig:
    timeout_s: float
    retries: int  # extra tries on a 5xx or a timeout
    backoff_s: float  # first wait; doubles each time
    max_redirects: int
    secret: str | None = None  # None: sent unsigned (Slack, which does not verify)
    ca_file: str | None = None  # trust this CA (inner receivers) instead of the system's


@dataclass
class JsonPoster:
    """POSTs JSON through the SSRF guard with the in-attempt retry policy above."""

    guard: SsrfGuard
    config: WebhookConfig
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = field(default=time.time)

    def post(
        self,
        url: str,
        payload: Mapping[str, Any],
        *,
        headers: Mapping[str, str] | None = None,
        secret: str | None = None,
    ) -> str:
        """Deliver, signed with `secret` (default: the config's); returns "<status> <start of the
        answer>". Raises DeliveryRefused (4xx, unsafe URL, a certificate that does not verify) or
        DeliveryFailed (still 5xx or unreachable after the retries, or 429)."""
        body = encode(payload)
        secret = secret or self.config.secret
        problem = ""
        for attempt in range(self.config.retries + 1):
            if attempt:
                self.sleep(self.config.backoff_s * 2 ** (attempt - 1))
            sent = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **(headers or {})}
            if secret:
                sent[SIGNATURE_HEADER] = sign(secret, body, int(self.clock()))
            try:
                response = guarded_request(
                    "POST",
                    url,
                    guard=self.guard,
                    timeout=self.config.timeout_s,
                    body=body,
                    headers=sent,
                    max_redirects=self.config.max_redirects,
                    ca_file=self.config.ca_file,
                )
            except requests.exceptions.SSLError as error:
                failure = certificate_failure(error)
                if failure is not None:
                    # The same certificate comes back on every try: retrying only delays the news.
                    raise DeliveryRefused(
                        f"{_host(url)}: the receiver's TLS certificate is not trusted ({failure}); fix its "
                        "certificate or set TICKWORK_WEBHOOK_CA_FILE to the CA that signed it"
                    ) from None
                problem = f"SSLError: {error}"[:300]
                continue
            except (requests.Timeout, requests.ConnectionError) as error:
                problem = f"{type(error).__name__}: {error}"[:300]
                continue
            answer = f"{response.status_code} {response.text[:200]}".strip()
            if 200 <= response.status_code < 300:
                return answer
            if response.status_code == 429:
                raise DeliveryFailed(f"rate limited: {answer}")
            if response.status_code < 500:
                raise DeliveryRefused(f"refused: {answer}")
            problem = answer
        raise DeliveryFailed(f"after {self.config.retries + 1} tries: {problem}")


def certificate_failure(error: BaseException) -> str | None:
    """Why the peer's certificate failed verification, if that is what `error` comes down to
    (requests wraps urllib3's error, which wraps the ssl module's); None for other TLS trouble."""
    seen: set[int] = set()
    pending: list[object] = [error]
    while pending:
        item = pending.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, ssl.SSLCertVerificationError):
            return str(item.verify_message or item)
        if isinstance(item, CertificateError):  # urllib3's own host-name check (the pinned address)
            return str(item)
        pending += [*item.args, item.__cause__, item.__context__, getattr(item, "reason", None)]
    return None


def _host(url: str) -> str:
    return urlsplit(url).hostname or "?"


@dataclass
class WebhookChannel:
    """Delivers an outbox row of channel `webhook`: payload {event, data, requested_by}, sent as an
    envelope {id, event, created_at, destination, requested_by, data}, signed with the recipient's
    own secret when `keys` knows one (services/notifications/signing_keys.py).

    `requested_by` says who asked for the event (an API token, a service that sent webhook_callback
    or send_alert); null when Tickwork produced it itself (alert rules, job monitor, digests). It is
    inside the signed body, so a receiver can refuse events it did not expect from Tickwork itself.
    `destination` (the URL's scheme, host and port) says which receiver the signature was made for."""

    poster: JsonPoster
    keys: SigningKeys | None = None

    def send(self, notification: Notification) -> str:
        delivery = hashlib.sha256(notification.key.encode()).hexdigest()[:32]
        envelope = {
            "id": delivery,
            "event": notification.payload["event"],
            "created_at": as_utc(notification.created_at).isoformat(),
            "destination": destination(notification.recipient),
            "requested_by": notification.payload.get("requested_by"),
            "data": notification.payload.get("data", {}),
        }
        headers = {"X-Tickwork-Event": str(notification.payload["event"]), "X-Tickwork-Delivery": delivery}
        secret = self.keys.secret_for(notification) if self.keys is not None else None
        return self.poster.post(notification.recipient, envelope, headers=headers, secret=secret)


def destination(url: str) -> str:
    """The receiver a delivery is meant for, as it appears in the signed body: scheme://host[:port]."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"
