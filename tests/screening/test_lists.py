"""Reading the Consolidated Screening List: its CSV and JSON downloads, whole or refused.

The files are built here in the official layouts (`csl`): an Entity List
entry with aliases and two addresses, an SDN individual, an MEU entry and a
UVL entry. Every refusal names the file, the row and the field.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Callable

import pytest

from exportgate import Settings, hookimpl
from exportgate._exceptions import InputError, PluginError
from exportgate._plugins import Plugins
from exportgate.screening import lists
from exportgate.screening.lists import LoadedList, ScreeningListError
from exportgate.screening.model import Address, Entry

from . import csl


def _by_list(loaded: LoadedList) -> dict[str, Entry]:
    return {e.list: e for e in loaded.entries}


# -- the two downloads ----------------------------------------------------------


def test_the_csv_download_is_read_entry_by_entry(tmp_path: Path) -> None:
    path = csl.write(tmp_path / "consolidated.csv", csl.csv_text())
    loaded = lists.read(path, published="2026-12-03")
    el, sdn, meu, uvl = (_by_list(loaded)[c] for c in ("EL", "SDN", "MEU", "UVL"))

    assert el.id == csl.ROWS[0]["id"] and el.source == csl.EL
    assert el.alt_names == ("Hebei Semiconductor Research Institute", "HSRI",
                            "CETC Research Institute 13")
    # The CSV joins an address's parts: only the country is known apart.
    assert el.addresses == (Address("113 Hezuo Road, Shijiazhuang, Hebei", country="CN"),
                            Address("21 Changsheng Street, Shijiazhuang, Hebei, 050051",
                                    country="CN"))
    assert el.countries == {"CN"}
    assert (el.start_date, el.federal_register_notice, el.license_policy) == (
        "2018-08-01", "83 FR 37423; 87 FR 77505", "Presumption of denial.")
    assert el.license_requirement and el.license_requirement.startswith("For all items")

    assert (sdn.type, sdn.programs, sdn.entity_number) == ("Individual",
                                                          ("RUSSIA-EO14024",), "41902")
    assert sdn.alt_names == ("KOVALENKO, Dmitriy",)
    assert (sdn.nationalities, sdn.citizenships, sdn.dates_of_birth) == (
        ("RU",), ("RU",), ("1971-03-14",))
    assert sdn.ids == ("Passport, 712345678, RU", "Gender, Male")
    assert sdn.addresses == (Address("Moscow", country="RU"),)

    assert meu.license_requirement == csl.ROWS[2]["license_requirement"]
    assert uvl.addresses == (Address("Komitas 26/114, Yerevan", country="AM"),)

    v = loaded.version
    assert v.id == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (v.file, v.published) == ("consolidated.csv", "2026-12-03")
    assert v.counts == {"EL": 1, "MEU": 1, "SDN": 1, "UVL": 1}
    assert lists.read(path).version.published is None  # a CSV states no date itself


def test_the_json_download_is_read_with_its_publication_date(tmp_path: Path) -> None:
    path = csl.write_json(tmp_path / "consolidated.json", csl.json_doc())
    loaded = lists.read(path)
    from_csv = lists.read(csl.write(tmp_path / "consolidated.csv", csl.csv_text()))
    el = _by_list(loaded)["EL"]

    assert [e.id for e in loaded.entries] == [r["id"] for r in csl.ROWS]
    assert el.addresses[1] == Address("21 Changsheng Street", "Shijiazhuang", "Hebei",
                                      "050051", "CN")
    # Everything but the addresses' structure reads as the CSV does.
    for a, b in zip(loaded.entries, from_csv.entries, strict=True):
        assert a.to_dict() | {"addresses": None} == b.to_dict() | {"addresses": None}
        assert {x.country for x in a.addresses} == {x.country for x in b.addresses}
        assert a.fingerprint == b.fingerprint  # a clearance survives a change of download
    # The newest source_last_updated of sources_used dates the version.
    assert loaded.version.published == "2026-12-02T14:30:00.000-05:00"
    assert loaded.version.id == hashlib.sha256(path.read_bytes()).hexdigest()
    assert loaded.version.counts == {"EL": 1, "MEU": 1, "SDN": 1, "UVL": 1}


def test_a_json_entry_may_name_its_id_as_the_csv_does(tmp_path: Path) -> None:
    rows = csl.rows()
    for row in rows:
        row["_id"] = row.pop("id")
    loaded = lists.read(csl.write_json(tmp_path / "c.json", csl.json_doc(rows)))
    assert [e.id for e in loaded.entries] == [r["id"] for r in csl.ROWS]
    rows[0]["id"] = "another"
    with pytest.raises(ScreeningListError) as caught:
        lists.read(csl.write_json(tmp_path / "c.json", csl.json_doc(rows)))
    assert (caught.value.row, caught.value.field) == ("results[0]", "id")
    assert "differ" in str(caught.value)


def test_the_entity_lists_way_of_joining_aliases_and_addresses(tmp_path: Path) -> None:
    """An Entity List row as the CSL writes it: "; and" before the last alias and
    address, an address whose country is spelt out rather than coded."""
    header = ",".join(lists.CSV_COLUMNS)
    fields = {c: "" for c in lists.CSV_COLUMNS} | {
        "_id": "c3a0e1d2", "source": csl.EL, "name": "Hebei Far East Communication System "
        "Engineering Co., Ltd.",
        "addresses": "113 Hezuo Road, Shijiazhuang, Hebei, China; and 21 Changsheng "
                     "Road, Shijiazhuang, Hebei Province, CN",
        "alt_names": "HFECS; Hebei Far East; and Far East Communication Co.",
        "start_date": "2018-08-01"}
    row = ",".join(f'"{fields[c]}"' for c in lists.CSV_COLUMNS)
    [entry] = lists.read(csl.write(tmp_path / "el.csv", f"{header}\n{row}\n")).entries
    assert entry.alt_names == ("HFECS", "Hebei Far East", "Far East Communication Co.")
    assert entry.addresses == (
        Address("113 Hezuo Road, Shijiazhuang, Hebei, China", country=None),
        Address("21 Changsheng Road, Shijiazhuang, Hebei Province", country="CN"))


@pytest.mark.parametrize("suffix, make", [
    ("csv", lambda: csl.csv_text()),
    ("json", lambda: json.dumps(csl.json_doc())),
])
def test_a_byte_order_mark_is_read_past(tmp_path: Path, suffix: str,
                                        make: Callable[[], str]) -> None:
    plain = lists.read(csl.write(tmp_path / f"plain.{suffix}", make()))
    marked_path = csl.write(tmp_path / f"bom.{suffix}", b"\xef\xbb\xbf" + make().encode())
    marked = lists.read(marked_path)
    assert marked.entries == plain.entries
    assert marked.version.id == hashlib.sha256(marked_path.read_bytes()).hexdigest()


def test_windows_line_ends_are_read_as_the_same_entries(tmp_path: Path) -> None:
    plain = lists.read(csl.write(tmp_path / "c.csv", csl.csv_text()))
    crlf = lists.read(csl.write(tmp_path / "crlf.csv", csl.csv_text().replace("\n", "\r\n")))
    assert crlf.entries == plain.entries


def test_the_columns_may_come_in_any_order(tmp_path: Path) -> None:
    columns = tuple(reversed(lists.CSV_COLUMNS))
    loaded = lists.read(csl.write(tmp_path / "c.csv", csl.csv_text(columns=columns)))
    assert [e.name for e in loaded.entries] == [r["name"] for r in csl.ROWS]


CODES = [
    ("Entity List (EL) - Bureau of Industry and Security", "EL"),
    ("Specially Designated Nationals (SDN) - Treasury Department", "SDN"),
    ("Military End User (MEU) List - Bureau of Industry and Security", "MEU"),
    ("Unverified List (UVL) - Bureau of Industry and Security", "UVL"),
    ("Denied Persons List (DPL) - Bureau of Industry and Security", "DPL"),
    ("Nonproliferation Sanctions (ISN) - State Department", "ISN"),
    ("ITAR Debarred (DTC) - State Department", "DTC"),
    ("Foreign Sanctions Evaders (FSE) - Treasury Department", "FSE"),
    ("Sectoral Sanctions Identifications List (SSI) - Treasury Department", "SSI"),
    ("Palestinian Legislative Council List (PLC) - Treasury Department", "PLC"),
    ("Non-SDN Menu-Based Sanctions List (NS-MBS List) - Treasury Department", "NS-MBS"),
    ("Non-SDN Menu-Based Sanctions List (MBS) - Treasury Department", "NS-MBS"),
    ("Capta List (CAP) - Treasury Department", "CAP"),
    ("Correspondent Account or Payable-Through Account Sanctions (CAPTA) - Treasury "
     "Department", "CAP"),
    ("Non-SDN Chinese Military-Industrial Complex Companies List (CMIC) - Treasury "
     "Department", "CMIC"),
    ("Entity List - Bureau of Industry and Security", None),
    ("Entity List (el) - Bureau of Industry and Security", None),
]


@pytest.mark.parametrize("source, code", CODES)
def test_the_list_code_is_the_one_in_brackets(source: str, code: str | None) -> None:
    assert lists.list_code(source) == code


def test_every_code_read_is_one_the_regimes_know() -> None:
    """The codes of the CSL's lists are the keys of the regimes' ``lists`` table."""
    import yaml
    data = Path(__file__).resolve().parents[2] / "rego" / "exportgate" / "lib" / "data.yaml"
    known = set(yaml.safe_load(data.read_text())["screening"]["lists"])
    read = {lists.list_code(s) for s, c in CODES if c}
    assert read <= known, read - known


# -- refused whole ---------------------------------------------------------------


def _csv_with(change: Callable[[list[dict[str, Any]]], None]) -> str:
    rows = csl.rows()
    change(rows)
    return csl.csv_text(rows)


def _set(i: int, key: str, value: Any) -> Callable[[list[dict[str, Any]]], None]:
    def change(rows: list[dict[str, Any]]) -> None:
        rows[i][key] = value
    return change


_FULL = csl.csv_text()
_LAST_ROW_START = _FULL.rstrip("\n").rfind("\n") + 1

CSV_REFUSALS = [
    # (what, file text, row, field, words of the message)
    ("a column missing", csl.csv_text(columns=lists.CSV_COLUMNS[:-1]), "line 1", "header",
     "missing ids"),
    ("an unknown column", csl.csv_text(columns=lists.CSV_COLUMNS + ("score",)), "line 1",
     "header", "unknown 'score'"),
    ("cut inside a quoted field", _FULL[:_LAST_ROW_START + 80], "line 5", None,
     "does not parse"),
    ("cut between fields", _FULL[:_FULL.find('","', _LAST_ROW_START + 10)] + '"\n',
     "line 5", None, "the row has"),
    ("an empty name", _csv_with(_set(1, "name", "  ")), "line 3", "name", "empty"),
    ("an empty id", _csv_with(_set(2, "id", "")), "line 4", "_id", "empty"),
    ("an id used twice", _csv_with(_set(3, "id", csl.ROWS[1]["id"])), "line 5", "id",
     "already used by line 3"),
    ("a month 13", _csv_with(_set(0, "start_date", "2018-13-01")), "line 2", "start_date",
     "not a date"),
    ("a US date", _csv_with(_set(2, "end_date", "12/23/2020")), "line 4", "end_date",
     "not a date"),
    ("a source without a code", _csv_with(_set(3, "source", "Unverified List - BIS")),
     "line 5", "source", "no list code"),
    ("no entries", csl.csv_text([]), None, None, "no entries"),
]


@pytest.mark.parametrize("what, text, row, field, words", CSV_REFUSALS,
                         ids=[c[0] for c in CSV_REFUSALS])
def test_a_csv_that_is_not_the_format_is_refused_naming_row_and_field(
        tmp_path: Path, what: str, text: str, row: str | None, field: str | None,
        words: str) -> None:
    path = csl.write(tmp_path / "consolidated.csv", text)
    with pytest.raises(ScreeningListError) as caught:
        lists.read(path)
    exc = caught.value
    assert isinstance(exc, InputError)  # the caller's file: exit 2, nothing loaded
    assert (exc.file, exc.row, exc.field) == ("consolidated.csv", row, field), str(exc)
    assert words in str(exc) and str(exc).startswith("consolidated.csv: ")


def _json_with(change: Callable[[dict[str, Any]], None]) -> str:
    doc = csl.json_doc()
    change(doc)
    return json.dumps(doc, indent=1)


def _in(i: int, key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        doc["results"][i][key] = value
    return change


_JSON = json.dumps(csl.json_doc(), indent=1)

JSON_REFUSALS = [
    ("no results", json.dumps({"total": 0, "entries": []}), None, "results", "no 'results'"),
    ("a total that does not match", _json_with(lambda d: d.update(total=5)), None, "total",
     "'total' says 5"),
    ("an entry that is not an object",
     _json_with(lambda d: d.update(results=d["results"] + ["x"], total=5)),
     "results[4]", None, "an object"),
    ("an empty name", _json_with(_in(2, "name", "")), "results[2]", "name", "empty"),
    ("no id", _json_with(lambda d: d["results"][1].pop("id")), "results[1]", "id", "empty"),
    ("an id used twice", _json_with(_in(3, "id", csl.ROWS[0]["id"])), "results[3]", "id",
     "already used by results[0]"),
    ("a bad date", _json_with(_in(0, "start_date", "2018-02-30")), "results[0]",
     "start_date", "not a date"),
    ("aliases as one text", _json_with(_in(0, "alt_names", "HSRI; CETC 13")), "results[0]",
     "alt_names", "a list of texts"),
    ("a country spelt out",
     _json_with(lambda d: d["results"][0]["addresses"][1].update(country="China")),
     "results[0]", "addresses[1].country", "alpha-2"),
    ("a name that is a number", _json_with(_in(3, "name", 7)), "results[3]", "name",
     "a text or null"),
    ("a source without a code", _json_with(_in(1, "source", "SDN List")), "results[1]",
     "source", "no list code"),
    ("a bad publication time",
     _json_with(lambda d: d["sources_used"][1].update(source_last_updated="yesterday")),
     None, "sources_used[1].source_last_updated", "not an ISO date"),
    ("a key given twice", _JSON.replace('"name":', '"name": "X", "name":', 1), None, None,
     "duplicate key"),
]


@pytest.mark.parametrize("what, text, row, field, words", JSON_REFUSALS,
                         ids=[c[0] for c in JSON_REFUSALS])
def test_a_json_document_that_is_not_the_format_is_refused_naming_row_and_field(
        tmp_path: Path, what: str, text: str, row: str | None, field: str | None,
        words: str) -> None:
    path = csl.write(tmp_path / "consolidated.json", text)
    with pytest.raises(ScreeningListError) as caught:
        lists.read(path)
    exc = caught.value
    assert (exc.file, exc.row, exc.field) == ("consolidated.json", row, field), str(exc)
    assert words in str(exc)


def test_a_cut_json_document_names_the_line(tmp_path: Path) -> None:
    path = csl.write(tmp_path / "consolidated.json", _JSON[:len(_JSON) // 2])
    with pytest.raises(ScreeningListError, match=r"consolidated\.json: line \d+: not JSON"):
        lists.read(path)


@pytest.mark.parametrize("text", ["name;country\nACME;CN\n", "<xml/>", ""])
def test_a_file_that_is_neither_download_is_refused(tmp_path: Path, text: str) -> None:
    with pytest.raises(ScreeningListError, match="not a Consolidated Screening List"):
        lists.read(csl.write(tmp_path / "list.txt", text))


def test_a_file_that_is_not_utf8_names_its_line(tmp_path: Path) -> None:
    text = csl.csv_text().encode().replace("Atlas".encode(), "Atl\xe0s".encode("latin-1"))
    with pytest.raises(ScreeningListError) as caught:
        lists.read(csl.write(tmp_path / "c.csv", text))
    assert caught.value.row == "line 5" and "not UTF-8" in str(caught.value)


def test_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(ScreeningListError, match="cannot be read"):
        lists.read(tmp_path / "absent.csv")


# -- other lists through the loader hook ----------------------------------------


class DeniedList:
    """A company's own denied-party list: one name a line, in a file ending ``.denied``."""

    __name__ = "exportgate-denied"

    @hookimpl
    def exportgate_screening_read(self, path: Path) -> LoadedList | None:
        if path.suffix != ".denied":
            return None
        data = path.read_bytes()
        names = [n.strip() for n in data.decode().splitlines() if n.strip()]
        return LoadedList.of(path, data, [
            Entry(id=f"OWN-{i}", list="OWN", source="Own denied parties (OWN)", name=n)
            for i, n in enumerate(names, 1)])


