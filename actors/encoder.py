"""Dramatiq's JSON encoder, guarded: a body that is too large, not JSON or not an envelope is not
dropped with a log line but turned into a placeholder message that the worker dead-letters with
its reason and the original bytes."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from dramatiq.encoder import Encoder

from services.contract.envelope import ENVELOPE_FIELDS, check_envelope
from services.errors import MessageRejected

# Option keys of a placeholder; no actor has the placeholder's name, so it is never run.
REJECTION = "tickwork_rejection"
REJECTED_BODY = "tickwork_rejected_body"
REJECTED_ACTOR = "<rejected>"


class GuardedJSONEncoder(Encoder):
    """Compact JSON like Dramatiq's, refusing what cannot be a Tickwork message."""

    def __init__(self, *, max_bytes: int) -> None:
        self.max_bytes = max_bytes

    def encode(self, data: dict[str, Any]) -> bytes:
        return json.dumps(data, separators=(",", ":")).encode("utf-8")

    def decode(self, data: bytes) -> dict[str, Any]:
        try:
            if len(data) > self.max_bytes:
                raise MessageRejected("oversized", f"{len(data)} bytes exceeds the limit of {self.max_bytes}")
            try:
                decoded = json.loads(data.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as error:
                raise MessageRejected("undecodable", f"not UTF-8 JSON: {error}") from None
            if type(decoded) is dict and decoded.keys() == _ENVELOPE_KEYS and _well_typed(decoded):
                return decoded  # what check_envelope accepts, tested faster (every message pays it)
            return check_envelope(decoded)  # the slow way, which says what is wrong
        except MessageRejected as rejection:
            return _placeholder(data, rejection)


_ENVELOPE_KEYS = ENVELOPE_FIELDS.keys()
# JSON decodes to exact types (never a subclass, and never a bool where an int is expected by type()).
_FIELD_TYPES = tuple(ENVELOPE_FIELDS.items())


def _well_typed(envelope: dict[str, Any]) -> bool:
    return all(type(envelope[field]) is kind for field, kind in _FIELD_TYPES)


def _placeholder(data: bytes, rejection: MessageRejected) -> dict[str, Any]:
    return {
        "queue_name": "unknown",
        "actor_name": REJECTED_ACTOR,
        "args": [],
        "kwargs": {},
        "options": {
            REJECTION: {"reason": rejection.reason, "detail": rejection.detail},
            # latin-1 maps every byte to one code point, so the original bytes survive exactly.
            REJECTED_BODY: data.decode("latin-1"),
        },
        "message_id": str(uuid.uuid4()),
        "message_timestamp": int(time.time() * 1000),
    }
