"""The embedded engine: Microsoft's rego-cpp through ``regopy``, in process.

Each regime is compiled once into a rego-cpp bundle with the regime's rules as
entry points, then every evaluation only sets the input and runs a plan. The
compiled bundle is kept in the start-up cache (`_cache`, rego-cpp's binary
bundle format), keyed by regopy's build and every module and datum compiled:
a cold start loads it instead of compiling again, and a bundle that is not
whole, or that rego-cpp cannot load, is compiled afresh.
rego-cpp is not OPA: regimes keep to the Rego subset both evaluate alike, and
the differential tests hold the two engines to the same decisions.
"""
from __future__ import annotations

import json
import os
import tempfile
import threading
from typing import Any, Callable

from .. import _cache
from .base import Engine
from .rego_text import package_of, test_rule_names
from .._exceptions import EngineError, EngineUnavailable
from .._regime import Regime
from .._settings import Settings
from .._markers import hookimpl

#: The rules of a regime an engine is asked for.
ENTRY_RULES = ("ladders",)


class RegopyEngine:
    """Compiles each regime once; evaluations on one engine are serialised."""

    name = "embedded"

    def __init__(self) -> None:
        try:
            import regopy
        except ImportError as exc:  # pragma: no cover - regopy is a hard dependency
            raise EngineUnavailable(f"the embedded engine needs regopy: pip install regopy "
                                    f"({exc})") from None
        self._regopy = regopy
        self._compiled: dict[str, tuple[Any, Any]] = {}
        self._lock = threading.Lock()

    def _interpreter(self, regime: Regime, tests: bool = False,
                     data: str | None = None) -> Any:
        interp = self._regopy.Interpreter()
        # JSON text, not regopy.Input: Input rounds floats to 6 decimals and
        # mangles strings holding quotes, backslashes or control characters.
        interp.add_data_json(data if data is not None else _data_json(regime))
        modules = {**regime.modules, **(regime.test_modules if tests else {})}
        for name, source in modules.items():
            interp.add_module(name, source)
        return interp

    def _compile(self, regime: Regime) -> tuple[Any, Any]:
        key = regime.id + "@" + regime.revision
        compiled = self._compiled.get(key)
        if compiled is None:
            data = _data_json(regime)
            entry = [regime.path(rule) for rule in ENTRY_RULES]
            cached = _cache.key("bundle", self._regopy.build_info(), "\0".join(entry), data,
                                *(part for item in sorted(regime.modules.items())
                                  for part in item))
            runner = self._regopy.Interpreter()
            bundle = self._load(runner, cached)
            if bundle is None:
                try:
                    build = self._interpreter(regime, data=data)
                    bundle = build.build(None, entry)
                    if not bundle.ok():
                        raise EngineError(f"rego-cpp could not compile {regime.id}: "
                                          f"{bundle.node()}")
                except self._regopy.RegoError as exc:
                    raise EngineError(f"rego-cpp could not compile {regime.id}: "
                                      f"{exc}") from None
                self._store(build, bundle, cached)
            compiled = (runner, bundle)
            self._compiled[key] = compiled
        return compiled

    def _load(self, runner: Any, entry: str) -> Any:
        """The bundle cached as ``entry`` (whole, as written), or None: compile it."""
        body = _cache.get_bytes(entry)
        if body is None:
            return None
        with tempfile.TemporaryDirectory(prefix="exportgate-") as tmp:
            path = os.path.join(tmp, "bundle.rbb")
            try:
                with open(path, "wb") as out:
                    out.write(body)
                bundle = runner.load_bundle(path, self._regopy.BundleFormat.Binary)
            except (OSError, self._regopy.RegoError):
                return None
        return bundle if bundle.ok() else None

    def _store(self, build: Any, bundle: Any, entry: str) -> None:
        """Keep a compiled bundle for the next process; a failure only leaves it uncached."""
        if _cache.folder() is None:
            return
        with tempfile.TemporaryDirectory(prefix="exportgate-") as tmp:
            path = os.path.join(tmp, "bundle.rbb")
            try:
                build.save_bundle(path, bundle, self._regopy.BundleFormat.Binary)
                with open(path, "rb") as saved:
                    body = saved.read()
            except (OSError, self._regopy.RegoError):
                return
        _cache.put_bytes(entry, body)

    def evaluate(self, regime: Regime, rule: str, input: dict[str, Any]) -> Any:
        with self._lock:
            runner, bundle = self._compile(regime)
            try:
                runner.set_input_term(json.dumps(input, sort_keys=True))
                out = runner.query_bundle_entrypoint(bundle, regime.path(rule))
            except (self._regopy.RegoError, ValueError) as exc:  # ValueError: unreadable output
                raise EngineError(f"rego-cpp failed on {regime.id}.{rule}: {exc}") from None
            return _value(out, f"{regime.id}.{rule}")

    def run_tests(self, regime: Regime) -> list[tuple[str, bool, str]]:
        interp = self._interpreter(regime, tests=True)
        results = []
        for module, source in sorted(regime.test_modules.items()):
            pkg = package_of(source)
            for name in test_rule_names(source):
                try:
                    out = interp.query(f"data.{pkg}.{name}")
                    value = _value(out, name)
                    ok = value is True
                    detail = "" if ok else f"evaluated to {json.dumps(value)}"
                except (EngineError, ValueError) as exc:  # ValueError: unreadable output
                    ok, detail = False, str(exc)
                results.append((f"{module}::{name}", ok, detail))
        return results

    def close(self) -> None:
        self._compiled.clear()


def _data_json(regime: Regime) -> str:
    """The data document as the engine is given it (and as its cache key reads it)."""
    return json.dumps(regime.data, sort_keys=True)


def _value(out: Any, what: str) -> Any:
    """The first expression's value of a regopy Output; None when undefined."""
    if not out.ok():
        raise EngineError(f"rego-cpp error in {what}: {str(out).strip()[:500]}")
    text = str(out).strip()
    if text in ("", "undefined"):
        return None
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested past what Python reads
        raise EngineError(f"rego-cpp returned unreadable output for {what}: {text[:200]}") \
            from None
    if isinstance(doc, list):
        doc = doc[0] if doc else {}
    exprs = doc.get("expressions") if isinstance(doc, dict) else None
    if not exprs:
        return None
    return exprs[0]


@hookimpl
def exportgate_register_engines(register: Callable[[str, Callable[[Settings], Engine]], None]
                                ) -> None:
    register("embedded", lambda settings: RegopyEngine())