def _plugins(*extra: object) -> Plugins:
    return Plugins(Settings(), extra=extra, entry_points=False)


def test_a_plugin_reads_its_own_list_and_the_csl_is_still_read(tmp_path: Path) -> None:
    plugins = _plugins(DeniedList())
    path = csl.write(tmp_path / "ours.denied", "Acme Dual-Use Trading\nNorthwind Optics\n")
    loaded = lists.read(path, plugins)
    assert [(e.id, e.list, e.name) for e in loaded.entries] == [
        ("OWN-1", "OWN", "Acme Dual-Use Trading"), ("OWN-2", "OWN", "Northwind Optics")]
    assert loaded.version.id == hashlib.sha256(path.read_bytes()).hexdigest()
    assert loaded.version.counts == {"OWN": 2}
    # A file the plugin does not claim reaches the CSL readers.
    csv_path = csl.write(tmp_path / "consolidated.csv", csl.csv_text())
    assert len(lists.read(csv_path, plugins).entries) == len(csl.ROWS)


def test_a_plugins_list_is_checked_as_the_csl_is(tmp_path: Path) -> None:
    path = csl.write(tmp_path / "ours.denied", "Acme\nAcme\n")

    class Twice(DeniedList):
        @hookimpl
        def exportgate_screening_read(self, path: Path) -> LoadedList | None:
            found = super().exportgate_screening_read(path)
            assert found is not None
            same = [Entry(id="OWN-1", list="OWN", source="Own (OWN)", name=e.name)
                    for e in found.entries]
            return LoadedList(tuple(same), found.version)

    with pytest.raises(ScreeningListError) as caught:
        lists.read(path, _plugins(Twice()))
    assert (caught.value.row, caught.value.field) == ("entries[1]", "id")


