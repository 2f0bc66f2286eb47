"""Every setting Tickwork reads from the environment, typed and validated in one place.

`load_settings()` is called once at start-up by each entry point; a bad value raises `SettingsError`
with one line naming the variable, which the entry points print before exiting with status 2.

Secrets (API keys, passwords, signing secrets, the Slack webhook URL) are `SecretStr`: they print as
`**********` in a repr or a log, their value is read with `.get_secret_value()` (or `revealed()` for
an optional one) where it is used, and the one-line error never shows them, nor the password in a URL.
"""

from __future__ import annotations

import importlib
import os
import re
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal, get_args

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.errors import SettingsError
from services.notifications.allow_list import parse_allow_list


class Settings(BaseSettings):
    """Tickwork's settings. Field names map to upper-case environment variables."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    # -- given by DESIGN.md --------------------------------------------------------------------
    rabbitmq_url: str = "amqp://guest:guest@127.0.0.1:5672/%2F"
    database_url: str = "sqlite:///tickwork.db"
    metrics_port: int = Field(9191, ge=0, le=65535)

    # -- engine ---------------------------------------------------------------------------------
    tickwork_env: Literal["development", "test", "production"] = "development"
    tickwork_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Messages bigger than this are dead-lettered unread: a runaway sender must not exhaust workers.
    tickwork_max_message_bytes: int = Field(256 * 1024, ge=1024, le=64 * 1024 * 1024)
    # Unacked messages per worker thread; small so that RabbitMQ, not the worker, orders by priority.
    tickwork_prefetch_per_thread: int = Field(1, ge=1, le=100)
    # A delayed message is held unacknowledged at most this long, then re-parked: keep it well under
    # RabbitMQ's consumer_timeout (30 min by default), or the broker closes the channel.
    tickwork_delay_hold_seconds: float = Field(600.0, gt=0, le=3600)
    # Where worker processes share their Prometheus samples (one sub-folder per worker group run).
    tickwork_metrics_dir: str = "/tmp/tickwork-metrics"
    # Publishes a client retries across connection loss before raising PublishFailed: 9 back off for
    # 26 s in all, past a restart of RabbitMQ with its management and prometheus plugins (9 s idle here).
    tickwork_publish_attempts: int = Field(9, ge=1, le=100)
    # How long one attempt waits for its confirms; while RabbitMQ blocks publishers (a memory or disk
    # alarm) a send waits this long once, then fails saying so: no further attempts.
    tickwork_publish_timeout_seconds: float = Field(10.0, gt=0, le=300)

    # Extra modules that register actor specs in the contract (comma-separated, imported by the CLI
    # and the workers), for actors that live outside this package.
    tickwork_contract_modules: str = ""

    # -- task ledger ----------------------------------------------------------------------------
    tickwork_ledger_enabled: bool = True
    # Ledger writes are batched per worker process; a longer interval means fewer, bigger writes.
    tickwork_ledger_flush_seconds: float = Field(0.1, gt=0, le=10)
    tickwork_task_log_max_lines: int = Field(200, ge=1, le=10_000)
    tickwork_task_log_max_bytes: int = Field(16 * 1024, ge=256, le=1024 * 1024)
    # Final rows (and their logs) are deleted this long after they finished.
    tickwork_ledger_retention_days: float = Field(30.0, gt=0, le=3650)
    # Workers heartbeat this often; one silent for six heartbeats is dead and its tasks reconciled.
    tickwork_heartbeat_seconds: float = Field(5.0, gt=0, le=300)

    # -- scheduler --------------------------------------------------------------------------------
    # The scheduler process serves its Prometheus series here (0 turns the endpoint off).
    tickwork_scheduler_metrics_port: int = Field(9192, ge=0, le=65535)

    # -- maintenance ------------------------------------------------------------------------------
    tickwork_backup_dir: str = "backups"
    # cleanup_old_data: task logs are emptied after this many days (rows follow the ledger retention),
    # and archived rows go to this folder.
    tickwork_task_log_retention_days: float = Field(7.0, gt=0, le=3650)
    tickwork_archive_dir: str = "archive"
    # Rotation keeps the newest backup of each of the last N days and of each of the last M weeks.
    tickwork_backup_keep_daily: int = Field(7, ge=1, le=366)
    tickwork_backup_keep_weekly: int = Field(4, ge=0, le=520)

    # -- market data ----------------------------------------------------------------------------
    # "sandbox": every provider is the local sandbox market (`tickwork sandbox`), at the URL below;
    # "live": the providers' public endpoints.
    tickwork_market_data: Literal["sandbox", "live"] = "sandbox"
    tickwork_sandbox_url: str = Field("http://127.0.0.1:8100", pattern=r"^https?://")
    # Budgets shared by every worker process (Binance's is request weight; its server limit is 6000).
    tickwork_yahoo_requests_per_minute: int = Field(120, ge=1, le=100_000)
    tickwork_stooq_requests_per_minute: int = Field(60, ge=1, le=100_000)
    tickwork_binance_weight_per_minute: int = Field(5000, ge=1, le=6000)
    tickwork_coingecko_requests_per_minute: int = Field(30, ge=1, le=100_000)
    tickwork_coingecko_api_key: SecretStr | None = None
    # Each HTTP request's own timeout (a time limit cannot interrupt a blocking call).
    tickwork_provider_timeout_seconds: float = Field(10.0, gt=0, le=120)
    # The circuit opens after this many consecutive failures, for this long.
    tickwork_circuit_failures: int = Field(5, ge=1, le=1000)
    tickwork_circuit_open_seconds: float = Field(60.0, gt=0, le=3600)
    # A price older than this (counted in market time: a closed market does not age it) is stale.
    tickwork_price_max_age_seconds: float = Field(900.0, gt=0, le=30 * 86400)
    # Annual risk-free rate for Sharpe and alpha (0.04 = 4%), compounded down to a daily rate.
    tickwork_risk_free_rate: float = Field(0.0, ge=-0.1, le=1.0)

    # -- notifications ----------------------------------------------------------------------------
    # SMTP: "starttls" upgrades a plain connection (port 587), "tls" is implicit TLS (port 465);
    # AUTH is used when a user is set. The CA file lets a private relay's certificate be trusted.
    tickwork_smtp_host: str = "127.0.0.1"
    tickwork_smtp_port: int = Field(587, ge=1, le=65535)
    tickwork_smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    tickwork_smtp_user: str | None = None
    tickwork_smtp_password: SecretStr | None = None
    tickwork_smtp_from: str = Field("tickwork@localhost", pattern=r"^[^@\s]+@[^@\s]+$")
    tickwork_smtp_timeout_seconds: float = Field(30.0, gt=0, le=300)
    tickwork_smtp_ca_file: str | None = None
    # Signs webhooks (X-Tickwork-Signature); unset or a placeholder is refused outside development.
    tickwork_webhook_secret: SecretStr | None = None
    tickwork_webhook_timeout_seconds: float = Field(10.0, gt=0, le=120)
    # Attempts within one task on a 5xx or a timeout (a 4xx is never retried), then the task retries.
    tickwork_webhook_retries: int = Field(3, ge=0, le=10)
    tickwork_webhook_backoff_seconds: float = Field(1.0, ge=0, le=60)
    tickwork_webhook_max_redirects: int = Field(3, ge=0, le=10)
    # Trust this CA for HTTPS webhooks (inner receivers with a private CA); certificates are always checked.
    tickwork_webhook_ca_file: str | None = None
    # Inner receivers webhooks may reach although private: comma-separated host:port and cidr:port
    # entries, e.g. "127.0.0.1/32:8080,hooks.lan:443,[fd00::/64]:443" (services/notifications/allow_list.py).
    tickwork_ssrf_allow: str = ""
    # Operators' alerts: a Slack incoming-webhook URL and email addresses (comma-separated).
    # The Slack URL is itself the credential (whoever knows it can post), hence a secret.
    tickwork_operator_slack_url: SecretStr | None = None
    tickwork_operator_emails: str = ""
    # Attachments are read only from this folder (reports are written there).
    tickwork_reports_dir: str = "reports"
    # A notification left `sending` this long belonged to a worker that died mid-send: it is sent again.
    tickwork_notification_lease_seconds: float = Field(600.0, ge=10, le=86400)
    # Default alert rules (an account's own rules in `alert_rules` replace them), as fractions.
    tickwork_alert_drawdown_limit: float = Field(0.10, gt=0, le=1)
    tickwork_alert_daily_pnl_limit: float = Field(0.05, gt=0, le=10)
    tickwork_alert_position_weight_limit: float = Field(0.25, gt=0, le=1)
    tickwork_alert_price_move_limit: float = Field(0.10, gt=0, le=10)
    tickwork_alert_cooldown_seconds: float = Field(3600.0, ge=0, le=30 * 86400)

    # -- paper trading --------------------------------------------------------------------------
    # The most of a bar's (or interval's) volume one evaluation may fill (0.1 = 10 %); the rest works on.
    tickwork_order_participation: Decimal = Field(Decimal("0.10"), gt=0, le=1)
    # Fees (services/trading/fees.py): equities per share with a minimum and a cap as a share of the
    # notional; crypto a share of the notional for fills that make / take liquidity.
    tickwork_fee_equity_per_share: Decimal = Field(Decimal("0.005"), ge=0, le=100)
    tickwork_fee_equity_minimum: Decimal = Field(Decimal("1"), ge=0, le=10_000)
    tickwork_fee_equity_max_share: Decimal = Field(Decimal("0.005"), ge=0, le=1)
    tickwork_fee_crypto_maker: Decimal = Field(Decimal("0.001"), ge=0, le=1)
    tickwork_fee_crypto_taker: Decimal = Field(Decimal("0.001"), ge=0, le=1)
    # Orders claimed per processing transaction.
    tickwork_order_batch_size: int = Field(500, ge=1, le=10_000)
    # Test only (refused outside TICKWORK_ENV=test): a path; the first process_orders transaction with
    # a fill creates the file and SIGKILLs its worker before committing (a crash leaves no half fill).
    tickwork_test_kill_mid_fill: str | None = None

    # -- REST API ---------------------------------------------------------------------------------
    tickwork_api_host: str = "127.0.0.1"
    tickwork_api_port: int = Field(8000, ge=1, le=65535)
    # Server processes of `tickwork api`, sharing its port: one per CPU core by default, since a
    # request's CPU (ASGI, validation, SQL) holds the process's GIL. 1 serves in the `tickwork api` process.
    tickwork_api_processes: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1, le=64)
    # Larger request bodies are refused with 413 before they are read.
    tickwork_api_max_body_bytes: int = Field(64 * 1024, ge=1024, le=16 * 1024 * 1024)
    # The same for POST /api/v1/tasks/batch, whose body holds up to 1,000 tasks.
    tickwork_api_max_batch_body_bytes: int = Field(2 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    # RabbitMQ's management API (e.g. http://127.0.0.1:15672), for message rates in GET /api/v1/queues;
    # without it, queues show depth and consumers only.
    tickwork_rabbitmq_management_url: str | None = Field(None, pattern=r"^https?://")
    # Behind a TLS-terminating proxy: trust its X-Forwarded-Proto and -For (off: a client could claim TLS);
    # the console's session cookie is Secure when the request came over TLS.
    tickwork_api_trusted_proxy: bool = False

    @field_validator("rabbitmq_url")
    @classmethod
    def _amqp_scheme(cls, value: str) -> str:
        if not value.startswith(("amqp://", "amqps://")):
            raise ValueError("must start with amqp:// or amqps://")
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://")):
            raise ValueError("must be a sqlite:// or postgresql:// URL")
        return value

    @field_validator("tickwork_ssrf_allow")
    @classmethod
    def _allow_list_entries(cls, value: str) -> str:
        parse_allow_list(value)  # raises ValueError naming the first bad entry
        return value

    @field_validator("tickwork_webhook_secret")
    @classmethod
    def _real_secret_outside_development(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        placeholder = value is not None and _is_placeholder(value.get_secret_value())
        if placeholder and info.data.get("tickwork_env") != "development":
            raise ValueError("a placeholder: set a random secret of 16 or more characters")
        return value

    @field_validator("tickwork_operator_slack_url")
    @classmethod
    def _http_url(cls, value: SecretStr | None) -> SecretStr | None:
        # Field(pattern=) does not apply to a SecretStr: the same check, by hand.
        if value is not None and not re.match(r"^https?://", value.get_secret_value()):
            raise ValueError("String should match pattern '^https?://'")
        return value

    @field_validator("tickwork_test_kill_mid_fill")
    @classmethod
    def _test_hook_only_in_tests(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value and info.data.get("tickwork_env") != "test":
            raise ValueError("a test hook: only allowed with TICKWORK_ENV=test")
        return value


def revealed(secret: SecretStr | None) -> str | None:
    """An optional secret's value, where it is used (never in a log line or an error)."""
    return secret.get_secret_value() if secret is not None else None


