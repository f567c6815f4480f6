# One test per row of the us-ai-diffusion-2025 table (docs/regimes.md), plus the
# common rows, the adv-b rows and the quota semantics.
package exportgate.regimes.us_ai_diffusion_2025_test

import data.exportgate.lib
import data.exportgate.regimes.us_ai_diffusion_2025 as regime
import data.exportgate.testing as t
import rego.v1

line(o) := t.line_of(regime.ladders_of(o), 0, {})

line_q(o, q) := t.line_of(regime.ladders_of(o), 0, q)

eu(c, extra) := object.union(t.party("eu-1", c), extra)

# Rows common to every regime ----------------------------------------------

test_deny_c1_embargoed_destination if t.is(line(t.order("KP", t.h100, 1)), "deny", "EMBARGO")

test_deny_c2_restricted_party_denial if {
	listed := {"restrictions": [{"list": "entity-list", "policy": "denial"}]}
	o := t.with_end_user(t.order("DE", t.h100, 1), eu("DE", listed))
	t.is(line(o), "deny", "RESTRICTED_PARTY")
}

test_license_c3_restricted_party_case_by_case if {
	o := t.with_end_user(t.order("DE", t.h100, 1), eu("DE", {"restrictions": [{"list": "uvl", "policy": "case-by-case"}]}))
	t.is(line(o), "license", "RESTRICTED_PARTY")
}

test_allow_c4_domestic if t.is(line(t.order("US", t.h100, 5000)), "allow", "DOMESTIC")

test_allow_c5_not_controlled if t.is(line(t.order("IN", t.laptop, 10)), "allow", "NOT_CONTROLLED")

# adv-b lines follow B3, B5, B6, B8, else NLR -----------------------------------

test_notify_b3_adv_b_to_tier3 if t.is(line(t.order("VE", t.bchip, 10)), "notify", "NAC")

test_notify_b5_adv_b_for_d5_headquarters if {
	o := t.with_end_user(t.order("IN", t.bchip, 10), eu("IN", {"parent_hq_country": "CN"}))
	t.is(line(o), "notify", "NAC")
}

test_allow_b6_adv_b_data_center_veu if {
	o := t.with_end_user(t.order("SA", t.bchip, 10), eu("SA", {"verified": "dc-veu"}))
	t.is(line(o), "allow", "DC_VEU")
}

test_allow_b8_adv_b_aca if t.is(line(t.order("QA", t.bchip, 10)), "allow", "ACA")

test_allow_b9_adv_b_elsewhere if t.is(line(t.order("IN", t.bchip, 10)), "allow", "NLR")

test_notify_b3_consumer_adv_a_is_adv_b if t.is(line(t.order("CN", t.rtx4090, 10)), "notify", "NAC")

# Datacenter adv-a rows D1-D9 ---------------------------------------------------

test_deny_d1_tier3_destination if t.is(line(t.order("RU", t.h100, 1)), "deny", "TIER3")

test_deny_d1_macau_destination if t.is(line(t.order("MO", t.h100, 1)), "deny", "TIER3")

test_deny_d1_headquarters_in_d5 if {
	o := t.with_end_user(t.order("KR", t.h100, 1), eu("KR", {"hq_country": "CN", "certifications": ["AIA"]}))
	t.is(line(o), "deny", "TIER3")
}

test_allow_d2_aia_with_certification if {
	o := t.with_end_user(t.order("KR", t.h100, 1000), eu("KR", {"certifications": ["AIA"]}))
	t.is(line(o), "allow", "AIA")
}

test_notify_d3_aia_without_certification if t.is(line(t.order("JP", t.h100, 1000)), "notify", "AIA")

test_allow_d4_uveu if {
	o := t.with_end_user(t.order("MY", t.h100, 20000), eu("MY", {"hq_country": "US", "verified": "uveu"}))
	t.is(line(o), "allow", "UVEU")
}

test_allow_d5_nveu_within_cap if {
	o := t.with_end_user(t.order("IN", t.h100, 5000), eu("IN", {"verified": "nveu"}))
	l := line(o)
	t.is(l, "allow", "NVEU")
	l.consumes == [{"quota": "nveu:eu-1:IN", "tpp": 79160000, "cap": 1583200000}]
}

test_notify_d5_nveu_cap_exhausted_falls_to_lpp if {
	o := t.with_end_user(t.order("IN", t.h100, 100), eu("IN", {"verified": "nveu"}))
	l := line_q(o, {"nveu:eu-1:IN": 1583200000})
	t.is(l, "notify", "LPP")
}

test_allow_d5_nveu_ceiling_rises_in_2026 if {
	o := t.with_date(t.with_end_user(t.order("IN", t.h100, 100), eu("IN", {"verified": "nveu"})), "2026-03-01")
	l := line_q(o, {"nveu:eu-1:IN": 1583200000})
	t.is(l, "allow", "NVEU")
	l.consumes[0].cap == 4274640000
}

test_notify_d6_lpp_within_allowance if {
	l := line(t.order("IN", t.h100, 1699))
	t.is(l, "notify", "LPP")
	l.consumes == [{"quota": "lpp:c1:2025", "tpp": 26898568, "cap": 26900000}]
}

test_license_d6_lpp_allowance_never_split if t.is(line(t.order("IN", t.h100, 1700)), "license", "TIER2_LICENSE")

test_notify_d6_lpp_resets_each_year if {
	l := line_q(t.with_date(t.order("IN", t.h100, 1000), "2026-01-02"), {"lpp:c1:2025": 26000000})
	t.is(l, "notify", "LPP")
}

