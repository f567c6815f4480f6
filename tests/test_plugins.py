"""The plugin layer: built-ins as plugins, third-party hooks, loud mistakes, documented hooks."""
from __future__ import annotations

import inspect
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from exportgate import (Classification, Decision, Enrichment, Order, Outcome, PluginError,
                        Settings, hookimpl)
from exportgate import hookspecs
from exportgate._gate import Gate
from exportgate._plugins import Plugins

from tests.helpers import h100_order


def test_the_built_ins_register_through_the_hooks() -> None:
    plugins = Plugins(Settings(), entry_points=False)
    assert {"us-advanced-computing-2023", "us-ai-diffusion-2025",
            "us-country-deals-2025"} <= set(plugins.regimes)
    assert "embedded" in plugins.engines
    assert "canonical" in plugins.adapters
    names = [name for name, _ in plugins.pm.list_name_plugin()]
    assert "exportgate.regimes" in names and "exportgate.catalog" in names


def test_a_duplicate_regime_is_an_error_that_names_the_plugin() -> None:
    class Copycat:
        @hookimpl
        def exportgate_register_regimes(self, register: Any) -> None:
            base = Plugins(Settings(), entry_points=False).regime("us-ai-diffusion-2025")
            register(base)

    with pytest.raises(PluginError, match="already registered") as info:
        Plugins(Settings(), extra=[Copycat()], entry_points=False)
    assert "Copycat" in str(info.value)


def test_a_plugin_that_raises_is_named() -> None:
    class Faulty:
        __name__ = "exportgate-faulty"

        @hookimpl
        def exportgate_register_engines(self, register: Any) -> None:
            raise RuntimeError("boom")

    with pytest.raises(PluginError, match="plugin 'exportgate-faulty': "
                                          "exportgate_register_engines: RuntimeError: boom"):
        Plugins(Settings(), extra=[Faulty()], entry_points=False)


def test_a_misspelt_hook_is_refused() -> None:
    class Typo:
        __name__ = "exportgate-typo"

        @hookimpl
        def exportgate_enrich_ordr(self, order: Order) -> None:
            pass

    with pytest.raises(PluginError, match="exportgate-typo"):
        Plugins(Settings(), extra=[Typo()], entry_points=False)


def test_an_enricher_fills_what_the_record_lacks_but_never_overrides_it(
        make_gate: Any) -> None:
    class Classifier:
        @hookimpl
        def exportgate_enrich_order(self, order: Order) -> Enrichment:
            return Enrichment(
                lines={line.id: Classification(eccn="3A090.b", tpp=3000, pd=2.0)
                       for line in order.lines},
                parties={"ship_to": {"verified": "dc-veu", "country": "ZZ"}})

    plugins = Plugins(Settings(), extra=[Classifier()], entry_points=False)
    gate = make_gate("us-advanced-computing-2023", plugins=plugins)
    order = {"id": "E", "date": "2025-06-02", "parties": {"ship_to": {"id": "s", "country": "SA"}},
             "lines": [{"id": "1", "item": "CUSTOM-ASIC", "quantity": 5},
                       {"id": "2", "item": "H100", "quantity": 5,
                        "classification": {"eccn": "3A090.a", "tpp": 15832, "pd": 19.45}}]}
    checked = gate.check(order)
    # line 1: the plugin's classification (adv-b) and verified ship-to apply
    assert checked.order.lines[0].classification == Classification(eccn="3A090.b", tpp=3000,
                                                                    pd=2.0)
    assert checked.order.ship_to.verified == "dc-veu"
    assert checked.order.ship_to.country == "SA"  # the record's country wins
    # line 2: the line's own ECCN and TPP win over both the plugin and the catalog
    assert checked.order.lines[1].classification.eccn == "3A090.a"
    assert checked.order.lines[1].classification.dram_bandwidth_gbps == 3350  # from catalog
    assert [line.outcome for line in checked.decision.lines] == [Outcome.ALLOW, Outcome.ALLOW]


