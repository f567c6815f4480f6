# METADATA
# title: US "Framework for Artificial Intelligence Diffusion" (January 2025), as written
# description: >-
#   Worldwide license requirement for datacenter 3A090.a/4A090.a items with
#   three country tiers, License Exceptions AIA and LPP, Universal and
#   National VEUs, and per-country allocations for Tier 2. BIS said in May
#   2025 it would not enforce the rule; GAO found in May 2026 that it remains
#   legally in effect. Decision table: REGIMES.md, rows D1-D9; adv-b lines
#   follow rows B3, B5, B6, B8, else NLR.
# related_resources:
#   - ref: https://frnow.com/Browse/Document/usa/na/fr/2025/1/15/2025-00636
#     description: 90 FR 4544 (15 Jan 2025), AI Diffusion interim final rule
#   - ref: https://bis.gov/title-15/subtitle-b/chapter-vii?page=24
#     description: 15 CFR 740.28-740.29 (ACM, LPP)
#   - ref: https://www.bis.gov/ear/title-15/subtitle-b/chapter-vii/subchapter-c/part-740/ss-74027-license-exception-artificial
#     description: 15 CFR 740.27 (License Exception AIA)
#   - ref: https://www.gao.gov/products/b-337935
#     description: GAO B-337935 (12 May 2026) on the May 2025 non-enforcement
# custom:
#   id: us-ai-diffusion-2025
#   authority: US Department of Commerce, Bureau of Industry and Security
#   status: as-written
#   effective_from: "2025-05-15"
package exportgate.regimes.us_ai_diffusion_2025

import data.exportgate.lib
import rego.v1

tables := data.exportgate.tables.us_ai_diffusion_2025

params := tables.params

tier1(c) if params.tier1[c]

# Rows for a datacenter adv-a line, in table order.
_dc_rows := ["D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8", "D9"]

_aia_eligible(f) if {
	tier1(f.dest)
	tier1(f.hq)
	tier1(f.parent_hq)
}

_entry("D1", f) := {"row": "D1"} if f.hq_concern

_entry("D1", f) := {"row": "D1"} if f.dest_concern

_entry("D2", f) := {"row": "D2"} if {
	_aia_eligible(f)
	params.aia_certification in f.certifications
}

_entry("D3", f) := {"row": "D3"} if {
	_aia_eligible(f)
	not params.aia_certification in f.certifications
}

_entry("D4", f) := {"row": "D4"} if f.verified == "uveu"

_entry("D5", f) := {"row": "D5", "quota": {"key": key, "cap": nveu_cap(f)}} if {
	f.verified == "nveu"
	key := lib.quota_key(["nveu", f.consignee, f.dest])
}

_entry("D6", f) := {"row": "D6", "quota": {"key": key, "cap": params.lpp_cap_tpp}} if {
	key := lib.quota_key(["lpp", f.consignee, format_int(f.year, 10)])
}

_entry("D7", f) := {"row": "D7"} if tier1(f.dest)

_entry("D8", f) := {"row": "D8", "quota": {"key": key, "cap": params.alloc_cap_tpp}} if {
	not tier1(f.dest)
	not f.dest_concern
	key := lib.quota_key(["alloc", f.dest])
}

_entry("D9", _) := {"row": "D9"}

# The NVEU ceiling for the order's year: the last step whose from_year is not
# after it, in H100-equivalents, as TPP.
nveu_cap(f) := step.h100eq * lib.tables.units.h100_tpp if {
	from := max({y | some s in params.nveu_cap_h100eq; y := s.from_year; y <= f.year})
	some step in params.nveu_cap_h100eq
	step.from_year == from
}

# The candidates of a datacenter adv-a line for this order, in table order
# (the rows hold for the whole order; the fold meters each line).
dc_rows(f) := [c | some r in _dc_rows; e := _entry(r, f); c := lib.with_info(tables.rows, e)]

# ladders_of is the whole answer for an order: every line's ladder. A pure
# function of the order, so tests call it without `with`.
ladders_of(o) := lib.document("us-ai-diffusion-2025", f, cols, lines) if {
	f := lib.facts(o)
	cols := lib.columns(f, tables.rows, dc_rows(f))
	lines := [x | some l in o.lines; x := lib.line_doc(l, "")]
}

# METADATA
# title: Ladders
# description: The policy contract's entrypoint (version 2), one query per order.
# entrypoint: true
ladders := ladders_of(input.order)
