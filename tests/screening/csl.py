"""Consolidated Screening List files built by the tests, in the official layouts.

Rows as trade.gov publishes them: the CSV download quotes every field, joins a
list-valued column with ``"; "`` and an address's parts with ``", "`` (its
country last, as ISO alpha-2); the JSON download gives the same fields with
lists as lists and addresses as objects, under ``results``, with
``sources_used`` dating each source. No file is downloaded.
"""
from __future__ import annotations

import copy
import csv
import io
import json
from pathlib import Path
from typing import Any

from exportgate.screening.lists import CSV_COLUMNS

EL = "Entity List (EL) - Bureau of Industry and Security"
SDN = "Specially Designated Nationals (SDN) - Treasury Department"
MEU = "Military End User (MEU) List - Bureau of Industry and Security"
UVL = "Unverified List (UVL) - Bureau of Industry and Security"

BIS_EL_URL = "https://www.bis.doc.gov/index.php/policy-guidance/lists-of-parties-of-concern/entity-list"

#: One entry a row, as the JSON download writes it (the CSV joins the lists).
ROWS: list[dict[str, Any]] = [
    {
        "id": "99ed1b052fdb09695fae1ba87516d8a0882b0df04652e07aeb5ce7be", "source": EL,
        "name": "China Electronics Technology Group Corporation 13th Research Institute "
                "(CETC 13)",
        "alt_names": ["Hebei Semiconductor Research Institute", "HSRI",
                      "CETC Research Institute 13"],
        "addresses": [
            {"address": "113 Hezuo Road", "city": "Shijiazhuang", "state": "Hebei",
             "postal_code": None, "country": "CN"},
            {"address": "21 Changsheng Street", "city": "Shijiazhuang", "state": "Hebei",
             "postal_code": "050051", "country": "CN"},
        ],
        "federal_register_notice": "83 FR 37423; 87 FR 77505", "start_date": "2018-08-01",
        "license_requirement": "For all items subject to the EAR. (See §744.11 of the EAR)",
        "license_policy": "Presumption of denial.", "source_list_url": BIS_EL_URL,
        "source_information_url": BIS_EL_URL,
    },
    {
        "id": "41902", "source": SDN, "entity_number": "41902", "type": "Individual",
        "programs": ["RUSSIA-EO14024"], "name": "KOVALENKO, Dmitri Anatolyevich",
        "alt_names": ["KOVALENKO, Dmitriy"],
        "addresses": [{"address": None, "city": "Moscow", "state": None,
                       "postal_code": None, "country": "RU"}],
        "remarks": "(Linked To: JOINT STOCK COMPANY EXAMPLE RADIOELECTRONICS)",
        "source_list_url": "https://sanctionslist.ofac.treas.gov/Home/SdnList",
        "dates_of_birth": ["1971-03-14"], "nationalities": ["RU"], "citizenships": ["RU"],
        "places_of_birth": ["Tula, Russia"],
        "ids": [{"type": "Passport", "number": "712345678", "country": "RU"},
                {"type": "Gender", "number": "Male", "country": None}],
    },
    {
        "id": "66f6ab3f26234b75a9093fce79ef0ce0", "source": MEU,
        "name": "Academy of Aerospace Solid Propulsion Technology (AASPT)",
        "addresses": [{"address": "Tian Wang te Zi #1, Baqiao District", "city": "Xian",
                       "state": None, "postal_code": None, "country": "CN"}],
        "federal_register_notice": "85 FR 83799", "start_date": "2020-12-23",
        "license_requirement": "For any item subject to the EAR listed in supplement no. 2 "
                               "to part 744.",
        "license_policy": "Presumption of denial.",
    },
    {
        "id": "1b5979e8fd3920a1a0985bf5088dad930a6a5562d1513f9e4b015e42", "source": UVL,
        "name": "Atlas Sanatgaran",
        "addresses": [{"address": "Komitas 26/114", "city": "Yerevan", "state": None,
                       "postal_code": None, "country": "AM"}],
        "start_date": "2014-02-20",
    },
]

#: ``sources_used`` of the JSON download: when each source was last updated.
SOURCES_USED = [
    {"source": EL, "source_last_updated": "2026-11-30T09:05:11.000-05:00",
     "last_imported": "2026-12-01T01:00:02.000-05:00"},
    {"source": SDN, "source_last_updated": "2026-12-02T14:30:00.000-05:00",
     "last_imported": "2026-12-03T01:00:02.000-05:00"},
]

_LISTS = ("programs", "alt_names", "nationalities", "citizenships", "dates_of_birth",
          "places_of_birth")


def rows() -> list[dict[str, Any]]:
    """A fresh copy of `ROWS` to change."""
    return copy.deepcopy(ROWS)


def csv_address(a: dict[str, Any]) -> str:
    return ", ".join(a[k] for k in ("address", "city", "state", "postal_code", "country")
                     if a.get(k))


def csv_id(i: dict[str, Any]) -> str:
    return ", ".join(str(i[k]) for k in ("type", "number", "country") if i.get(k))


def csv_row(row: dict[str, Any]) -> dict[str, str]:
    """A row as the CSV download writes it: every column, lists joined."""
    out = {c: "" for c in CSV_COLUMNS}
    for key, value in row.items():
        column = "_id" if key == "id" else key
        if key in _LISTS:
            out[column] = "; ".join(value)
        elif key == "addresses":
            out[column] = "; ".join(csv_address(a) for a in value)
        elif key == "ids":
            out[column] = "; ".join(csv_id(i) for i in value)
        else:
            out[column] = "" if value is None else str(value)
    return out


def csv_text(entries: list[dict[str, Any]] | None = None,
             columns: tuple[str, ...] = CSV_COLUMNS) -> str:
    """The CSV download of ``entries`` (default `ROWS`): a header, every field quoted."""
    buf = io.StringIO()
    writer = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\n")
    buf.write(",".join(columns) + "\n")
    for row in ROWS if entries is None else entries:
        flat = csv_row(row)
        writer.writerow([flat.get(c, "") for c in columns])
    return buf.getvalue()


def json_doc(entries: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The JSON download of ``entries`` (default `ROWS`)."""
    results = copy.deepcopy(ROWS if entries is None else entries)
    return {"results": results, "total": len(results),
            "sources_used": copy.deepcopy(SOURCES_USED)}


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)
    return path


def write_json(path: Path, doc: Any) -> Path:
    return write(path, json.dumps(doc, ensure_ascii=False, indent=1))
