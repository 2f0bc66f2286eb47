"""A report's figures, from rows already read: pure, no I/O.

Periods are calendar periods of New York dates (the market's day, as snapshots are keyed): a day, an
ISO week (Monday to Sunday) or a month. The opening value is the total value of the last snapshot
before the period (the previous close; zero when the portfolio has none, i.e. it started within the
period); the closing value is that of the last daily point in the period (a snapshot, or the current
valuation for today when today has no snapshot yet).

    change       = closing value - opening value
    change %     = change / opening value (none when the opening value is not positive)
    net deposits = deposits - withdrawals of the period (cash flows, by New York date)
    gain         = change - net deposits: what the market and the trading made, not the owner's money
    volume       = sum of |quantity x price| of the period's trades, rounded once to money
    realized P&L = realized P&L of all trades up to the period's end minus that up to its start, from
                   the same replay (weighted-average cost, fees out of P&L) that rebuilds positions
    positions    = the lots that replay leaves at the period's end, priced at the end, weight = market
                   value / closing value (cash included, as valuations weigh)

Money is Decimal with 4 places (half to even, once per figure); ratios are floats.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, localcontext
from typing import Any, Literal, NamedTuple, cast

from services.errors import TradeHistoryInvalid
from services.portfolio.money import WIDE, ZERO, money
from services.portfolio.positions import replay
from services.storage.models import Trade

Kind = Literal["daily", "weekly", "monthly"]
KINDS: tuple[Kind, ...] = ("daily", "weekly", "monthly")


@dataclass(frozen=True)
class Period:
    kind: Kind
    start: date
    end: date  # included

    @property
    def label(self) -> str:
        if self.kind == "daily":
            return self.start.isoformat()
        if self.kind == "weekly":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.start:%Y-%m}"

    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]


def period_containing(kind: Kind, day: date) -> Period:
    """The day, ISO week or month that holds `day`."""
    if kind == "daily":
        return Period(kind, day, day)
    if kind == "weekly":
        start = day - timedelta(days=day.weekday())
        return Period(kind, start, start + timedelta(days=6))
    start = day.replace(day=1)
    following = (start + timedelta(days=32)).replace(day=1)
    return Period(kind, start, following - timedelta(days=1))


def default_day(kind: Kind, today: date) -> date:
    """The day a report covers when none is named: a daily report covers today (it is sent after the
    close); a weekly or monthly one, the last period that has ended (sent the morning after)."""
    if kind == "daily":
        return today
    return period_containing(kind, today).start - timedelta(days=1)


@dataclass(frozen=True)
class DayValue:
    """A portfolio's total value at the end of one day, and where the figure comes from."""

    day: date
    total_value: Decimal
    source: str = "snapshot"  # snapshot | valuation (today's, before its snapshot)


class TradeRow(NamedTuple):
    """A trade as read for a report: the fields replay reads, without an ORM object per trade
    (building 20,000 validated Trade models took longer than the rest of a report run)."""

    id: int
    portfolio_id: int
    instrument_id: int
    side: str
    quantity: Decimal
    price: Decimal
    fee: Decimal
    executed_at: datetime  # aware UTC


@dataclass(frozen=True)
class CashMove:
    at: datetime
    amount: Decimal  # deposits positive


@dataclass(frozen=True)
class PositionLine:
    symbol: str
    quantity: Decimal
    average_cost: Decimal
    price: Decimal | None  # None: no price known at the period's end
    market_value: Decimal | None
    weight: float | None


