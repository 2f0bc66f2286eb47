"""Keeps secrets out of the ledger: argument values under secret-looking keys are replaced."""

from __future__ import annotations

import re
from typing import Any

SECRET_KEY = re.compile(
    r"pass(word)?|secret|token|api[_-]?key|authori[sz]ation|credential|private[_-]?key|signature", re.IGNORECASE
)
REDACTED = "***"


def redact(value: Any) -> Any:
    """`value` with every secret-looking key's value replaced, at any depth."""
    if isinstance(value, dict):
        return {k: REDACTED if isinstance(k, str) and SECRET_KEY.search(k) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value
