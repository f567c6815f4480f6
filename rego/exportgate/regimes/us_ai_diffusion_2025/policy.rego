# METADATA
# title: US "Framework for Artificial Intelligence Diffusion" (January 2025), as written
# description: >-
#   Worldwide license requirement for datacenter 3A090.a/4A090.a items with
#   three country tiers, License Exceptions AIA and LPP, Universal and
#   National VEUs, and per-country allocations for Tier 2. BIS said in May
#   2025 it would not enforce the rule; GAO found in May 2026 that it remains
#   legally in effect. Decision table: docs/regimes.md, rows D1-D9 (D2
#   split into D2 and D2N at the AIA certification threshold); adv-b lines
#   follow rows B3, B5, B6, B8, else NLR; HBM lines rows M1-M3.
# related_resources:
#   - ref: https://www.federalregister.gov/d/2025-00636
#     description: FR Doc. 2025-00636, 90 FR 4544 (15 Jan 2025), AI Diffusion interim final rule
#   - ref: https://www.federalregister.gov/d/2025-00711
#     description: FR Doc. 2025-00711, 90 FR 5298 (16 Jan 2025), due diligence for advanced computing ICs
#   - ref: https://www.federalregister.gov/d/2024-28270
#     description: FR Doc. 2024-28270, 89 FR 96790 (5 Dec 2024), HBM (3A090.c) and License Exception HBM
#   - ref: https://www.federalregister.gov/d/2025-19001
#     description: FR Doc. 2025-19001, 90 FR 47201 (30 Sep 2025), Affiliates rule (50% ownership)
#   - ref: https://www.ecfr.gov/current/title-15/section-740.27
#     description: 15 CFR 740.27 (License Exception AIA)
#   - ref: https://www.ecfr.gov/current/title-15/section-740.29
#     description: 15 CFR 740.29 (License Exception LPP)
#   - ref: https://www.ecfr.gov/current/title-15/section-742.6
#     description: 15 CFR 742.6 (advanced computing license requirements)
#   - ref: https://www.ecfr.gov/current/title-15/section-748.15
#     description: 15 CFR 748.15 (Universal and National Validated End Users)
#   - ref: https://www.gao.gov/products/b-337935
#     description: GAO B-337935 (12 May 2026) on the May 2025 non-enforcement
#   - ref: https://www.ecfr.gov/current/title-15/section-740.8
#     description: 15 CFR 740.8 (License Exceptions NAC and ACA, for adv-b lines)
#   - ref: https://www.ecfr.gov/current/title-15/section-740.25
#     description: 15 CFR 740.25 (License Exception HBM)
#   - ref: https://www.ecfr.gov/current/title-15/section-744.11
#     description: 15 CFR 744.11 (Entity List)
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
_dc_rows := ["D1", "D2", "D2N", "D3", "D4", "D5", "D6", "D7", "D8", "D9"]

_aia_eligible(f) if {
	tier1(f.dest)
	tier1(f.hq)
	tier1(f.parent_hq)
}

_entry("D1", f) := {"row": "D1"} if f.hq_concern

_entry("D1", f) := {"row": "D1"} if f.dest_concern

# D2: AIA with the certification kept on file, while the consignee's
# cumulative TPP stays below the threshold at which the certification goes
# to BIS (15 CFR 740.27(c)); at or above it, D2N.
_entry("D2", f) := {"row": "D2", "quota": {"key": key, "cap": cap}} if {
	_aia_eligible(f)
	params.aia_certification in f.certifications
	key := lib.quota_key(["aia", f.consignee])
	cap := params.aia_submit_threshold_tpp - 1
}

# D2N counts against the same cumulative total without a cap, so the total
# keeps growing past the threshold and a later, smaller line cannot slip back
# under it.
_entry("D2N", f) := {"row": "D2N", "quota": {"key": key, "cap": null}} if {
	_aia_eligible(f)
	params.aia_certification in f.certifications
	key := lib.quota_key(["aia", f.consignee])
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
ladders_of(o) := lib.document("us-ai-diffusion-2025", f, params, cols, lines) if {
	f := lib.facts(o)
	cols := lib.columns(f, tables.rows, dc_rows(f), params)
	lines := [x | some l in o.lines; x := lib.line_doc(l, "")]
}

# METADATA
# title: Ladders
# description: The policy contract's entrypoint (version 2), one query per order.
# entrypoint: true
ladders := lib.answer(ladders_of(input.order), input)
