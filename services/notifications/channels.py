"""The channels, built from the settings: what the actors hand to `outbox.deliver`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from services.errors import NotificationInvalid
from services.notifications.email import EmailChannel, SmtpConfig, SmtpMailer
from services.notifications.outbox import Channel
from services.notifications.signing_keys import NO_SECRET, RecipientKeys
from services.notifications.slack import SlackChannel
from services.notifications.ssrf import SsrfGuard
from services.notifications.webhooks import JsonPoster, WebhookChannel, WebhookConfig
from services.settings import Settings, revealed
from services.storage.db import session_factory

# Used only when TICKWORK_ENV=development and no secret is set (settings refuse placeholders elsewhere).
DEVELOPMENT_SECRET = "tickwork-development-only-secret"


def smtp_config(settings: Settings) -> SmtpConfig:
    return SmtpConfig(
        host=settings.tickwork_smtp_host,
        port=settings.tickwork_smtp_port,
        security=settings.tickwork_smtp_security,
        sender=settings.tickwork_smtp_from,
        timeout_s=settings.tickwork_smtp_timeout_seconds,
        user=settings.tickwork_smtp_user,
        password=revealed(settings.tickwork_smtp_password),
        ca_file=settings.tickwork_smtp_ca_file,
    )


def webhook_config(settings: Settings, *, signed: bool) -> WebhookConfig:
    return WebhookConfig(
        timeout_s=settings.tickwork_webhook_timeout_seconds,
        retries=settings.tickwork_webhook_retries,
        backoff_s=settings.tickwork_webhook_backoff_seconds,
        max_redirects=settings.tickwork_webhook_max_redirects,
        secret=webhook_secret(settings) if signed else None,
        ca_file=settings.tickwork_webhook_ca_file,
    )


def webhook_secret(settings: Settings) -> str:
    """The signing secret; raises NotificationInvalid when none is set outside development."""
    if secret := revealed(settings.tickwork_webhook_secret):
        return secret
    if settings.tickwork_env == "development":
        return DEVELOPMENT_SECRET
    raise NotificationInvalid(NO_SECRET)


def channels_from_settings(settings: Settings) -> dict[str, Channel]:
    guard = SsrfGuard.from_setting(settings.tickwork_ssrf_allow)
    try:
        fallback: str | None = webhook_secret(settings)
    except NotificationInvalid:
        fallback = None  # recipients with their own secret are still signed; the rest are refused
    keys = RecipientKeys(session_factory(settings.database_url), fallback=fallback)
    webhooks: Channel = WebhookChannel(JsonPoster(guard, webhook_config(settings, signed=False)), keys=keys)
    return {
        "email": EmailChannel(SmtpMailer(smtp_config(settings)), Path(settings.tickwork_reports_dir)),
        "webhook": webhooks,
        "slack": SlackChannel(JsonPoster(guard, webhook_config(settings, signed=False))),
    }


def lease(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.tickwork_notification_lease_seconds)
