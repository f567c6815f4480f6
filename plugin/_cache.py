"""A cache of what a cold start would otherwise rebuild: read and checked regime and
catalog data, compiled policies.

A single ``exportgate check`` is a fresh process: without this cache it parses
every regime's YAML, validates it against its schema, and compiles the
policy, each time, to decide one order (docs/performance.md, "Start-up").
What those steps produce depends only on the files read and on the code that
reads them, so it is kept under the user's cache folder and read back when
nothing it depends on has changed:

- where: ``$XDG_CACHE_HOME/exportgate``, else ``~/.cache/exportgate``
  (created private to the user); ``EXPORTGATE_NO_CACHE=1`` turns the cache
  off, and an unwritable folder only makes every start cold;
- the key of an entry is a SHA-256 over the cache's format, exportgate's
  version, the source of the modules that produce cached values (an edited
  checkout never reads what an older one wrote), the versions of the
  libraries that read them (`versions`), and every input's bytes: a changed
  data value is a new key, so a stale entry is never found;
- an entry is one file named by its key, written whole to a temporary file
  and renamed into place; it starts with a header line holding the key and
  the SHA-256 of the body, and is used only when both match. A missing,
  truncated, corrupt or foreign file is ignored and rebuilt: the cache is
  never trusted over the files it was made from, and a fault in it never
  fails a check.

Values cached as JSON must survive a JSON round trip unchanged (`put_json`
checks); anything else is simply not cached.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, TypeVar

from . import __version__

#: Bumped whenever the layout of an entry or of a cached value changes.
FORMAT = 1
#: Entries kept: past this many, a write removes the older half (by last write).
MAX_ENTRIES = 256
_MAGIC = b"exportgate-cache"
#: The modules whose code shapes what is cached (their source is part of every key).
_PRODUCERS = ("_cache.py", "_yaml.py", "_json.py", "_validate.py", "_fastcheck.py",
              "_schemas.py", "_regime.py", "_catalog.py", "_settings.py", "_redact.py",
              "engines/embedded.py")

T = TypeVar("T")


def folder() -> Path | None:
    """The cache folder, or None when the cache is off (``EXPORTGATE_NO_CACHE``) or the
    user has no home to hold it."""
    if os.environ.get("EXPORTGATE_NO_CACHE", "") not in ("", "0"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or ""
    if os.path.isabs(base):
        return Path(base) / "exportgate"
    try:
        return Path.home() / ".cache" / "exportgate"
    except (RuntimeError, KeyError):  # no HOME and no password entry (a bare container)
        return None


_code_digest: str | None = None


def _code() -> str:
    """SHA-256 of the producing modules' source, read once per process."""
    global _code_digest
    if _code_digest is None:
        h = hashlib.sha256()
        here = Path(__file__).parent
        for name in _PRODUCERS:
            try:
                h.update(name.encode() + b"\0" + (here / name).read_bytes() + b"\0")
            except OSError:  # not installed as files: the version alone, which a release bumps
                h.update(name.encode() + b"\0?\0")
        _code_digest = h.hexdigest()
    return _code_digest


def versions(*distributions: str) -> str:
    """The installed versions of these distributions, as one text for a key."""
    from importlib import metadata
    found = []
    for name in distributions:
        try:
            found.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name}=?")
    return ",".join(found)


_readers: str | None = None


def readers() -> str:
    """The versions of the libraries that read and check YAML data (once per process)."""
    global _readers
    if _readers is None:
        _readers = versions("PyYAML", "Cerberus", "pycountry")
    return _readers


def key(kind: str, *parts: str | bytes) -> str:
    """The key of an entry of ``kind`` made from ``parts`` (texts and bytes, in order)."""
    h = hashlib.sha256(f"{_MAGIC.decode()} {FORMAT} {__version__} {_code()} {kind}".encode())
    for part in parts:
        data = part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big") + data)
    return f"{kind}-{h.hexdigest()}"


def _path(entry: str) -> Path | None:
    base = folder()
    return None if base is None else base / entry


def get_bytes(entry: str) -> bytes | None:
    """The body of ``entry`` if its file is whole and is that entry; else None."""
    path = _path(entry)
    if path is None:
        return None
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    head, sep, body = raw.partition(b"\n")
    fields = head.split(b" ")
    if not sep or len(fields) != 3 or fields[0] != _MAGIC or fields[1] != entry.encode():
        return None
    if hashlib.sha256(body).hexdigest().encode() != fields[2]:
        return None
    return body


def put_bytes(entry: str, body: bytes) -> None:
    """Write ``entry`` whole (a temporary file renamed into place); failures are ignored."""
    path = _path(entry)
    if path is None:
        return
    head = b" ".join([_MAGIC, entry.encode(), hashlib.sha256(body).hexdigest().encode()])
    tmp = None
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as out:
            out.write(head + b"\n" + body)
        os.replace(tmp, path)
        tmp = None
        _prune(path.parent)
    except OSError:
        pass  # a read-only or full disk: the next start is cold again, nothing else
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _prune(base: Path) -> None:
    """Past `MAX_ENTRIES` entries, remove the older half: each change of a file read
    leaves its old entries behind, never to be read again."""
    with os.scandir(base) as found:
        entries = [e for e in found if e.is_file() and not e.name.startswith(".")]
    if len(entries) <= MAX_ENTRIES:
        return
    entries.sort(key=lambda e: e.stat().st_mtime_ns)
    for stale in entries[:len(entries) // 2]:
        try:
            os.unlink(stale.path)
        except OSError:
            pass


def get_json(entry: str) -> Any:
    """The value cached as ``entry``, or None (missing, corrupt, not JSON)."""
    body = get_bytes(entry)
    if body is None:
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def put_json(entry: str, value: Any) -> None:
    """Cache ``value`` as ``entry`` if JSON gives it back unchanged (else it is not cached)."""
    try:
        text = json.dumps(value, allow_nan=False)
        if json.loads(text) != value:
            return  # a date, a tuple, a non-text key: JSON would change it
    except (TypeError, ValueError, RecursionError):
        return
    put_bytes(entry, text.encode("ascii"))


def memo_json(entry: str, build: Callable[[], T]) -> T:
    """``build()``, or the value cached as ``entry``; a value built is cached.

    An error ``build`` raises is raised and nothing is cached: only values
    that were read and checked in full are kept.
    """
    cached = get_json(entry)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    value = build()
    put_json(entry, value)
    return value
