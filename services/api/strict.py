"""Strict field types for what the API reads: a value is taken only in its own JSON type.

FastAPI validates a decoded JSON body in pydantic's Python mode, whose lax coercions turn `"true"`
into True, `0` into False and into 1970-01-01, and a query's `0.5` into a Unix time. On a
destructive selection (`{"all": "true"}` purging dead letters) that is a hazard, so request fields
use these types instead: booleans only from true/false, numbers only from numbers, date-times only
from ISO 8601 text.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import AwareDatetime, BeforeValidator, Field

from services.contract.fields import INTEGER_MAX

PRINTABLE = r"^[^\x00-\x1f\x7f]*$"  # no control characters (PostgreSQL text cannot hold NUL)
ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
DATETIME_HINT = "give an ISO 8601 date-time, e.g. 2030-01-02T09:30:00Z"


def _iso_text(value: Any) -> Any:
    if isinstance(value, datetime):  # a default, or a caller inside the process
        return value
    if not isinstance(value, str) or not ISO_DATETIME.match(value):
        raise ValueError(f"{DATETIME_HINT} (not a number or a bare date)")
    return value


def _query_bool(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise ValueError("give true or false")


JsonBool = Annotated[bool, Field(strict=True)]
# Numbers are taken from JSON numbers only, bounds first: Annotated[int, Field(ge=0),
# BeforeValidator(json_number)] (services/contract/fields.py says why the order matters).
# A body's date-time: ISO 8601 text with a time zone.
Timestamp = Annotated[AwareDatetime, BeforeValidator(_iso_text)]
# A query's date-time: ISO 8601 text (UTC when it names no zone).
QueryTimestamp = Annotated[datetime, BeforeValidator(_iso_text)]
QueryBool = Annotated[bool, BeforeValidator(_query_bool)]
# A query's row id, as a filter: past the id columns it is refused (422), not sent to the database.
QueryId = Annotated[int | None, Query(ge=1, le=INTEGER_MAX)]
