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
_dc_rows := ["B1", "B2", "B4", "B6", "B7", "B9"]

_cbc := params.case_by_case

_entry("B1", o, l) := {"row": "B1"} if {
	lib.dest_concern(o)
	lib.dest(o) in _cbc.destinations
	lib.transaction(o) == _cbc.transaction
	lib.ship_from(o) == _cbc.ship_from
	o.date >= _cbc.from
	l.classification.tpp < _cbc.tpp_below
	l.classification.dram_bandwidth_gbps < _cbc.dram_below_gbps
}

_entry("B2", o, _) := {"row": "B2"} if lib.dest_concern(o)

_entry("B4", o, _) := {"row": "B4"} if lib.hq_concern(o)

_entry("B6", o, _) := {"row": "B6"} if {
	lib.licensed_destination(o)
	lib.verified(o) == "dc-veu"
}

_entry("B7", o, _) := {"row": "B7"} if lib.licensed_destination(o)

_entry("B9", o, _) := {"row": "B9"}

ladder(o, l) := x if {
	x := lib.pre_ladder(o, l)
} else := lib.until_stateless([e | some r in _dc_rows; e := _entry(r, o, l)])

ladders(o) := [x | some l in o.lines; x := ladder(o, l)]

# decide_order is the whole decision for an order, given the quota other
# orders hold; a pure function, so tests call it without `with`.
decide_order(o, quota) := object.union(lib.decide(o, quota, ladders(o), tables.rows, tables.obligations), {"regime": "us-advanced-computing-2023"})

quota_keys := lib.quota_keys(ladders(input.order))

decision := decide_order(input.order, object.get(input, "quota", {}))