@dataclass(frozen=True)
class ReportFigures:
    portfolio_id: int
    portfolio: str
    account: str
    currency: str
    period: Period
    opening_day: date | None
    opening_value: Decimal
    closing_day: date | None
    closing_value: Decimal
    change: Decimal
    change_pct: float | None
    deposits: Decimal
    withdrawals: Decimal  # a positive amount
    net_deposits: Decimal
    gain: Decimal
    trades: int
    buys: int
    sells: int
    volume: Decimal
    fees: Decimal
    realized_pnl: Decimal | None  # None when the trade history cannot be replayed
    cash: Decimal | None  # at the period's end, from the same replay
    positions: list[PositionLine]
    points: list[DayValue]  # one per day of the period that has a value, in order
    metrics: dict[str, Any] | None = None  # the portfolio_metrics row of the period, where there is one
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The figures as JSON-ready values (money as strings, exactly), for the catalog."""
        return _plain(asdict(self) | {"period": {"kind": self.period.kind, "label": self.period.label}})


@dataclass(frozen=True)
class PortfolioFacts:
    id: int
    name: str
    account: str
    currency: str


def compute_figures(
    *,
    portfolio: PortfolioFacts,
    period: Period,
    bounds: tuple[datetime, datetime],
    opening: DayValue | None,
    points: Sequence[DayValue],
    history: Sequence[TradeRow],
    cash_moves: Sequence[CashMove],
    symbols: Mapping[int, str],
    prices: Mapping[int, Decimal],
    metrics: Mapping[str, Any] | None = None,
) -> ReportFigures:
    """The period's figures. `bounds` are the UTC instants the period starts and ends at; `history`
    holds every trade up to the period's end, in execution order (ties by id), and `cash_moves` every
    cash flow up to it; `points` the period's daily values; `prices` the price of each instrument at
    the period's end."""
    starts, ends = bounds
    notes: list[str] = []
    inside = [t for t in history if starts <= t.executed_at < ends]
    before = [t for t in history if t.executed_at < starts]
    flows = [m.amount for m in cash_moves if starts <= m.at < ends]
    ordered = sorted(points, key=lambda p: p.day)
    closing = ordered[-1] if ordered else opening
    opening_value = opening.total_value if opening else ZERO
    closing_value = closing.total_value if closing else ZERO
    if opening is None:
        notes.append("no value before the period: it opens at zero")
    if not ordered:
        notes.append("no daily value in the period: it closes at its opening value")
    with localcontext(WIDE):
        change = closing_value - opening_value
        deposits = sum([f for f in flows if f > 0], ZERO)
        withdrawals = -sum([f for f in flows if f < 0], ZERO)
        volume = money(sum([abs(t.quantity * t.price) for t in inside], ZERO))
        fees = money(sum([t.fee for t in inside], ZERO))
    try:
        # replay reads only the attributes TradeRow has, under the same names.
        at_end = replay(cast("list[Trade]", history), (m.amount for m in cash_moves))
        realized: Decimal | None = money(at_end.realized_pnl - replay(cast("list[Trade]", before), ()).realized_pnl)
        cash: Decimal | None = at_end.cash
        lots = at_end.lots
    except TradeHistoryInvalid as error:
        realized = cash = None
        lots = {}
        notes.append(f"trade history does not replay: {error}")
    positions = []
    for instrument_id, lot in lots.items():
        price = prices.get(instrument_id)
        value = money(lot.quantity * price) if price is not None else None
        weight = float(value / closing_value) if value is not None and closing_value > 0 else None
        positions.append(
            PositionLine(
                symbols.get(instrument_id, f"#{instrument_id}"), lot.quantity, lot.average_cost, price, value, weight
            )
        )
    positions.sort(key=lambda p: (-(p.market_value or ZERO), p.symbol))
    return ReportFigures(
        portfolio_id=portfolio.id,
        portfolio=portfolio.name,
        account=portfolio.account,
        currency=portfolio.currency,
        period=period,
        opening_day=opening.day if opening else None,
        opening_value=money(opening_value),
        closing_day=closing.day if closing else None,
        closing_value=money(closing_value),
        change=money(change),
        change_pct=float(change / opening_value) if opening_value > 0 else None,
        deposits=money(deposits),
        withdrawals=money(withdrawals),
        net_deposits=money(deposits - withdrawals),
        gain=money(change - deposits + withdrawals),
        trades=len(inside),
        buys=sum(1 for t in inside if t.side == "buy"),
        sells=sum(1 for t in inside if t.side == "sell"),
        volume=volume,
        fees=fees,
        realized_pnl=realized,
        cash=cash,
        positions=positions,
        points=ordered,
        metrics=dict(metrics) if metrics is not None else None,
        notes=notes,
    )


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):  # datetime is a date too
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
