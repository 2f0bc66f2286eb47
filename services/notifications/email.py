"""Email over SMTP with `smtplib`: STARTTLS or implicit TLS, AUTH when credentials are set, an
explicit timeout, multipart/alternative (plain text and HTML from a template) and attachments.

Attachments are read only from the reports folder: a message names a file, and a name that leads
elsewhere (`../`, an absolute path, a symlink out) is refused, so a sender cannot mail out any file
the worker can read.
"""

from __future__ import annotations

import mimetypes
import smtplib
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import make_msgid
from pathlib import Path
from typing import Any, Literal

from services.errors import DeliveryFailed, DeliveryRefused, NotificationInvalid
from services.notifications.templates import Rendered, SafeHtml, render
from services.storage.models import Notification

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: Literal["starttls", "tls", "none"]
    sender: str
    timeout_s: float
    user: str | None = None
    password: str | None = None
    ca_file: str | None = None  # trust this CA (a private relay) instead of the system's

    def tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)


class SmtpMailer:
    """Sends one message per connection: notifications are few, and a fresh connection cannot be
    one the server already dropped."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    def send(self, message: EmailMessage) -> str:
        """Send `message`; returns the server's answer to DATA. Raises DeliveryRefused on a
        permanent (5xx) refusal or a certificate that does not verify, DeliveryFailed on anything
        worth another try."""
        config = self.config
        try:
            with self._connect() as smtp:
                smtp.ehlo_or_helo_if_needed()
                if config.user:
                    smtp.login(config.user, config.password or "")
                recipients = [address for header in ("To", "Cc") for address in message.get_all(header, [])]
                code, answer = smtp.mail(config.sender)
                _check(code, answer, "MAIL FROM")
                for recipient in recipients:
                    code, answer = smtp.rcpt(recipient)
                    _check(code, answer, f"RCPT TO {recipient}")
                code, answer = smtp.data(message.as_bytes(policy=SMTP_POLICY))
                _check(code, answer, "DATA")
                return f"{code} {answer.decode(errors='replace')}"[:500]
        except ssl.SSLCertVerificationError as error:
            # Not a passing fault: the same certificate is presented on every try until someone acts.
            raise DeliveryRefused(
                f"SMTP {config.host}:{config.port}: the server's TLS certificate is not trusted "
                f"({error.verify_message or error}); fix the relay's certificate or set TICKWORK_SMTP_CA_FILE "
                "to the CA that signed it"
            ) from None
        except smtplib.SMTPAuthenticationError as error:
            raise DeliveryRefused(f"SMTP authentication refused: {error.smtp_code} {error.smtp_error!r}") from None
        except smtplib.SMTPResponseException as error:
            _check(error.smtp_code, error.smtp_error, "SMTP")
            raise DeliveryFailed(f"SMTP {error.smtp_code}") from None
        except (smtplib.SMTPException, OSError, ssl.SSLError) as error:
            # Connection refused, timeouts, TLS trouble, a dropped connection: the server may be back later.
            raise DeliveryFailed(f"SMTP {config.host}:{config.port}: {type(error).__name__}: {error}") from None

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        if config.security == "tls":
            return smtplib.SMTP_SSL(
                config.host,
                config.port,
                timeout=config.timeout_s,
                context=config.tls_context(),
                local_hostname=socket.gethostname(),  # getfqdn() can wait on DNS
            )
        smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout_s, local_hostname=socket.gethostname())
        if config.security == "starttls":
            smtp.starttls(context=config.tls_context())
            smtp.ehlo()
        return smtp


def _check(code: int, answer: bytes | str, step: str) -> None:
    if 200 <= code < 400:
        return
    text = answer.decode(errors="replace") if isinstance(answer, bytes) else answer
    error = f"{step}: {code} {text}"[:500]
    if code >= 500:
        raise DeliveryRefused(error)
    raise DeliveryFailed(error)


def attachment_path(name: str, *, reports_dir: Path) -> Path:
    """The file `name` inside `reports_dir`; raises NotificationInvalid for anything outside it."""
    base = reports_dir.resolve()
    path = (base / name).resolve()
    if not path.is_relative_to(base):
        raise NotificationInvalid(f"attachment {name!r} is outside the reports folder")
    if not path.is_file():
        raise NotificationInvalid(f"attachment {name!r} does not exist in the reports folder")
    if path.stat().st_size > MAX_ATTACHMENT_BYTES:
        raise NotificationInvalid(f"attachment {name!r} is larger than {MAX_ATTACHMENT_BYTES} bytes")
    return path


def build_email(
    *, sender: str, to: str, subject: str, body: Rendered, attachments: Sequence[Path] = (), key: str = ""
) -> EmailMessage:
    """A multipart/alternative message (in a multipart/mixed one when there are attachments)."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1])
    if key:
        message["X-Tickwork-Notification"] = key[:200]
    message.set_content(body.text)
    message.add_alternative(body.html, subtype="html")
    for path in attachments:
        kind, _ = mimetypes.guess_type(path.name)
        maintype, subtype = (kind or "application/octet-stream").split("/", 1)
        message.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)
    return message


@dataclass
class EmailChannel:
    """Delivers an outbox row of channel `email`: payload {template, context, attachments}."""

    mailer: SmtpMailer
    reports_dir: Path

    def send(self, notification: Notification) -> str:
        payload: dict[str, Any] = notification.payload
        # `safe_html` names context values our own code built as escaped HTML (a digest's tables);
        # the send_email actor never sets it, so a sender's values are always escaped.
        safe = set(payload.get("safe_html", []))
        context = {key: SafeHtml(value) if key in safe else value for key, value in payload.get("context", {}).items()}
        body = render(payload.get("template", "message"), context)
        files = [attachment_path(name, reports_dir=self.reports_dir) for name in payload.get("attachments", [])]
        message = build_email(
            sender=self.mailer.config.sender,
            to=notification.recipient,
            subject=notification.subject,
            body=body,
            attachments=files,
            key=notification.key,
        )
        return self.mailer.send(message)
