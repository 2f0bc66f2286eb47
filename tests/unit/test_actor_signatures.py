"""Every actor takes exactly its payload's fields: the declared wrapper calls it with the validated
payload (actors/declare.py), so a parameter the contract lacks, or a default that differs from the
schema's, would be a lie about what the actor receives."""

from __future__ import annotations

import inspect

import pytest
from pydantic_core import PydanticUndefined

from actors import broker  # registers every implemented actor (other tests may swap the global broker)
from services.contract import CONTRACT


def _implemented() -> list[str]:
    declared = set(broker.get_declared_actors())
    return sorted(spec.name for spec in CONTRACT if spec.name in declared)


def test_every_domain_actor_is_checked():
    assert {"refresh_portfolio", "fetch_market_data", "generate_digest", "backup_data"} <= set(_implemented())


@pytest.mark.parametrize("name", _implemented())
def test_actor_signature_equals_its_payload_fields(name):
    # Given the actor function and the fields its payload passes it
    spec = CONTRACT.get(name)
    fields = spec.payload.model_fields
    parameters = inspect.signature(broker.get_actor(name).fn).parameters

    # Then the parameter names are the fields, in order, and the defaults agree
    assert list(parameters) == list(spec.arguments)
    for argument, parameter in parameters.items():
        field = fields[argument]
        assert parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY), argument
        if field.default is PydanticUndefined:
            # Required, or built by a default factory: the wrapper always passes it, so no default.
            assert parameter.default is parameter.empty, argument
        else:
            assert parameter.default == field.default, argument


def test_a_refused_field_is_not_an_argument():
    # account_id is accepted only empty (refused when set), so the actor never receives it
    assert "account_id" in CONTRACT.get("generate_digest").payload.model_fields
    assert "account_id" not in CONTRACT.get("generate_digest").arguments
