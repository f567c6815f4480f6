"""Reading a bundle back, as OPA does, and turning it into regimes: what the
tests use to check that `write_bundle` loses nothing."""
from __future__ import annotations

import posixpath
import tarfile
from dataclasses import replace
from pathlib import Path

from exportgate import ConfigError
from exportgate._regime import ROOT, Regime, parse_metadata
from exportgate.engines.rego_text import package_of
from exportgate.engines.bundle import Bundle, parse_files


def read_bundle(source: str | Path) -> Bundle:
    """Read a bundle tarball the way OPA does: ``.rego`` files, ``data.json`` by folder."""
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(source, mode="r:gz") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                path = posixpath.normpath("/" + member.name).lstrip("/")
                handle = tar.extractfile(member)
                if handle is not None:
                    files[path] = handle.read()
    except (OSError, tarfile.TarError) as exc:
        raise ConfigError(f"{source}: not a readable bundle ({exc})") from None
    return parse_files(files, str(source))



def regimes_from_bundle(bundle: Bundle, where: str = "bundle") -> list[Regime]:
    """The regimes of a bundle written by `write_bundle`, each with its original revision."""
    meta = bundle.manifest.get("metadata", {}).get("exportgate")
    if not isinstance(meta, dict) or not isinstance(meta.get("regimes"), dict):
        raise ConfigError(f"{where}: the manifest has no metadata.exportgate: not a bundle "
                          "written by `exportgate bundle`")
    names = meta.get("modules", {})
    tables = bundle.data.get(ROOT, {}).get("tables", {})
    out = []
    for regime_id, info in sorted(meta["regimes"].items()):
        try:
            modules = {names[p]: bundle.modules[p] for p in info["modules"]}
            data = {ROOT: {"tables": {k: tables[k] for k in info["tables"]}}}
        except KeyError as exc:
            raise ConfigError(f"{where}: regime {regime_id}: {exc} is missing") from None
        policy = next((src for src in modules.values()
                       if _package(src) == info["package"] and "# METADATA" in src), None)
        if policy is None:
            raise ConfigError(f"{where}: regime {regime_id}: no policy of package "
                              f"{info['package']}")
        m = parse_metadata(policy, f"{where}: {regime_id}")
        regime = Regime(
            id=m["id"], package=m["package"], title=m["title"], authority=m["authority"],
            status=m["status"], effective_from=m["effective_from"],
            effective_to=m.get("effective_to"), sources=tuple(m["sources"]),
            description=m.get("description", ""), modules=modules, test_modules={},
            data=data)
        regime = replace(regime, parameters=dict(info.get("parameters") or {}))
        if regime.id != regime_id or regime.revision != info["revision"]:
            raise ConfigError(f"{where}: regime {regime_id}: its files do not match the "
                              f"revision the manifest records ({info['revision']})")
        out.append(regime)
    return out


def _package(source: str) -> str | None:
    try:
        return package_of(source)
    except ValueError:
        return None
