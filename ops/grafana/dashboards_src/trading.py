"""The trading dashboard: paper orders, fills, rejections and risk, and the trading bots."""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard

from .panels import PanelBuilder, graph, highest, increase, quantile, rate, tickwork_dashboard

TICK_TO_FILL = "tickwork_tick_to_fill_seconds"


def paper_trading() -> list[PanelBuilder]:
    return [
        graph(
            "Open orders by state and type",
            "Orders now new, working or partially filled, by type (read from the database by the scheduler).",
            (highest("tickwork_orders_open", by="state, type"), "{{type}} {{state}}"),
            unit="short",
        ),
        graph(
            "Orders entering each state",
            "Orders per second entering a state, by state: placed (working or rejected) by a worker (the risk"
            " manager, bots), then partially_filled, filled, cancelled, expired.",
            (rate("tickwork_orders_total", by="state", window="5m"), "{{state}}"),
            unit="ops",
        ),
        graph(
            "Fills",
            "Fills committed per second, by order type and side.",
            (rate("tickwork_order_fills_total", by="type, side", window="5m"), "{{type}} {{side}}"),
            unit="ops",
        ),
        graph(
            "Rejections by reason (24 h)",
            "Orders rejected when placed in the last 24 hours, by reason code, whoever placed them (read from the"
            " database by the scheduler).",
            (highest("tickwork_order_rejections_recent", by="reason"), "{{reason}}"),
            unit="short",
        ),
        graph(
            "Tick-to-fill latency",
            "From the arrival of the price a fill used to the fill's commit: p50 and p99.",
            (quantile(0.5, TICK_TO_FILL, window="5m"), "p50"),
            (quantile(0.99, TICK_TO_FILL, window="5m"), "p99"),
            unit="s",
        ),
        graph(
            "Risk events",
            "Breaches and the risk manager's and operators' actions, per hour, by rule and action.",
            # "> 0" drops the rules that did nothing this hour, so the legend lists only what happened.
            (f"{increase('tickwork_risk_events_total', by='rule, action', window='1h')} > 0", "{{rule}} {{action}}"),
            unit="short",
        ),
    ]


def trading_bots() -> list[PanelBuilder]:
    return [
        graph(
            "Bot runs by outcome",
            "Runs of run_bot per second: traded, no_trade (hold, refused, halted), skipped (another run holds the"
            " lock, the tick already ran, paused), paused (a daily limit), error.",
            (rate("tickwork_bot_runs_total", by="outcome", window="5m"), "{{outcome}}"),
            unit="ops",
        ),
        graph(
            "Bot signals by action",
            "Signal rows per second by action: the strategy's buy, sell, hold, and the run's skipped, paused, error.",
            (rate("tickwork_bot_signals_total", by="action", window="5m"), "{{action}}"),
            unit="ops",
        ),
        graph(
            "Bots by state",
            "Bots in each state at the last fan-out (every minute): idle, running, waiting, paused_daily_limit,"
            " paused, error.",
            (highest("tickwork_bots", by="state"), "{{state}}"),
            unit="short",
        ),
        graph(
            "Bots' realized P&L",
            "Realized P&L summed over every bot: today's (since 00:00 UTC) and in total, at the last fan-out.",
            (highest("tickwork_bot_pnl", by="period"), "{{period}}"),
            unit="currencyUSD",
        ),
    ]


def dashboard() -> Dashboard:
    rows = {"Paper trading": paper_trading(), "Trading bots": trading_bots()}
    description = "Paper orders, fills, tick-to-fill latency, rejections and risk events; the trading bots."
    return tickwork_dashboard("tickwork-trading", "Tickwork trading", description, rows)
