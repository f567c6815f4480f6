"""Validation with cerberus, and error messages a person can act on.

Every message names the record, the line and the field, e.g.
``order SO-1 line 20: quantity must be a positive integer, got -3``.
Orders are validated whole before anything is evaluated or reserved.
"""
from __future__ import annotations

import datetime
import functools
import json
import math
import re
from pathlib import Path
from typing import Any, Iterable, Mapping

import cerberus
import pycountry

from . import _schemas
from ._exceptions import ConfigError, ValidationError
from ._fastcheck import Check, compile_schema
from ._model import Order


#: User-assigned ISO 3166-1 codes in use by ERPs and trade lists, accepted as countries:
#: ``XK`` Kosovo (European Commission, SAP, NetSuite, Dynamics 365).
USER_ASSIGNED = {"XK": "Kosovo"}


def is_country(code: Any) -> bool:
    """True for a current ISO 3166-1 alpha-2 code (pycountry's list) or one of USER_ASSIGNED."""
    if not isinstance(code, str) or len(code) != 2 or not code.isascii() or not code.isupper():
        return False
    return code in USER_ASSIGNED or pycountry.countries.get(alpha_2=code) is not None


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _iso_date(value: Any) -> bool:
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return True


#: The custom checks (``check_with``) as predicates: True when the value passes.
#: The validator's methods give the messages; the compiled check (`_fastcheck`)
#: calls these directly.
PREDICATES: dict[str, Any] = {
    "id": lambda v: not isinstance(v, bool) and not (isinstance(v, str) and _CONTROL.search(v)),
    "finite": lambda v: not isinstance(v, bool) and not (isinstance(v, float)
                                                         and not math.isfinite(v)),
    "country": lambda v: not (isinstance(v, str) and len(v) == 2 and not is_country(v)),
    "iso_date": lambda v: not isinstance(v, str) or _iso_date(v),
    "not_bool": lambda v: not isinstance(v, bool),
}


class _Validator(cerberus.Validator):  # type: ignore[misc]
    # Booleans are not numbers anywhere: cerberus counts True as an integer.
    types_mapping = {**cerberus.Validator.types_mapping,
                     "integer": cerberus.TypeDefinition("integer", (int,), (bool,))}
    predicates = PREDICATES

    def _check_with_id(self, field: str, value: Any) -> None:
        if isinstance(value, bool):
            self._error(field, "must be a string, not a boolean")
        elif not PREDICATES["id"](value):
            self._error(field, "must not contain control characters (NUL, newline, ...)")

    def _check_with_finite(self, field: str, value: Any) -> None:
        if isinstance(value, bool):
            self._error(field, "must be a number, not a boolean")
        elif not PREDICATES["finite"](value):
            self._error(field, "must be a finite number (not NaN or infinity)")

    def _check_with_country(self, field: str, value: Any) -> None:
        if not PREDICATES["country"](value):
            self._error(field, "is not an ISO 3166-1 country code")

    def _check_with_iso_date(self, field: str, value: Any) -> None:
        if not PREDICATES["iso_date"](value):
            self._error(field, "not a calendar date")

    def _check_with_not_bool(self, field: str, value: Any) -> None:
        if not PREDICATES["not_bool"](value):
            self._error(field, "must be a number, not a boolean")


def _leaves(errors: Iterable[cerberus.errors.ValidationError]) -> list[Any]:
    out = []
    for err in errors:
        if err.is_group_error and err.child_errors:
            out.extend(_leaves(err.child_errors))
        else:
            out.append(err)
    return out


