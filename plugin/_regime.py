"""Regimes: a folder of Rego, its data and its metadata, loaded as one unit.

A regime folder under ``rego/exportgate/regimes/`` holds ``policy.rego`` (whose package METADATA
carries the regime's id, title, authority, dates and sources: one source of
truth, read by OPA and by exportgate alike), ``data.yaml`` (its rows and
numbers), and ``*_test.rego``; a deployment may add folders of its own with
``regime_folders:`` in its configuration (`load_configured`). The shared
library in ``rego/exportgate/lib`` is loaded with every regime. Parameter
overrides from the configuration are merged into the regime's numbers here,
and recorded on every decision made with them.

A regime's parameters have a schema: the one its own defaults (``params``
in its ``data.yaml``) imply, derived by `parameter_schema`. An override,
from the configuration's ``parameters:`` or a ``diff`` side
(``REGIME:NAME=VALUE``), must keep every value of the type its default has,
a number non-negative where the default is, a date a date, a record's
fields those of the default, and a table's new entries of its entries'
shape; anything else is a `ConfigError` naming the parameter, raised before
anything is decided (exit 2). Without it ``lpp_cap_tpp=-5`` would reach the
policy, and every order it touched would be held as an evaluation error.
"""
from __future__ import annotations

import copy
import datetime
import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterator

from . import _cache, _schemas, _yaml
from ._exceptions import ConfigError
from ._validate import validate_data
from ._markers import hookimpl

ROOT = "exportgate"
#: Where the shared library, the regimes and the test helpers live under rego/
#: (folders follow packages: exportgate.lib, exportgate.regimes.<leaf>, ...).
LIB_PATH = "exportgate/lib"
REGIMES_PATH = "exportgate/regimes"
TESTING_PATH = "exportgate/testing"
#: The shared library's tables: data.exportgate.tables.lib.
LIB_TABLES = "lib"
_METADATA = re.compile(r"^# METADATA\n((?:#.*\n)+?)package\s+([\w.]+)", re.M)


@dataclass(frozen=True)
class Regime:
    """One regime, ready to be compiled by an engine.

    ``modules`` maps a module path
    (``exportgate/regimes/us_ai_diffusion_2025/policy.rego``) to
    its source, the shared library included; ``data`` is the whole data
    document the policy reads (``data.exportgate.tables``).
    """

    id: str
    package: str
    title: str
    authority: str
    status: str
    effective_from: str
    effective_to: str | None
    sources: tuple[dict[str, str], ...]
    description: str
    modules: dict[str, str]
    test_modules: dict[str, str]
    data: dict[str, Any]
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def leaf(self) -> str:
        return self.package.rsplit(".", 1)[-1]

    def path(self, rule: str) -> str:
        """The same path in URL form, as OPA's Data API and bundles spell it."""
        return f"{self.package.replace('.', '/')}/{rule}"

    def _tables(self, name: str) -> dict[str, Any]:
        return dict(self.data[ROOT]["tables"][name])

    @property
    def parameter_values(self) -> dict[str, Any]:
        """The regime's numbers (``params`` in its data), overrides applied."""
        return dict(self._tables(self.leaf)["params"])

    @cached_property
    def rows(self) -> dict[str, dict[str, Any]]:
        """Every row the regime's ladders may name: the library's, then the regime's own."""
        return {**self._tables(LIB_TABLES)["rows"], **self._tables(self.leaf)["rows"]}

    @cached_property
    def obligations(self) -> dict[str, dict[str, Any]]:
        """Every obligation a row may name: the library's, then the regime's own."""
        return {**self._tables(LIB_TABLES)["obligations"],
                **self._tables(self.leaf)["obligations"]}

    @cached_property
    def revision(self) -> str:
        """Content hash of the policies and data: changes whenever a rule or a number does."""
        h = hashlib.sha256()
        for name in sorted(self.modules):
            h.update(name.encode() + b"\0" + self.modules[name].encode() + b"\0")
        h.update(json.dumps(self.data, sort_keys=True).encode())
        return h.hexdigest()[:16]

    def in_force(self, date: str) -> bool:
        return self.effective_from <= date and (self.effective_to is None
                                                or date < self.effective_to)

    def with_parameters(self, overrides: dict[str, Any]) -> "Regime":
        """A copy whose numbers are overridden, checked against the parameters' schema.

        An unknown parameter name, or a value its default's schema
        (`parameter_schema`) refuses, is a ConfigError naming
        ``parameters.<regime>.<name>``. A mapping is merged into the default
        mapping; anything else replaces the default.
        """
        if not overrides:
            return self
        data = copy.deepcopy(self.data)
        params = data[ROOT]["tables"][self.leaf]["params"]
        schema = parameter_schema(params)
        for key, value in overrides.items():
            if key not in params:
                raise ConfigError(f"parameters.{self.id}.{key}: unknown parameter; "
                                  f"known: {', '.join(sorted(params))}")
            if isinstance(params[key], dict) and isinstance(value, dict):
                params[key] = _deep_merge(params[key], value)
            else:
                params[key] = value
        checked = validate_data({k: params[k] for k in overrides},
                                {k: schema[k] for k in overrides}, f"parameters.{self.id}")
        params.update(checked)
        return replace(self, data=data,
                       parameters={**self.parameters, **dates_as_text(overrides)})

    def metadata(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "authority": self.authority,
                "status": self.status, "effective_from": self.effective_from,
                "effective_to": self.effective_to, "sources": list(self.sources),
                "package": self.package, "revision": self.revision}


