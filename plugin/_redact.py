"""Secrets out of messages: one helper that every message showing a URL goes through.

A URL from a configuration can be any shape: a ledger URL with a password
holding a raw ``/`` or ``@``, a bad percent-escape, a scheme with a driver
(``postgresql+psycopg://``), a mistyped scheme, a libpq ``key=value`` string,
or something that is not a string at all. `redact_url` never parses it the
way a driver would (a URL it cannot parse is exactly the one whose error
message must still hide the password); it redacts by shape, erring towards
hiding too much:

- everything between the scheme and the *last* ``@`` is the user information;
  if it holds a ``:``, whatever follows the first ``:`` is replaced by ``***``;
- any ``password=`` value (query string or ``key=value`` form) becomes ``***``;
- a value that is not a string is described by its type, never printed.
"""
from __future__ import annotations

import re

MASK = "***"

_SCHEME = re.compile(r"^(\s*[A-Za-z][A-Za-z0-9+.\-]*:/+)(.*)$", re.DOTALL)
_PASSWORD_VALUE = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'?|[^&\s#;]*)",
                             re.IGNORECASE)


def redact_url(url: object) -> str:
    """``url`` as a message may show it: no password, whatever its shape."""
    if not isinstance(url, str):
        return f"<{type(url).__name__}, not a URL string>"
    m = _SCHEME.match(url)
    head, rest = (m.group(1), m.group(2)) if m else ("", url)
    text = url
    if "@" in rest:
        userinfo, _, host = rest.rpartition("@")
        if ":" in userinfo:
            text = f"{head}{userinfo.split(':', 1)[0]}:{MASK}@{host}"
    return _PASSWORD_VALUE.sub(lambda g: g.group(1) + MASK, text)



def has_credentials(url: str) -> bool:
    """True when ``url`` carries user information (``user@`` or ``user:password@``)."""
    m = _SCHEME.match(url)
    rest = m.group(2) if m else url
    return "@" in rest.split("/", 1)[0] or redact_url(url) != url
