"""The examples in docs/messages.md run and send what the contract accepts."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import pytest

from tests.support.workers import ROOT

pytestmark = pytest.mark.rabbitmq


def test_raw_pika_example_sends_a_contract_valid_message_with_its_priority(rabbit_url, rabbit):
    example = ROOT / "docs" / "examples" / "send_with_pika.py"
    message_id = subprocess.run(
        [sys.executable, str(example), rabbit_url], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    _method, properties, body = rabbit.channel.basic_get("refresh", auto_ack=True)
    envelope = json.loads(body)
    assert envelope["message_id"] == message_id and properties.priority == 2
    schemas = ROOT / "docs" / "schemas"
    jsonschema.validate(envelope, json.loads((schemas / "envelope.json").read_text()))
    jsonschema.validate(envelope["kwargs"], json.loads((schemas / f"{envelope['actor_name']}.json").read_text()))