def test_a_plugin_that_raises_is_named_with_the_hook(tmp_path: Path) -> None:
    class Broken:
        __name__ = "exportgate-broken-list"

        @hookimpl
        def exportgate_screening_read(self, path: Path) -> LoadedList | None:
            raise KeyError("sdnEntry")

    with pytest.raises(PluginError, match="plugin 'exportgate-broken-list': "
                       "exportgate_screening_read: KeyError: 'sdnEntry'"):
        lists.read(csl.write(tmp_path / "consolidated.csv", csl.csv_text()),
                   _plugins(Broken()))


def test_a_plugin_returning_something_else_is_named(tmp_path: Path) -> None:
    class Sloppy:
        __name__ = "exportgate-sloppy"

        @hookimpl
        def exportgate_screening_read(self, path: Path) -> Any:
            return [Entry(id="1", list="OWN", source="Own (OWN)", name="Acme")]

    with pytest.raises(PluginError, match="exportgate-sloppy.*returned a list, not a "
                       "LoadedList"):
        lists.read(csl.write(tmp_path / "x.csv", csl.csv_text()), _plugins(Sloppy()))


def test_a_plugins_refusal_of_a_file_passes_as_the_input_error_it_is(tmp_path: Path) -> None:
    class Strict:
        __name__ = "exportgate-strict"

        @hookimpl
        def exportgate_screening_read(self, path: Path) -> LoadedList | None:
            raise ScreeningListError("no schema element", file=path.name, row="line 1")

    with pytest.raises(ScreeningListError, match="x.ftm: line 1: no schema element"):
        lists.read(csl.write(tmp_path / "x.ftm", "{}"), _plugins(Strict()))