def test_the_host_callback_receives_every_decision_and_its_failure_is_reported(
        make_gate: Any) -> None:
    seen: list[tuple[str, str, Any]] = []

    class Host:
        @hookimpl
        def exportgate_decision(self, order: Order, decision: Decision,
                                writeback: Any) -> None:
            seen.append((order.id, decision.outcome.value, writeback))

    class Flaky:
        __name__ = "exportgate-flaky"

        @hookimpl
        def exportgate_decision(self, decision: Decision) -> None:
            raise ValueError("ERP unreachable")

    # pluggy calls the later-registered plugin first: Host, then Flaky.
    plugins = Plugins(Settings(), extra=[Flaky(), Host()], entry_points=False)
    gate = make_gate("us-advanced-computing-2023", plugins=plugins)
    from exportgate._adapter import Record
    [checked] = gate.check_record(Record.from_value(h100_order("H", "CN", 1), "t"))
    assert seen == [("H", "deny", {"order": "H", "block": True, "outcome": "deny",
                                   "lines": {"10": "deny"}})]
    assert [str(e) for e in checked.plugin_errors] == [
        "plugin 'exportgate-flaky': exportgate_decision: ValueError: ERP unreachable"]
    assert gate.ledger.orders()[0]["order"] == "H"  # the decision stands


