# METADATA
# title: Country-by-country agreements replacing the diffusion tiers (reported April 2025), a proposal
# description: >-
#   Tiers are scrapped; access is set by government-to-government agreements
#   with a yearly cap per country, and the no-license threshold drops to 500
#   H100-equivalents (7,916,000 TPP) per consignee per year. Decision table:
#   docs/regimes.md, rows K1-K4; adv-b lines follow rows B3, B5, B6, B8,
#   else NLR; HBM lines rows M1-M3. A proposal: its sources are news reports,
#   the rows it shares with the baseline cite the Federal Register and eCFR.
# related_resources:
#   - ref: https://trendforce.com/news/2025/04/30/news-trump-reportedly-plans-overhaul-of-biden-era-ai-export-tiers-in-favor-of-direct-country-agreements
#     description: Reuters via TrendForce (30 Apr 2025), country agreements and a 500-GPU threshold
#   - ref: https://www.wttlonline.com/stories/us-and-uae-unveil-ai-partnership-and-campus,13797
#     description: US-UAE AI Acceleration Partnership (15 May 2025)
#   - ref: https://www.federalregister.gov/d/2024-28270
#     description: FR Doc. 2024-28270, 89 FR 96790 (5 Dec 2024), HBM (3A090.c) and License Exception HBM
#   - ref: https://www.federalregister.gov/d/2025-19001
#     description: FR Doc. 2025-19001, 90 FR 47201 (30 Sep 2025), Affiliates rule (50% ownership)
#   - ref: https://www.ecfr.gov/current/title-15/section-742.6
#     description: 15 CFR 742.6 (advanced computing license requirements)
#   - ref: https://www.ecfr.gov/current/title-15/section-740.8
#     description: 15 CFR 740.8 (License Exceptions NAC and ACA, for adv-b lines)
#   - ref: https://www.ecfr.gov/current/title-15/section-740.25
#     description: 15 CFR 740.25 (License Exception HBM)
#   - ref: https://www.ecfr.gov/current/title-15/section-744.11
#     description: 15 CFR 744.11 (Entity List)
# custom:
#   id: us-country-deals-2025
#   authority: US Department of Commerce, Bureau of Industry and Security (proposed)
#   status: proposal
#   effective_from: "2025-05-15"
package exportgate.regimes.us_country_deals_2025

import data.exportgate.lib
import rego.v1

tables := data.exportgate.tables.us_country_deals_2025

params := tables.params

_dc_rows := ["K1", "K2", "K3", "K4"]

# The agreement of the destination in force on the order date.
agreement(f) := a if {
	a := params.agreements[f.dest]
	object.get(a, "from", "0000-01-01") <= f.date
	f.date < object.get(a, "until", "9999-12-31")
}

_entry("K1", f) := {"row": "K1"} if f.hq_concern

_entry("K1", f) := {"row": "K1"} if f.dest_concern

_entry("K2", f) := {"row": "K2", "quota": {"key": key, "cap": cap}} if {
	cap := agreement(f).cap_h100eq * lib.tables.units.h100_tpp
	key := lib.quota_key(["deal", f.dest, format_int(f.year, 10)])
}

_entry("K3", f) := {"row": "K3", "quota": {"key": key, "cap": params.low_volume_cap_tpp}} if {
	key := lib.quota_key(["lowvol", f.consignee, format_int(f.year, 10)])
}

_entry("K4", _) := {"row": "K4"}

# The candidates of a datacenter adv-a line for this order, in table order.
dc_rows(f) := [c | some r in _dc_rows; e := _entry(r, f); c := lib.with_info(tables.rows, e)]

# ladders_of is the whole answer for an order: every line's ladder. A pure
# function of the order, so tests call it without `with`.
ladders_of(o) := lib.document("us-country-deals-2025", f, params, cols, lines) if {
	f := lib.facts(o)
	cols := lib.columns(f, tables.rows, dc_rows(f), params)
	lines := [x | some l in o.lines; x := lib.line_doc(l, "")]
}

# METADATA
# title: Ladders
# description: The policy contract's entrypoint (version 2), one query per order.
# entrypoint: true
ladders := lib.answer(ladders_of(input.order), input)
