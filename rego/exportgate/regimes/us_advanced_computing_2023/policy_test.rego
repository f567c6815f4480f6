# One test per row of the us-advanced-computing-2023 table (docs/regimes.md),
# named test_<outcome>_<row>_<scenario>.
package exportgate.regimes.us_advanced_computing_2023_test

import data.exportgate.regimes.us_advanced_computing_2023 as regime
import data.exportgate.lib
import data.exportgate.testing as t
import rego.v1

line(o) := t.line_of(regime.ladders_of(o), 0, {})

# Rows common to every regime ----------------------------------------------

test_deny_c1_embargoed_destination if t.is(line(t.order("CU", t.laptop, 5)), "deny", "EMBARGO")

test_deny_c1_embargo_wins_over_everything if t.is(line(t.order("IR", t.h100, 1)), "deny", "EMBARGO")

test_deny_c2_restricted_party_denial if {
	eu := object.union(t.party("e", "DE"), {"restrictions": [{"list": "entity-list", "policy": "denial"}]})
	t.is(line(t.with_end_user(t.order("DE", t.h100, 8), eu)), "deny", "RESTRICTED_PARTY")
}

test_license_c3_restricted_party_case_by_case if {
	st := object.union(t.party("s", "FR"), {"restrictions": [{"list": "unverified", "policy": "case-by-case"}]})
	t.is(line(t.with_ship_to(t.order("FR", t.h100, 8), st)), "license", "RESTRICTED_PARTY")
}

test_allow_c4_domestic if t.is(line(t.order("US", t.h100, 1000)), "allow", "DOMESTIC")

test_allow_c5_not_controlled if t.is(line(t.order("SA", t.laptop, 5)), "allow", "NOT_CONTROLLED")

# The regime's rows ------------------------------------------------------------

test_license_b1_h200_to_china_from_2026_01_15 if {
	o := t.with_date(t.order("CN", t.h200, 100), "2026-01-15")
	t.is(line(o), "license", "CASE_BY_CASE_2026")
}

test_deny_b1_not_before_2026_01_15 if {
	t.is(line(t.with_date(t.order("CN", t.h200, 100), "2026-01-14")), "deny", "D5_ADVANCED")
}

test_deny_b1_not_for_reexports if {
	o := t.with_fields(t.order("CN", t.h200, 100), {"date": "2026-02-01", "transaction": "reexport"})
	t.is(line(o), "deny", "D5_ADVANCED")
}

test_deny_b1_not_above_tpp_21000 if {
	t.is(line(t.with_date(t.order("CN", t.b200, 10), "2026-03-01")), "deny", "D5_ADVANCED")
}

test_deny_b1_not_without_dram_bandwidth if {
	o := t.with_date(t.order("MO", {"eccn": "3A090.a", "tpp": 15832, "pd": 19.45}, 10), "2026-03-01")
	t.is(line(o), "deny", "D5_ADVANCED")
}

test_deny_b2_d5_destination if t.is(line(t.order("RU", t.h100, 1)), "deny", "D5_ADVANCED")

test_deny_b2_hong_kong_is_china if t.is(line(t.order("HK", t.h100, 1)), "deny", "D5_ADVANCED")

test_deny_b2_cambodia_until_2026_02_03 if {
	t.is(line(t.with_date(t.order("KH", t.h100, 1), "2026-02-02")), "deny", "D5_ADVANCED")
}

test_license_b7_cambodia_from_2026_02_03 if {
	t.is(line(t.with_date(t.order("KH", t.h100, 1), "2026-02-03")), "license", "D1_D4_ADVANCED")
}

test_notify_b3_adv_b_to_d5 if t.is(line(t.order("CN", t.bchip, 10)), "notify", "NAC")

test_notify_b3_consumer_adv_a_to_d5 if t.is(line(t.order("CN", t.rtx4090, 10)), "notify", "NAC")