def test_entry_point_plugins_load_unless_blocked(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded: list[str] = []

    class EP:
        name = "exportgate-demo"

        def load(self) -> Any:
            loaded.append(self.name)

            class Demo:
                __name__ = "exportgate-demo"

                @hookimpl
                def exportgate_register_engines(self, register: Any) -> None:
                    register("demo", lambda settings: None)
            return Demo()

    import exportgate._plugins as mod
    monkeypatch.setattr(mod.metadata, "entry_points", lambda group: [EP()])
    monkeypatch.delenv("EXPORTGATE_LOAD_PLUGINS", raising=False)
    assert "demo" in Plugins(Settings()).engines
    monkeypatch.setenv("EXPORTGATE_BLOCK_PLUGINS", "exportgate-demo")
    assert "demo" not in Plugins(Settings()).engines
    monkeypatch.delenv("EXPORTGATE_BLOCK_PLUGINS")
    monkeypatch.setenv("EXPORTGATE_LOAD_PLUGINS", "")
    assert "demo" not in Plugins(Settings()).engines
    assert loaded == ["exportgate-demo"]


HOOKS = [name for name, f in inspect.getmembers(hookspecs, inspect.isfunction)
         if name.startswith("exportgate_")]


# -- a plugin that raises, in every hook: named, never a traceback, fail closed --------


class _Raising:
    """A plugin whose implementation of one hook raises a KeyError."""

    __name__ = "exportgate-raising"

    def __init__(self, hook: str) -> None:
        def boom(**kwargs: Any) -> Any:
            raise KeyError("VBELN")
        boom.__name__ = hook
        params = [inspect.Parameter(a, inspect.Parameter.KEYWORD_ONLY)
                  for a in inspect.signature(getattr(hookspecs, hook)).parameters]
        boom.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        setattr(self, hook, hookimpl(tryfirst=True)(boom))


class _EntryPoint:
    def __init__(self, plugin: object) -> None:
        self.name = "exportgate-raising"
        self.plugin = plugin

    def load(self) -> object:
        return self.plugin


def _installed(monkeypatch: pytest.MonkeyPatch, plugin: object) -> None:
    """``plugin`` installed as an entry point, as a third-party distribution is."""
    import exportgate._plugins as mod
    monkeypatch.setattr(mod.metadata, "entry_points", lambda group: [_EntryPoint(plugin)])
    monkeypatch.delenv("EXPORTGATE_LOAD_PLUGINS", raising=False)


def _check_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from exportgate._cli import main
    order = tmp_path / "order.json"
    order.write_text(json.dumps(h100_order("SO-1", "IN", 10)))
    code = main(["check", "--regime", "us-ai-diffusion-2025", "--ledger",
                 f"sqlite:///{tmp_path / 'l.db'}", str(order)])
    out, err = capsys.readouterr()
    return code, out, err


def _reserved(tmp_path: Path) -> list[Any]:
    if not (tmp_path / "l.db").exists():
        return []
    from exportgate.ledger.urls import open_ledger
    ledger = open_ledger(f"sqlite:///{tmp_path / 'l.db'}")
    try:
        return list(ledger.reservations())
    finally:
        ledger.close()


@pytest.mark.parametrize("hook", ["exportgate_register_regimes", "exportgate_register_engines",
                                  "exportgate_register_adapters", "exportgate_adapt_order",
                                  "exportgate_enrich_order"])
def test_a_plugin_raising_before_the_decision_is_named_and_nothing_is_decided(
        hook: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    _installed(monkeypatch, _Raising(hook))
    code, out, err = _check_cli(tmp_path, capsys)
    assert code == 4, err  # a plugin failed, not --fail-on's 1, no traceback
    assert f"plugin 'exportgate-raising': {hook}: KeyError: 'VBELN'" in err
    assert out == "" and _reserved(tmp_path) == []


def test_a_host_callback_raising_is_named_and_the_decision_stands(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    _installed(monkeypatch, _Raising("exportgate_decision"))
    code, out, err = _check_cli(tmp_path, capsys)
    assert code == 4
    assert "plugin 'exportgate-raising': exportgate_decision: KeyError: 'VBELN'" in err
    assert "SO-1" in out and _reserved(tmp_path)


def test_an_adapter_raising_inside_the_dispatch_names_its_plugin(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        name = "broken-erp"
        description = "claims everything, then fails"

        def claims(self, record: Any) -> bool:
            return isinstance(record.data, dict) and record.data.get("id") == "SO-1"

        def adapt(self, record: Any) -> list[Order]:
            return [record.data["VBELN"]]

        def writeback(self, order: Order, decision: Decision) -> dict[str, Any]:
            return {}

    class Erp:
        __name__ = "exportgate-raising"

        @hookimpl
        def exportgate_register_adapters(self, register: Any) -> None:
            register(Broken())

    _installed(monkeypatch, Erp())
    from exportgate._cli import main
    order = tmp_path / "order.json"
    order.write_text(json.dumps(h100_order("SO-1", "IN", 10)))
    assert main(["check", "--regime", "us-ai-diffusion-2025", "--adapter", "broken-erp",
                 "--ledger", f"sqlite:///{tmp_path / 'l.db'}", str(order)]) == 4
    err = capsys.readouterr().err
    assert "plugin 'exportgate-raising': exportgate_adapt_order: KeyError: 'VBELN'" in err
    assert _reserved(tmp_path) == []


def test_an_adapter_writeback_raising_after_the_commit_is_named_and_the_decision_stands(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    class Writer:
        name = "writer-erp"
        description = "reads canonical orders, fails to write back"

        def claims(self, record: Any) -> bool:
            return isinstance(record.data, dict) and record.data.get("id") == "SO-1"

        def adapt(self, record: Any) -> list[Order]:
            return [Order.from_dict(record.data)]

        def writeback(self, order: Order, decision: Decision) -> dict[str, Any]:
            raise KeyError("LIFSK")

    class Erp:
        __name__ = "exportgate-writer"

        @hookimpl
        def exportgate_register_adapters(self, register: Any) -> None:
            register(Writer())

    _installed(monkeypatch, Erp())
    from exportgate._cli import main
    order = tmp_path / "order.json"
    order.write_text(json.dumps(h100_order("SO-1", "IN", 10)))
    assert main(["check", "--regime", "us-ai-diffusion-2025", "--adapter", "writer-erp",
                 "--writeback", "--json", "--ledger", f"sqlite:///{tmp_path / 'l.db'}",
                 str(order)]) == 4
    out, err = capsys.readouterr()
    assert "adapter writer-erp" in err and "writeback failed: KeyError: 'LIFSK'" in err
    assert json.loads(out)["outcome"] == "notify"  # the decision stands, as reserved
    assert _reserved(tmp_path)


def test_an_engine_factory_raising_holds_the_order_naming_its_plugin(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    class Engines:
        __name__ = "exportgate-raising"

        @hookimpl
        def exportgate_register_engines(self, register: Any) -> None:
            def factory(settings: Settings) -> Any:
                raise KeyError("licence")
            register("broken", factory)

    _installed(monkeypatch, Engines())
    from exportgate._cli import main
    order = tmp_path / "order.json"
    order.write_text(json.dumps(h100_order("SO-1", "IN", 10)))
    assert main(["check", "--regime", "us-ai-diffusion-2025", "--engine", "broken", "--json",
                 "--ledger", f"sqlite:///{tmp_path / 'l.db'}", str(order)]) == 3
    out, err = capsys.readouterr()
    decision = json.loads(out)
    assert decision["outcome"] == "license"
    assert "engine 'broken' (plugin 'exportgate-raising') could not start: KeyError" \
        in decision["error"]
    assert _reserved(tmp_path) == []


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_is_documented(name: str) -> None:
    """Each hook says when it fires, every argument, what it returns and how results combine."""
    f = getattr(hookspecs, name)
    doc = inspect.getdoc(f) or ""
    assert "Fires" in doc, f"{name}: say when it fires"
    for arg in inspect.signature(f).parameters:
        assert f":param {arg}:" in doc, f"{name}: document {arg}"
    assert ":returns:" in doc
    assert any(w in doc for w in ("firstresult", "Every implementation", "first result")), \
        f"{name}: say how results combine"
    module_doc = hookspecs.__doc__ or ""
    assert name in module_doc, f"{name}: list it in the firing order"


def test_hooks_are_listed_in_firing_order() -> None:
    doc = hookspecs.__doc__ or ""
    order = ["exportgate_register_regimes", "exportgate_register_engines",
             "exportgate_register_adapters", "exportgate_adapt_order",
             "exportgate_enrich_order", "exportgate_decision", "exportgate_screening_read"]
    assert sorted(HOOKS) == sorted(order)
    positions = [doc.index(n) for n in order]
    assert positions == sorted(positions)


def test_the_built_in_adapters_use_only_public_names() -> None:
    """A third-party adapter is written exactly like a built-in one: with public names only."""
    import ast
    from pathlib import Path

    import exportgate
    import exportgate.toolkit

    adapters = Path(__file__).resolve().parent.parent / "adapters"
    modules = sorted(adapters.glob("*.py"))
    assert len(modules) >= 8
    for module in modules:
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                    and node.module.startswith("exportgate"):
                assert node.module in ("exportgate", "exportgate.toolkit"), \
                    f"{module.name} imports {node.module}"
                public = exportgate.__all__ if node.module == "exportgate" \
                    else exportgate.toolkit.__all__
                for alias in node.names:
                    assert alias.name in public, f"{module.name}: {alias.name} is not public"


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_is_documented_for_plugin_authors(name: str) -> None:
    """docs/plugins.md gives each hook with its exact signature (as datasette's docs do)."""
    from pathlib import Path
    docs = (Path(__file__).resolve().parent.parent / "docs" / "plugins.md").read_text()
    signature = str(inspect.signature(getattr(hookspecs, name))).replace("'", "")
    assert f"### `{name}{signature}`" in docs, f"docs/plugins.md: document {name}{signature}"


def test_rego_folders_follow_their_packages_and_lines_stay_short() -> None:
    """As OPA's linter wants: a module's folder is its package path; lines under 120."""
    import re
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent / "rego"
    modules = sorted(root.rglob("*.rego"))
    assert len(modules) >= 10
    for module in modules:
        text = module.read_text()
        package = re.search(r"^package\s+([\w.]+)", text, re.M)
        assert package, module
        folder = ".".join(module.parent.relative_to(root).parts)
        assert package.group(1).removesuffix("_test") == folder, f"{module}: {package.group(1)}"
        long = [n for n, line in enumerate(text.splitlines(), 1)
                if len(line) > 120 and "https://" not in line]  # a URL does not break
        assert not long, f"{module}: lines {long} are longer than 120 characters"
