"""What the API reads is taken only in its own JSON type, and ids only within their column."""

from __future__ import annotations

import pytest
from fastapi import HTTPException
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import DataError, IntegrityError

from services.api.lookups import row_id, text_id
from services.api.routes.tasks import PortfolioPerformanceRequest
from services.api.schemas import DeadLetterSelection, JobToggle, RetryOverride, TaskCreate
from services.api.schemas_notifications import RecipientCreate, RuleCreate, RuleToggle
from services.api.strict import QueryBool, QueryTimestamp
from services.contract import CONTRACT
from services.contract.fields import INTEGER_MAX
from services.engine.error_text import error_message, error_traceback
from services.engine.retry_policy import is_retryable
from services.errors import MessageRejected, PayloadInvalid


class Query(BaseModel):
    created_before: QueryTimestamp | None = None
    stale: QueryBool = False


@pytest.mark.parametrize(
    ("model", "body", "field"),
    [
        (DeadLetterSelection, {"all": "true"}, "all"),
        (DeadLetterSelection, {"all": 1}, "all"),
        (JobToggle, {"paused": 0}, "paused"),
        (JobToggle, {"paused": "false"}, "paused"),
        (TaskCreate, {"actor": "a", "scheduled_for": 0}, "scheduled_for"),
        (TaskCreate, {"actor": "a", "scheduled_for": "0"}, "scheduled_for"),
        (TaskCreate, {"actor": "a", "scheduled_for": "2030-01-01"}, "scheduled_for"),
        (RetryOverride, {"max_retries": "3"}, "max_retries"),
        (RetryOverride, {"max_retries": True}, "max_retries"),
        (RetryOverride, {"jitter": "0.5"}, "jitter"),
        (RuleToggle, {"active": "yes"}, "active"),
        (RuleCreate, {"kind": "drawdown", "cooldown_s": "60"}, "cooldown_s"),
        (RecipientCreate, {"account": "a", "channel": "email", "address": "a@b.io", "alerts": 1}, "alerts"),
        (PortfolioPerformanceRequest, {"portfolio_id": 1, "days": "30"}, "days"),
        (PortfolioPerformanceRequest, {"portfolio_id": "1"}, "portfolio_id"),
    ],
)
def test_a_body_field_given_in_another_json_type_is_refused(model, body, field):
    with pytest.raises(ValidationError) as refused:
        model.model_validate(body)
    assert field in str(refused.value)


def test_real_json_values_are_still_taken():
    assert DeadLetterSelection.model_validate({"all": True}).all is True
    assert JobToggle.model_validate({"paused": False}).paused is False
    created = TaskCreate.model_validate({"actor": "a", "scheduled_for": "2030-01-02T09:30:00Z"})
    assert created.scheduled_for is not None and created.scheduled_for.year == 2030
    assert RetryOverride.model_validate({"first_delay_s": 5, "jitter": 0.5}).first_delay_s == 5.0


@pytest.mark.parametrize("value", ["0.5", "0", "1700000000", "2030-01-01", "yesterday"])
def test_a_query_date_time_must_be_iso_8601_text(value):
    with pytest.raises(ValidationError, match="ISO 8601"):
        Query.model_validate({"created_before": value})


@pytest.mark.parametrize("value", ["1", "yes", "on", "True", ""])
def test_a_query_boolean_is_true_or_false(value):
    with pytest.raises(ValidationError, match="true or false"):
        Query.model_validate({"stale": value})
    assert Query.model_validate({"stale": "true"}).stale is True


@pytest.mark.parametrize("value", [2**31, 2**63, 10**23, 0, -1])
def test_ids_out_of_their_column_fail_the_contract(value):
    for actor, parameters in (
        ("refresh_portfolio", {"portfolio_id": value}),
        ("run_bot", {"bot_id": value}),
        ("send_alert", {"title": "t", "message": "m", "portfolio_id": value}),
        ("generate_reports", {"kind": "daily", "portfolio_id": value}),
    ):
        with pytest.raises(PayloadInvalid, match=r"portfolio_id|bot_id"):
            CONTRACT.get(actor).validate(parameters)
    with pytest.raises(ValidationError):
        RecipientCreate.model_validate({"account": "a", "channel": "email", "address": "a@b.io", "portfolio_id": value})
    CONTRACT.get("refresh_portfolio").validate({"portfolio_id": INTEGER_MAX})


def test_the_exported_schemas_bound_every_id():
    schema = CONTRACT.get("refresh_portfolio").json_schema()
    assert schema["properties"]["portfolio_id"]["maximum"] == INTEGER_MAX


@pytest.mark.parametrize("value", [2**31, 2**63, 10**23, 0, -5])
def test_looking_up_an_id_no_row_can_have_is_not_found(value):
    with pytest.raises(HTTPException) as answer:
        row_id("portfolio", value)
    assert answer.value.status_code == 404
    assert row_id("portfolio", INTEGER_MAX) == INTEGER_MAX


@pytest.mark.parametrize("value", ["a\x00b", "tab\there", "x" * 129])
def test_looking_up_a_text_id_no_row_can_have_is_not_found(value):
    with pytest.raises(HTTPException) as answer:
        text_id("task", value)
    assert answer.value.status_code == 404


def _data_error() -> DataError:
    class NumericValueOutOfRange(Exception):
        pass

    orig = NumericValueOutOfRange("integer out of range")
    return DataError("SELECT portfolios.id FROM portfolios WHERE portfolios.id = %(pk)s", {"pk": 2**31}, orig)


def test_a_database_data_error_is_not_retried_and_other_errors_are():
    assert not is_retryable(_data_error())
    assert not is_retryable(MessageRejected("r", "d"))
    assert is_retryable(IntegrityError("INSERT", {}, Exception("duplicate")))
    assert is_retryable(TimeoutError())


def test_a_statement_error_is_written_down_without_its_sql():
    error = _data_error()
    assert "SELECT" in str(error)  # what SQLAlchemy would have shown
    assert error_message(error) == "NumericValueOutOfRange: integer out of range"
    try:
        try:
            raise error
        except DataError as inner:
            raise RuntimeError("refresh failed") from inner
    except RuntimeError as outer:
        text = error_traceback(outer)
    assert "SELECT" not in text and "portfolios.id" not in text and "2147483648" not in text
    assert "integer out of range" in text and "refresh failed" in text


def test_an_integral_json_number_is_an_integer_and_a_fraction_is_not():
    assert PortfolioPerformanceRequest.model_validate({"portfolio_id": 7.0, "days": 30.0}).portfolio_id == 7
    for bad in (7.5, "7", True):
        with pytest.raises(ValidationError):
            PortfolioPerformanceRequest.model_validate({"portfolio_id": bad})
