"""What saving a recipient or an alert rule checks in common, and the error a refused one raises.

Everything is checked when it is saved, not when a notification is due (services.notifications
.recipients, .stored_rules): a mistake shows to whoever made it, not at 3 a.m.
"""

from __future__ import annotations

from sqlmodel import Session

from services.errors import PortfolioNotFound, TickworkError
from services.notifications.dispatch import SEVERITY_RANK
from services.storage.models import Portfolio

SEVERITIES = tuple(SEVERITY_RANK)


class PreferenceInvalid(TickworkError):
    """Raised when a recipient or an alert rule to save is invalid (an address, a URL, a parameter)."""


def check_severity(severity: str) -> None:
    if severity not in SEVERITIES:
        raise PreferenceInvalid(f"unknown severity {severity!r}; severities are {', '.join(SEVERITIES)}")


def check_portfolio(session: Session, portfolio_id: int | None, account: str | None) -> None:
    if portfolio_id is None:
        return
    portfolio = session.get(Portfolio, portfolio_id)
    if portfolio is None:
        raise PortfolioNotFound(f"no portfolio with id {portfolio_id}")
    if account is not None and portfolio.account != account:
        raise PreferenceInvalid(f"portfolio {portfolio_id} belongs to another account, not {account!r}")
