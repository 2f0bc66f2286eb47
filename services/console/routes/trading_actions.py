"""The trading page's actions, each with the scope of its API route: cancel an order (`cancel`, as
DELETE /api/v1/orders/{id}); halt or resume a portfolio or all trading, pause or resume a bot (`admin`,
as the risk and bots routes)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.api.lookups import CONTROL, row_id
from services.api.tokens import Scope
from services.console import operations
from services.console.app import ConsoleNotFound, done
from services.console.pages import number
from services.console.routes.common import settings_of
from services.console.session import Form, action
from services.errors import TickworkError

router = APIRouter()
HALT_VERBS = ("halt", "resume")


class ReasonMissing(TickworkError):
    """Raised when a halt or a resume is asked for without a reason (the risk events keep it)."""


def reason_of(form: Form) -> str:
    # One printable line, as the API's schema requires: control characters cannot reach the database.
    reason = " ".join(CONTROL.sub(" ", form.get("reason")).split())[:500]
    if not reason:
        raise ReasonMissing("give a reason: it is kept with the halt or resume in the risk events")
    return reason


@router.post("/trading/orders/{order_id}/cancel")
async def cancel_order(request: Request, order_id: int) -> Response:
    await action(request, Scope.CANCEL)
    order = operations.cancel_order(settings_of(request), row_id("order", order_id))
    request.state.audit_detail = {"order_id": order.id, "portfolio_id": order.portfolio_id}
    notice = f"order {order.id} cancelled ({number(order.filled_quantity)} of it had filled)"
    return done(request, notice, f"/console/trading/portfolios/{order.portfolio_id}")


@router.post("/trading/portfolios/{portfolio_id}/{verb}")
async def halt_portfolio(request: Request, portfolio_id: int, verb: str) -> Response:
    who, form = await action(request, Scope.ADMIN)
    if verb not in HALT_VERBS:
        raise ConsoleNotFound(f"no portfolio action {verb!r}")
    settings, wanted, reason = settings_of(request), row_id("portfolio", portfolio_id), reason_of(form)
    request.state.audit_detail = {"portfolio_id": wanted, "reason": reason}
    if verb == "halt":
        changed = operations.halt_portfolio(settings, wanted, who.caller, reason)
        notice = "halted: new orders are refused, working orders keep working" if changed else "already halted"
    else:
        changed = operations.resume_portfolio(settings, wanted, who.caller, reason)
        notice = "trading resumed" if changed else "was not halted"
    return done(request, f"portfolio {wanted} {notice}", f"/console/trading/portfolios/{wanted}")


@router.post("/trading/kill-switch/{verb}")
async def kill_switch(request: Request, verb: str) -> Response:
    who, form = await action(request, Scope.ADMIN)
    if verb not in HALT_VERBS:
        raise ConsoleNotFound(f"no kill-switch action {verb!r}")
    reason = reason_of(form)
    request.state.audit_detail = {"halted": verb == "halt", "reason": reason}
    operations.set_kill_switch(settings_of(request), verb == "halt", who.caller, reason)
    notice = "all trading halted: every new order is refused" if verb == "halt" else "all trading resumed"
    return done(request, notice, "/console/trading")


@router.post("/trading/bots/{bot_id}/{verb}")
async def bot(request: Request, bot_id: int, verb: str) -> Response:
    who, _ = await action(request, Scope.ADMIN)
    settings, wanted = settings_of(request), row_id("bot", bot_id)
    if verb == "pause":
        view = operations.pause_bot(settings, wanted, who.caller)
    elif verb == "resume":
        view = operations.resume_bot(settings, wanted)
    else:
        raise ConsoleNotFound(f"no bot action {verb!r}")
    request.state.audit_detail = {"bot_id": wanted, "state": view.state.state}
    return done(
        request, f"bot {view.bot.name} is {view.state.state}", f"/console/trading/portfolios/{view.bot.portfolio_id}"
    )