PLACEHOLDER_SECRETS = {"", "secret", "changeme", "change-me", "changethis", "please-change", "xxx", "test"}


def _is_placeholder(secret: str) -> bool:
    return secret.strip().lower() in PLACEHOLDER_SECRETS or len(secret.strip()) < 16


SECRET_FIELDS = frozenset(
    name
    for name, field in Settings.model_fields.items()
    if field.annotation is SecretStr or SecretStr in get_args(field.annotation)
)
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]*(?P<at>@)", re.IGNORECASE)


def _one_line(error: ValidationError) -> str:
    first = error.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else ""
    name = field.upper() or "settings"
    return f"invalid setting {name}={_shown(field, first.get('input'))}: {first['msg']}"


def _shown(field: str, value: Any) -> str:
    """The value as the error line shows it: a secret masked, a URL's password starred out."""
    if field in SECRET_FIELDS:
        return "'**********'"  # as pydantic prints a SecretStr
    if isinstance(value, str):
        return repr(_URL_PASSWORD.sub(r"\g<head>***\g<at>", value))
    return repr(value)


def load_settings() -> Settings:
    """Read and validate the environment; raise SettingsError with a one-line message."""
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsError(_one_line(error)) from None


def import_contract_modules(settings: Settings) -> None:
    """Import the modules of TICKWORK_CONTRACT_MODULES (they add actors to the contract)."""
    for module in filter(None, (m.strip() for m in settings.tickwork_contract_modules.split(","))):
        try:
            importlib.import_module(module)
        except ImportError as error:
            raise SettingsError(
                f"invalid setting TICKWORK_CONTRACT_MODULES: cannot import {module!r}: {error}"
            ) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
