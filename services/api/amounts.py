"""Exact amounts in request bodies: prices, quantities, money and percentages as decimal strings
("101.25", not 101.25), as the answers give them, so no client's float rounds them on the way.

Each type states in the OpenAPI schema the digits of the column that stores it (services/storage/
models/columns.py): a value past them is refused here with its field named, not by the database.
A type is positive unless its name says otherwise.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema


def _amount(integer_digits: int, decimal_places: int, *, positive: bool = True) -> Any:
    digits = rf"[0-9]{{1,{integer_digits}}}(\.[0-9]{{1,{decimal_places}}})?"
    # A lookahead for "some digit is not 0": zero is no price, quantity or limit.
    pattern = rf"^(?=[0-9.]*[1-9]){digits}$" if positive else rf"^{digits}$"
    compiled = re.compile(pattern)
    example = "12.5"

    def parse(value: Any) -> Any:
        if isinstance(value, Decimal):  # a default, or a caller inside the process
            return value
        if not isinstance(value, str):
            raise ValueError(f'give a decimal string, e.g. "{example}" (not a JSON number)')
        if not compiled.match(value):
            sign = "a positive" if positive else "a"
            raise ValueError(
                f"give {sign} decimal of at most {integer_digits} digits before the point and "
                f'{decimal_places} after, e.g. "{example}"'
            )
        return Decimal(value)

    schema = {"type": "string", "pattern": pattern, "examples": [example]}
    return Annotated[Decimal, BeforeValidator(parse), WithJsonSchema(schema)]


# The columns' NUMERIC(precision, scale): price 24,10; quantity 28,10; money 24,4.
Price = _amount(14, 10)
Quantity = _amount(18, 10)
Money = _amount(20, 4)
Percent = _amount(3, 4)  # 2.5 is 2.5 %; a money column holds it
