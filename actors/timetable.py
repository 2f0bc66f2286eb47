"""The timetable: every periodic job, what it sends and when. The one place to read or change it.

Each line is a Job: a name (used by `tickwork jobs ...` and the API), the actor and its arguments, a
cadence (a periodiq cron spec read in a timezone, or `Every(n)` seconds for sub-minute work), a
market gate (trading days, regular or extended hours, from the NYSE calendar), the grace within which
a run still matters, and how long without a success makes the job overdue.

A job joins by adding a line here. Until its actor is implemented, the scheduler lists the job as
inactive and sends nothing for it (a message for an actor no worker has would only be
dead-lettered). docs/scheduling.md explains each cadence.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from periodiq import cron

from services.scheduling.cadence import Cron, Every
from services.scheduling.jobs import Job, MarketGate

NEW_YORK = ZoneInfo("America/New_York")
UTC = ZoneInfo("UTC")
S, MIN, H = timedelta(seconds=1), timedelta(minutes=1), timedelta(hours=1)


def new_york(spec: str) -> Cron:
    return Cron(spec, cron(spec), NEW_YORK)


def utc(spec: str) -> Cron:
    return Cron(spec, cron(spec), UTC)


TIMETABLE: list[Job] = [
    # -- market data ---------------------------------------------------------------------------
    Job(
        "prices-extended-hours",
        "refresh_all_prices",
        new_york("* 4-19 * * mon-fri"),
        gate=MarketGate.EXTENDED_HOURS,
        grace=50 * S,
        overdue_after=10 * MIN,
        description="every instrument, each minute from 04:00 to 20:00 ET on trading days (17:00 on early closes)",
    ),
    Job(
        "prices-crypto-overnight",
        "refresh_all_prices",
        utc("*/5 * * * *"),
        kwargs={"asset_classes": ["crypto"]},
        gate=MarketGate.OUTSIDE_EXTENDED_HOURS,
        grace=4 * MIN,
        overdue_after=30 * MIN,
        # Every 5 minutes, not hourly: crypto prices age in wall-clock time, and an hour-old price
        # would be stale (TICKWORK_PRICE_MAX_AGE_SECONDS, 15 min) most of every night.
        description="crypto trades 24/7: every 5 minutes at night, on weekends and holidays",
    ),
    Job(
        "benchmark-daily",
        "refresh_benchmark",
        new_york("45 16 * * mon-fri"),
        kwargs={"benchmark": "SPY"},
        gate=MarketGate.TRADING_DAYS,
        grace=2 * H,
        overdue_after=4 * H,
        description="the benchmark's daily bar, once the close is in",
    ),
    # -- portfolios ------------------------------------------------------------------------------
    Job(
        "portfolio-revaluation",
        "update_positions",
        utc("*/10 * * * *"),
        grace=5 * MIN,
        overdue_after=30 * MIN,
        description="every portfolio's market value, P&L and weights",
    ),
    Job(
        "portfolio-snapshots",
        "create_portfolio_snapshot",
        new_york("30 16 * * mon-fri"),
        gate=MarketGate.TRADING_DAYS,
        grace=2 * H,
        overdue_after=3 * H,
        description="end-of-day snapshot of every portfolio, 30 min after the regular close",
    ),
    Job(
        "portfolio-metrics",
        "calculate_metrics",
        new_york("15 17 * * mon-fri"),
        gate=MarketGate.TRADING_DAYS,
        grace=2 * H,
        overdue_after=3 * H,
        description="performance metrics, after the snapshot and the benchmark",
    ),
    # -- trading ---------------------------------------------------------------------------------
    Job(
        "orders-regular-hours",
        "process_orders",
        Every(5),
        gate=MarketGate.REGULAR_HOURS,
        grace=5 * S,
        overdue_after=2 * MIN,
        description="fill working paper orders every 5 s while the market is open",
    ),
    Job(
        "orders-crypto-outside-hours",
        "process_orders",
        Every(5),
        kwargs={"asset_classes": ["crypto"]},
        gate=MarketGate.OUTSIDE_REGULAR_HOURS,
        grace=5 * S,
        overdue_after=2 * MIN,
        description="crypto trades 24/7: its working orders every 5 s outside regular hours too",
    ),
    Job(
        "orders-day-expiry",
        "process_orders",
        new_york("0,1 13,16 * * mon-fri"),
        gate=MarketGate.TRADING_DAYS,
        grace=30 * MIN,
        overdue_after=4 * H,
        # At the close (13:00 on early closes, 16:00 else) and a minute after, when the sweep stops.
        description="day orders expire at the session close; crypto's at 00:00 UTC by the crypto sweep",
    ),
    Job(
        "risk-limits",
        "check_risk_limits",
        Every(60),
        gate=MarketGate.ALWAYS,
        grace=50 * S,
        overdue_after=10 * MIN,
        description="every portfolio's risk limits each minute (drawdown, position weight, drift)",
    ),
    Job(
        "bots-every-minute",
        "run_all_bots",
        utc("* * * * *"),
        grace=50 * S,
        overdue_after=10 * MIN,
        description="one run_bot per active bot whose cadence (every minute, hourly, at the close) is due",
    ),
    Job(
        "bot-counters-reset",
        "reset_daily_bot_counters",
        utc("0 0 * * *"),
        grace=1 * H,
        overdue_after=2 * H,
        description="bots' daily counters back to zero at UTC midnight",
    ),
    # -- maintenance -----------------------------------------------------------------------------
    Job(
        "daily-backup",
        "backup_data",
        new_york("30 21 * * *"),
        grace=3 * H,
        overdue_after=26 * H,
        description="nightly, after the after-hours session: a week between backups is too long",
    ),
    Job(
        "weekly-cleanup",
        "cleanup_old_data",
        new_york("0 3 * * sun"),
        grace=6 * H,
        overdue_after=8 * 24 * H,
        description="retention policies, Sunday 03:00 ET (outside the DST-shifted hours)",
    ),
    Job(
        "weekly-optimize",
        "optimize_database",
        new_york("0 5 * * sun"),
        grace=6 * H,
        overdue_after=8 * 24 * H,
        description="VACUUM/ANALYZE after the cleanup, Sunday 05:00 ET",
    ),
    Job(
        "daily-reports",
        "generate_reports",
        new_york("0 18 * * mon-fri"),
        kwargs={"period": "daily"},
        gate=MarketGate.TRADING_DAYS,
        grace=3 * H,
        overdue_after=6 * H,
        description="daily performance reports, after the metrics",
    ),
    Job(
        "weekly-reports",
        "generate_reports",
        new_york("0 6 * * mon"),
        kwargs={"period": "weekly"},
        grace=6 * H,
        overdue_after=8 * 24 * H,
        # Monday morning: the ISO week (Monday to Sunday) before it has ended, crypto's weekend included.
        description="weekly performance reports of the week that ended, Monday 06:00 ET",
    ),
    Job(
        "monthly-reports",
        "generate_reports",
        new_york("0 6 1 * *"),
        kwargs={"period": "monthly"},
        grace=6 * H,
        overdue_after=32 * 24 * H,
        description="monthly performance reports of the month that ended, on the 1st at 06:00 ET",
    ),
    # -- notifications ---------------------------------------------------------------------------
    Job(
        "alert-rules",
        "evaluate_alerts",
        utc("*/5 * * * *"),
        grace=4 * MIN,
        overdue_after=30 * MIN,
        description="alert rules (drawdown, daily P&L, weights, price moves, stale prices) every 5 minutes",
    ),
    Job(
        "daily-digest",
        "generate_digest",
        new_york("30 18 * * mon-fri"),
        gate=MarketGate.TRADING_DAYS,
        grace=3 * H,
        overdue_after=6 * H,
        description="each account's digest of the day, after the snapshots, metrics and reports",
    ),
    # -- watching the schedule itself ------------------------------------------------------------
    Job(
        "job-monitor",
        "monitor_jobs",
        utc("* * * * *"),
        grace=50 * S,
        overdue_after=10 * MIN,
        description="raises an alert for every job that has not succeeded in time",
    ),
]

JOB_NAMES = frozenset(job.name for job in TIMETABLE)
