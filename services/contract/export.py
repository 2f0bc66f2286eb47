"""Publishes the contract as JSON Schema files for other services."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from services.contract import CONTRACT, Contract
from services.contract.envelope import ENVELOPE_FIELDS
from services.engine.priority import MAX_PRIORITY, Priority

_JSON_TYPES = {str: "string", list: "array", dict: "object", int: "integer"}


def envelope_schema() -> dict[str, Any]:
    """The JSON Schema of the message body every actor's message is wrapped in."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Tickwork message envelope (Dramatiq's JSON body)",
        "type": "object",
        "additionalProperties": False,
        "required": sorted(ENVELOPE_FIELDS),
        "properties": {
            **{name: {"type": _JSON_TYPES[kind]} for name, kind in ENVELOPE_FIELDS.items()},
            "args": {"type": "array", "maxItems": 0, "description": "always empty: actors take kwargs"},
            "options": {
                "type": "object",
                "properties": {
                    "broker_priority": {"type": "integer", "minimum": 0, "maximum": MAX_PRIORITY},
                    "retry_policy": {"type": "object"},
                    "time_limit": {"type": "integer", "minimum": 1},
                },
            },
        },
        "x-tickwork-priorities": {level.value: level.amqp for level in Priority},
    }


def contract_index(contract: Contract = CONTRACT) -> dict[str, Any]:
    """Every actor's routing facts, by name."""
    return {spec.name: spec.json_schema()["x-tickwork"] for spec in contract}


def export_schemas(out: Path, contract: Contract = CONTRACT) -> list[Path]:
    """Write the schemas under `out`; return the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    files = {"contract.json": contract_index(contract), "envelope.json": envelope_schema()}
    files.update({f"{spec.name}.json": spec.json_schema() for spec in contract})
    for name, document in files.items():
        path = out / name
        path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written
