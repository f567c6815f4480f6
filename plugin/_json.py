"""Strict JSON: the one reader for every JSON document exportgate is handed.

Used for orders, configuration, license files and the answers of a sidecar,
wherever a value decides something. Python's `json` takes the last of two
equal keys silently (`"quantity": 3, "quantity": 5000` reads as 5000); which
one the sender meant is unknown, so a duplicate key is refused with the path
of the object that repeats it. NaN, Infinity and numbers too large for a float
are refused too: they are not JSON numbers (a number too large names its path).
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


class TooLargeError(ValueError):
    """A number of the document is too large for a float (``1e400``).

    ``path`` is where it stands (``lines[0].quantity``): without it, the
    parser could only say that some number somewhere was too large.
    """

    def __init__(self, literal: str, path: str) -> None:
        self.path = path
        super().__init__(f"{literal[:40]} is too large for a number at {path or 'the top level'}")


class _Repeated(Exception):
    """Raised inside the parser on the first repeated key; located afterwards."""


class _Overflow(Exception):
    """Raised inside the parser on the first number too large; located afterwards."""


class _Big(str):
    """A number too large for a float, kept as written (to locate it)."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _Overflow()
    return value


def _marked(text: str) -> Any:
    value = float(text)
    return _Big(text) if value in (float("inf"), float("-inf")) else value


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _Repeated()
    return out


def _keep_pairs(pairs: list[tuple[str, Any]]) -> Any:
    return _Pairs(pairs)


class _Pairs(list):  # type: ignore[type-arg]
    """An object read with its pairs kept, repeats and all (to locate a repeat)."""


def _locate(value: Any, path: str) -> ValueError | None:
    """The first repeated key or number too large in document order, with its path."""
    if isinstance(value, _Big):
        return TooLargeError(value, path)
    if isinstance(value, _Pairs):
        seen: set[str] = set()
        for key, _item in value:
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
    `DuplicateKeyError` for a repeated key, `TooLargeError` for a number too
    large for a float, `ValueError` for NaN or Infinity, and `RecursionError`
    past Python's nesting limit: callers turn each into an input error naming
    the document.
    """
    try:
        return json.loads(text, object_pairs_hook=_unique, parse_constant=_reject_constant,
                          parse_float=_finite)
    except (_Repeated, _Overflow):
        pass
    doc = json.loads(text, object_pairs_hook=_keep_pairs, parse_constant=_reject_constant,
                     parse_float=_marked)
    found = _locate(doc, "")
    raise found if found is not None else DuplicateKeyError("?", "?")
