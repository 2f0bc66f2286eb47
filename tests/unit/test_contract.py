import re
from pathlib import Path

import jsonschema
import pytest

from services.contract import CONTRACT, ActorSpec, Contract, Payload
from services.contract.envelope import check_envelope, new_message
from services.contract.export import envelope_schema, export_schemas
from services.engine.priority import Priority
from services.engine.topology import QUEUES
from services.errors import MessageRejected, PayloadInvalid, UnknownActor

DESIGN = Path(__file__).resolve().parents[3] / "shared" / "DESIGN.md"


def design_actor_names() -> set[str]:
    table = DESIGN.read_text().split("## Domain actors", 1)[1].split("\n\n", 2)[1]
    return set(re.findall(r"`([a-z_]+)`", table))


@pytest.mark.skipif(not DESIGN.exists(), reason="shared/DESIGN.md is not beside the checkout")
def test_contract_has_every_actor_of_design_md_and_on_a_known_queue():
    product = {spec.name for spec in CONTRACT if not spec.name.startswith(("probe_", "bench_"))}
    assert product == design_actor_names()
    assert {spec.queue for spec in CONTRACT} <= set(QUEUES)


def test_orders_are_critical_and_maintenance_is_low():
    assert CONTRACT.get("process_orders").priority is Priority.CRITICAL
    assert CONTRACT.get("process_orders").queue == "orders"
    assert all(s.priority is Priority.LOW for s in CONTRACT if s.queue == "maintenance")


def test_unknown_actor_is_refused():
    with pytest.raises(UnknownActor, match="no_such"):
        CONTRACT.get("no_such")


def test_payload_errors_name_every_bad_field():
    with pytest.raises(PayloadInvalid) as error:
        CONTRACT.get("fetch_market_data").validate({"symbols": [], "interval": "2d", "extra": 1})
    message = str(error.value)
    assert "symbols" in message and "interval" in message and "extra" in message


def test_registering_a_different_spec_under_a_taken_name_is_refused():
    class P(Payload):
        x: int

    contract = Contract([ActorSpec("a", "refresh", P)])
    contract.register(ActorSpec("a", "refresh", P))
    with pytest.raises(ValueError, match="already"):
        contract.register(ActorSpec("a", "orders", P))


def test_new_message_is_a_valid_envelope_with_priority_and_overrides():
    spec = CONTRACT.get("fetch_market_data")
    message = new_message(
        spec, {"symbols": ["AAPL"], "start": "2026-01-02"}, priority="high", retry={"max_retries": 0}, time_limit_s=30
    )
    assert check_envelope(message) is message
    assert message["kwargs"] == {"symbols": ["AAPL"], "start": "2026-01-02"}
    assert message["options"]["broker_priority"] == Priority.HIGH.amqp
    assert message["options"]["retry_policy"]["max_retries"] == 0
    assert message["options"]["time_limit"] == 30_000
    jsonschema.validate(message, envelope_schema())


@pytest.mark.parametrize(
    "bad",
    [
        [],
        {"queue_name": "x"},
        {
            **dict.fromkeys(["queue_name", "actor_name", "message_id"], "x"),
            "args": [],
            "kwargs": {},
            "options": {},
            "message_timestamp": True,
        },
    ],
)
def test_malformed_envelopes_are_rejected(bad):
    with pytest.raises(MessageRejected) as error:
        check_envelope(bad)
    assert error.value.reason == "malformed_envelope"


def test_exported_schemas_validate_what_the_contract_accepts_and_refuse_what_it_refuses(tmp_path):
    export_schemas(tmp_path)
    schema = __import__("json").loads((tmp_path / "fetch_market_data.json").read_text())
    jsonschema.validate({"symbols": ["AAPL", "BTC-USD"], "interval": "1h"}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"symbols": "AAPL"}, schema)
    assert schema["x-tickwork"]["queue"] == "refresh"
    index = __import__("json").loads((tmp_path / "contract.json").read_text())
    assert index["process_orders"]["default_priority"] == "critical"


def test_committed_schemas_match_the_code(tmp_path):
    # docs/schemas is what other services read: it must be regenerated when the contract changes.
    committed = Path(__file__).resolve().parents[2] / "docs" / "schemas"
    export_schemas(tmp_path, Contract(s for s in CONTRACT if not s.name.startswith(("probe_", "bench_"))))
    for path in tmp_path.iterdir():
        assert (committed / path.name).read_text() == path.read_text(), f"run `tickwork contract export` ({path.name})"
