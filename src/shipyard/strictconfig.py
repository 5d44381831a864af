"""Strict TOML tables read into frozen dataclasses: the generic machinery under config.py.

Why strict, and why the dataclass is the schema: see config.py. This module knows
nothing about Shipyard's settings — it checks a table's keys against a dataclass's
fields (unknown keys name the full key path and suggest the closest one), values
against the annotations (nested dataclasses become sub-tables, `Mapping[str, X]` of a
dataclass a table of named sections), and runs a field's metadata `check(value) ->
problem | None` after the type check or `parse(raw) -> value` instead of it (raising
Invalid). Errors are ConfigError that name the file.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from shipyard.errors import ConfigError

SHIPYARD_TOML = "shipyard.toml"

T = TypeVar("T")


class Invalid(Exception):
    """A value problem, phrased to follow the key path: 'must be ..., got ...'."""

    def __init__(self, problem: str, path_suffix: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
        self.path_suffix = path_suffix


def parse_table(
    cls: type[T],
    table: Mapping[str, Any],
    *,
    file: Path,
    prefix: str,
    fixed: Mapping[str, Any] | None = None,
) -> T:
    """Build the dataclass `cls` from a TOML table, checking every key against its fields.

    `prefix` is the table's key path ("tool.shipyard", or "" at top level) so
    messages name the full path; `fixed` supplies non-key fields and computed
    defaults (a value from the table wins over a computed default).
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    hints = typing.get_type_hints(cls)
    keys = {f.name: f for f in dataclasses.fields(cls) if f.metadata.get("key", True)}
    values: dict[str, Any] = dict(fixed or {})
    for key, raw in table.items():
        path = f"{prefix}.{key}" if prefix else key
        spec = keys.get(key)
        if spec is None:
            raise unknown_key(file, path, key, list(keys), top_level=not prefix)
        try:
            values[key] = _parse_value(raw, hints[key], spec, file=file, path=path)
        except Invalid as exc:
            raise ConfigError(f"{file}: {path}{exc.path_suffix} {exc.problem}") from None
    missing = [
        name for name, f in keys.items()
        if name not in values
        and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        path = f"{prefix}.{missing[0]}" if prefix else missing[0]
        raise ConfigError(f"{file}: missing required key {path}")
    return cls(**values)


def _parse_value(
    raw: Any, hint: Any, spec: dataclasses.Field[Any], *, file: Path, path: str
) -> Any:
    parse = spec.metadata.get("parse")
    if parse is not None:
        return parse(raw)
    value = _check_type(raw, hint, file=file, path=path)
    check = spec.metadata.get("check")
    problem = check(value) if check is not None else None
    if problem:
        raise Invalid(problem)
    return value


def _check_type(raw: Any, hint: Any, *, file: Path, path: str) -> Any:
    """Check a raw TOML value against a field's annotation; nested dataclasses recurse."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(args) == 1:
        hint = args[0]  # `X | None`: TOML has no null, so a present value must be an X
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        if not isinstance(raw, dict):
            raise Invalid(f"must be a table, got {show(raw)}")
        return parse_table(hint, raw, file=file, prefix=path)
    origin = typing.get_origin(hint)
    if origin is tuple:
        return string_list(raw)
    value_type = typing.get_args(hint)[-1] if origin in (Mapping, dict) else None
    if dataclasses.is_dataclass(value_type) and isinstance(value_type, type):
        # A table of named sections (environments.staging, ...): each one strict.
        if not isinstance(raw, dict):
            raise Invalid(f"must be a table of tables, got {show(raw)}")
        sections = {}
        for name, item in raw.items():
            try:
                sections[name] = _check_type(item, value_type, file=file, path=f"{path}.{name}")
            except Invalid as exc:
                raise Invalid(exc.problem, f".{name}{exc.path_suffix}") from None
        return types.MappingProxyType(sections)
    if origin in (Mapping, dict):
        return types.MappingProxyType(string_table(raw))
    expected = {str: "a string", int: "an integer", bool: "true or false", float: "a number"}
    if hint not in expected:
        raise TypeError(f"config field type {hint!r} needs a `parse` function in its metadata")
    ok = isinstance(raw, hint) and not (hint is int and isinstance(raw, bool))
    if hint is float and isinstance(raw, int) and not isinstance(raw, bool):
        ok, raw = True, float(raw)
    if not ok:
        raise Invalid(f"must be {expected[hint]}, got {show(raw)}")
    return raw


def string_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise Invalid(f"must be a list of strings, got {show(value)}")
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise Invalid(f"must be a string, got {show(item)}", f"[{index}]")
    return tuple(value)


def string_table(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise Invalid(f"must be a table of strings, got {show(value)}")
    for key, item in value.items():
        if not isinstance(item, str):
            raise Invalid(f"must be a string, got {show(item)} (quote it)", f".{key}")
    return dict(value)


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as stream:
            return tomllib.load(stream)
    except tomllib.TOMLDecodeError as exc:
        text = str(exc)
        where = re.search(r"\(at line (\d+), column (\d+)\)$", text)
        if where:
            position = f"at line {where[1]}, column {where[2]}"
        elif text.endswith("(at end of document)"):
            position = "at the end of the file"
        else:
            raise ConfigError(f"{path}: invalid TOML: {text}", hint="fix the syntax") from None
        reason = text[: text.rindex("(")].strip()
        raise ConfigError(f"{path}: invalid TOML {position}: {reason}",
                          hint="fix the syntax there") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason})",
                          hint="save the file as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror}") from None


def unknown_key(
    file: Path, path: str, key: str, valid: list[str], *, top_level: bool
) -> ConfigError:
    if top_level and key == "tool" and file.name == SHIPYARD_TOML:
        return ConfigError(
            f"{file}: unknown key {path} — shipyard.toml takes the settings at top level",
            hint="drop the [tool.shipyard] header",
        )
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    if close:
        return ConfigError(f"{file}: unknown key {path} — did you mean {close[0]!r}?")
    return ConfigError(f"{file}: unknown key {path}", hint=f"valid keys: {', '.join(valid)}")


def show(value: Any) -> str:
    """A value as TOML would spell it, shortened: "eighty", 80, true, an array, a table."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= 60 else text[:57] + '..."'
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__}"