test_deny_b4_end_user_headquartered_in_d5 if {
	eu := object.union(t.party("e", "DE"), {"hq_country": "CN"})
	t.is(line(t.with_end_user(t.order("DE", t.h100, 8), eu)), "deny", "HQ_D5")
}

test_deny_b4_parent_headquartered_in_macau if {
	eu := object.union(t.party("e", "SG"), {"parent_hq_country": "MO"})
	t.is(line(t.with_end_user(t.order("SG", t.h100, 8), eu)), "deny", "HQ_D5")
}

test_notify_b5_adv_b_for_d5_headquarters if {
	eu := object.union(t.party("e", "DE"), {"hq_country": "HK"})
	t.is(line(t.with_end_user(t.order("DE", t.bchip, 8), eu)), "notify", "NAC")
}

test_allow_b6_data_center_veu if {
	eu := object.union(t.party("e", "SA"), {"verified": "dc-veu"})
	t.is(line(t.with_end_user(t.order("SA", t.h100, 100), eu)), "allow", "DC_VEU")
}

test_license_b7_d4_destination if t.is(line(t.order("SA", t.h100, 100)), "license", "D1_D4_ADVANCED")

test_license_b7_d1_destination if t.is(line(t.order("VN", t.h100, 100)), "license", "D1_D4_ADVANCED")

test_allow_b8_aca_for_adv_b if t.is(line(t.order("SA", t.bchip, 10)), "allow", "ACA")

test_allow_b9_d4_but_a6_destination if t.is(line(t.order("IL", t.h100, 10)), "allow", "NLR")

test_allow_b9_other_destination if t.is(line(t.order("KR", t.h100, 100)), "allow", "NLR")

# Classification ---------------------------------------------------------------

test_license_performance_only_adv_a if {
	t.is(line(t.order("SA", {"tpp": 5000, "pd": 6}, 10)), "license", "D1_D4_ADVANCED")
}

test_allow_performance_only_adv_b_is_aca if t.is(line(t.order("SA", {"tpp": 3000, "pd": 2}, 10)), "allow", "ACA")

test_license_classification_conflict_stricter_class if {
	l := line(t.order("SA", {"eccn": "EAR99", "tpp": 15832, "pd": 19.45}, 10))
	t.is(l, "license", "D1_D4_ADVANCED")
	l.reasons[1].code == "CLASSIFICATION_CONFLICT"
}

test_each_line_has_its_own_ladder if {
	doc := regime.ladders_of(t.order_lines("SA", [[t.laptop, 1], [t.h100, 1], [t.bchip, 1]]))
	[t.line_of(doc, i, {}).outcome | some i in [0, 1, 2]] == ["allow", "license", "allow"]
	[l.class | some l in doc.lines] == ["other", "adv-a", "adv-b"]
	doc.regime == "us-advanced-computing-2023"
}

test_baseline_consumes_no_quota if {
	line(t.order("KR", t.h100, 100000)).consumes == []
	count(t.keys(regime.ladders_of(t.order("KR", t.h100, 1)))) == 0
}

# Row B10: the is-informed letter of April 2025 ------------------------------------

test_license_b10_h20_to_china_from_2025_04_09 if {
	t.is(line(t.with_date(t.order("CN", t.h20, 100), "2025-04-09")), "license", "IS_INFORMED")
}

test_allow_b10_not_before_2025_04_09 if {
	t.is(line(t.with_date(t.order("CN", t.h20, 100), "2025-04-08")), "allow", "NOT_CONTROLLED")
}

test_license_b10_h20_to_hong_kong_and_macau if {
	t.is(line(t.order("HK", t.h20, 1)), "license", "IS_INFORMED")
	t.is(line(t.order("MO", t.h20, 1)), "license", "IS_INFORMED")
}

test_license_b10_h20_for_china_headquarters if {
	o := t.with_end_user(t.order("SG", t.h20, 10), object.union(t.party("e", "SG"), {"parent_hq_country": "CN"}))
	t.is(line(o), "license", "IS_INFORMED")
}

