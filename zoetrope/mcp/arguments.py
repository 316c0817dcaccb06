"""Checks of a call's arguments against what a tool or prompt declares, answered in the API's
words: each rejected field by name, what it takes, and what was sent."""

from __future__ import annotations

from pydantic import ValidationError

from zoetrope.errors import InvalidRequest


def argument_error(tool: str, error: ValidationError, fields: dict) -> InvalidRequest:
    """`tool`'s rejected arguments as one InvalidRequest whose `param` is the first of them."""
    problems, params = [], []
    for err in error.errors(include_url=False):
        field = ".".join(str(part) for part in err["loc"]) or "arguments"
        params.append(field)
        sent = "" if err["type"] == "missing" else f" (got {_short(err.get('input'))})"
        hint = (fields.get(str(err["loc"][0]), {}).get("description") or "") if err["loc"] else ""
        problems.append(f"`{field}`: {err['msg']}{sent}" + (f" [{hint.rstrip('.')}]" if hint else ""))
    return InvalidRequest(f"{tool}: " + "; ".join(problems), param=params[0] if params else None)


def undeclared_argument(tool: str, arguments: dict, fields: dict) -> InvalidRequest | None:
    """An InvalidRequest for the first argument `tool` does not take (a misspelt `duration` for
    `seconds` would otherwise be dropped, and the default used without a word), or for `true` or
    `false` sent where a number belongs (pydantic would read `true` as 1); None when all are fine."""
    for name, value in arguments.items():
        if name not in fields:
            known = ", ".join(fields) or "none"
            return InvalidRequest(f"{tool} takes no argument `{name}`; it takes: {known}", param=name)
        if isinstance(value, bool) and "boolean" not in _types(fields[name]):
            return InvalidRequest(
                f"{tool}: `{name}` must be a number, not {str(value).lower()} [{fields[name].get('description', '')}]",
                param=name,
            )
    return None


def _types(schema: dict) -> set[str]:
    """The JSON types a property's schema admits (`anyOf` included)."""
    found = {schema["type"]} if isinstance(schema.get("type"), str) else set(schema.get("type") or ())
    for option in schema.get("anyOf", ()):
        found |= _types(option)
    return found


def prompt_problem(name: str, arguments: dict | None, declared: list, known: list[str]) -> str | None:
    """Why `arguments` cannot render prompt `name` (unknown prompt, a missing or an undeclared
    argument), or None when they can. `declared` are the prompt's arguments, None when it is unknown."""
    if declared is None:
        return f"unknown prompt {name!r}; this server has: {', '.join(known)}"
    names = [a.name for a in declared]
    given = arguments or {}
    if missing := [a.name for a in declared if a.required and not str(given.get(a.name) or "").strip()]:
        return f"prompt {name!r} needs the argument {missing[0]!r} ({_describe(declared, missing[0])})"
    if extra := [k for k in given if k not in names]:
        return f"prompt {name!r} takes no argument {extra[0]!r}; it takes: {', '.join(names)}"
    return None


def _describe(declared: list, name: str) -> str:
    return next((a.description or "" for a in declared if a.name == name), "").rstrip(".")


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
