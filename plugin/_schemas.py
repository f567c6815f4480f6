"""cerberus schemas for the canonical order and for every data file.

One place for the shapes outside code relies on. `_validate` turns cerberus
errors into messages that name the record, the line and the field.
"""
from __future__ import annotations

from typing import Any

COUNTRY = {"type": "string", "regex": "^[A-Z]{2}$", "check_with": "country"}

#: Upper bound of a quantity and of a TPP per unit: their product must stay
#: within the 64-bit integers both engines compute with.
MAX_UNITS = 1_000_000_000
ISO_DATE = {"type": "string", "regex": r"^\d{4}-\d{2}-\d{2}$", "check_with": "iso_date"}

RESTRICTION: dict[str, Any] = {
    "list": {"type": "string", "required": True, "empty": False},
    "policy": {"type": "string", "required": True, "allowed": ["denial", "case-by-case"]},
}

#: Ids are text (a number is accepted where ERPs number things, read as its
#: digits); never a boolean, never with control characters (a NUL, a newline).
#: An order id is a string: ``1`` and ``"1"`` would be one ledger key.
ID = {"type": ["string", "integer"], "required": True, "empty": False, "maxlength": 200,
      "check_with": "id"}

#: An owner of a party, for the Affiliates rule: its share in percent and its
#: own screening hits.
OWNER: dict[str, Any] = {
    "id": ID,
    "name": {"type": "string", "nullable": True},
    "share": {"type": "number", "required": True, "min": 0, "max": 100,
              "check_with": "finite"},
    "restrictions": {"type": "list", "nullable": True,
                     "schema": {"type": "dict", "schema": RESTRICTION}},
}

PARTY: dict[str, Any] = {
    "id": ID,
    "country": {**COUNTRY, "required": True},
    "name": {"type": "string", "nullable": True, "maxlength": 500},
    "address": {"type": "string", "nullable": True, "maxlength": 1000},
    "hq_country": {**COUNTRY, "nullable": True},
    "parent_hq_country": {**COUNTRY, "nullable": True},
    "verified": {"type": "string", "nullable": True, "allowed": ["uveu", "nveu", "dc-veu"]},
    "certifications": {"type": "list", "schema": {"type": "string"}, "nullable": True},
    "restrictions": {"type": "list", "nullable": True,
                     "schema": {"type": "dict", "schema": RESTRICTION}},
    "owners": {"type": "list", "nullable": True, "schema": {"type": "dict", "schema": OWNER}},
}

#: One unit's classification (a chip's, or a system's own).
UNIT_CLASSIFICATION: dict[str, Any] = {
    "eccn": {"type": "string", "nullable": True, "empty": False},
    "tpp": {"type": "integer", "nullable": True, "min": 0, "max": MAX_UNITS,
            "check_with": "not_bool"},
    "pd": {"type": "number", "nullable": True, "min": 0, "check_with": "finite"},
    "datacenter": {"type": "boolean", "nullable": True},
    "dram_bandwidth_gbps": {"type": "number", "nullable": True, "min": 0,
                            "check_with": "finite"},
    # GB/s per mm2 of package or stack area (3A090.c, License Exception HBM)
    "memory_bandwidth_density": {"type": "number", "nullable": True, "min": 0,
                                 "check_with": "finite"},
    # named in a BIS is-informed letter (the H20 letter of April 2025)
    "is_informed": {"type": "boolean", "nullable": True},
}

#: A line's classification per unit; a system lists the chips it contains
#: (``count`` per unit of the system), each with its own classification.
CLASSIFICATION: dict[str, Any] = {
    **UNIT_CLASSIFICATION,
    "contains": {"type": "list", "nullable": True, "schema": {"type": "dict", "schema": {
        **UNIT_CLASSIFICATION,
        "item": {**ID},
        "count": {"type": "integer", "required": True, "min": 1, "max": MAX_UNITS,
                  "check_with": "not_bool"}}}},
}

LINE: dict[str, Any] = {
    "id": ID,
    "item": ID,
    "quantity": {"type": "integer", "required": True, "min": 1, "max": MAX_UNITS,
                 "check_with": "not_bool"},
    "unit": {"type": "string", "nullable": True},
    "classification": {"type": "dict", "nullable": True, "schema": CLASSIFICATION},
}

ORDER: dict[str, Any] = {
    "id": {**ID, "type": "string"},
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
    # Lines of the host's document that are not goods (text, service, cancelled):
    # listed in the decision as not assessed.
    "not_assessed": {"type": "list", "nullable": True, "schema": {"type": "dict", "schema": {
        "id": {"type": ["string", "integer"], "required": True, "empty": False},
        "reason": {"type": "string", "required": True, "empty": False},
        "item": {"type": ["string", "integer"], "nullable": True}}}},
    "notes": {"type": "list", "nullable": True, "schema": {"type": "string"}},
}