def parameter_schema(params: dict[str, Any]) -> dict[str, Any]:
    """The cerberus schema of a regime's parameters, as their defaults imply it.

    Per default value: a boolean stays a boolean; an integer an integer (a
    float an integer or a float), at least 0 where the default is; a string a
    string, and an ISO date (``"2025-05-15"``, a YAML date accepted and kept
    as text) where the default is one; a list a list of its items' shape when
    they share one. A mapping whose values are mappings of one shape is a
    table (``agreements``: a country's entry), open to new keys of that
    shape; any other mapping is a record (``is_informed``), closed to
    unknown fields, every field required. A default ``null`` takes anything.
    """
    return {name: _shape(value) for name, value in params.items()}


def _shape(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer", **({"min": 0} if value >= 0 else {})}
    if isinstance(value, float):
        return {"type": "number", "check_with": "finite", **({"min": 0} if value >= 0 else {})}
    if isinstance(value, str):
        if _is_date(value):
            return {"type": "string", "coerce": _date_text, "check_with": "iso_date",
                    "regex": r"^\d{4}-\d{2}-\d{2}$"}
        return {"type": "string"}
    if isinstance(value, list):
        shapes = [_shape(item) for item in value]
        if shapes and all(shape == shapes[0] for shape in shapes):
            return {"type": "list", "schema": shapes[0]}
        return {"type": "list"}
    if isinstance(value, dict):
        shapes = [_shape(item) for item in value.values()]
        if shapes and all(isinstance(item, dict) for item in value.values()) \
                and all(shape == shapes[0] for shape in shapes):
            return {"type": "dict", "keysrules": {"type": "string"}, "valuesrules": shapes[0]}
        return {"type": "dict", "schema": {str(k): {**_shape(v), "required": True}
                                           for k, v in value.items()}}
    return {"nullable": True}


def _is_date(text: str) -> bool:
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def _date_text(value: Any) -> Any:
    """A YAML date (``from: 2025-05-15`` unquoted) as the text the policy compares."""
    return value.isoformat() if isinstance(value, datetime.date) else value


def dates_as_text(value: Any) -> Any:
    """``value`` with every date written as ISO text (overrides recorded on decisions)."""
    if isinstance(value, dict):
        return {k: dates_as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [dates_as_text(v) for v in value]
    return _date_text(value)


def _deep_merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        out[k] = _deep_merge(out[k], v) if isinstance(out.get(k), dict) and isinstance(v, dict) \
            else v
    return out


def parse_metadata(source: str, where: str) -> dict[str, Any]:
    """Read the package METADATA block of a policy into the regime metadata schema.

    What a policy's text gives is cached across processes (`_cache`, keyed by
    the text): a cold start does not parse and check it again.
    """
    return _cache.memo_json(_cache.key("metadata", where, source, _cache.readers()),
                            lambda: _parse_metadata(source, where))


def _parse_metadata(source: str, where: str) -> dict[str, Any]:
    m = _METADATA.search(source)
    if not m:
        raise ConfigError(f"{where}: no '# METADATA' block before the package line")
    block = "\n".join(line[2:] if line.startswith("# ") else line[1:]
                      for line in m.group(1).splitlines())
    # Within the limits and refusing a key written twice, as OPA's reader does.
    meta = _yaml.loads(block, f"{where} METADATA") or {}
    if not isinstance(meta, dict):
        raise ConfigError(f"{where}: METADATA is not a YAML mapping")
    custom = meta.get("custom") or {}
    doc = {
        "id": custom.get("id"), "package": m.group(2), "title": meta.get("title"),
        "authority": custom.get("authority"), "status": custom.get("status"),
        "effective_from": str(custom.get("effective_from")),
        "effective_to": str(custom["effective_to"]) if custom.get("effective_to") else None,
        "description": meta.get("description", ""),
        "sources": [{"title": r.get("description", r.get("ref")), "url": r.get("ref")}
                    for r in meta.get("related_resources") or []],
    }
    return validate_data(doc, _schemas.REGIME_METADATA, f"{where} METADATA")


def _read_folder(folder: Any, path: str) -> tuple[dict[str, str], dict[str, str]]:
    """The Rego modules and test modules of one folder, named by their path under rego/."""
    modules: dict[str, str] = {}
    tests: dict[str, str] = {}
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".rego"):
            target = tests if entry.name.endswith("_test.rego") else modules
            target[f"{path}/{entry.name}"] = entry.read_text(encoding="utf-8")
    return modules, tests


def _read_data(folder: Any, schema: str, where: str) -> dict[str, Any]:
    """The ``data.yaml`` of a folder, read and checked against ``_schemas.<schema>``.

    Once per process (the library's data is part of every regime), and across
    processes through `_cache`, keyed by the file's text: a cold start reads a
    checked copy instead of parsing and validating the YAML again.
    """
    data_file = folder.joinpath("data.yaml")
    if not data_file.is_file():
        raise ConfigError(f"{where}: data.yaml is missing")
    text = data_file.read_text(encoding="utf-8")
    entry = _cache.key("data", where, schema, text, _cache.readers())
    if entry not in _DATA_READ:
        def read() -> dict[str, Any]:
            # Read with limits and refusing repeated keys: a regime may be a
            # plugin's, and a number written twice in it would silently keep
            # the second.
            raw = _yaml.loads(text, f"{where}/data.yaml")
            return validate_data(raw, getattr(_schemas, schema), f"{where}/data.yaml",
                                 allow_unknown=False)
        _DATA_READ[entry] = _cache.memo_json(entry, read)
    return copy.deepcopy(_DATA_READ[entry])


#: Data files already read and checked, by cache key (folder, schema, content):
#: the library's data is part of every regime, and is read once per process.
_DATA_READ: dict[str, dict[str, Any]] = {}


def load_folder(folder: Any, root: Any, where: str | None = None) -> Regime:
    """Load one regime folder together with the shared library and the test helpers.

    Folders follow their packages (``rego/exportgate/regimes/<leaf>`` holds
    package ``exportgate.regimes.<leaf>``), as OPA's tools expect: a policy
    whose package is not its folder's is a ConfigError, so a copied regime
    cannot keep the package of the one it was copied from. The test helpers
    of ``rego/exportgate/testing`` are loaded with the tests only. Messages
    name the folder as ``where`` (default: its path under ``rego/``).
    """
    path = f"{REGIMES_PATH}/{folder.name}"
    where = where or f"rego/{path}"
    modules, tests = _read_folder(folder, path)
    policy = modules.get(f"{path}/policy.rego")
    if policy is None:
        raise ConfigError(f"{where}: policy.rego is missing")
    meta = parse_metadata(policy, f"{where}/policy.rego")
    package = f"{REGIMES_PATH.replace('/', '.')}.{folder.name}"
    if meta["package"] != package:
        raise ConfigError(f"{where}/policy.rego: package {meta['package']} does not follow its "
                          f"folder {folder.name!r}: a regime in this folder is package {package}")
    lib = root.joinpath(*LIB_PATH.split("/"))
    lib_modules, lib_tests = _read_folder(lib, LIB_PATH)
    helpers, helper_tests = _read_folder(root.joinpath(*TESTING_PATH.split("/")), TESTING_PATH)
    lib_tests = {**helpers, **helper_tests, **lib_tests}
    lib_data = _read_data(lib, "LIB_DATA", f"rego/{LIB_PATH}")
    regime_data = _read_data(folder, "REGIME_DATA", where)
    leaf = meta["package"].rsplit(".", 1)[-1]
    data = {ROOT: {"tables": {LIB_TABLES: lib_data, leaf: regime_data}}}
    return Regime(
        id=meta["id"], package=meta["package"], title=meta["title"],
        authority=meta["authority"], status=meta["status"],
        effective_from=meta["effective_from"], effective_to=meta.get("effective_to"),
        sources=tuple(meta["sources"]), description=meta.get("description", ""),
        modules={**lib_modules, **modules}, test_modules={**lib_tests, **tests}, data=data)


def rego_root() -> Any:
    """The installed ``rego/`` folder (package data of ``exportgate.rego``)."""
    return resources.files("exportgate.rego")


def builtin_folders(root: Any | None = None) -> Iterator[Any]:
    """Every regime folder under ``rego/exportgate/regimes``."""
    root = root or rego_root()
    for entry in sorted(root.joinpath(*REGIMES_PATH.split("/")).iterdir(),
                        key=lambda p: p.name):
        if entry.is_dir() and entry.joinpath("policy.rego").is_file():
            yield entry


def load_configured(folder: Path, root: Any | None = None) -> Regime:
    """The regime of a folder the configuration names (``regime_folders:``).

    Loaded as a built-in regime is (`load_folder`, against the installed
    library unless ``root`` names another ``rego/``): the same validation and
    the same revision. Errors name the key and the folder.
    """
    where = f"regime_folders: {folder}"
    if not folder.is_dir():
        raise ConfigError(f"{where}: not a folder")
    return load_folder(folder, root or rego_root(), where)


class BuiltinRegimes:
    """Registers every regime folder shipped in ``rego/``."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root

    @hookimpl
    def exportgate_register_regimes(self, register: Callable[[Regime], None]) -> None:
        root = self.root or rego_root()
        for folder in builtin_folders(root):
            register(load_folder(folder, root))
