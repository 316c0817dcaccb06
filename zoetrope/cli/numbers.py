"""Numbers as a user types them: plain ASCII digits, refused (naming the option) otherwise.

Python's int() and float(), and the parsers behind the options, take `1_0` as 10, `" 5"` as 5,
`٣` as 3 and `nan` or `1e999` as numbers: a slip at the keyboard that would run a job, grant
credits or set a quota unseen. Every int and float option and argument of `zoetrope` goes through
`check_typed` first.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import typer.core

from zoetrope.errors import InvalidRequest

if TYPE_CHECKING:
    from typer._click.core import Parameter  # the click typer ships

LARGEST = 2**63 - 1  # what a database's BIGINT (and SQLite's INTEGER) holds


def typed_name(param: Parameter) -> str:
    """The option as the user types it (`--seconds-per-day`), or an argument's name (`AMOUNT`)."""
    longs = [o for o in param.opts if o.startswith("--")]
    return (
        longs[0]
        if longs
        else (param.opts[0] if param.param_type_name == "option" else str(param.name).upper())
    )


def check_typed(param: Parameter, kind: type, value: Any) -> None:
    """Raise InvalidRequest naming `param` when the text typed for it is not a plain `kind`."""
    from zoetrope.jobs.request import is_decimal  # the API's reading of a number, here at the keyboard

    texts = value if isinstance(value, list | tuple) else [value]
    for text in texts:
        if not isinstance(text, str):
            continue  # a default, already a number
        name = typed_name(param)
        if kind is int:
            if not is_decimal(text, integer=True):
                raise InvalidRequest(
                    f"{name} {text!r} is not a whole number; type digits only, such as 10", param=name
                )
            if abs(int(text)) > LARGEST:
                raise InvalidRequest(f"{name} {text} is too large; the most is {LARGEST}", param=name)
        elif not is_decimal(text) or not math.isfinite(float(text)):
            raise InvalidRequest(f"{name} {text!r} is not a number; type digits such as 4 or 1.5", param=name)


def _strict(param: Parameter, kind: type) -> None:
    parse = param.process_value

    def process_value(ctx, value):
        check_typed(param, kind, value)
        return parse(ctx, value)

    param.process_value = process_value  # type: ignore[method-assign]


class ZoetropeGroup(typer.core.TyperGroup):
    """The `zoetrope` command: every number its commands take is read strictly (`check_typed`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        pending = list(self.commands.values())
        while pending:
            command = pending.pop()
            pending.extend(getattr(command, "commands", {}).values())
            for param in command.params:
                descriptor = getattr(param, "type_descriptor", None)
                kind = getattr(descriptor, "annotation", None)
                if kind in (int, float) and not getattr(param, "is_flag", False):
                    _strict(param, kind)
