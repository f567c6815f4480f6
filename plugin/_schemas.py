"""cerberus schemas for the canonical order and for every data file.

One place for the shapes outside code relies on. `_validate` turns cerberus
errors into messages that name the record, the line and the field.
"""
from __future__ import annotations

from typing import Any

COUNTRY = {"type": "string", "regex": "^[A-Z]{2}$"}
ISO_DATE = {"type": "string", "regex": r"^\d{4}-\d{2}-\d{2}$", "check_with": "iso_date"}

RESTRICTION: dict[str, Any] = {
    "list": {"type": "string", "required": True, "empty": False},
    "policy": {"type": "string", "required": True, "allowed": ["denial", "case-by-case"]},
}

PARTY: dict[str, Any] = {
    "id": {"type": ["string", "integer"], "required": True, "empty": False},
    "country": {**COUNTRY, "required": True},
    "name": {"type": "string", "nullable": True},
    "hq_country": {**COUNTRY, "nullable": True},
    "parent_hq_country": {**COUNTRY, "nullable": True},
    "verified": {"type": "string", "nullable": True, "allowed": ["uveu", "nveu", "dc-veu"]},
    "certifications": {"type": "list", "schema": {"type": "string"}, "nullable": True},
    "restrictions": {"type": "list", "nullable": True,
                     "schema": {"type": "dict", "schema": RESTRICTION}},
}

CLASSIFICATION: dict[str, Any] = {
    "eccn": {"type": "string", "nullable": True, "empty": False},
    "tpp": {"type": "integer", "nullable": True, "min": 0, "check_with": "not_bool"},
    "pd": {"type": "number", "nullable": True, "min": 0, "check_with": "not_bool"},
    "datacenter": {"type": "boolean", "nullable": True},
    "dram_bandwidth_gbps": {"type": "number", "nullable": True, "min": 0,
                            "check_with": "not_bool"},
}

LINE: dict[str, Any] = {
    "id": {"type": ["string", "integer"], "required": True, "empty": False},
    "item": {"type": ["string", "integer"], "required": True, "empty": False},
    "quantity": {"type": "integer", "required": True, "min": 1, "check_with": "not_bool"},
    "unit": {"type": "string", "nullable": True},
    "classification": {"type": "dict", "nullable": True, "schema": CLASSIFICATION},
}

ORDER: dict[str, Any] = {
    "id": {"type": ["string", "integer"], "required": True, "empty": False},
    "date": {**ISO_DATE, "required": True},
    "ship_from": {**COUNTRY, "nullable": True},
    "transaction": {"type": "string", "nullable": True,
                    "allowed": ["export", "reexport", "transfer"]},
    "parties": {"type": "dict", "required": True, "schema": {
        "sold_to": {"type": "dict", "nullable": True, "schema": PARTY},
        "ship_to": {"type": "dict", "required": True, "schema": PARTY},
        "end_user": {"type": "dict", "nullable": True, "schema": PARTY},
    }},
    "lines": {"type": "list", "required": True, "minlength": 1,
              "schema": {"type": "dict", "schema": LINE}},
}

CATALOG: dict[str, Any] = {
    "version": {"type": "integer", "required": True, "allowed": [1]},
    "items": {"type": "dict", "required": True,
              "keysrules": {"type": "string", "empty": False},
              "valuesrules": {"type": "dict", "schema": {
                  **CLASSIFICATION,
                  "name": {"type": "string"},
                  "source": {"type": "string"},
                  "aliases": {"type": "list", "schema": {"type": "string"}},
              }}},
}

PARTY_MASTER_ENTRY: dict[str, Any] = {
    **{k: {**v, "required": False} for k, v in PARTY.items() if k != "id"},
}

PARTY_MASTER: dict[str, Any] = {
    "version": {"type": "integer", "required": True, "allowed": [1]},
    "parties": {"type": "dict", "required": True,
                "keysrules": {"type": "string", "empty": False},
                "valuesrules": {"type": "dict", "schema": PARTY_MASTER_ENTRY}},
}

