"""OPA bundles: one or more regimes as the gzipped tarball ``opa run --bundle`` loads.

Layout (what ``opa build`` would write; directory path = package or data path)::

    /.manifest                                   revision, roots, metadata
    /exportgate/lib/lib.rego ...                 package exportgate.lib
    /exportgate/regimes/<leaf>/policy.rego       package exportgate.regimes.<leaf>
    /exportgate/tables/lib/data.json             data.exportgate.tables.lib
    /exportgate/tables/<leaf>/data.json          data.exportgate.tables.<leaf>
    /exportgate/revisions/data.json              data.exportgate.revisions[<regime id>]

The manifest's ``revision`` is the regime's content hash (`Regime.revision`)
for a one-regime bundle, else a hash of every regime's id and revision;
``roots`` is ``["exportgate"]``. Its free-form ``metadata.exportgate`` says
which modules and tables make up each regime and what the module was called
in the regime folder, so a reader can turn the tarball back into regimes
with the very same revisions (the tests do). Rego test modules are left out. The tarball is
reproducible: the same regimes always give the same bytes.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import posixpath
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .rego_text import package_of
from .._exceptions import ConfigError
from .._regime import ROOT, Regime

MANIFEST = ".manifest"
REVISIONS = f"{ROOT}/revisions"


@dataclass(frozen=True)
class Bundle:
    """The files of a bundle, read as OPA reads them."""

    manifest: dict[str, Any]
    modules: dict[str, str]
    data: dict[str, Any]

    @property
    def revision(self) -> str:
        return str(self.manifest.get("revision", ""))


def _module_path(name: str, source: str) -> str:
    """A module's path in the bundle: its package as folders, then its file name."""
    try:
        package = package_of(source)
    except ValueError:
        raise ConfigError(f"{name}: no package line") from None
    return f"{package.replace('.', '/')}/{posixpath.basename(name)}"


def bundle_revision(regimes: list[Regime]) -> str:
    if len(regimes) == 1:
        return regimes[0].revision
    h = hashlib.sha256()
    for r in sorted(regimes, key=lambda r: r.id):
        h.update(f"{r.id}={r.revision}\n".encode())
    return h.hexdigest()[:16]


def bundle_files(regimes: Iterable[Regime]) -> dict[str, bytes]:
    """The bundle's files (path without the leading slash -> content)."""
    regimes = sorted(regimes, key=lambda r: r.id)
    if not regimes:
        raise ConfigError("a bundle needs at least one regime")
    files: dict[str, bytes] = {}
    tables: dict[str, Any] = {}
    names: dict[str, str] = {}
    meta: dict[str, Any] = {}

    def put(path: str, content: bytes, what: str) -> None:
        if files.get(path, content) != content:
            raise ConfigError(f"bundle: {path} differs between regimes ({what}); regimes "
                              "bundled together must share the same library and tables")
        files[path] = content

    for regime in regimes:
        module_paths = []
        for name, source in sorted(regime.modules.items()):
            path = _module_path(name, source)
            if names.get(path, name) != name:
                raise ConfigError(f"bundle: {name} and {names[path]} would both be {path}")
            names[path] = name
            put(path, source.encode("utf-8"), f"module {name} of {regime.id}")
            module_paths.append(path)
        doc = regime.data.get(ROOT, {})
        if set(regime.data) != {ROOT} or set(doc) != {"tables"}:
            raise ConfigError(f"bundle: {regime.id}: data outside data.{ROOT}.tables "
                              "cannot be bundled")
        for key, table in sorted(doc["tables"].items()):
            put(f"{ROOT}/tables/{key}/data.json",
                json.dumps(table, sort_keys=True, indent=1).encode(), f"table {key}")
            tables[key] = table
        meta[regime.id] = {"revision": regime.revision, "package": regime.package,
                           "modules": module_paths, "tables": sorted(doc["tables"]),
                           "parameters": regime.parameters}
    files[f"{REVISIONS}/data.json"] = json.dumps(
        {r.id: r.revision for r in regimes}, sort_keys=True, indent=1).encode()
    manifest = {"revision": bundle_revision(regimes), "roots": [ROOT],
                "metadata": {"exportgate": {"regimes": meta, "modules": names}}}
    files[MANIFEST] = json.dumps(manifest, sort_keys=True, indent=1).encode()
    return dict(sorted(files.items()))


def write_bundle(regimes: Iterable[Regime], target: str | Path) -> Bundle:
    """Write the bundle of ``regimes`` as a gzipped tarball; returns what was written."""
    files = bundle_files(regimes)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, content in files.items():
            info = tarfile.TarInfo("/" + path)
            info.size, info.mode, info.mtime = len(content), 0o644, 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(content))
    target = Path(target)
    try:
        with open(target, "wb") as out:
            with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0) as gz:
                gz.write(raw.getvalue())
    except OSError as exc:
        raise ConfigError(f"{target}: cannot write the bundle ({exc.strerror or exc})") from None
    return parse_files(files, str(target))


def parse_files(files: dict[str, bytes], where: str) -> Bundle:
    manifest: dict[str, Any] = {}
    modules: dict[str, str] = {}
    data: dict[str, Any] = {}
    for path, content in sorted(files.items()):
        try:
            if path == MANIFEST:
                manifest = json.loads(content)
            elif path.endswith(".rego"):
                modules[path] = content.decode("utf-8")
            elif posixpath.basename(path) == "data.json":
                folder = posixpath.dirname(path)
                _merge_at(data, folder.split("/") if folder else [], json.loads(content))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"{where}: {path} is unreadable ({exc})") from None
    return Bundle(manifest=manifest, modules=modules, data=data)


def _merge_at(doc: dict[str, Any], keys: list[str], value: Any) -> None:
    for key in keys[:-1]:
        doc = doc.setdefault(key, {})
    if not keys:
        doc.update(value)
    elif isinstance(doc.get(keys[-1]), dict) and isinstance(value, dict):
        doc[keys[-1]].update(value)
    else:
        doc[keys[-1]] = value


# -- the command line ---------------------------------------------------------
