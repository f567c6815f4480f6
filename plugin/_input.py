"""One input path: how a file becomes records, for every command and the Python API.

A file is one record (a JSON document, a CSV export, an IDoc), or JSON lines:
one record a line. JSON is read strictly (`_json`) and within limits: a
repeated key, NaN, Infinity, numbers too large for a float, records above
`MAX_RECORD_BYTES` or nested deeper than `MAX_RECORD_DEPTH` are input errors
naming the file, the line and, where it has one, the field's path. A UTF-8
byte order mark is not content: it is dropped before anything reads the text.
`RecordFile` streams a JSON-lines file line by line and can be read more
than once (a batch validates everything, then decides), so a batch's memory
does not grow with its input; standard input is spooled to a temporary file
for that.
"""
from __future__ import annotations

import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from typing import IO, Any

from ._record import _BOM, Record, _syntax
from ._record import parse_record as parse_record  # the service reads its bodies here
from ._exceptions import InputError

_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*\sencoding=["']([A-Za-z0-9._-]{1,40})["']""")


def _decode(raw: bytes, path: str) -> str:
    """UTF-8, or the encoding an XML declaration names (an IDoc in ISO-8859-1 says so)."""
    try:
        return raw.decode("utf-8").removeprefix(_BOM)
    except UnicodeDecodeError:
        pass
    declared = _XML_ENCODING.match(raw[:200])  # an IDoc in ISO-8859-1 says so
    if declared:
        try:
            return raw.decode(declared.group(1).decode("ascii"))
        except (LookupError, UnicodeDecodeError):
            raise InputError(f"{path}: not {declared.group(1).decode('ascii')} text, as its "
                             "XML declaration says") from None
    raise InputError(f"{path}: not UTF-8 text")


def records_from_text(text: str, name: str, batch: bool,
                      whole_file: Callable[[Record], bool] = lambda record: False,
                      on_error: Callable[[InputError], None] | None = None
                      ) -> Iterator[Record]:
    """The records of a file's text: JSON lines give one record a line (unless
    ``whole_file`` says an adapter reads them as one), anything else is one
    record. Every line is parsed before the first record is handed on; with
    ``on_error`` a malformed line is reported there and the others go on."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    if not first:
        raise InputError(f"{name}: the file is empty")
    if batch and first.lstrip().startswith("{"):
        try:
            whole = parse_record(text, name)
        except InputError:
            if _syntax(first) == "broken":  # one document over many lines: its own error
                raise
            whole = Record(text=text, data=None, source=name)
        if whole.data is not None or whole_file(whole):
            yield whole
            return
        good: list[int] = []  # parsed once to check, again when handed on: less memory
        lines = text.splitlines()
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                if parse_record(line, f"{name}:{n}").data is None:
                    raise InputError(f"{name}:{n}: not valid JSON")
            except InputError as exc:
                if on_error is None:
                    raise
                on_error(exc)
                continue
            good.append(n)
        for n in good:
            yield parse_record(lines[n - 1], f"{name}:{n}")
        return
    yield parse_record(text, name)


class RecordFile:
    """The records of a file, read afresh on every iteration (streamed for JSON lines).

    ``whole_file(record)`` says whether an adapter reads a JSON-lines file as
    one record (the tabular adapter groups rows into orders; it is asked with
    the first line). With ``on_error`` (``batch --keep-going``) a line that is
    not JSON does not stop the file: it comes as an unreadable `Record` in
    its place (reading it raises its error, so a batch reports it in input
    order); a file read whole hands such errors to ``on_error``, once.
    """

    def __init__(self, path: str, whole_file: Callable[[Record], bool] = lambda r: False,
                 on_error: Callable[[InputError], None] | None = None) -> None:
        self.name = "<stdin>" if path == "-" else path
        self.whole_file = whole_file
        self.on_error = on_error
        self._spool: IO[bytes] | None = None
        if path == "-":
            self._spool = tempfile.TemporaryFile()
            for chunk in iter(lambda: sys.stdin.buffer.read(1 << 20), b""):
                self._spool.write(chunk)
            self.path = ""
        else:
            self.path = path
        self._lines: bool | None = None
        self._reported: set[str] = set()  # the errors already reported

    def _report(self, exc: InputError) -> None:
        """Hand a bad line's error to ``on_error`` the first time it is read."""
        if self.on_error is not None and str(exc) not in self._reported:
            self._reported.add(str(exc))
            self.on_error(exc)

    def _open(self) -> IO[bytes]:
        if self._spool is not None:
            self._spool.seek(0)
            return self._spool
        try:
            return open(self.path, "rb")
        except OSError as exc:
            raise InputError(f"{self.name}: cannot read ({exc.strerror or exc})") from None

    def _decide_shape(self) -> bool:
        """True for JSON lines: the first non-empty line is a whole JSON record on its own."""
        stream = self._open()
        try:
            first = b""
            for raw in stream:
                if raw.strip():
                    first = raw
                    break
        finally:
            if stream is not self._spool:
                stream.close()
        if not first:
            raise InputError(f"{self.name}: the file is empty")
        text = first.decode("utf-8", "replace").removeprefix(_BOM)
        if not text.lstrip().startswith("{"):
            return False
        try:
            record = parse_record(text, f"{self.name}:1")
        except InputError:
            return False
        return record.data is not None and not self.whole_file(
            Record(text=text, data=None, source=self.name))

    def __iter__(self) -> Iterator[Record]:
        if self._lines is None:
            self._lines = self._decide_shape()
        if not self._lines:  # one record, or a file an adapter reads whole
            stream = self._open()
            try:
                text = _decode(stream.read(), self.name)
            finally:
                if stream is not self._spool:
                    stream.close()
            yield from records_from_text(text, self.name, True, self.whole_file,
                                         self._report if self.on_error else None)
            return
        stream = self._open()
        try:
            for n, raw in enumerate(stream, 1):
                if not raw.strip():
                    continue
                source = f"{self.name}:{n}"
                try:
                    try:
                        line = raw.decode("utf-8")
                    except UnicodeDecodeError:
                        raise InputError(f"{source}: not UTF-8 text") from None
                    record = parse_record(line, source)
                    if record.data is None:
                        raise InputError(f"{source}: not valid JSON")
                except InputError as exc:
                    if self.on_error is None:
                        raise
                    # In its place in the input: a batch reports it in order.
                    yield Record(text="", data=None, source=source, unreadable=str(exc))
                    continue
                yield record
        finally:
            if stream is not self._spool:
                stream.close()


def open_records(path: str, plugins: Any, adapter: str | None = None,
                 on_error: Callable[[InputError], None] | None = None) -> RecordFile:
    """The one way a file becomes records, for ``check``, ``batch``, ``diff`` and the API.

    A JSON-lines file is read as one record when an adapter claims its rows
    as a whole (``--adapter`` names one other than ``canonical``, or a
    registered adapter claims the first row as a table's header).
    """
    def whole_file(record: Record) -> bool:
        if adapter:
            return adapter != "canonical"
        return bool(plugins.claimants(record))
    return RecordFile(path, whole_file=whole_file, on_error=on_error)
