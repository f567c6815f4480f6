# METADATA
# title: US advanced computing rule (October 2023), the enforced baseline
# description: >-
#   License requirements for 3A090/4A090 items and their .z counterparts to
#   D:1, D:4, D:5 and Macau (not A:5/A:6), the D:5/Macau headquarters rule,
#   License Exceptions NAC and ACA, the Data Center VEU, and case-by-case
#   review for H200-class exports from the US to China and Macau from
#   2026-01-15; high bandwidth memory (3A090.c) and License Exception HBM;
#   the H20 is-informed letter of April 2025; the Affiliates rule from
#   2026-11-10. Decision table: docs/regimes.md, rows B1-B10 (and the shared
#   rows C1-C5, C2A, C3A, C3P, C3M, C3X, C3U, M1-M3).
# related_resources:
#   - ref: https://www.federalregister.gov/d/2023-23055
#     description: FR Doc. 2023-23055, 88 FR 73458 (25 Oct 2023), advanced computing rule
#   - ref: https://www.federalregister.gov/d/2024-07004
#     description: FR Doc. 2024-07004, 89 FR 23876 (4 Apr 2024), NAC split into NAC and ACA
#   - ref: https://www.federalregister.gov/d/2024-28270
#     description: FR Doc. 2024-28270, 89 FR 96790 (5 Dec 2024), HBM (3A090.c) and License Exception HBM
#   - ref: https://www.federalregister.gov/d/2025-19001
#     description: FR Doc. 2025-19001, 90 FR 47201 (30 Sep 2025), Affiliates rule (50% ownership)
#   - ref: https://www.federalregister.gov/d/2026-00789
#     description: FR Doc. 2026-00789 (13 Jan 2026), case-by-case review for H200-class chips to China and Macau
#   - ref: https://www.ecfr.gov/current/title-15/section-742.6
#     description: 15 CFR 742.6 (regional stability, advanced computing license requirements)
#   - ref: https://www.ecfr.gov/current/title-15/section-740.8
#     description: 15 CFR 740.8 (License Exceptions NAC and ACA)
#   - ref: https://www.ecfr.gov/current/title-15/section-740.25
#     description: 15 CFR 740.25 (License Exception HBM)
#   - ref: https://www.ecfr.gov/current/title-15/section-744.23
#     description: 15 CFR 744.23 (supercomputer end use; is-informed notices; D:5/Macau headquarters)
#   - ref: https://www.ecfr.gov/current/title-15/section-744.11
#     description: 15 CFR 744.11 (Entity List)
#   - ref: https://www.ecfr.gov/current/title-15/section-748.15
#     description: 15 CFR 748.15 (Validated End User, Data Center VEU)
#   - ref: https://www.sec.gov/cgi-bin/browse-edgar?action=getcompany&CIK=0001045810&type=8-K
#     description: NVIDIA Form 8-K of 15 Apr 2025 (Item 8.01), the H20 is-informed letter of 9 Apr 2025
# custom:
#   id: us-advanced-computing-2023
#   authority: US Department of Commerce, Bureau of Industry and Security
#   status: enforced
#   effective_from: "2023-11-17"
package exportgate.regimes.us_advanced_computing_2023

import data.exportgate.lib
import rego.v1

tables := data.exportgate.tables.us_advanced_computing_2023

params := tables.params

# Rows for a datacenter adv-a line, in table order.
_dc_rows := ["B2", "B4", "B6", "B7", "B9"]

_cbc := params.case_by_case

# Row B1's conditions on the order; its conditions on the line are in _cbc_line.
_cbc_order(f) if {
	f.dest_concern
	f.dest in _cbc.destinations
	f.transaction == _cbc.transaction
	f.ship_from == _cbc.ship_from
	f.date >= _cbc.from
}

_cbc_line(l) if {
	l.classification.tpp < _cbc.tpp_below
	l.classification.dram_bandwidth_gbps < _cbc.dram_below_gbps
}

_entry("B2", f) := {"row": "B2"} if f.dest_concern

_entry("B4", f) := {"row": "B4"} if f.hq_concern

_entry("B6", f) := {"row": "B6"} if {
	f.licensed_destination
	f.verified == "dc-veu"
	lib.in_force(tables.rows, "B6", f.date)
}

_entry("B7", f) := {"row": "B7"} if f.licensed_destination

_entry("B9", _) := {"row": "B9"}

# The candidates of a datacenter adv-a line for this order, in table order.
dc_rows(f) := [c | some r in _dc_rows; e := _entry(r, f); c := lib.with_info(tables.rows, e)]

# The ladders for this order. When the order meets row B1's conditions, its
# datacenter adv-a lines that meet B1's conditions on the line take the
# ":B1" variant: B1, unless a row common to every regime (C1-C4) decides
# the whole order first. (Row B10, the is-informed letter, is a standing
# rule of the library, applied to every regime.)
_columns(f) := object.union(plain, _b1_ladders(f)) if {
	plain := lib.columns(f, tables.rows, dc_rows(f), params)
}

_b1_ladders(f) := {"dc-a:B1": x, "unknown:B1": x} if {
	_cbc_order(f)
	x := [lib.candidate(tables.rows, _first_row(f, "B1"))]
} else := {}

# A row common to every regime (C1-C4) decides the whole order first.
_first_row(f, row) := r if {
	r := lib.order_row(f)
} else := row

_line(cols, l) := lib.line_doc(l, ":B1") if {
	cols["dc-a:B1"]
	_cbc_line(l)
} else := lib.line_doc(l, "")

# ladders_of is the whole answer for an order: every line's ladder. A pure
# function of the order, so tests call it without `with`.
ladders_of(o) := lib.document("us-advanced-computing-2023", f, params, cols, lines) if {
	f := lib.facts(o)
	cols := _columns(f)
	lines := [x | some l in o.lines; x := _line(cols, l)]
}

# METADATA
# title: Ladders
# description: The policy contract's entrypoint (version 2), one query per order.
# entrypoint: true
ladders := lib.answer(ladders_of(input.order), input)
