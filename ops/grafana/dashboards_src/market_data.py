"""The market data and schedules dashboard: the timetable's health, price freshness, the providers."""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard

from .panels import PanelBuilder, graph, highest, increase, quantile, rate, right_axis_unit, tickwork_dashboard


def schedule() -> list[PanelBuilder]:
    sent = increase("tickwork_schedule_runs_total", by="job_name", window="5m")
    skipped = increase("tickwork_schedule_skipped_total", by="job_name, reason", window="5m")
    return [
        graph(
            "Time since each job's last success",
            "Now minus the tick of the newest run that completed (from the ledger, read by the schedulers).",
            (highest("tickwork_schedule_seconds_since_success", by="job_name"), "{{job_name}}"),
            unit="s",
        ),
        graph(
            "Overdue jobs",
            "1 while a job is overdue (alert TickworkJobOverdue); paused and inactive jobs are never overdue.",
            (highest("tickwork_schedule_overdue", by="job_name"), "{{job_name}}"),
            unit="none",
        ),
        graph(
            "Schedule lag p95",
            "From a run's tick to its confirmed send, 95th percentile over 10 minutes.",
            (quantile(0.95, "tickwork_schedule_lag_seconds", by="job_name", window="10m"), "{{job_name}}"),
            unit="s",
        ),
        graph(
            "Runs sent and skipped",
            "Runs sent per minute, and runs skipped as too late (missed: no scheduler; outdated: waited past the"
            " grace).",
            (f"{sent} or {skipped}", "{{job_name}} {{reason}}"),
            unit="none",
        ),
    ]


def market_data() -> list[PanelBuilder]:
    waiting = rate("tickwork_provider_rate_limit_wait_seconds_sum", by="provider", window="5m")
    refused = rate("tickwork_provider_rate_limited_total", by="provider", window="5m")
    return [
        graph(
            "Stale prices by asset class",
            "Instruments whose price is older than TICKWORK_PRICE_MAX_AGE_SECONDS of market time, or never fetched"
            " (read from the database by the schedulers).",
            (highest("tickwork_prices_stale", by="asset_class"), "{{asset_class}}"),
            unit="short",
        ),
        graph(
            "Oldest price by asset class",
            "Market-time age of the oldest stored price: a closed market does not age it.",
            (highest("tickwork_price_age_seconds", by="asset_class"), "{{asset_class}}"),
            unit="s",
        ),
        graph(
            "Provider requests by outcome",
            "Requests per second to each provider, by outcome (ok, http_4xx, http_5xx, timeout, rate_limited,"
            " circuit_open, ...).",
            (rate("tickwork_provider_requests_total", by="provider, outcome", window="5m"), "{{provider}} {{outcome}}"),
            unit="reqps",
        ),
        graph(
            "Provider latency p95",
            "95th percentile of provider request time.",
            (quantile(0.95, "tickwork_provider_request_seconds", by="provider", window="5m"), "{{provider}}"),
            unit="s",
        ),
        graph(
            "Provider circuits",
            "0 closed, 1 half-open, 2 open (the state is shared by every worker process, in the database).",
            (highest("tickwork_provider_circuit_state", by="provider"), "{{provider}}"),
            unit="short",
        ),
        right_axis_unit(
            graph(
                "Rate-limit waits",
                "Share of the time spent waiting for a provider's shared budget or Retry-After (seconds waited per"
                " second, so 1 = one thread always waiting), and calls refused for it per second.",
                (waiting, "{{provider}} waiting"),
                (refused, "{{provider}} refused"),
                unit="percentunit",
            ),
            "B",
            "reqps",
        ),
    ]


def dashboard() -> Dashboard:
    rows = {"Schedule": schedule(), "Market data": market_data()}
    description = "The timetable's runs, lag and overdue jobs; price freshness and the market-data providers."
    return tickwork_dashboard("tickwork-market-data", "Tickwork market data and schedules", description, rows)
