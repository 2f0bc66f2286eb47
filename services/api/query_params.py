"""A query string holds only the parameters its route declares, each once unless it is a list:
FastAPI ignores an unknown name (a typo like `?stauts=failed` would list everything) and keeps the
last of repeated values. Both are refused with 422, through the validation-error handler (so a
caller without the route's scope still hears 401/403 first)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi._compat.shared import field_annotation_is_sequence
from fastapi.exceptions import RequestValidationError


def declared_query(route: Any) -> dict[str, bool]:
    """The query parameters of `route` (with its dependencies'), each with whether it may repeat."""
    found: dict[str, bool] = {}
    pending = [getattr(route, "dependant", None)]
    while pending:
        dependant = pending.pop()
        if dependant is None:
            continue
        for field in dependant.query_params:
            found[field.alias] = field_annotation_is_sequence(field.field_info.annotation)
        pending.extend(dependant.dependencies)
    return found


def known_query_only(request: Request) -> None:
    """A router dependency: 422 for a query parameter the route does not declare, or repeated."""
    declared = declared_query(request.scope.get("route"))
    errors = []
    for name in dict.fromkeys(request.query_params.keys()):
        if name not in declared:
            errors.append({"type": "extra_forbidden", "loc": ("query", name), "msg": "unknown query parameter"})
        elif not declared[name] and len(request.query_params.getlist(name)) > 1:
            errors.append({"type": "too_long", "loc": ("query", name), "msg": "given more than once"})
    if errors:
        raise RequestValidationError(errors)
