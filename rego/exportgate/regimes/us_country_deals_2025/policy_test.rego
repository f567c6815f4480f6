# One test per row of the us-country-deals-2025 table (docs/regimes.md), plus the
# common rows, the adv-b rows and the quota semantics.
package exportgate.regimes.us_country_deals_2025_test

import data.exportgate.regimes.us_country_deals_2025 as regime
import data.exportgate.testing as t
import rego.v1

line(o) := t.line_of(regime.ladders_of(o), 0, {})

line_q(o, q) := t.line_of(regime.ladders_of(o), 0, q)

# Rows common to every regime ----------------------------------------------

test_deny_c1_embargoed_destination if t.is(line(t.order("SY", t.h100, 1)), "deny", "EMBARGO")

test_deny_c2_restricted_party_denial if {
	st := object.union(t.party("s", "AE"), {"restrictions": [{"list": "entity-list", "policy": "denial"}]})
	t.is(line(t.with_ship_to(t.order("AE", t.h100, 1), st)), "deny", "RESTRICTED_PARTY")
}

test_license_c3_restricted_party_case_by_case if {
	st := object.union(t.party("s", "AE"), {"restrictions": [{"list": "uvl", "policy": "case-by-case"}]})
	t.is(line(t.with_ship_to(t.order("AE", t.h100, 1), st)), "license", "RESTRICTED_PARTY")
}

test_allow_c4_domestic if t.is(line(t.order("US", t.h100, 5000)), "allow", "DOMESTIC")

test_allow_c5_not_controlled if t.is(line(t.order("KR", t.laptop, 10)), "allow", "NOT_CONTROLLED")

# adv-b lines follow B3, B5, B6, B8, else NLR -----------------------------------

test_notify_b3_adv_b_to_concern if t.is(line(t.order("CN", t.bchip, 10)), "notify", "NAC")

test_notify_b5_adv_b_for_d5_headquarters if {
	eu := object.union(t.party("e", "KR"), {"hq_country": "RU"})
	t.is(line(t.with_end_user(t.order("KR", t.bchip, 10), eu)), "notify", "NAC")
}

test_allow_b6_adv_b_data_center_veu if {
	eu := object.union(t.party("e", "SA"), {"verified": "dc-veu"})
	t.is(line(t.with_end_user(t.order("SA", t.bchip, 10), eu)), "allow", "DC_VEU")
}

test_allow_b8_adv_b_aca if t.is(line(t.order("SA", t.bchip, 10)), "allow", "ACA")

test_allow_b9_adv_b_elsewhere if t.is(line(t.order("KR", t.bchip, 10)), "allow", "NLR")

# Datacenter adv-a rows K1-K4 ---------------------------------------------------

test_deny_k1_concern_destination if t.is(line(t.order("CN", t.h100, 1)), "deny", "CONCERN")

test_deny_k1_concern_headquarters if {
	eu := object.union(t.party("e", "AE"), {"parent_hq_country": "CN"})
	t.is(line(t.with_end_user(t.order("AE", t.h100, 1), eu)), "deny", "CONCERN")
}

test_allow_k2_agreement_covers_line if {
	l := line(t.order("AE", t.h100, 2000))
	t.is(l, "allow", "AGREEMENT")
	l.consumes == [{"quota": "deal:AE:2025", "tpp": 31664000, "cap": 7916000000}]
}

test_notify_k2_not_before_agreement_in_force if {
	t.is(line(t.with_date(t.order("AE", t.h100, 100), "2025-05-14")), "notify", "LOW_VOLUME")
}

test_license_k2_agreement_cap_exhausted if {
	t.is(line_q(t.order("AE", t.h100, 1000), {"deal:AE:2025": 7910000000}), "license", "LICENSE_REQUIRED")
}

test_notify_k3_low_volume if {
	l := line(t.order("KR", t.h100, 500))
	t.is(l, "notify", "LOW_VOLUME")
	l.consumes == [{"quota": "lowvol:c1:2025", "tpp": 7916000, "cap": 7916000}]
}

test_license_k3_low_volume_never_split if t.is(line(t.order("KR", t.h100, 501)), "license", "LICENSE_REQUIRED")

test_license_k3_low_volume_used_by_other_orders if {
	t.is(line_q(t.order("KR", t.h100, 300), {"lowvol:c1:2025": 4000000}), "license", "LICENSE_REQUIRED")
}

test_license_k4_otherwise if t.is(line(t.order("IN", t.h100, 600)), "license", "LICENSE_REQUIRED")

test_license_tpp_unknown_cannot_be_metered if t.is(line(t.order("KR", t.eccn_only_a, 1)), "license", "TPP_UNKNOWN")

test_ladder_each_line_meters_low_volume if {
	doc := regime.ladders_of(t.order_lines("KR", [[t.h100, 300], [t.h100, 300]]))
	t.rows(doc, 0) == ["K3", "K4"]
	t.rows(doc, 1) == ["K3", "K4"]
	doc.lines[1].tpp == 4749600
}

# Rows shared with the baseline: HBM, systems, affiliates -----------------------------

test_license_m2_hbm_to_a_country_of_concern if t.is(line(t.order("RU", t.hbm2, 100)), "license", "HBM_LICENSE")

test_allow_k2_system_under_the_agreement if {
	l := line(t.order("AE", t.hgx_h100, 10))
	t.is(l, "allow", "AGREEMENT")
	l.consumes[0].tpp == 1266560
}

test_license_c3a_affiliate_case_by_case if {
	owned := object.union(t.party("e", "AE"), {"owners": [t.owner("M", 75, "case-by-case")]})
	o := t.with_end_user(t.with_date(t.order("AE", t.h100, 1), "2026-12-01"), owned)
	t.is(line(o), "license", "RESTRICTED_AFFILIATE")
}

# Standing rules: the Russia and Belarus sanctions, the is-informed letter and
# the dated HBM rows decide alike under every regime (testing.standing_cases).
test_standing_rules_hold if {
	decided := {c.why: l | some c in t.standing_cases; l := line(c.order)}
	t.standing_failures(decided) == []
}
