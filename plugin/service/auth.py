"""Bearer tokens: configured as SHA-256 hashes with scopes, never kept or shown themselves.

The configuration's ``service.tokens`` lists ``{name, sha256, scopes}``; a
request's ``Authorization: Bearer <token>`` is hashed and compared, in
constant time, with every configured hash. Only a token's configured
``name`` ever reaches a log or a message: the token, and its hash, never do.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

#: The scopes a token may hold: deciding orders, moving an order's quota,
#: recording and reading licenses.
from .._schemas import SERVICE_SCOPES as SCOPES

__all__ = ["SCOPES", "Refused", "Tokens", "token_hash"]


class Refused(Exception):
    """A request without the right token: ``status`` is 401 (who?) or 403 (not allowed)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Token:
    name: str
    digest: bytes
    scopes: frozenset[str]


def token_hash(token: str) -> str:
    """The hex SHA-256 of a token, as the configuration stores it."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Tokens:
    """The configured tokens; `check` says who a request is, or refuses it."""

    def __init__(self, configured: list[dict[str, Any]]) -> None:
        self._tokens = [Token(t["name"], bytes.fromhex(t["sha256"]), frozenset(t["scopes"]))
                        for t in configured]

    def __bool__(self) -> bool:
        return bool(self._tokens)

    def check(self, authorization: str | None, scope: str) -> str:
        """The name of the token in ``authorization`` if it holds ``scope``; else `Refused`.

        Every configured hash is compared (no early exit), so the time taken
        does not tell which one nearly matched.
        """
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            raise Refused(401, "a bearer token is required (Authorization: Bearer TOKEN)")
        digest = hashlib.sha256(given.strip().encode("utf-8", "surrogatepass")).digest()
        found: Token | None = None
        for token in self._tokens:
            if hmac.compare_digest(token.digest, digest):
                found = token
        if found is None:
            raise Refused(401, "the bearer token is not one this service knows")
        if scope not in found.scopes:
            raise Refused(403, f"token {found.name!r} lacks the scope {scope!r}")
        return found.name
