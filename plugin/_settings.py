"""Configuration: one YAML file, validated, with defaults for the embedded setup.

Found through ``--config PATH`` or ``EXPORTGATE_CONFIG``; with neither, the
defaults run everything in process: the embedded engine and an SQLite ledger
under ``.exportgate/`` in the working directory. Relative paths in the file
are relative to the file.

The file is read within limits (`_yaml`: size, depth, aliases). A URL with
credentials (the ledger's) is never printed whole: every message shows it
through `redact_url`, whatever its shape or type.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import _cache, _schemas, _yaml
from ._exceptions import ConfigError
from ._redact import has_credentials, redact_url
from ._validate import validate_data

DEFAULT_LEDGER = "sqlite:///.exportgate/ledger.db"
LEDGER_SCHEMES = ("sqlite:///", "postgresql://", "postgres://")
#: Engine options that name files, resolved relative to the configuration.
ENGINE_FILES = ("token_file", "ca_file", "cert_file", "key_file")


def check_ledger_url(url: object, what: str = "ledger") -> str:
    """``url`` if it names a ledger exportgate can open; else ConfigError, redacted."""
    if not isinstance(url, str):
        raise ConfigError(f"{what}: must be a URL string (sqlite:///PATH or "
                          f"postgresql://...), got {redact_url(url)}")
    if not url.startswith(LEDGER_SCHEMES):
        raise ConfigError(f"{what} {redact_url(url)!r}: use sqlite:///PATH or "
                          "postgresql://...")
    return url


#: The engine settings' defaults, from the schema (written once, there).
ENGINE_DEFAULTS: dict[str, Any] = {
    "url": None, **{k: v["default"] for k, v in _schemas.ENGINE.items() if "default" in v}}

#: The service settings' defaults, from the schema.
SERVICE_DEFAULTS: dict[str, Any] = {
    k: v["default"] for k, v in _schemas.SERVICE.items() if "default" in v}

#: The port of an OPA sidecar URL that names none.
DEFAULT_PORT = 8181


def parse_url(url: str | None) -> tuple[str, str, int]:
    """(scheme, host, port) of the sidecar URL; ConfigError naming engine.url if unusable."""
    if not url:
        raise ConfigError("engine.url: required for engine 'opa-http' "
                          "(e.g. http://127.0.0.1:8181)")
    shown = redact_url(url)
    if has_credentials(url):
        raise ConfigError(f"engine.url: {shown!r} carries credentials; give the sidecar's "
                          "bearer token with engine.token_file or engine.token_env instead")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"engine.url: must be http://HOST[:PORT] or https://HOST[:PORT], "
                          f"got {shown!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError(f"engine.url: must name only the server (no path), got {shown!r}")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise ConfigError(f"engine.url: bad port in {shown!r}") from None
    host = parts.hostname
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return parts.scheme, host, port



_SHA256 = re.compile(r"[0-9a-f]{64}")


def _check_token_hashes(service: Any, what: str) -> None:
    """Each ``service.tokens[].sha256`` is a hex SHA-256, else ConfigError that never
    quotes it: a token written there by mistake must not reach a message."""
    tokens = service.get("tokens") if isinstance(service, dict) else None
    if not isinstance(tokens, list):
        return
    for i, token in enumerate(tokens):
        value = token.get("sha256") if isinstance(token, dict) else None
        if not (isinstance(value, str) and _SHA256.fullmatch(value)):
            raise ConfigError(f"{what}: service.tokens.{i}.sha256: must be the hex SHA-256 "
                              "of the token (64 characters 0-9a-f: printf %s TOKEN | "
                              "sha256sum), never the token itself (its value is not shown)")


@dataclass
class Settings:
    """The validated configuration. Every field has a working default."""

    engine: dict[str, Any] = field(default_factory=lambda: dict(ENGINE_DEFAULTS))
    ledger: str = DEFAULT_LEDGER
    ledger_timeout: float = _schemas.LEDGER_TIMEOUT
    catalogs: list[Path] = field(default_factory=list)
    parties: list[Path] = field(default_factory=list)
    #: Regime folders the configuration ships (``regime_folders:``), absolute.
    regime_folders: list[Path] = field(default_factory=list)
    audit_log: Path | None = None
    audit_key_file: Path | None = None
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    calendar: list[dict[str, Any]] = field(default_factory=list)
    adapters: dict[str, dict[str, Any]] = field(default_factory=dict)
    plugins: dict[str, Any] = field(default_factory=lambda: {"load": None, "block": []})
    #: ``exportgate serve``: tokens (hashes and scopes), body limit, deadline.
    service: dict[str, Any] = field(default_factory=lambda: dict(SERVICE_DEFAULTS))
    #: Restricted-party screening (docs/screening.md): enabled, required, thresholds.
    screening: dict[str, Any] = field(
        default_factory=lambda: {"enabled": True, "required": False})
    source: Path | None = None

    @property
    def engine_name(self) -> str:
        return str(self.engine.get("name") or "embedded")

    def adapter_options(self, name: str) -> dict[str, Any]:
        return dict(self.adapters.get(name) or {})

    @classmethod
    def load(cls, path: str | Path | None = None) -> "Settings":
        """Load ``path``, else ``$EXPORTGATE_CONFIG``, else the defaults."""
        if path is None:
            path = os.environ.get("EXPORTGATE_CONFIG") or None
        if path is None:
            return cls()
        return cls.from_file(Path(path))

    @classmethod
    def from_file(cls, path: Path) -> "Settings":
        """The configuration file at ``path``, relative paths resolved against its folder.

        What the file's text gives once checked is cached across processes
        (`_cache`, keyed by the path and the text): a cold start does not
        parse and check an unchanged file again.
        """
        text = _yaml.read(path, "configuration")
        what = f"configuration {path}"
        entry = _cache.key("settings", str(path), text, _cache.readers())
        doc = _cache.get_json(entry)
        if not isinstance(doc, dict):
            doc = _checked(_yaml.parse(text, path, "configuration") or {}, what)
            _cache.put_json(entry, doc)
        return cls._from_checked(doc, path.resolve().parent, path, what)

    @classmethod
    def from_dict(cls, raw: Any, base: Path | None = None,
                  source: Path | None = None) -> "Settings":
        what = f"configuration {source}" if source else "configuration"
        return cls._from_checked(_checked(raw, what), base, source, what)

    @classmethod
    def _from_checked(cls, doc: dict[str, Any], base: Path | None, source: Path | None,
                      what: str) -> "Settings":
        """Settings from a checked document (`_checked`): paths resolved against ``base``."""
        base = base or Path.cwd()

        def rel(p: str) -> Path:
            q = Path(os.path.expandvars(os.path.expanduser(p)))
            return q if q.is_absolute() else base / q

        ledger = doc.get("ledger") or DEFAULT_LEDGER
        if ledger.startswith("sqlite:///") and not ledger.startswith("sqlite:////"):
            target = ledger[len("sqlite:///"):]
            if source is not None and not target.startswith(":memory:"):
                ledger = "sqlite:///" + str(rel(target))
        engine = {**ENGINE_DEFAULTS, **doc.get("engine", {})}
        for key in ENGINE_FILES:
            if engine.get(key):
                engine[key] = str(rel(engine[key]))
        if engine["name"] == "opa-http" or engine.get("url"):
            try:
                parse_url(engine.get("url"))
            except ConfigError as exc:
                raise ConfigError(f"{what}: {exc}") from None
        for entry in doc.get("calendar", []):
            if entry.get("effective_to") and entry["effective_to"] <= entry["effective_from"]:
                raise ConfigError(f"{what}: calendar entry for {entry['regime']}: "
                                  "effective_to must be after effective_from")
        return cls(
            engine=engine, ledger=ledger, ledger_timeout=float(doc["ledger_timeout"]),
            catalogs=[rel(p) for p in doc.get("catalogs", [])],
            parties=[rel(p) for p in doc.get("parties", [])],
            regime_folders=[rel(p) for p in doc["regime_folders"]],
            audit_log=rel(doc["audit_log"]) if doc.get("audit_log") else None,
            audit_key_file=rel(doc["audit_key_file"]) if doc.get("audit_key_file") else None,
            parameters=doc.get("parameters", {}), calendar=doc.get("calendar", []),
            adapters=doc.get("adapters", {}),
            plugins={"load": None, "block": [], **doc.get("plugins", {})},
            service={**SERVICE_DEFAULTS, **doc.get("service", {})},
            screening={"enabled": True, "required": False, **doc.get("screening", {})},
            source=source,
        )


def _checked(raw: Any, what: str) -> dict[str, Any]:
    """A configuration document checked against its schema (`_schemas.SETTINGS`).

    The URLs are checked first, without quoting them: the schema's messages
    quote values, and a URL may hold a password.
    """
    if isinstance(raw, dict):
        if raw.get("ledger") is not None:
            check_ledger_url(raw["ledger"], f"{what}: ledger")
        engine_raw = raw.get("engine")
        if isinstance(engine_raw, dict) and engine_raw.get("url") is not None:
            url = engine_raw["url"]
            if not isinstance(url, str):
                raise ConfigError(f"{what}: engine.url: must be a URL string, got "
                                  f"{redact_url(url)}")
            if has_credentials(url):
                raise ConfigError(f"{what}: engine.url: {redact_url(url)!r} carries "
                                  "credentials; give the sidecar's bearer token with "
                                  "engine.token_file or engine.token_env instead")
        _check_token_hashes(raw.get("service"), what)
    return validate_data(raw, _schemas.SETTINGS, what)
