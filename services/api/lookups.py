"""Path ids that cannot name a row answer 404 before any query: an integer past its column
(PostgreSQL refuses to compare it, which would surface as a data error) or text with control
characters (PostgreSQL text cannot hold NUL). To a caller both are simply ids that name nothing."""

from __future__ import annotations

import re

from fastapi import HTTPException

from services.contract.fields import fits_id_column

CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def row_id(kind: str, value: int) -> int:
    """`value` when it can be the id of a `kind` row; 404 otherwise."""
    if not fits_id_column(value):
        raise HTTPException(404, f"no {kind} {value}")
    return value


def text_id(kind: str, value: str, *, max_length: int = 128) -> str:
    """`value` when it can be a stored `kind` name or id; 404 otherwise."""
    if len(value) > max_length or CONTROL.search(value):
        raise HTTPException(404, f"no {kind} {value[:max_length]!r}")
    return value
