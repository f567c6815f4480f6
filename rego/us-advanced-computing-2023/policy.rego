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

_entry("B1", f, l) := {"row": "B1"} if {
	f.dest_concern
	f.dest in _cbc.destinations
	f.transaction == _cbc.transaction
	f.ship_from == _cbc.ship_from
	f.date >= _cbc.from
	l.classification.tpp < _cbc.tpp_below
	l.classification.dram_bandwidth_gbps < _cbc.dram_below_gbps
}

_entry("B2", f, _) := {"row": "B2"} if f.dest_concern

_entry("B4", f, _) := {"row": "B4"} if f.hq_concern

_entry("B6", f, _) := {"row": "B6"} if {
	f.licensed_destination
	f.verified == "dc-veu"
}

_entry("B7", f, _) := {"row": "B7"} if f.licensed_destination

_entry("B9", f, _) := {"row": "B9"}

ladder(f, l) := x if {
	x := lib.pre_ladder(f, l)
} else := lib.until_stateless([e | some r in _dc_rows; e := _entry(r, f, l)])

ladders_of(f, lines) := [x | some l in lines; x := ladder(f, l)]

ladders(o) := ladders_of(lib.facts(o), o.lines)

# decide_order is the whole decision for an order, given the quota other
# orders hold; a pure function, so tests call it without `with`.
decide_order(o, quota) := object.union(d, {"regime": "us-advanced-computing-2023"}) if {
	f := lib.facts(o)
	d := lib.decide(f, o.lines, quota, ladders_of(f, o.lines), tables.rows, tables.obligations)
}

quota_keys := lib.quota_keys(ladders(input.order))

decision := decide_order(input.order, object.get(input, "quota", {}))
