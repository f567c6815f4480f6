"""A record as the host gave it, and the one way text becomes one (`parse_record`).

Every input path reads records here: the command line's files (`_input`),
the service's request bodies, adapters that read a record's text again
(`Record.from_text`). JSON is read strictly (`_json`) and within limits.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from . import _json
from ._exceptions import InputError
from ._yaml import too_deep

#: Reading limits: one JSON record (a line of a batch, or a whole file) and its nesting.
MAX_RECORD_BYTES = 64 * 1024 * 1024
MAX_RECORD_DEPTH = 64
_BOM = "\ufeff"


@dataclass(frozen=True)
class Record:
    """One raw record as the host gave it.

    ``text`` is the record's text; ``data`` is its parsed value when the text
    is JSON (else ``None``); ``source`` says where it came from
    (``orders.jsonl:3``) so errors can name it.
    """

    text: str
    data: Any
    source: str
    #: Why the record could not be read (a line of a ``--keep-going`` batch that is
    #: not JSON): it stands in the input's order, and reading it raises this.
    unreadable: str | None = None

    @classmethod
    def from_text(cls, text: str, source: str) -> "Record":
        """The record of a text, read as every file is (`parse_record`).

        JSON is parsed strictly: broken JSON, a repeated key or a number too
        large is an `InputError` naming ``source``, never a record no adapter
        claims. Other text (CSV, XML, JSON lines) is kept as text.
        """
        return parse_record(text, source)

    @classmethod
    def from_value(cls, value: Any, source: str) -> "Record":
        return cls(text=json.dumps(value), data=value, source=source)


def parse_record(text: str, source: str) -> Record:
    """One record; JSON is read strictly and within limits (InputError naming ``source``).

    A repeated key is refused with its path (which value was meant is
    unknown); NaN, Infinity and numbers too large for a float are not JSON
    numbers; a record above `MAX_RECORD_BYTES` or nested deeper than
    `MAX_RECORD_DEPTH` is refused before anything walks it. A leading byte
    order mark is dropped. Text that is not JSON is handed on as text (a CSV
    or an IDoc), and so is JSON lines (several values: ``data`` is ``None``).
    `Record.from_text` is this function.
    """
    if len(text) > MAX_RECORD_BYTES:
        raise InputError(f"{source}: larger than {MAX_RECORD_BYTES // (1024 * 1024)} MiB")
    text = text.removeprefix(_BOM)
    stripped = text.lstrip()
    if stripped[:1] not in ("{", "["):
        return Record(text=text, data=None, source=source)
    try:
        data = _json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":  # not JSON lines either: broken or truncated JSON
            raise InputError(f"{source}: invalid JSON at line {exc.lineno} column {exc.colno} "
                             f"({exc.msg})") from None
        return Record(text=text, data=None, source=source)
    except RecursionError:
        raise InputError(f"{source}: nested more than {MAX_RECORD_DEPTH} levels deep") \
            from None
    except ValueError as exc:  # a repeated key, NaN, Infinity, 1e400, 5000 digits
        if _syntax(text) == "several":  # JSON lines: each line is read, and refused, alone
            return Record(text=text, data=None, source=source)
        detail = str(exc) if isinstance(exc, _json.DuplicateKeyError) \
            else f"not valid JSON: {exc}"
        raise InputError(f"{source}: {detail[:200]}") from None
    if (text.count("{") + text.count("[") > MAX_RECORD_DEPTH
            and too_deep(data, MAX_RECORD_DEPTH)):
        raise InputError(f"{source}: nested more than {MAX_RECORD_DEPTH} levels deep")
    return Record(text=text, data=data, source=source)


def _syntax(text: str) -> str:
    """What ``text`` is by JSON syntax alone: ``one`` value, ``several`` or ``broken``.

    A repeated key, NaN or a number too large do not count: they tell a
    record's error, not where the record ends.
    """
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return "several" if exc.msg == "Extra data" else "broken"
    except (ValueError, RecursionError):
        return "one"
    return "one"
