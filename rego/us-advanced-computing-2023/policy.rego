# METADATA
# title: US advanced computing rule (October 2023), the enforced baseline
# description: >-
#   License requirements for 3A090/4A090 items and their .z counterparts to
#   D:1, D:4, D:5 and Macau (not A:5/A:6), the D:5/Macau headquarters rule,
#   License Exceptions NAC and ACA, the Data Center VEU, and case-by-case
#   review for H200-class exports from the US to China and Macau from
#   2026-01-15. Decision table: REGIMES.md, rows B1-B9.
# related_resources:
#   - ref: https://federalstatelaw.com/federal-register/2023-23055
#     description: 88 FR 73458 (25 Oct 2023), advanced computing rule
#   - ref: https://lexbuild.dev/fr/2026/01/2026-00789
#     description: 2026-00789 (13 Jan 2026), case-by-case review for H200-class chips to China and Macau
#   - ref: https://www.bis.gov/licensing/license-exceptions
#     description: BIS license exceptions (NAC, ACA)
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
}

_entry("B7", f) := {"row": "B7"} if f.licensed_destination

_entry("B9", _) := {"row": "B9"}

# The candidates of a datacenter adv-a line for this order, in table order.
dc_rows(f) := [c | some r in _dc_rows; e := _entry(r, f); c := lib.with_info(tables.rows, e)]

# The ladders for this order. When the order meets row B1's conditions, its
# datacenter adv-a lines that meet B1's conditions on the line take the
# ":B1" variant: B1, unless a row common to every regime (C1-C4) decides
# the whole order first.
_columns(f) := object.union(plain, {"dc-a:B1": b1, "unknown:B1": b1}) if {
	plain := lib.columns(f, tables.rows, dc_rows(f))
	_cbc_order(f)
	b1 := [lib.candidate(tables.rows, _b1_row(f))]
} else := lib.columns(f, tables.rows, dc_rows(f))

_b1_row(f) := r if {
	r := lib.order_row(f)
} else := "B1"

_line(cols, l) := lib.line_doc(l, ":B1") if {
	cols["dc-a:B1"]
	_cbc_line(l)
} else := lib.line_doc(l, "")

# ladders_of is the whole answer for an order: every line's ladder. A pure
# function of the order, so tests call it without `with`.
ladders_of(o) := lib.document("us-advanced-computing-2023", f, cols, lines) if {
	f := lib.facts(o)
	cols := _columns(f)
	lines := [x | some l in o.lines; x := _line(cols, l)]
}

# METADATA
# title: Ladders
# description: The policy contract's entrypoint (version 2), one query per order.
# entrypoint: true
ladders := ladders_of(input.order)