#: Unit code -> how many base units one of it holds (a whole number).
UNIT_TABLE: dict[str, Any] = {
    "type": "dict", "keysrules": {"type": "string", "empty": False},
    "valuesrules": {"type": "integer", "min": 1, "max": MAX_UNITS, "check_with": "not_bool"}}

CATALOG: dict[str, Any] = {
    "version": {"type": "integer", "required": True, "allowed": [1]},
    "units": UNIT_TABLE,
    "items": {"type": "dict", "required": True,
              "keysrules": {"type": "string", "empty": False},
              "valuesrules": {"type": "dict", "schema": {
                  **UNIT_CLASSIFICATION,
                  # a system: the catalog items it contains, and how many of each
                  "contains": {"type": "dict", "keysrules": {"type": "string", "empty": False},
                               "valuesrules": {"type": "integer", "min": 1,
                                               "max": MAX_UNITS, "check_with": "not_bool"}},
                  "name": {"type": "string"},
                  "source": {"type": "string"},
                  # where the TPP comes from: the vendor's own figure, or an estimate
                  "tpp_basis": {"type": "string", "allowed": ["vendor-published", "estimated"]},
                  "aliases": {"type": "list", "schema": {"type": "string"}},
                  "unit": {"type": "string", "empty": False},
                  "units": UNIT_TABLE,
              }}},
}