test_allow_b10_h20_elsewhere if t.is(line(t.order("KR", t.h20, 100)), "allow", "NOT_CONTROLLED")

test_license_b10_system_of_informed_chips if t.is(line(t.order("CN", t.hgx_h20, 2)), "license", "IS_INFORMED")

test_deny_b10_embargo_first if t.is(line(t.order("IR", t.h20, 1)), "deny", "EMBARGO")

# Systems: classified chip by chip, the chips' TPP summed ---------------------------

test_deny_b2_system_of_h100_to_china if {
	doc := regime.ladders_of(t.order("CN", t.hgx_h100, 1))
	l := t.line_of(doc, 0, {})
	t.is(l, "deny", "D5_ADVANCED")
	l.reasons[1].code == "SYSTEM"
	doc.lines[0].tpp == 126656
}

test_license_b7_system_of_h100_to_saudi_arabia if t.is(line(t.order("SA", t.hgx_h100, 4)), "license", "D1_D4_ADVANCED")

test_allow_system_of_h20_is_not_adv_a if {
	doc := regime.ladders_of(t.order("KR", t.hgx_h20, 10))
	doc.lines[0].class == "other"
	t.is(t.line_of(doc, 0, {}), "allow", "NOT_CONTROLLED")
}

# Rows M1-M3: high bandwidth memory (3A090.c) --------------------------------------

eu_hbm(c) := object.union(t.party("designer", c), {"certifications": ["HBM"]})

test_notify_m1_hbm_exception_to_china if {
	o := t.with_end_user(t.order("CN", t.hbm2, 1000), eu_hbm("CN"))
	t.is(line(o), "notify", "HBM")
}

test_license_m2_hbm_to_china_without_the_certification if {
	t.is(line(t.order("CN", t.hbm2, 1000)), "license", "HBM_LICENSE")
}

test_license_m2_hbm_above_the_exception_density if {
	o := t.with_end_user(t.order("CN", t.hbm3e, 1000), eu_hbm("CN"))
	t.is(line(o), "license", "HBM_LICENSE")
}

test_license_m2_hbm_for_macau_headquarters if {
	o := t.with_end_user(t.order("MY", t.hbm3e, 10), object.union(t.party("e", "MY"), {"hq_country": "MO"}))
	t.is(line(o), "license", "HBM_LICENSE")
}

test_license_m2_no_nac_or_aca_for_hbm if t.is(line(t.order("RU", t.hbm3e, 10)), "license", "HBM_LICENSE")

test_allow_m3_hbm_elsewhere if {
	t.is(line(t.order("VN", t.hbm3e, 10)), "allow", "NLR")
	t.is(line(t.order("KR", t.hbm2, 10)), "allow", "NLR")
}

# Rows C2A and C3A: the Affiliates rule --------------------------------------------

owned(c, owners) := object.union(t.party("aff", c), {"owners": owners})

test_deny_c2a_owned_by_denied_parties_from_2026_11_10 if {
	eu := owned("SG", [t.owner("L1", 30, "denial"), t.owner("L2", 20, "case-by-case")])
	doc := regime.ladders_of(t.with_end_user(t.with_date(t.order("SG", t.bchip, 1), "2026-11-10"), eu))
	t.is(t.line_of(doc, 0, {}), "deny", "RESTRICTED_AFFILIATE")
	doc.facts.owners == "aff (owned by L1, L2)"
}

test_allow_c2a_suspended_until_2026_11_09 if {
	eu := owned("SG", [t.owner("L1", 60, "denial")])
	t.is(line(t.with_end_user(t.with_date(t.order("SG", t.bchip, 1), "2026-11-09"), eu)), "allow", "NLR")
}