class _Shown:
    """A value as a message quotes it: short, and safe for any value (a 5,000-digit int)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        value = self.value
        if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
            return f"a {value.bit_length():,}-bit integer"
        try:
            text = repr(value)
        except (ValueError, RecursionError):
            return f"a {type(value).__name__}"
        return text if len(text) <= 120 else text[:117] + "..."


def _text_ok(value: Any) -> bool:
    """True when every string in ``value`` encodes as UTF-8: one pass in C, no paths built."""
    try:
        json.dumps(value, ensure_ascii=False, default=str).encode("utf-8")
    except (UnicodeEncodeError, ValueError, TypeError, RecursionError):
        return False
    return True


def check_text(doc: Any, what: str) -> str | None:
    """The path of the first string (or key) in ``doc`` that is not valid Unicode text.

    A lone UTF-16 surrogate (``"\\ud800"`` in JSON) cannot be written as UTF-8:
    not to the terminal, the audit log or the ledger. None if every string is fine.
    """
    if _text_ok(doc):
        return None
    stack: list[tuple[Any, str]] = [(doc, what)]
    while stack:
        value, where = stack.pop()
        if isinstance(value, str):
            if not value.isascii():
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    return where
        elif isinstance(value, Mapping):
            for k, v in value.items():
                if isinstance(k, str) and not k.isascii():
                    try:
                        k.encode("utf-8")
                    except UnicodeEncodeError:
                        return f"{where}.<key>"
                stack.append((v, f"{where}.{k}" if where else str(k)))
        elif isinstance(value, (list, tuple)):
            stack.extend((v, f"{where}.{n}") for n, v in enumerate(value))
    return None


def _describe(field: str, err: Any) -> str:
    rule, value, constraint = err.rule, _Shown(err.value), err.constraint
    leaf = field.rsplit(".", 1)[-1]
    custom = err.code == cerberus.errors.CUSTOM.code
    if rule == "max":
        return f"{field} must be at most {constraint:,}, got {value!r}"
    if leaf == "quantity" and (rule in ("type", "min", "check_with") or custom):
        return f"quantity must be a positive integer, got {value!r}"
    if rule == "required":
        return f"{field} is required"
    if rule == "type":
        kinds = constraint if isinstance(constraint, str) else " or ".join(constraint)
        return f"{field} must be of type {kinds}, got {value!r}"
    if rule == "regex":
        if "A-Z]{2}" in str(constraint):
            return f"{field} must be an ISO 3166-1 alpha-2 country code, got {value!r}"
        if r"\d{4}" in str(constraint):
            return f"{field} must be an ISO 8601 date (YYYY-MM-DD), got {value!r}"
        return f"{field} must match {constraint}, got {value!r}"
    if rule == "allowed":
        return f"{field} must be one of {', '.join(map(str, constraint))}, got {value!r}"
    if rule == "min":
        return f"{field} must be at least {constraint}, got {value!r}"
    if rule == "minlength":
        return f"{field} must not be empty"
    if rule == "empty":
        return f"{field} must not be empty"
    if rule == "nullable":
        return f"{field} must not be null"
    if rule == "check_with" or custom:
        return f"{field} {err.info[0] if err.info else 'is invalid'}, got {value!r}"
    if rule is None or rule == "unknown" or err.code == cerberus.errors.UNKNOWN_FIELD.code:
        return f"{field} is not a known field"
    return f"{field} is invalid ({rule}: {constraint}), got {value!r}"


@functools.lru_cache(maxsize=1)
def _order_validator() -> _Validator:
    """One validator for every order: building one parses the schema, which is slow."""
    return _Validator(_schemas.ORDER, allow_unknown=True)


@functools.lru_cache(maxsize=1)
def _order_check() -> Check:
    """The compiled accept-check of the order schema (`_fastcheck`): valid orders skip cerberus."""
    return compile_schema(_Validator, _schemas.ORDER)


def validate_order(doc: Any, source: str | None = None) -> dict[str, Any]:
    """Check a canonical order document; raise ValidationError on the first problem.

    A valid order is accepted by the compiled check alone; any other goes
    through cerberus, which names the first problem.
    """
    if not isinstance(doc, Mapping):
        raise ValidationError(f"an order must be a JSON object, got {type(doc).__name__}",
                              record=source)
    record = str(doc.get("id")) if doc.get("id") not in (None, "") else (source or "?")
    raw_id = doc.get("id")
    if not isinstance(raw_id, (str, int)) or isinstance(raw_id, bool) \
            or any(ord(c) < 0x20 or ord(c) == 0x7f for c in record) \
            or check_text(record, "") is not None:
        record = source or "?"
    bad = check_text(doc, "")
    if bad is not None:
        line, field = None, bad or "record"
        parts = bad.split(".")
        if len(parts) >= 2 and parts[0] == "lines" and parts[1].isdigit():
            line, field = f"#{int(parts[1]) + 1}", ".".join(parts[2:]) or "record"
        raise ValidationError(f"{field} is not valid Unicode text (a lone surrogate?)",
                              record=record, line=line, field=field)
    if _order_check()(doc):
        return dict(doc)
    v = _order_validator()
    if v.validate(dict(doc)):
        return dict(v.document)
    leaves = sorted(_leaves(v._errors), key=lambda e: [str(p) for p in e.document_path])
    found = [_where(doc, leaf) for leaf in leaves]
    line, field = found[0]
    rest = "".join(f"; {'line ' + ln + ': ' if ln is not None else ''}{_describe(f, leaf)}"
                   for (ln, f), leaf in zip(found[1:], leaves[1:], strict=True))
    raise ValidationError(_describe(field, leaves[0]) + rest, record=record, line=line,
                          field=field)


def _where(doc: Mapping[str, Any], err: Any) -> tuple[str | None, str]:
    """The line (its id, else ``#n``) and the field within it that a schema error names."""
    path = list(err.document_path)
    line = None
    if len(path) >= 2 and path[0] == "lines" and isinstance(path[1], int):
        raw = doc["lines"][path[1]]
        line = str(raw.get("id")) if isinstance(raw, Mapping) and raw.get("id") is not None \
            else f"#{path[1] + 1}"
        path = path[2:]
    return line, ".".join(str(p) for p in path) or "record"


def order_from_dict(doc: Any, source: str | None = None) -> Order:
    """Validate a canonical order document and build the typed Order."""
    clean = validate_order(doc, source)
    return Order.from_dict(clean)


def validate_data(doc: Any, schema: dict[str, Any], what: str,
                  allow_unknown: bool = False) -> dict[str, Any]:
    """Validate a data or configuration document; ConfigError names the key."""
    if not isinstance(doc, Mapping):
        raise ConfigError(f"{what}: expected a mapping at the top level")
    bad = check_text(doc, "")
    if bad is not None:
        raise ConfigError(f"{what}: {bad or 'document'} is not valid Unicode text "
                          "(a lone surrogate?)")
    v = _Validator(schema, allow_unknown=allow_unknown)
    if not v.validate(dict(doc)):
        leaves = sorted(_leaves(v._errors), key=lambda e: [str(p) for p in e.document_path])
        raise ConfigError(f"{what}: " + "; ".join(
            _describe(".".join(str(p) for p in leaf.document_path) or "document", leaf)
            for leaf in leaves))
    return dict(v.document)


def load_yaml(path: Path, what: str) -> Any:
    """Read a YAML (or JSON) file within size, depth and alias limits (`_yaml`).

    A missing, malformed or oversized file is a ConfigError.
    """
    from . import _yaml
    return _yaml.load(path, what)