test_license_d7_tier1_destination_foreign_headquarters if {
	o := t.with_end_user(t.order("DE", t.h100, 2000), eu("DE", {"hq_country": "IN"}))
	t.is(line(o), "license", "AIA_UNAVAILABLE")
}

test_notify_d6_before_d7_for_small_orders if {
	o := t.with_end_user(t.order("DE", t.h100, 10), eu("DE", {"hq_country": "IN"}))
	t.is(line(o), "notify", "LPP")
}

test_license_d8_tier2_allocation if {
	l := line(t.order("IN", t.h100, 5000))
	t.is(l, "license", "TIER2_LICENSE")
	l.consumes == [{"quota": "alloc:IN", "tpp": 79160000, "cap": 790000000}]
}

test_deny_d9_allocation_exhausted if {
	t.is(line_q(t.order("IN", t.h100, 5000), {"alloc:IN": 750000000}), "deny", "ALLOCATION_EXHAUSTED")
}

test_license_tpp_unknown_cannot_be_metered if t.is(line(t.order("IN", t.eccn_only_a, 10)), "license", "TPP_UNKNOWN")

# Quota across the lines of one order -------------------------------------------

test_ladder_each_line_meters_lpp_then_the_allocation if {
	doc := regime.ladders_of(t.order_lines("IN", [[t.h100, 1200], [t.h100, 600]]))
	t.rows(doc, 0) == ["D6", "D8", "D9"]
	t.rows(doc, 1) == ["D6", "D8", "D9"]
	[l.tpp | some l in doc.lines] == [18998400, 9499200]
	doc.regime == "us-ai-diffusion-2025"
}

test_quota_keys_are_what_the_order_may_touch if {
	o := t.with_end_user(t.order("IN", t.h100, 1), eu("IN", {"verified": "nveu"}))
	t.keys(regime.ladders_of(o)) == {"nveu:eu-1:IN", "lpp:eu-1:2025", "alloc:IN"}
}

test_ladder_no_limit_on_metered_lines if {
	pairs := [[t.h100, 1] | some _ in numbers.range(1, 300)]
	doc := regime.ladders_of(t.order_lines("IN", pairs))
	count(doc.lines) == 300
	t.rows(doc, 299) == ["D6", "D8", "D9"]
}

# Rows D2 and D2N: the AIA certification goes to BIS at 253,000,000 TPP -----------

aia_order(qty) := t.with_end_user(t.order("JP", t.h100, qty), eu("JP", {"certifications": ["AIA"]}))

test_allow_d2_aia_certification_kept_on_file_below_the_threshold if {
	l := line(aia_order(1000))
	t.is(l, "allow", "AIA")
	l.consumes == [{"quota": "aia:eu-1", "tpp": 15832000, "cap": 252999999}]
}

test_notify_d2n_aia_certification_to_bis_at_the_threshold if {
	# 237,168,000 held by earlier orders + 1,000 H100 = 253,000,000: reached.
	t.is(line_q(aia_order(1000), {"aia:eu-1": 237168000}), "notify", "AIA_CERT_SUBMIT")
}

test_allow_d2_just_below_the_threshold if t.is(line_q(aia_order(1000), {"aia:eu-1": 237167999}), "allow", "AIA")

test_notify_d2n_threshold_is_cumulative_across_years if {
	o := t.with_date(aia_order(1000), "2027-03-01")
	regime.ladders_of(o).ladders["dc-a"][0].quota.key == "aia:eu-1"
	t.is(line_q(o, {"aia:eu-1": 250000000}), "notify", "AIA_CERT_SUBMIT")
}

# Rows shared with the baseline: HBM, systems, affiliates -----------------------------

test_license_m2_hbm_to_tier3 if t.is(line(t.order("CN", t.hbm3e, 100)), "license", "HBM_LICENSE")

test_allow_m3_hbm_to_tier2 if t.is(line(t.order("IN", t.hbm3e, 100)), "allow", "NLR")

test_notify_d6_system_meters_the_chips_tpp if {
	l := line(t.order("IN", t.hgx_h100, 10))
	t.is(l, "notify", "LPP")
	l.consumes[0].tpp == 1266560
}

test_deny_c2a_affiliate_in_tier1 if {
	owned := eu("JP", {"owners": [t.owner("L", 50, "denial")]})
	o := t.with_end_user(t.with_date(t.order("JP", t.h100, 1), "2026-11-10"), owned)
	t.is(line(o), "deny", "RESTRICTED_AFFILIATE")
}

test_license_d2_system_without_chip_tpp_cannot_be_metered if {
	sys := {"eccn": "4A090.a", "contains": [{"item": "X", "count": 8, "eccn": "3A090.a"}]}
	o := t.with_end_user(t.order("JP", sys, 1), eu("JP", {"certifications": ["AIA"]}))
	t.is(line(o), "license", "TPP_UNKNOWN")
}

test_notify_d2n_is_never_metered if {
	doc := regime.ladders_of(aia_order(1))
	t.rows(doc, 0) == ["D2", "D2N"]
	t.keys(doc) == {"aia:eu-1"}
}

# Standing rules: the Russia and Belarus sanctions, the is-informed letter and
# the dated HBM rows decide alike under every regime (testing.standing_cases).
test_standing_rules_hold if {
	decided := {c.why: l | some c in t.standing_cases; l := line(c.order)}
	t.standing_failures(decided) == []
}