#: A party master entry: the canonical party attributes, none required, plus
#: ``end_user``: the customer number of the end user of orders shipped to (or
#: sold to) this customer, for ERPs that carry no end-user partner.
PARTY_MASTER_ENTRY: dict[str, Any] = {
    **{k: {**v, "required": False} for k, v in PARTY.items() if k != "id"},
    "end_user": {"type": "string", "nullable": True, "empty": False},
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
    # The trade-compliance check the row belongs to, as ERPs keep a status per
    # check (SAP: embargo, sanctioned-party list, legal control); default legal.
    "check": {"type": "string", "allowed": ["embargo", "sanctioned_list", "legal_control"]},
    # The dates the rule that added the row took effect (and was withdrawn):
    # a row applies only to orders dated in between.
    "from": {**ISO_DATE}, "until": {**ISO_DATE},
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

#: The shared library's data: country groups with optional effective dates,
#: item-class thresholds, and the rows and obligations common to every regime.
GROUP_MEMBER = {"type": "dict", "schema": {
    "from": {**ISO_DATE}, "until": {**ISO_DATE}, "note": {"type": "string"},
    # In the current eCFR text, but no Federal Register document moving the
    # country has been found: not a member on any date until one is.
    "pending": {"type": "boolean"}}}

_GROUP_LIST = {"type": "list", "required": True, "minlength": 1, "schema": {"type": "string"}}

LIB_DATA: dict[str, Any] = {
    "aliases": {"type": "dict", "required": True, "keysrules": COUNTRY, "valuesrules": COUNTRY},
    "home": {**COUNTRY, "required": True},
    "groups": {"type": "dict", "required": True, "keysrules": {"type": "string"},
               "valuesrules": {"type": "dict", "keysrules": COUNTRY,
                               "valuesrules": GROUP_MEMBER}},
    "concern": _GROUP_LIST, "embargo": _GROUP_LIST, "licensed": _GROUP_LIST,
    "exempt": _GROUP_LIST,
    "standing": {"type": "list", "required": True, "schema": {"type": "dict", "schema": {
        "row": {"type": "string", "required": True},
        "lines": {"type": "string", "required": True, "allowed": ["all", "informed"]},
        "from": {**ISO_DATE}, "until": {**ISO_DATE},
        "switch": {"type": "string"},
        **{k: {"type": "list", "schema": {"type": "string"}}
           for k in ("destination", "end_user", "headquarters")}}}},
    "classes": {"type": "dict", "required": True, "schema": {
        "eccn": {"type": "dict", "required": True,
                 "keysrules": {"type": "string",
                               "regex": r"^([0-9][A-E][0-9]{3}\.[a-z]|EAR99)$"},
                 "valuesrules": {"type": "string",
                                 "allowed": ["adv-a", "adv-b", "hbm", "other"]}},
        **{k: {"type": "number", "required": True, "min": 0}
           for k in ("a_tpp", "a2_tpp", "a2_pd", "b1_tpp", "b1_pd", "b2_tpp", "b2_pd",
                     "hbm_density_above")}}},
    "hbm": {"type": "dict", "required": True, "schema": {
        "exception_density_below": {"type": "number", "required": True, "min": 0}}},
    "affiliates": {"type": "dict", "required": True, "schema": {
        "threshold_pct": {"type": "number", "required": True, "min": 0, "max": 100},
        "periods": {"type": "list", "required": True, "schema": {"type": "dict", "schema": {
            "from": {**ISO_DATE, "required": True}, "until": {**ISO_DATE}}}}}},
    "units": {"type": "dict", "required": True,
              "schema": {"h100_tpp": {"type": "integer", "required": True, "min": 1}}},
    "licenses": {"type": "dict", "required": True, "schema": {
        "never_before": {"type": "list", "required": True, "schema": {"type": "string"}}}},
    # What a screening hit on each list means (docs/regimes.md, "Screening hits").
    "screening": {"type": "dict", "required": True, "schema": {
        "unknown": {"type": "string", "required": True, "allowed": ["denial", "case-by-case"]},
        "denial_phrases": {"type": "list", "required": True, "minlength": 1,
                           "schema": {"type": "string", "empty": False,
                                      "regex": "^[^A-Z]*$"}},
        "lists": {"type": "dict", "required": True, "keysrules": {"type": "string"},
                  "valuesrules": {"type": "dict", "schema": {
                      "name": {"type": "string", "required": True, "empty": False},
                      "policy": {"type": "string", "required": True,
                                 "allowed": ["denial", "case-by-case", "from_entry", "meu",
                                             "uvl"]},
                      "cite": {"type": "string", "required": True, "empty": False}}}},
        "meu": {"type": "dict", "required": True, "schema": {
            "eccns": {"type": "list", "required": True,
                      "schema": {"type": "string", "regex": "^[0-9][A-E][0-9]{3}$"}}}},
        "uvl": {"type": "dict", "required": True, "schema": {
            "exception_codes": {"type": "list", "required": True,
                                "schema": {"type": "string", "regex": "^[A-Z0-9_]+$"}}}}}},
    "rows": REGIME_DATA["rows"],
    "obligations": REGIME_DATA["obligations"],
}

#: ``engine:`` in the configuration. ``name`` is a registered engine
#: (``embedded``, ``opa``, ``opa-http`` or a plugin's); ``url``, the timeouts
#: (seconds), ``retries`` (connection attempts) and ``check_revision`` (the
#: sidecar must serve this configuration's regime revisions) are for
#: ``opa-http``, which requires ``url``.
ENGINE: dict[str, Any] = {
    "name": {"type": "string", "empty": False, "default": "embedded"},
    "url": {"type": "string", "nullable": True},
    "connect_timeout": {"type": "number", "min": 0.001, "max": 300, "default": 1.0,
                        "check_with": "not_bool"},
    "read_timeout": {"type": "number", "min": 0.001, "max": 300, "default": 1.0,
                     "check_with": "not_bool"},
    "retries": {"type": "integer", "min": 0, "max": 10, "default": 0, "check_with": "not_bool"},
    "check_revision": {"type": "boolean", "default": True},
    # opa-http hardening (docs/security.md): an overall deadline per request,
    # a bearer token from a file or an environment variable (never inline),
    # TLS trust and client certificate, an explicit proxy (the proxy
    # environment is ignored), a cap on the answer's size.
    "timeout": {"type": "number", "min": 0.001, "max": 600, "nullable": True,
                "check_with": "not_bool"},
    "token_file": {"type": "string", "nullable": True, "empty": False},
    "token_env": {"type": "string", "nullable": True, "regex": "^[A-Za-z_][A-Za-z0-9_]*$"},
    "ca_file": {"type": "string", "nullable": True, "empty": False},
    "cert_file": {"type": "string", "nullable": True, "empty": False},
    "key_file": {"type": "string", "nullable": True, "empty": False},
    "proxy": {"type": "string", "nullable": True, "empty": False},
    "max_response_bytes": {"type": "integer", "min": 1024, "nullable": True,
                           "check_with": "not_bool"},
}

#: ``service:`` in the configuration (``exportgate serve``, docs/service.md):
#: the bearer tokens as SHA-256 hashes (hex, never the token) with their
#: scopes, the request body limit (bytes) and the per-request deadline
#: (seconds) after which an order is held.
SERVICE_SCOPES = ("check", "orders", "licenses")
SERVICE_TOKEN: dict[str, Any] = {
    "name": {"type": "string", "required": True, "empty": False, "maxlength": 100},
    "sha256": {"type": "string", "required": True, "regex": "^[0-9a-f]{64}$"},
    "scopes": {"type": "list", "required": True, "minlength": 1,
               "schema": {"type": "string", "allowed": list(SERVICE_SCOPES)}},
}
SERVICE: dict[str, Any] = {
    "tokens": {"type": "list", "default": [], "schema": {"type": "dict",
                                                         "schema": SERVICE_TOKEN}},
    "max_body_bytes": {"type": "integer", "min": 1024, "max": 64 * 1024 * 1024,
                       "default": 1024 * 1024, "check_with": "not_bool"},
    "deadline": {"type": "number", "min": 0.001, "max": 600, "default": 2.0,
                 "check_with": "not_bool"},
}

#: Seconds each wait on the ledger may take (``ledger_timeout``) unless configured:
#: the one default of the configuration, the ledgers and `open_ledger`.
LEDGER_TIMEOUT = 5.0

#: ``screening:`` in the configuration (docs/screening.md). The thresholds
#: default to the index's measured ones (`exportgate.screening.index`).
SCREENING: dict[str, Any] = {
    # screen every party when a list version is loaded in the ledger
    "enabled": {"type": "boolean", "default": True},
    # hold every order while no list version is loaded
    "required": {"type": "boolean", "default": False},
    "hit": {"type": "number", "nullable": True, "min": 0, "max": 100,
            "check_with": "not_bool"},
    "review": {"type": "number", "nullable": True, "min": 0, "max": 100,
               "check_with": "not_bool"},
}

SETTINGS: dict[str, Any] = {
    "engine": {"type": "dict", "schema": ENGINE, "default": {}},
    "screening": {"type": "dict", "schema": SCREENING, "default": {}},
    "service": {"type": "dict", "schema": SERVICE, "default": {}},
    "ledger": {"type": "string", "nullable": True},
    "ledger_timeout": {"type": "number", "min": 0.001, "default": LEDGER_TIMEOUT,
                       "check_with": "not_bool"},
    "catalogs": {"type": "list", "schema": {"type": "string"}, "default": []},
    "parties": {"type": "list", "schema": {"type": "string"}, "default": []},
    "audit_log": {"type": "string", "nullable": True},
    # regime folders shipped as configuration, loaded with the installed
    # library like the built-in ones (docs/writing-a-regime.md)
    "regime_folders": {"type": "list", "schema": {"type": "string", "empty": False},
                       "default": []},
    # a file holding the key of the audit log's HMAC chain (docs/security.md)
    "audit_key_file": {"type": "string", "nullable": True, "empty": False},
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

#: Options shared by the ERP adapters (``adapters:`` in the configuration, one
#: mapping per adapter name): the country goods leave from, by default and per
#: plant / site / location id.
ERP_OPTIONS: dict[str, Any] = {
    "ship_from": {**COUNTRY, "nullable": True},
    "plants": {"type": "dict", "default": {}, "keysrules": {"type": "string", "empty": False},
               "valuesrules": COUNTRY},
}

#: A granted license as the registry records it (docs/licenses.md): its
#: number as printed, validity (``expires`` inclusive), the destinations and
#: parties it names, and what it authorizes, by catalog item or by ECCN, in
#: units. ``exportgate license add`` reads a file of them.
LICENSE_ENTRY: dict[str, Any] = {
    "item": {**ID, "required": False, "excludes": "eccn"},
    "eccn": {"type": "string", "empty": False, "maxlength": 40, "excludes": "item",
             "regex": r"^[0-9][A-Za-z][0-9]{3}(\.[A-Za-z0-9]+)*$"},
    "quantity": {"type": "integer", "required": True, "min": 1, "max": MAX_UNITS,
                 "check_with": "not_bool"},
}

LICENSE: dict[str, Any] = {
    "number": {"type": "string", "required": True, "maxlength": 64,
               "regex": r"^[A-Za-z0-9][A-Za-z0-9./-]*$"},
    "issued": {**ISO_DATE, "required": True},
    "expires": {**ISO_DATE, "required": True},
    "destinations": {"type": "list", "required": True, "minlength": 1, "schema": COUNTRY},
    "consignees": {"type": "list", "required": True, "minlength": 1, "schema": {**ID}},
    "end_users": {"type": "list", "nullable": True, "minlength": 1, "schema": {**ID}},
    "items": {"type": "list", "required": True, "minlength": 1,
              "schema": {"type": "dict", "schema": LICENSE_ENTRY}},
    "conditions": {"type": "string", "nullable": True, "maxlength": 2000},
}

LICENSES_FILE: dict[str, Any] = {
    "licenses": {"type": "list", "required": True, "minlength": 1,
                 "schema": {"type": "dict", "schema": LICENSE}},
}