test_deny_c2a_in_force_before_the_suspension if {
	eu := owned("SG", [t.owner("L1", 60, "denial")])
	t.is(line(t.with_end_user(t.with_date(t.order("SG", t.laptop, 1), "2025-10-15"), eu)), "deny", "RESTRICTED_AFFILIATE")
}

test_license_c3a_owned_by_case_by_case_parties if {
	st := owned("AE", [t.owner("M1", 50, "case-by-case"), t.clean_owner("X", 50)])
	t.is(line(t.with_ship_to(t.with_date(t.order("AE", t.h100, 1), "2027-01-04"), st)), "license", "RESTRICTED_AFFILIATE")
}

test_allow_c3a_below_50_percent if {
	st := owned("DE", [t.owner("M1", 49.9, "denial"), t.clean_owner("X", 50.1)])
	t.is(line(t.with_ship_to(t.with_date(t.order("DE", t.h100, 1), "2027-01-04"), st)), "allow", "NLR")
}

test_deny_c2_a_listed_party_before_its_affiliates if {
	listed := {"restrictions": [{"list": "entity-list", "policy": "denial"}]}
	eu := object.union(owned("SG", [t.owner("L1", 60, "case-by-case")]), listed)
	t.is(line(t.with_end_user(t.with_date(t.order("SG", t.bchip, 1), "2026-12-01"), eu)), "deny", "RESTRICTED_PARTY")
}

test_allow_b10_switched_off_by_configuration if {
	f := lib.facts(t.order("CN", t.h20, 1))
	[s.row | some s in lib.standing(f, regime.params)] == ["B10"]
	lib.standing(f, object.union(regime.params, {"is_informed": {"enabled": false}})) == []
	lib.standing(lib.facts(t.order("KR", t.h20, 1)), regime.params) == []
}

test_license_m2_hbm_without_a_stated_density_takes_no_exception if {
	o := t.with_end_user(t.order("CN", {"eccn": "3A090.c"}, 10), eu_hbm("CN"))
	t.is(line(o), "license", "HBM_LICENSE")
}

test_license_b10_informed_adv_b_item_instead_of_nac if {
	o := t.order("CN", object.union(t.bchip, {"is_informed": true}), 10)
	t.is(line(o), "license", "IS_INFORMED")
}

test_deny_b10_leaves_datacenter_adv_a_to_b2 if {
	o := t.order("CN", object.union(t.h100, {"is_informed": true}), 10)
	t.is(line(o), "deny", "D5_ADVANCED")
}

# Standing rules: the Russia and Belarus sanctions, the is-informed letter and
# the dated HBM rows decide alike under every regime (testing.standing_cases).
test_standing_rules_hold if {
	decided := {c.why: l | some c in t.standing_cases; l := line(c.order)}
	t.standing_failures(decided) == []
}

# The UAE keeps its D:4 membership until the rule moving it to A:5 is found:
# a datacenter adv-a order of September 2025 needs a license (row B7).
test_license_b7_uae_in_2025 if {
	t.is(line(t.with_date(t.order("AE", t.h100, 8), "2025-09-15")), "license", "D1_D4_ADVANCED")
}

# Row B6 (Data Center VEU) from 2024-10-02.
test_license_b7_dc_veu_before_the_veu_rule if {
	eu := object.union(t.party("v", "SA"), {"verified": "dc-veu"})
	o := t.with_end_user(t.order("SA", t.h100, 8), eu)
	t.is(line(t.with_date(o, "2024-10-01")), "license", "D1_D4_ADVANCED")
	t.is(line(t.with_date(o, "2024-10-02")), "allow", "DC_VEU")
}

# Row B8 (ACA) from 2024-04-04; before it, NAC (B8N).
test_notify_b8n_nac_before_aca if {
	t.is(line(t.with_date(t.order("SA", t.bchip, 10), "2024-04-03")), "notify", "NAC")
	t.is(line(t.with_date(t.order("SA", t.bchip, 10), "2024-04-04")), "allow", "ACA")
}
