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

_entry("B1", l) := {"row": "B1"} if {
	lib.dest_concern
	lib.dest in _cbc.destinations
	lib.transaction == _cbc.transaction
	lib.ship_from == _cbc.ship_from
	lib.date >= _cbc.from
	l.classification.tpp < _cbc.tpp_below
	l.classification.dram_bandwidth_gbps < _cbc.dram_below_gbps
}

_entry("B2", _) := {"row": "B2"} if lib.dest_concern

_entry("B4", _) := {"row": "B4"} if lib.hq_concern

_entry("B6", _) := {"row": "B6"} if {
	lib.licensed_destination
	lib.verified == "dc-veu"
}

_entry("B7", _) := {"row": "B7"} if lib.licensed_destination

_entry("B9", _) := {"row": "B9"}

ladder(l) := x if {
	x := lib.pre_ladder(l)
} else := lib.until_stateless([e | some r in _dc_rows; e := _entry(r, l)])

ladders := [x | some l in input.order.lines; x := ladder(l)]

quota_keys := lib.quota_keys(ladders)

decision := object.union(lib.decide(ladders, tables.rows, tables.obligations), {"regime": "us-advanced-computing-2023"})
