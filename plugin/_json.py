"""Strict JSON: the one reader for every JSON document exportgate is handed.

Used for orders, configuration, license files and the answers of a sidecar,
wherever a value decides something. Python's `json` takes the last of two
equal keys silently (`"quantity": 3, "quantity": 5000` reads as 5000); which
one the sender meant is unknown, so a duplicate key is refused with the path
of the object that repeats it. NaN, Infinity and numbers too large for a float
are refused too: they are not JSON numbers.
"""
from __future__ import annotations

import json
from typing import Any


class DuplicateKeyError(ValueError):
    """An object of the document names the same key twice.

    ``path`` is where the key stands (``lines[1].quantity``); a ValueError, so
    callers that refuse malformed JSON refuse this too.
    """

    def __init__(self, key: str, path: str) -> None:
        self.key = key
        self.path = path
        super().__init__(f'duplicate key "{key}" at {path}: which value was meant is unknown')


class _Repeated(Exception):
    """Raised inside the parser on the first repeated key; located afterwards."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"{text[:40]} is too large for a number")
    return value


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _Repeated()
    return out


def _keep_pairs(pairs: list[tuple[str, Any]]) -> Any:
    return _Pairs(pairs)


class _Pairs(list):  # type: ignore[type-arg]
    """An object read with its pairs kept, repeats and all (to locate a repeat)."""


def _locate(value: Any, path: str) -> DuplicateKeyError | None:
    """The first repeated key in document order, with its path."""
    if isinstance(value, _Pairs):
        seen: set[str] = set()
        for key, item in value:
            if key in seen:
                return DuplicateKeyError(key, f"{path}.{key}" if path else key)
            seen.add(key)
        for key, item in value:
            found = _locate(item, f"{path}.{key}" if path else key)
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _locate(item, f"{path}[{i}]")
            if found is not None:
                return found
    return None


def loads(text: str | bytes) -> Any:
    """Parse ``text`` strictly.

    Raises `json.JSONDecodeError` for text that is not JSON,
    `DuplicateKeyError` for a repeated key, `ValueError` for NaN, Infinity or
    a number too large for a float, and `RecursionError` past Python's nesting
    limit: callers turn each into an input error naming the document.
    """
    try:
        return json.loads(text, object_pairs_hook=_unique, parse_constant=_reject_constant,
                          parse_float=_finite)
    except _Repeated:
        pass
    doc = json.loads(text, object_pairs_hook=_keep_pairs, parse_constant=_reject_constant,
                     parse_float=_finite)
    found = _locate(doc, "")
    raise found if found is not None else DuplicateKeyError("?", "?")
