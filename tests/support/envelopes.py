"""Message bodies written by hand, the way a service in another language builds them."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any


def raw_envelope(**changes: Any) -> dict[str, Any]:
    """A documented envelope for probe_record, with `changes` applied."""
    body = {
        "queue_name": "refresh",
        "actor_name": "probe_record",
        "args": [],
        "kwargs": {"tag": "fine"},
        "options": {},
        "message_id": str(uuid.uuid4()),
        "message_timestamp": int(time.time() * 1000),
    }
    body.update(changes)
    return body


def raw_body(**changes: Any) -> bytes:
    return json.dumps(raw_envelope(**changes)).encode()
