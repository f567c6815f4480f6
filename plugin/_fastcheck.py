"""A compiled accept-check for a cerberus schema: the hot path's validation.

cerberus stays the schema language and the source of every error message,
but walking a schema through cerberus costs about a millisecond per order
line. `compile_schema` turns a schema (the subset of rules exportgate's
schemas use) into nested closures that answer one question, fast: does
cerberus accept this document? It is only ever used to *accept*; a document
it does not accept goes through cerberus, which then says what is wrong, in
the same words as always. So the check may be stricter than cerberus but
never looser, and a schema with a rule it does not know compiles to a check
that accepts nothing (everything goes through cerberus). A ``check_with``
rule runs the validator's ``predicates[name]`` when it has one (a plain
function, fast), else its ``_check_with_<name>`` method against a probe.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Check = Callable[[Any], bool]


class UnknownRule(Exception):
    """The schema uses a rule this compiler does not implement."""


class _Probe:
    """Stands in for a validator when a ``check_with`` method runs: notes any error."""

    __slots__ = ("failed",)

    def __init__(self) -> None:
        self.failed = False

    def _error(self, *args: Any) -> None:
        self.failed = True


_KNOWN = {"type", "required", "nullable", "empty", "regex", "allowed", "min", "max",
          "minlength", "maxlength", "schema", "check_with", "keysrules", "valuesrules"}


def _type_check(validator: type, kinds: str | Sequence[str]) -> Check:
    names = [kinds] if isinstance(kinds, str) else list(kinds)
    defs = [validator.types_mapping[n] for n in names]  # type: ignore[attr-defined]
    pairs = [(tuple(d.included_types), tuple(d.excluded_types)) for d in defs]
    if len(pairs) == 1:
        inc, exc = pairs[0]
        return lambda value: isinstance(value, inc) and not isinstance(value, exc)

    def check(value: Any) -> bool:
        return any(isinstance(value, i) and not isinstance(value, e) for i, e in pairs)
    return check


def _field(validator: type, rules: Mapping[str, Any]) -> Check:
    """The checks of one field's rules (the value is present)."""
    unknown = set(rules) - _KNOWN
    if unknown:
        raise UnknownRule(", ".join(sorted(unknown)))
    checks: list[Check] = []
    if "type" in rules:
        checks.append(_type_check(validator, rules["type"]))
    if rules.get("empty") is False:
        checks.append(lambda v: not (isinstance(v, (str, Sequence, Mapping)) and len(v) == 0))
    if "regex" in rules:
        pattern = re.compile(rules["regex"])
        checks.append(lambda v: not isinstance(v, str) or pattern.fullmatch(v) is not None)
    if "allowed" in rules:
        allowed = list(rules["allowed"])
        checks.append(lambda v: v in allowed)
    if "min" in rules:
        low = rules["min"]
        checks.append(lambda v: v >= low)
    if "max" in rules:
        high = rules["max"]
        checks.append(lambda v: v <= high)
    if "minlength" in rules:
        n_min = rules["minlength"]
        checks.append(lambda v: len(v) >= n_min)
    if "maxlength" in rules:
        n_max = rules["maxlength"]
        checks.append(lambda v: len(v) <= n_max)
    if "check_with" in rules:
        name = rules["check_with"]
        if not isinstance(name, str):
            raise UnknownRule("check_with that is not a method name")
        predicate = getattr(validator, "predicates", {}).get(name)
        if predicate is not None:  # the validator's own predicate for the check
            checks.append(predicate)
        else:
            method = getattr(validator, f"_check_with_{name}")

            def custom(v: Any) -> bool:
                probe = _Probe()
                method(probe, "", v)
                return not probe.failed
            checks.append(custom)
    if "schema" in rules:
        inner = rules["schema"]
        kind = rules.get("type")
        if kind == "dict":
            checks.append(_mapping(validator, inner))
        elif kind == "list":
            item = _value(validator, inner)
            checks.append(lambda v: all(item(x) for x in v))
        else:
            raise UnknownRule("schema without a dict or list type")
    if "keysrules" in rules:
        key = _value(validator, rules["keysrules"])
        checks.append(lambda v: all(key(k) for k in v))
    if "valuesrules" in rules:
        val = _value(validator, rules["valuesrules"])
        checks.append(lambda v: all(val(x) for x in v.values()))

    if len(checks) == 1:
        only = checks[0]

        def check(value: Any) -> bool:
            try:
                return only(value)
            except TypeError:  # a comparison between unlike types: let cerberus say it
                return False
        return check

    def check_all(value: Any) -> bool:
        try:
            for c in checks:
                if not c(value):
                    return False
            return True
        except TypeError:  # a comparison between unlike types: let cerberus say it
            return False
    return check_all


def _value(validator: type, rules: Mapping[str, Any]) -> Check:
    """A value with its rules (list items, mapping keys and values): None only if nullable."""
    inner = _field(validator, rules)
    nullable = bool(rules.get("nullable"))
    return lambda v: (nullable if v is None else inner(v))


def _mapping(validator: type, schema: Mapping[str, Mapping[str, Any]]) -> Check:
    """A mapping with a schema of fields; fields not in the schema are allowed."""
    fields = [(name, _field(validator, rules), bool(rules.get("required")),
               bool(rules.get("nullable"))) for name, rules in schema.items()]

    def check(doc: Any) -> bool:
        if not isinstance(doc, Mapping):
            return False
        for name, field, required, nullable in fields:
            if name not in doc:
                if required:
                    return False
                continue
            value = doc[name]
            if value is None:
                if not nullable:
                    return False
            elif not field(value):
                return False
        return True
    return check


def compile_schema(validator: type, schema: Mapping[str, Mapping[str, Any]]) -> Check:
    """An accept-check for documents that ``validator(schema, allow_unknown=True)`` accepts."""
    try:
        return _mapping(validator, schema)
    except (UnknownRule, AttributeError, KeyError):
        return lambda doc: False