REGIME_METADATA: dict[str, Any] = {
    "id": {"type": "string", "required": True, "regex": "^[a-z0-9][a-z0-9-]*$"},
    "package": {"type": "string", "required": True, "regex": r"^[a-z_][a-z0-9_.]*$"},
    "title": {"type": "string", "required": True},
    "authority": {"type": "string", "required": True},
    "status": {"type": "string", "required": True,
               "allowed": ["enforced", "as-written", "proposal"]},
    "effective_from": {**ISO_DATE, "required": True},
    "effective_to": {**ISO_DATE, "nullable": True},
    "description": {"type": "string"},
    "sources": {"type": "list", "required": True, "minlength": 1, "schema": {
        "type": "dict", "schema": {"title": {"type": "string", "required": True},
                                   "url": {"type": "string", "required": True}}}},
}

ROW = {"type": "dict", "schema": {
    "code": {"type": "string", "required": True, "regex": "^[A-Z0-9_]+$"},
    "outcome": {"type": "string", "required": True,
                "allowed": ["allow", "notify", "license", "deny"]},
    "cite": {"type": "string", "required": True, "empty": False},
    "message": {"type": "string", "required": True, "empty": False},
    "obligations": {"type": "list", "schema": {"type": "string"}},
}}

#: Every regime's data file: its rows (the decision table's reasons) and
#: named numbers. The numbers' own shape is regime-specific and checked by
#: the regime's Rego tests; here they must at least be present and typed.
REGIME_DATA: dict[str, Any] = {
    "rows": {"type": "dict", "required": True, "keysrules": {"type": "string"},
             "valuesrules": ROW},
    "obligations": {"type": "dict", "required": True, "keysrules": {"type": "string"},
                    "valuesrules": {"type": "dict", "schema": {
                        "message": {"type": "string", "required": True},
                        "days": {"type": "integer", "nullable": True},
                        "cite": {"type": "string"}}}},
    "params": {"type": "dict", "required": True, "keysrules": {"type": "string"}},
}

#: The shared library's data: country groups with optional effective dates.
GROUP_MEMBER = {"type": "dict", "nullable": True, "schema": {
    "from": {**ISO_DATE}, "until": {**ISO_DATE}, "note": {"type": "string"}}}

LIB_DATA: dict[str, Any] = {
    "aliases": {"type": "dict", "required": True, "keysrules": COUNTRY, "valuesrules": COUNTRY},
    "groups": {"type": "dict", "required": True, "keysrules": {"type": "string"},
               "valuesrules": {"type": "dict", "keysrules": COUNTRY,
                               "valuesrules": GROUP_MEMBER}},
    "classes": {"type": "dict", "required": True},
    "units": {"type": "dict", "required": True},
}

ENGINE: dict[str, Any] = {
    "name": {"type": "string", "default": "embedded"},
    "url": {"type": "string", "nullable": True},
    "connect_timeout": {"type": "number", "min": 0.001, "default": 1.0},
    "read_timeout": {"type": "number", "min": 0.001, "default": 1.0},
    "retries": {"type": "integer", "min": 0, "default": 0},
}

SETTINGS: dict[str, Any] = {
    "engine": {"type": "dict", "schema": ENGINE, "default": {}},
    "ledger": {"type": "string", "nullable": True},
    "ledger_timeout": {"type": "number", "min": 0.001, "default": 5.0},
    "catalogs": {"type": "list", "schema": {"type": "string"}, "default": []},
    "parties": {"type": "list", "schema": {"type": "string"}, "default": []},
    "audit_log": {"type": "string", "nullable": True},
    "parameters": {"type": "dict", "default": {}, "keysrules": {"type": "string"},
                   "valuesrules": {"type": "dict", "keysrules": {"type": "string"}}},
    "calendar": {"type": "list", "default": [], "schema": {"type": "dict", "schema": {
        "regime": {"type": "string", "required": True},
        "effective_from": {**ISO_DATE, "required": True},
        "effective_to": {**ISO_DATE, "nullable": True},
    }}},
    "adapters": {"type": "dict", "default": {}, "keysrules": {"type": "string"},
                 "valuesrules": {"type": "dict"}},
    "plugins": {"type": "dict", "default": {}, "schema": {
        "load": {"type": "list", "schema": {"type": "string"}, "nullable": True},
        "block": {"type": "list", "schema": {"type": "string"}, "default": []},
    }},
}
