"""Whole numbers from a query string or a JSON body, in plain ASCII decimal digits only.

Pydantic's lax mode reads a string the way Python's int() does, so `limit=1_0`, `" 10"` and
`"10.0"` would pass as 10; a client that wrote one of them most likely meant something else.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from zoetrope.jobs.request import is_decimal


def _plain_integer(value: object) -> object:
    if isinstance(value, str) and not is_decimal(value, integer=True):
        raise PydanticCustomError(
            "plain_integer",
            "must be a whole number in ASCII digits, like 20, not {value}",
            {"value": repr(value)},
        )
    return value


# An int that a string gives only as digits with an optional sign ("20", not "1_0", " 20" or "2e1").
PlainInt = Annotated[int, BeforeValidator(_plain_integer)]
