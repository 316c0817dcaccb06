"""Numbers as a user types them: plain ASCII digits, refused (naming the option) otherwise.

Python's int() and float(), and the parsers behind the options, take `1_0` as 10, `" 5"` as 5,
`٣` as 3 and `nan` or `1e999` as numbers: a slip at the keyboard that would run a job, grant
credits or set a quota unseen. Every int and float option and argument of `zoetrope` goes through
`check_typed` first, which also refuses a number outside the option's `min`/`max` in one line
(the option, the range it takes, a number to type), where the parser's refusal is a framed box.

Text typed in a terminal that is not UTF-8 (Latin-1's `é` is the byte 0xE9) reaches Python as lone
surrogates, which no database, tokenizer or file can take: every text option and argument goes
through `check_text`, so it is refused naming the option instead of failing deep in a query.
"""

from __future__ import annotations

import inspect
import math
from typing import TYPE_CHECKING, Any, get_args, get_origin

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
        _check_range(param, name, text, kind(text))


def _check_range(param: Parameter, name: str, text: str, number: float) -> None:
    """Raise InvalidRequest naming `name` when `number` lies outside the option's `min`..`max`."""
    info = getattr(getattr(param, "type_descriptor", None), "parameter_info", None)
    if getattr(info, "clamp", False):
        return  # the option takes the nearest end of its range instead
    least, most = getattr(param, "min", None), getattr(param, "max", None)
    if (least is None or number >= least) and (most is None or number <= most):
        return
    if least is not None and most is not None:
        takes = f"from {_plain(least)} to {_plain(most)}"
    else:
        takes = f"of {_plain(least)} or more" if least is not None else f"of {_plain(most)} or less"
    default = param.default
    if isinstance(default, int | float) and not isinstance(default, bool):
        usual = f" (the default is {_plain(default)})"
    else:  # an option that falls back to a setting or the model's own value when left out
        usual = f", or leave {name} out" if param.param_type_name == "option" and not param.required else ""
    what = "a whole number" if isinstance(number, int) else "a number"
    raise InvalidRequest(f"{name} {text} is out of range; give {what} {takes}{usual}", param=name)


def _plain(number: float) -> str:
    """A limit as a user types it: every digit of a large whole number (no 9.2e+18), 0.5 not 0.500000."""
    return str(int(number)) if float(number).is_integer() else f"{number:g}"


def check_text(text: str, param: str) -> None:
    """Raise InvalidRequest naming `param` when `text` is not valid Unicode: a byte that is not UTF-8
    (a lone surrogate from the command line), or half a surrogate pair (a file's JSON `\\ud83d`)."""
    try:
        text.encode()
    except UnicodeEncodeError as e:
        code = ord(text[e.start])
        what = f"the byte 0x{code - 0xDC00:02X}, not UTF-8" if 0xDC80 <= code <= 0xDCFF else f"U+{code:04X}, half a pair"
        raise InvalidRequest(f"the text is not valid Unicode: it holds {what} (character {e.start + 1}); "
                             "type it, or save the file, as UTF-8", param=param) from None


def _strict(param: Parameter, kind: type) -> None:
    parse = param.process_value

    def process_value(ctx, value):
        if kind is str:
            for text in value if isinstance(value, list | tuple) else [value]:
                if isinstance(text, str):
                    check_text(text, typed_name(param))
        else:
            check_typed(param, kind, value)
        return parse(ctx, value)

    param.process_value = process_value  # type: ignore[method-assign]


# `zoetrope --help` lists the commands in these panels, in this order (a command not named here comes
# last, under "Commands").
HELP_PANELS = {
    "Make video": ("generate", "image", "animate", "extend", "loop", "blend", "remix", "recut", "storyboard"),
    "Run the service": ("serve", "worker", "mcp"),
    "Accounts and billing": ("accounts", "keys", "usage", "webhooks"),
    "Safety and provenance": ("moderate", "verify"),
    "The model": ("eval", "train"),
}
_HELP_ORDER = [name for names in HELP_PANELS.values() for name in names]


class ZoetropeGroup(typer.core.TyperGroup):
    """The `zoetrope` command: every number its commands take is read strictly (`check_typed`); its
    help lists the commands in the panels of `HELP_PANELS`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for panel, names in HELP_PANELS.items():
            for name in names:
                if name in self.commands:
                    self.commands[name].rich_help_panel = panel
        pending = list(self.commands.values())
        while pending:
            command = pending.pop()
            pending.extend(getattr(command, "commands", {}).values())
            if command.help:  # typer keeps a paragraph's line breaks after the first: the terminal wraps them
                command.help = "\n\n".join(
                    " ".join(p.split()) for p in inspect.cleandoc(command.help).split("\n\n")
                )
            for param in command.params:
                descriptor = getattr(param, "type_descriptor", None)
                kind = getattr(descriptor, "annotation", None)
                if get_origin(kind) in (list, tuple) and get_args(kind)[:1] == (str,):
                    kind = str  # an option given more than once: each of its texts
                if kind in (int, float, str) and not getattr(param, "is_flag", False):
                    _strict(param, kind)

    def list_commands(self, ctx: Any) -> list[str]:
        names = super().list_commands(ctx)
        return sorted(names, key=lambda n: _HELP_ORDER.index(n) if n in _HELP_ORDER else len(_HELP_ORDER))
