"""How an error is written down (the task ledger, a dead letter's record): its message and its
traceback, never the SQL of a failed statement. SQLAlchemy's message for a statement error quotes
the statement and its parameters, which belong to the code, not to an operator's screen; the
driver's own message ("integer out of range") says what was wrong."""

from __future__ import annotations

import traceback

from sqlalchemy.exc import StatementError

TRACEBACK_LIMIT = 30  # frames
TRACEBACK_CHARS = 8000
MESSAGE_CHARS = 4000


def error_message(error: BaseException) -> str:
    """What went wrong, in one message; for a statement error the driver's words, without SQL."""
    if isinstance(error, StatementError):
        driver = error.orig if error.orig is not None else None
        said = (str(driver) if driver is not None else "").strip() or "the database refused the statement"
        kind = type(driver).__name__ if driver is not None else type(error).__name__
        return f"{kind}: {said.splitlines()[0]}"[:MESSAGE_CHARS]
    return (str(error) or repr(error))[:MESSAGE_CHARS]


def error_traceback(error: BaseException) -> str:
    """The traceback of `error` (and its causes), each statement error's message cut to its driver's."""
    text = "".join(traceback.format_exception(error, limit=TRACEBACK_LIMIT))
    seen: set[int] = set()
    link: BaseException | None = error
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        if isinstance(link, StatementError):
            text = text.replace(str(link), error_message(link))
        link = link.__cause__ or link.__context__
    return text[-TRACEBACK_CHARS:]
