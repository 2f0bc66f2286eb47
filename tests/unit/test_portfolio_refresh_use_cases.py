"""refresh_portfolio and update_positions (services/portfolio/refresh.py) with fakes: the order of
their steps, what each step is given, and what an unknown portfolio stops."""

from __future__ import annotations

from collections import Counter

import pytest

from services.errors import PortfolioNotFound
from services.market_data.refresh import RefreshReport
from services.portfolio.positions import RebuildResult
from services.portfolio.refresh import refresh_portfolio, update_positions
from services.portfolio.revaluation import RevaluationReport
from tests.support.fakes import FakeSessions, RecordingReporter

PROVIDERS: dict = {"yahoo": object()}


class Steps:
    """The fakes of every step, writing what they are given to one shared list of events."""

    def __init__(self, holdings: dict[int, list[int]]) -> None:
        self.events: list = []
        self.sessions = FakeSessions(self.events)
        self.holdings = holdings

    def held(self, *, session, portfolio_id):
        assert self.sessions.in_transaction and session is self.sessions.session
        if portfolio_id not in self.holdings:
            raise PortfolioNotFound(f"no portfolio {portfolio_id}")
        self.events.append(("held", portfolio_id))
        return self.holdings[portfolio_id]

    def check(self, *, session, portfolio_id):
        self.held(session=session, portfolio_id=portfolio_id)

    def refresh(self, *, session_factory, providers, instrument_ids):
        assert session_factory is self.sessions and providers is PROVIDERS
        assert not self.sessions.in_transaction  # providers answer with no transaction open
        self.events.append(("refresh", list(instrument_ids)))
        return RefreshReport(instruments=len(instrument_ids), priced=Counter({"yahoo": len(instrument_ids)}))

    def rebuild(self, *, session_factory, portfolio_ids, reporter):
        self.events.append(("rebuild", portfolio_ids))
        return [RebuildResult(pid, 1, 0, 0, 0, None, None) for pid in portfolio_ids or [1, 2]]

    def revalue(self, *, session_factory, max_age_seconds, portfolio_ids, reporter):
        assert session_factory is self.sessions and max_age_seconds == 900
        self.events.append(("revalue", portfolio_ids))
        return RevaluationReport(portfolios=len(portfolio_ids or [1, 2]), positions=3)


def test_refresh_portfolio_prices_what_it_holds_then_revalues_it():
    # Given a portfolio holding instruments 4 and 9
    steps, reporter = Steps({7: [4, 9]}), RecordingReporter()

    # When it is refreshed
    done = refresh_portfolio(
        7,
        session_factory=steps.sessions,
        providers=PROVIDERS,
        max_age_seconds=900,
        reporter=reporter,
        held=steps.held,
        refresh=steps.refresh,
        revalue=steps.revalue,
    )

    # Then its holdings were read in one unit of work, priced, and only this portfolio revalued
    assert [e for e in steps.events if e not in ("begin", "commit")] == [
        ("held", 7),
        ("refresh", [4, 9]),
        ("revalue", [7]),
    ]
    assert steps.events[:3] == ["begin", ("held", 7), "commit"]
    assert reporter.steps == [(0.7, "revaluing")]
    assert done.summary() == f"{done.prices.summary()}; {done.valuation.summary()}"
    assert done.prices.instruments == 2 and done.valuation.portfolios == 1


def test_refresh_portfolio_of_an_unknown_portfolio_asks_no_provider():
    # Given no portfolio 8
    steps = Steps({7: [4]})

    # When it is refreshed, then it is refused before any price or valuation work
    with pytest.raises(PortfolioNotFound):
        refresh_portfolio(
            8,
            session_factory=steps.sessions,
            providers=PROVIDERS,
            max_age_seconds=900,
            held=steps.held,
            refresh=steps.refresh,
            revalue=steps.revalue,
        )
    assert steps.events == ["begin", "rollback"]


def test_update_positions_of_one_portfolio_checks_it_rebuilds_then_revalues():
    # Given portfolio 7
    steps, reporter = Steps({7: []}), RecordingReporter()

    # When its positions are updated
    done = update_positions(
        7,
        session_factory=steps.sessions,
        max_age_seconds=900,
        reporter=reporter,
        check=steps.check,
        rebuild=steps.rebuild,
        revalue=steps.revalue,
    )

    # Then it was checked, rebuilt and revalued, in that order, and only it
    assert [e for e in steps.events if isinstance(e, tuple)] == [("held", 7), ("rebuild", [7]), ("revalue", [7])]
    assert done.summary() == f"rebuilt 1 portfolios; {done.valuation.summary()}"


def test_update_positions_of_every_portfolio_checks_none():
    steps = Steps({})
    update_positions(
        None,
        session_factory=steps.sessions,
        max_age_seconds=900,
        check=steps.check,
        rebuild=steps.rebuild,
        revalue=steps.revalue,
    )
    assert steps.events == [("rebuild", None), ("revalue", None)]


def test_update_positions_of_an_unknown_portfolio_rebuilds_nothing():
    steps = Steps({})
    with pytest.raises(PortfolioNotFound):
        update_positions(
            3,
            session_factory=steps.sessions,
            max_age_seconds=900,
            check=steps.check,
            rebuild=steps.rebuild,
            revalue=steps.revalue,
        )
    assert steps.events == ["begin", "rollback"]
