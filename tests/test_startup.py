"""A cold ``exportgate check``: what it loads, and the start-up cache that spares it work.

How fast it starts belongs to bench/startup.py; here, what makes it fast and
what must not break for it: the cache follows the files it was made from (a
changed data value decides differently on the next cold run), a corrupt
entry is ignored and rebuilt, never trusted, the cache can be turned off,
a check loads neither the service nor the impact report nor an HTTP stack,
and YAML reads alike, refusals included, with libyaml's C loader and without.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from exportgate import _cache, _regime, _yaml
from exportgate._exceptions import ConfigError
from exportgate._settings import Settings

from tests.helpers import exportgate_cmd

SOURCE = "us_country_deals_2025"
REGIME = "acme-deals-2026"
#: An order the AE agreement covers while it is in force (2025-05-15 on): allow.
ORDER = {"id": "SO-AE-1", "date": "2025-06-02",
         "parties": {"ship_to": {"id": "ae-1", "country": "AE"}},
         "lines": [{"id": "10", "item": "H100", "quantity": 10}]}


def _regime_copy(tmp_path: Path) -> Path:
    """us-country-deals-2025 as a configured regime folder (``regime_folders:``), renamed."""
    source = Path(str(_regime.rego_root())) / "exportgate" / "regimes" / SOURCE
    folder = tmp_path / "regimes" / "acme_deals_2026"
    shutil.copytree(source, folder)
    for name in ("policy.rego", "policy_test.rego"):
        path = folder / name
        text = path.read_text(encoding="utf-8").replace(SOURCE, "acme_deals_2026")
        path.write_text(text.replace("us-country-deals-2025", REGIME), encoding="utf-8")
    (tmp_path / "exportgate.yaml").write_text("regime_folders: [regimes/acme_deals_2026]\n")
    (tmp_path / "order.json").write_text(json.dumps(ORDER) + "\n")
    return folder


def _check(tmp_path: Path, **env: str) -> dict[str, Any]:
    """A cold check (a fresh process), its cache under ``tmp_path/cache``: the decision."""
    run_env = {**{k: v for k, v in os.environ.items() if k != "EXPORTGATE_NO_CACHE"},
               "XDG_CACHE_HOME": str(tmp_path / "cache"), "EXPORTGATE_LOAD_PLUGINS": "", **env}
    proc = subprocess.run(
        [*exportgate_cmd(), "--config", str(tmp_path / "exportgate.yaml"), "check", "--regime",
         REGIME, "--ledger", f"sqlite:///{tmp_path / 'ledger.db'}", "--json",
         str(tmp_path / "order.json")],
        capture_output=True, text=True, env=run_env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def _entries(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "cache" / "exportgate"
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


# -- the cache follows its files -------------------------------------------------------


def test_a_changed_data_value_decides_differently_on_the_next_cold_run(tmp_path: Path) -> None:
    folder = _regime_copy(tmp_path)
    first = _check(tmp_path)
    assert first["outcome"] == "allow"
    kinds = {p.name.split("-")[0] for p in _entries(tmp_path)}
    assert {"data", "metadata", "catalog", "bundle"} <= kinds
    assert _check(tmp_path) == first  # read back from the cache: the same decision

    # The agreement with AE now starts after the order's date: no longer covered.
    data = folder / "data.yaml"
    data.write_text(data.read_text().replace('from: "2025-05-15"', 'from: "2025-07-01"'))
    changed = _check(tmp_path)
    assert changed["outcome"] == "notify"
    assert changed["revision"] != first["revision"]
    assert changed == _check(tmp_path, EXPORTGATE_NO_CACHE="1")


def test_a_changed_policy_is_compiled_again(tmp_path: Path) -> None:
    folder = _regime_copy(tmp_path)
    assert _check(tmp_path)["outcome"] == "allow"
    bundles = {p.name for p in _entries(tmp_path) if p.name.startswith("bundle-")}
    policy = folder / "policy.rego"
    policy.write_text(policy.read_text() + "\n# a comment changes the module, not the rules\n")
    assert _check(tmp_path)["outcome"] == "allow"
    assert {p.name for p in _entries(tmp_path) if p.name.startswith("bundle-")} > bundles


@pytest.mark.parametrize("damage", ["truncated", "flipped", "garbage", "emptied"])
def test_a_corrupt_cache_is_ignored_and_rebuilt(tmp_path: Path, damage: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    _regime_copy(tmp_path)
    first = _check(tmp_path)
    entries = _entries(tmp_path)
    for path in entries:
        raw = path.read_bytes()
        if damage == "truncated":
            path.write_bytes(raw[:len(raw) // 2])
        elif damage == "flipped":  # one byte of the body: the header's digest no longer holds
            i = len(raw) * 3 // 4
            path.write_bytes(raw[:i] + bytes([raw[i] ^ 0x55]) + raw[i + 1:])
        elif damage == "garbage":
            path.write_bytes(os.urandom(len(raw)))
        else:
            path.write_bytes(b"")
    assert _check(tmp_path) == first
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("EXPORTGATE_NO_CACHE", raising=False)
    for path in entries:  # each entry was written again, whole
        assert _cache.get_bytes(path.name) is not None, path.name


def test_the_cache_can_be_turned_off(tmp_path: Path) -> None:
    _regime_copy(tmp_path)
    assert _check(tmp_path, EXPORTGATE_NO_CACHE="1")["outcome"] == "allow"
    assert not (tmp_path / "cache").exists()


def test_an_unwritable_cache_folder_only_makes_every_start_cold(tmp_path: Path) -> None:
    _regime_copy(tmp_path)
    (tmp_path / "cache").write_text("a file where the folder would be\n")
    assert _check(tmp_path)["outcome"] == "allow"


# -- entries ---------------------------------------------------------------------------


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("EXPORTGATE_NO_CACHE", raising=False)
    return tmp_path / "exportgate"


def test_an_entry_is_read_back_only_under_its_own_key(cache_home: Path) -> None:
    one, other = _cache.key("data", "a"), _cache.key("data", "b")
    assert one != other and one != _cache.key("metadata", "a")
    _cache.put_json(one, {"x": [1, 2.5, "t", None, True]})
    assert _cache.get_json(one) == {"x": [1, 2.5, "t", None, True]}
    assert _cache.get_json(other) is None
    (cache_home / other).write_bytes((cache_home / one).read_bytes())  # a copy, misnamed
    assert _cache.get_json(other) is None


def test_a_value_json_would_change_is_not_cached(cache_home: Path) -> None:
    import datetime
    for value in ({"when": datetime.date(2025, 1, 1)}, {1: "an integer key"}, {"t": (1, 2)}):
        entry = _cache.key("data", repr(value))
        assert _cache.memo_json(entry, lambda value=value: value) == value
        assert not (cache_home / entry).exists()


def test_a_failed_build_caches_nothing(cache_home: Path) -> None:
    entry = _cache.key("data", "bad")

    def refuse() -> Any:
        raise ConfigError("data.yaml: refused")
    with pytest.raises(ConfigError):
        _cache.memo_json(entry, refuse)
    assert _cache.get_json(entry) is None


def test_without_a_home_there_is_no_cache_and_no_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("EXPORTGATE_NO_CACHE", raising=False)
    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    assert _cache.folder() is None
    assert _cache.memo_json(_cache.key("data", "no home"), lambda: {"built": True}) == \
        {"built": True}


def test_old_entries_are_pruned(cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_cache, "MAX_ENTRIES", 10)
    for i in range(25):
        _cache.put_json(_cache.key("data", str(i)), i)
    assert len(list(cache_home.iterdir())) <= 10
    assert _cache.get_json(_cache.key("data", "24")) == 24  # the newest is kept


def test_a_changed_configuration_is_read_again(cache_home: Path, tmp_path: Path) -> None:
    path = tmp_path / "exportgate.yaml"
    path.write_text("ledger_timeout: 5\ncatalogs: [items.yaml]\n")
    assert Settings.load(path).ledger_timeout == 5
    assert any(p.name.startswith("settings-") for p in cache_home.iterdir())
    again = Settings.load(path)  # from the cache: paths still resolved against the file
    assert again.ledger_timeout == 5 and again.catalogs == [tmp_path / "items.yaml"]
    path.write_text("ledger_timeout: 7\n")
    assert Settings.load(path).ledger_timeout == 7
    path.write_text("ledger_timeout: -1\n")
    with pytest.raises(ConfigError, match="ledger_timeout"):
        Settings.load(path)


# -- what a check loads ----------------------------------------------------------------

#: Modules a check of one order on the embedded engine has no use for.
NOT_FOR_A_CHECK = ("exportgate.service", "exportgate._impact", "exportgate._impact_html",
                   "exportgate.engines.http", "exportgate.engines.bundle", "matplotlib",
                   "starlette", "uvicorn", "requests", "urllib3", "psycopg",
                   # the screening index, while no list is loaded
                   "exportgate.screening.index", "numpy", "rapidfuzz")


def test_a_check_does_not_import_the_service_the_report_or_an_http_stack(
        tmp_path: Path) -> None:
    (tmp_path / "order.json").write_text(json.dumps(ORDER) + "\n")
    script = ("import json, sys\n"
              "from exportgate._cli import main\n"
              "code = main(sys.argv[1:])\n"
              "sys.stderr.write(json.dumps(sorted(sys.modules)))\n"
              "sys.exit(code)\n")
    proc = subprocess.run(
        [sys.executable, "-c", script, "check", "--regime", "us-country-deals-2025",
         "--ledger", f"sqlite:///{tmp_path / 'l.db'}", "--json", str(tmp_path / "order.json")],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["outcome"] == "allow"
    loaded = json.loads(proc.stderr[proc.stderr.index("["):])
    assert "exportgate._gate" in loaded and "regopy" in loaded  # it did decide, in process
    unwanted = [m for m in loaded if any(m == name or m.startswith(name + ".")
                                         for name in NOT_FOR_A_CHECK)]
    assert unwanted == []


# -- YAML, with the C loader and without -----------------------------------------------


@pytest.fixture(params=["C", "Python"])
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "C":
        if _yaml.c_loader() is None:
            pytest.skip("PyYAML was built without libyaml")
    else:
        monkeypatch.setattr(_yaml, "C_LOADER", None)
    return str(request.param)


def test_the_c_loader_is_used_where_present() -> None:
    assert _yaml.c_loader() is None or issubclass(_yaml.c_loader(), yaml.CSafeLoader)


def test_both_loaders_read_a_document_alike(loader: str) -> None:
    text = ("base: &b {a: 1, b: 2}\nderived:\n  <<: *b\n  b: 3\nwhen: 2025-05-15\n"
            "list: [1, 2.5, 'x', null, true]\n")
    doc = _yaml.loads(text, "t")
    assert doc["derived"] == {"a": 1, "b": 3}
    assert doc["list"] == [1, 2.5, "x", None, True]
    assert str(doc["when"]) == "2025-05-15"


@pytest.mark.parametrize("text, message", [
    ("a: 1\nb:\n  c: 2\n  c: 3\n", r'duplicate key "c" at b.c \(line 4; first at line 3\)'),
    ("x: 1\n1: a\n0x1: b\n", r'duplicate key "1" at 1 \(line 3'),
    ("a: &a [x, x, x, x, x, x, x, x, x]\n"
     + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]\n"
               for i in range(8)), "alias bomb"),
    ("p: &p {q: [*p]}\n", "contains it"),
    ("x: " + "[" * 65 + "]" * 65 + "\n", "nested more than 64 levels deep"),
    ("x: " + "[" * 5000 + "]" * 5000 + "\n", "nested more than 64 levels deep"),
    ("a: [1, 2\n", "not valid YAML"),
    ("--- 1\n--- 2\n", "not valid YAML"),
])
def test_both_loaders_refuse_alike(loader: str, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _yaml.loads(text, "test.yaml")


def test_nesting_is_counted_where_written_not_through_aliases(loader: str) -> None:
    """62 levels behind an anchor written 1 level down (63 deep: within the limit), then
    an alias to it 3 levels down (65 deep if counted through the alias): read, as the
    Python loader counts it."""
    deep = "[" * 62 + "]" * 62
    doc = _yaml.loads(f"a: &x {deep}\nb: {{c: {{d: *x}}}}\n", "t")
    assert doc["b"]["c"]["d"] == doc["a"]
