"""The fill rules in docs/trading.md and in the code are the same set: every rule the code can return
is a row of the table, and every row is a rule some order and event reach."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta
from decimal import Decimal as D

from services.trading.fills import RULES, evaluate
from services.trading.model import OrderProgress, OrderTerms, OrderType, Rejection, Side, validate_terms
from tests.support.trading import T0, bar, quote
from tests.support.workers import ROOT

PRICES = ("90", "97", "100", "103", "110")


def orders():
    for side, kind in itertools.product(Side, OrderType):
        limits = PRICES if kind in (OrderType.LIMIT, OrderType.STOP_LIMIT) else (None,)
        stops = PRICES if kind in (OrderType.STOP, OrderType.STOP_LIMIT) else (None,)
        for limit, stop in itertools.product(limits, stops):
            for trail in (
                ({"trail_amount": D(2)}, {"trail_percent": D(5)}) if kind == OrderType.TRAILING_STOP else ({},)
            ):
                terms = OrderTerms(side, kind, D(10), D(limit) if limit else None, D(stop) if stop else None, **trail)
                assert validate_terms(terms) is None
                yield terms


def progresses():
    yield OrderProgress()
    yield OrderProgress(triggered=True)
    for mark in PRICES:
        yield OrderProgress(water_mark=D(mark))


def events():
    for last in PRICES:
        yield quote(last)
        yield quote(last, str(D(last) - 1), str(D(last) + 1))
    for o, h, lo, c in itertools.product(PRICES, repeat=4):
        if D(h) >= max(D(o), D(c)) and D(lo) <= min(D(o), D(c)):
            yield bar(o, h, lo, c)


def rules_reached() -> set[str]:
    every_event = list(events())
    reached = {
        evaluate(terms, progress, event, participation=D("0.1")).rule
        for terms in orders()
        for progress in progresses()
        for event in every_event
    }
    later = T0 + timedelta(seconds=1)  # an order placed after every event above
    stale = {
        evaluate(terms, OrderProgress(), event, participation=D("0.1"), placed_at=later).rule
        for terms in orders()
        for event in every_event[:3]
    }
    return reached | stale


def documented_rules() -> set[str]:
    text = (ROOT / "docs" / "trading.md").read_text()
    table = text.split("<!-- fill-rules -->")[1]
    return set(re.findall(r"^\| `([a-z_.]+)` \|", table, flags=re.MULTILINE))


def test_every_rule_is_reachable_and_nothing_else_is_returned():
    assert rules_reached() == RULES


def test_the_docs_table_lists_exactly_the_rules_of_the_code():
    assert documented_rules() == RULES


def test_each_row_names_the_order_type_side_and_event_of_its_rule():
    text = (ROOT / "docs" / "trading.md").read_text().split("<!-- fill-rules -->")[1]
    rows = re.findall(r"^\| `([a-z_.]+)` \| ([a-z_]+) \| ([a-z]+) \| ([a-z]+) \|", text, flags=re.MULTILINE)
    for rule, kind, side, event in rows:
        if rule in ("no_fill", "stale_event"):
            continue
        rule_event, rest = rule.split(".", 1)
        assert (rule_event, rest.split(".")[0]) == (event, f"{side}_{kind}"), rule


def test_every_reason_code_is_documented():
    text = (ROOT / "docs" / "trading.md").read_text()
    assert {reason.value for reason in Rejection} <= set(re.findall(r"`([a-z_]+)`", text))
