"""/api/v1/risk: each portfolio's risk limits and halt, its risk events, and the kill switch of all
trading. Reading needs `read`; changing anything needs `admin` (it stops or resumes trading)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from services.api.deps import Admin, Db, Reader
from services.api.lookups import row_id
from services.api.schemas_trading import HaltIn, KillSwitchIn, KillSwitchOut, RiskEventOut, RiskLimitsIn, RiskLimitsOut
from services.api.strict import QueryId
from services.trading.kill_switch import halt_portfolio, kill_switch, resume_portfolio, set_kill_switch
from services.trading.limits import LimitChanges, limits_of, set_limits
from services.trading.queries import risk_events

router = APIRouter(prefix="/api/v1/risk", tags=["risk"])


@router.get("/portfolios/{portfolio_id}", response_model=RiskLimitsOut)
def limits(portfolio_id: int, db: Db, _: Reader) -> RiskLimitsOut:
    """The portfolio's limits and whether its trading is halted (no row: no limits, not halted)."""
    return RiskLimitsOut.model_validate(limits_of(session=db, portfolio_id=row_id("portfolio", portfolio_id)))


@router.put("/portfolios/{portfolio_id}", response_model=RiskLimitsOut)
def change_limits(portfolio_id: int, body: RiskLimitsIn, db: Db, caller: Admin) -> RiskLimitsOut:
    """Change some limits: fields left out keep their value, `null` removes a limit."""
    given = body.model_dump(exclude_unset=True)
    changes = LimitChanges(
        values={name: value for name, value in given.items() if value is not None},
        clear=tuple(name for name, value in given.items() if value is None),
    )
    row = set_limits(
        session=db,
        portfolio_id=row_id("portfolio", portfolio_id),
        changes=changes,
        by=str(caller),
        now=datetime.now(UTC),
    )
    return RiskLimitsOut.model_validate(row)


@router.post("/portfolios/{portfolio_id}/halt", response_model=RiskLimitsOut)
def halt(portfolio_id: int, body: HaltIn, db: Db, caller: Admin) -> RiskLimitsOut:
    """Refuse the portfolio's new orders until resumed (working orders keep working)."""
    portfolio = row_id("portfolio", portfolio_id)
    halt_portfolio(session=db, portfolio_id=portfolio, by=str(caller), reason=body.reason, now=datetime.now(UTC))
    return RiskLimitsOut.model_validate(limits_of(session=db, portfolio_id=portfolio))


@router.post("/portfolios/{portfolio_id}/resume", response_model=RiskLimitsOut)
def resume(portfolio_id: int, body: HaltIn, db: Db, caller: Admin) -> RiskLimitsOut:
    """Let a halted portfolio place orders again (after a drawdown halt, an operator's decision)."""
    portfolio = row_id("portfolio", portfolio_id)
    resume_portfolio(session=db, portfolio_id=portfolio, by=str(caller), reason=body.reason, now=datetime.now(UTC))
    return RiskLimitsOut.model_validate(limits_of(session=db, portfolio_id=portfolio))


@router.get("/events", response_model=list[RiskEventOut])
def events(
    db: Db, _: Reader, portfolio_id: QueryId = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[RiskEventOut]:
    """Breaches and actions, newest first: who, what, why and the figures."""
    return [RiskEventOut.model_validate(e) for e in risk_events(session=db, portfolio_id=portfolio_id, limit=limit)]


@router.get("/kill-switch", response_model=KillSwitchOut)
def switch(db: Db, _: Reader) -> KillSwitchOut:
    row = kill_switch(session=db)
    return KillSwitchOut(halted=row.halted, by=row.by, reason=row.reason, at=row.at)


@router.put("/kill-switch", response_model=KillSwitchOut)
def set_switch(body: KillSwitchIn, db: Db, caller: Admin) -> KillSwitchOut:
    """Halt all trading at once (`{"halted": true, "reason": ...}`), or let it resume."""
    row = set_kill_switch(session=db, halted=body.halted, by=str(caller), reason=body.reason, now=datetime.now(UTC))
    return KillSwitchOut(halted=row.halted, by=row.by, reason=row.reason, at=row.at)
