# METADATA
# title: Country-by-country agreements replacing the diffusion tiers (reported April 2025), a proposal
# description: >-
#   Tiers are scrapped; access is set by government-to-government agreements
#   with a yearly cap per country, and the no-license threshold drops to 500
#   H100-equivalents (7,916,000 TPP) per consignee per year. Decision table:
#   REGIMES.md, rows K1-K4; adv-b lines follow rows B3, B5, B6, B8, else NLR.
# related_resources:
#   - ref: https://trendforce.com/news/2025/04/30/news-trump-reportedly-plans-overhaul-of-biden-era-ai-export-tiers-in-favor-of-direct-country-agreements
#     description: Reuters via TrendForce (30 Apr 2025), country agreements and a 500-GPU threshold
#   - ref: https://www.wttlonline.com/stories/us-and-uae-unveil-ai-partnership-and-campus,13797
#     description: US-UAE AI Acceleration Partnership (15 May 2025)
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

_entry("K1", f, _) := {"row": "K1"} if f.hq_concern

_entry("K1", f, _) := {"row": "K1"} if f.dest_concern

_entry("K2", f, l) := lib.quota_entry("K2", key, cap, l) if {
	cap := agreement(f).cap_h100eq * lib.tables.units.h100_tpp
	key := lib.quota_key(["deal", f.dest, format_int(f.year, 10)])
}

_entry("K3", f, l) := lib.quota_entry("K3", key, params.low_volume_cap_tpp, l) if {
	key := lib.quota_key(["lowvol", f.consignee, format_int(f.year, 10)])
}

_entry("K4", f, _) := {"row": "K4"}

ladder(f, l) := x if {
	x := lib.pre_ladder(f, l)
} else := lib.until_stateless([e | some r in _dc_rows; e := _entry(r, f, l)])

ladders_of(f, lines) := [x | some l in lines; x := ladder(f, l)]

ladders(o) := ladders_of(lib.facts(o), o.lines)

# decide_order is the whole decision for an order, given the quota other
# orders hold; a pure function, so tests call it without `with`.
decide_order(o, quota) := object.union(d, {"regime": "us-country-deals-2025"}) if {
	f := lib.facts(o)
	d := lib.decide(f, o.lines, quota, ladders_of(f, o.lines), tables.rows, tables.obligations)
}

quota_keys := lib.quota_keys(ladders(input.order))

decision := decide_order(input.order, object.get(input, "quota", {}))
