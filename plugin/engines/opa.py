"""The reference engine: OPA's own Go ``rego`` package, in process.

It comes from the PyPI package ``opa-golib-python-bindings`` (a ctypes wrapper
around OPA 1.20's ``rego`` package). The package declares Python >= 3.14 but
loads on 3.11, so it cannot be an ordinary dependency: ``make setup``
installs it with ``pip install --ignore-requires-python --no-deps``. When it
is missing, selecting this engine fails with that command in the message.

Each regime is compiled once per revision into an OPA engine of its own
(policies and the whole data document), and every evaluation reuses it.
"""
from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

from .base import Engine
from .rego_text import package_of, test_rule_names
from .._exceptions import EngineError, EngineUnavailable
from .._regime import Regime
from .._settings import Settings
from .._markers import hookimpl

#: The pinned bindings and the command that installs them.
BINDINGS = "opa-golib-python-bindings==0.4.4"
INSTALL = f"pip install --ignore-requires-python --no-deps {BINDINGS}"


#: Go's collector settings for the OPA runtime, unless the environment sets them: GOGC=400
#: collects a fifth as often as Go's default, a third less CPU per evaluation for about
#: 25 MB more (docs/performance.md, "The OPA engine's collector"); GOMEMLIMIT keeps a
#: large input's heap from growing fivefold before a collection.
GO_RUNTIME = {"GOGC": "400", "GOMEMLIMIT": "256MiB"}


def go_environment() -> bool:
    """Put `GO_RUNTIME` into this process's environment where it sets neither; True if
    that changed anything.

    Go reads them from the environment the process *started* with, when
    its library loads: processes started from here on (a batch's workers,
    the service's) have them; a process that is to evaluate on `opa` itself
    must start again with them (`start_again_with_go_runtime`).
    """
    missing = {k: v for k, v in GO_RUNTIME.items() if k not in os.environ}
    os.environ.update(missing)
    return bool(missing)


def start_again_with_go_runtime(command: Sequence[str]) -> None:
    """Replace this process by ``command`` (same process id and streams) with `GO_RUNTIME`
    in its environment, unless the environment already sets both: for a process that is
    to evaluate on `opa` itself (`exportgate serve`, the benchmarks)."""
    if go_environment():
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(command[0], list(command))


def _bindings() -> Any:
    """The ``opa_bindings`` module; EngineUnavailable (saying how to install it) if missing."""
    try:
        import opa_bindings
    except ImportError as exc:
        raise EngineUnavailable(
            f"engine 'opa' needs the OPA Go bindings, which are not installed ({exc}); "
            f"install them with: {INSTALL}  (`make setup` does this)") from None
    return opa_bindings


class OpaEngine:
    """OPA in process. One compiled OPA engine per regime revision."""

    name = "opa"

    def __init__(self) -> None:
        self._opa = _bindings()
        try:
            probe = self._opa.OpaEngine()
        except OSError as exc:  # the shared library did not load
            raise EngineUnavailable(f"engine 'opa': the OPA Go library does not load on this "
                                    f"machine ({exc}); reinstall with: {INSTALL}") from None
        probe.close()
        self._compiled: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _new(self, regime: Regime, tests: bool = False) -> Any:
        """A fresh OPA engine holding the regime's policies (and tests) and its data."""
        engine = self._opa.OpaEngine()
        try:
            modules = {**regime.modules, **(regime.test_modules if tests else {})}
            for name, source in modules.items():
                engine.add_policy(name, source)
            engine.add_data(regime.data)
            engine.eval_query("true")  # compile now, so errors name the regime here
        except self._opa.OpaError as exc:
            engine.close()
            raise EngineError(f"OPA could not compile {regime.id}: {exc}") from None
        return engine

    def _engine(self, regime: Regime) -> Any:
        key = regime.id + "@" + regime.revision
        with self._lock:
            engine = self._compiled.get(key)
            if engine is None:
                engine = self._compiled[key] = self._new(regime)
            return engine

    def evaluate(self, regime: Regime, rule: str, input: dict[str, Any]) -> Any:
        engine = self._engine(regime)
        try:
            return engine.eval_document(f"{regime.package}.{rule}", input)
        except self._opa.OpaUndefinedError:
            return None
        except self._opa.OpaError as exc:
            raise EngineError(f"OPA failed on {regime.id}.{rule}: {exc}") from None
        except (ValueError, RecursionError, TypeError) as exc:  # an answer Python cannot read
            raise EngineError(f"OPA answered {regime.id}.{rule} unreadably: "
                              f"{type(exc).__name__}") from None

    def run_tests(self, regime: Regime) -> list[tuple[str, bool, str]]:
        engine = self._new(regime, tests=True)
        results = []
        try:
            for module, source in sorted(regime.test_modules.items()):
                pkg = package_of(source)
                # One evaluation of the whole test package (each new query
                # costs OPA a prepare); a test that is not true there is
                # evaluated alone, for its detail.
                try:
                    whole = engine.eval_document(pkg)
                except self._opa.OpaError:
                    whole = {}
                for name in test_rule_names(source):
                    if isinstance(whole, dict) and whole.get(name) is True:
                        results.append((f"{module}::{name}", True, ""))
                        continue
                    try:
                        value = engine.eval_document(f"{pkg}.{name}")
                        ok = value is True
                        detail = "" if ok else f"evaluated to {json.dumps(value)}"
                    except self._opa.OpaUndefinedError:
                        ok, detail = False, "undefined"
                    except self._opa.OpaError as exc:
                        ok, detail = False, str(exc)
                    results.append((f"{module}::{name}", ok, detail))
        finally:
            engine.close()
        return results

    def close(self) -> None:
        with self._lock:
            for engine in self._compiled.values():
                engine.close()
            self._compiled.clear()


@hookimpl
def exportgate_register_engines(register: Callable[[str, Callable[[Settings], Engine]], None]
                                ) -> None:
    register("opa", lambda settings: OpaEngine())
