"""/api/v1/orders: place (scope `create`), list and show with fills (`read`), cancel (`cancel`).

Placing answers 201 with the new order, 200 with the order an earlier request with the same
client order id placed, and 422 with the reason when the pre-trade checks reject it (the rejected
order is stored too, so asking again answers the same)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from services.api.deps import Canceller, Config, Creator, Db, Reader
from services.api.lookups import row_id
from services.api.schemas_trading import FillOut, OcoIn, OrderIn, OrderOut, OrderWithFills
from services.api.strict import PRINTABLE, QueryId
from services.scheduling.market_hours import NYSE
from services.storage.models import Order
from services.trading.composition import fee_schedule
from services.trading.model import OrderTerms, OrderType, Side, TimeInForce
from services.trading.placing import OrderRequest, Placed, cancel_order, place_oco, place_order
from services.trading.queries import children_of, fills_of, get_order, list_orders

router = APIRouter(prefix="/api/v1/orders", tags=["orders"])
State = Literal["new", "working", "partially_filled", "filled", "cancelled", "expired", "rejected"]


@router.post(
    "",
    response_model=OrderWithFills,
    status_code=201,
    responses={200: {"model": OrderWithFills, "description": "placed before with this client order id"}},
)
def place(body: OrderIn, db: Db, config: Config, caller: Creator, response: Response) -> OrderWithFills | JSONResponse:
    """Place an order (a bracket with `take_profit` and `stop_loss`); 422 with the reason if rejected."""
    placed = place_order(
        session=db,
        request=order_request(body),
        placed_by=caller.name,
        now=datetime.now(UTC),
        fees=fee_schedule(config),
        calendar=NYSE,
    )
    return _answer(db, placed, response)


@router.post("/oco", response_model=list[OrderOut], status_code=201)
def place_pair(body: OcoIn, db: Db, config: Config, caller: Creator) -> list[OrderOut]:
    """Place two orders that cancel each other (one-cancels-other)."""
    one, other = place_oco(
        session=db,
        first=order_request(body.first),
        second=order_request(body.second),
        placed_by=caller.name,
        now=datetime.now(UTC),
        fees=fee_schedule(config),
        calendar=NYSE,
    )
    return [OrderOut.model_validate(one.order), OrderOut.model_validate(other.order)]


@router.get("", response_model=list[OrderOut])
def orders(
    db: Db,
    _: Reader,
    portfolio_id: QueryId = None,
    state: State | None = None,
    symbol: Annotated[str | None, Query(min_length=1, max_length=32, pattern=PRINTABLE)] = None,
    instrument_id: QueryId = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[OrderOut]:
    """Orders, newest first, filtered by portfolio, state and instrument (symbol or id)."""
    found = list_orders(
        session=db, portfolio_id=portfolio_id, state=state, symbol=symbol, instrument_id=instrument_id, limit=limit
    )
    return [OrderOut.model_validate(order) for order in found]


@router.get("/{order_id}", response_model=OrderWithFills)
def order(order_id: int, db: Db, _: Reader) -> OrderWithFills:
    """One order with its fills and, for a bracket entry, its exits."""
    return _with_fills(db, get_order(session=db, order_id=row_id("order", order_id)))


@router.delete("/{order_id}", response_model=OrderOut)
def cancel(order_id: int, db: Db, _: Canceller) -> OrderOut:
    """Cancel an open order (409 when it is already final); linked orders follow."""
    return OrderOut.model_validate(cancel_order(session=db, order_id=row_id("order", order_id), now=datetime.now(UTC)))


def order_request(body: OrderIn) -> OrderRequest:
    terms = OrderTerms(
        side=Side(body.side),
        type=OrderType(body.type),
        quantity=body.quantity,
        limit_price=body.limit_price,
        stop_price=body.stop_price,
        trail_amount=body.trail_amount,
        trail_percent=body.trail_percent,
        time_in_force=TimeInForce(body.time_in_force),
        extended_hours=body.extended_hours,
    )
    return OrderRequest(
        body.portfolio_id,
        body.symbol,
        terms,
        client_order_id=body.client_order_id,
        take_profit=body.take_profit,
        stop_loss=body.stop_loss,
    )


def _answer(db: Db, placed: Placed, response: Response) -> OrderWithFills | JSONResponse:
    shown = _with_fills(db, placed.order)
    if placed.rejected:
        detail = {"reason": placed.order.reason, "order": shown.model_dump()}
        body = {"error": f"order rejected: {placed.order.reason}", "detail": jsonable_encoder(detail)}
        return JSONResponse(body, status_code=422)
    response.status_code = 201 if placed.created else 200
    return shown


def _with_fills(db: Db, order: Order) -> OrderWithFills:
    children = [OrderOut.model_validate(child) for child in children_of(session=db, order_id=order.id or 0)]
    fills = [FillOut.model_validate(fill) for fill in fills_of(session=db, order_id=order.id or 0)]
    return OrderWithFills(**OrderOut.model_validate(order).model_dump(), fills=fills, children=children)
