package exportgate.lib_test

import data.exportgate.lib
import rego.v1

test_hong_kong_is_treated_as_china if {
	lib.dest({"date": "2025-06-02", "parties": {"ship_to": {"id": "a", "country": "HK"}}, "lines": []}) == "CN"
}

test_macau_stays_separate if {
	lib.dest({"date": "2025-06-02", "parties": {"ship_to": {"id": "a", "country": "MO"}}, "lines": []}) == "MO"
}

test_cambodia_leaves_d5_on_2026_02_03 if {
	lib.concern("KH", "2026-02-02")
	not lib.concern("KH", "2026-02-03")
}

test_eccn_classes if {
	lib.eccn_class("3A090.a") == "adv-a"
	lib.eccn_class("3A090.a.1") == "adv-a"
	lib.eccn_class("4A003.z.1.a") == "adv-a"
	lib.eccn_class("4A090.b") == "adv-b"
	lib.eccn_class("3A090.c") == "hbm"
	lib.eccn_class("EAR99") == "other"
	lib.eccn_class("5A992.c") == "other"
}

test_performance_classes if {
	lib.perf_class({"tpp": 4800}) == "adv-a"
	lib.perf_class({"tpp": 1600, "pd": 5.92}) == "adv-a"
	lib.perf_class({"tpp": 2400, "pd": 1.6}) == "adv-b"
	lib.perf_class({"tpp": 4799, "pd": 5.91}) == "adv-b"
	lib.perf_class({"tpp": 1600, "pd": 3.2}) == "adv-b"
	lib.perf_class({"tpp": 2399, "pd": 3.19}) == "other"
	lib.perf_class({"tpp": 2368, "pd": 2.91}) == "other"
	lib.perf_class({"tpp": 4707}) == "other"
}

test_stricter_class_wins_on_conflict if {
	lib.item_class({"eccn": "EAR99", "tpp": 15832, "pd": 19.45}) == "adv-a"
	lib.conflict({"eccn": "EAR99", "tpp": 15832, "pd": 19.45})
	lib.item_class({"eccn": "3A090.a", "tpp": 100}) == "adv-a"
	not lib.conflict({"eccn": "3A090.a", "tpp": 15832, "pd": 19.45})
}

test_non_datacenter_adv_a_is_in_the_b_column if {
	lib.column({"eccn": "3A090.a", "tpp": 5285, "datacenter": false}) == "b"
	lib.column({"eccn": "3A090.a", "tpp": 5285}) == "dc-a"
	lib.column({"eccn": "EAR99"}) == "other"
}

test_until_stateless_cuts_after_first_stateless_row if {
	cut := lib.until_stateless([{"row": "A", "quota": {}}, {"row": "B"}, {"row": "C"}])
	cut == [{"row": "A", "quota": {}}, {"row": "B"}]
}

test_end_user_defaults_to_ship_to_and_parent_to_hq if {
	o := {"date": "2025-06-02", "parties": {"ship_to": {"id": "s", "country": "DE", "hq_country": "HK"}}}
	lib.consignee(o) == "s"
	lib.hq(o) == "CN"
	lib.parent_hq(o) == "CN"
}

test_memory_class_by_bandwidth_density if {
	lib.item_class({"memory_bandwidth_density": 2.78}) == "hbm"
	lib.item_class({"eccn": "EAR99", "memory_bandwidth_density": 2}) == "other"
	lib.column({"eccn": "3A090.c"}) == "hbm"
}

test_hbm_ranks_between_adv_b_and_adv_a if {
	lib.top_class({"adv-b", "hbm"}) == "hbm"
	lib.top_class({"hbm", "adv-a"}) == "adv-a"
}

test_system_is_classified_chip_by_chip if {
	# 8 x H20 sum to 18,944 TPP, far above 4800, but each chip is below
	# both 3A090.b prongs: the system is not adv-a.
	lib.item_class({"tpp": 18944, "contains": [{"item": "H20", "count": 8, "tpp": 2368, "pd": 2.91}]}) == "other"
	chip := {"item": "H100", "count": 8, "eccn": "3A090.a", "tpp": 15832, "pd": 19.45}
	lib.item_class({"tpp": 126656, "contains": [chip]}) == "adv-a"
	lib.item_class({"eccn": "4A090.a", "contains": [{"item": "X", "count": 2, "tpp": 3000, "pd": 2}]}) == "adv-a"
}

test_system_takes_its_most_restrictive_chip if {
	c := {"contains": [
		{"item": "A", "count": 4, "tpp": 3000, "pd": 2},
		{"item": "B", "count": 4, "eccn": "3A090.a", "tpp": 15832, "pd": 19.45},
	]}
	lib.item_class(c) == "adv-a"
	lib.conflict(c)
}

test_informed_reaches_through_systems if {
	lib.informed({"tpp": 2368, "is_informed": true})
	lib.informed({"contains": [{"item": "H20", "count": 8, "tpp": 2368, "is_informed": true}]})
	not lib.informed({"tpp": 2368})
}

test_restricted_share_adds_restricted_owners_only if {
	p := {"id": "p", "owners": [
		{"id": "a", "share": 33.3, "restrictions": [{"list": "entity-list", "policy": "denial"}]},
		{"id": "b", "share": 16.7, "restrictions": [{"list": "meu", "policy": "case-by-case"}]},
		{"id": "c", "share": 50, "restrictions": []},
	]}
	lib.restricted_share(p, "2025-06-02") == 5000
	lib.restricted_share({"id": "q"}, "2025-06-02") == 0
}

test_affiliates_rule_periods if {
	lib.affiliates_in_force("2025-09-29")
	lib.affiliates_in_force("2025-11-09")
	not lib.affiliates_in_force("2025-11-10")
	not lib.affiliates_in_force("2026-11-09")
	lib.affiliates_in_force("2026-11-10")
}

test_hbm_exception_needs_an_eligible_exporter_and_the_certification if {
	f := {"date": "2025-06-02", "certifications": {"HBM"}}
	lib.hbm_exception(f, {"hbm": {"exporter_hq": "US", "exporter_parent_hq": "US", "certification": "HBM"}})
	lib.hbm_exception(f, {"hbm": {"exporter_hq": "KR", "exporter_parent_hq": "KR", "certification": "HBM"}})
	not lib.hbm_exception(f, {"hbm": {"exporter_hq": "KR", "exporter_parent_hq": "CN", "certification": "HBM"}})
	not lib.hbm_exception(f, {"hbm": {"exporter_hq": "SG", "exporter_parent_hq": "SG", "certification": "HBM"}})
	exporter := {"hbm": {"exporter_hq": "US", "exporter_parent_hq": "US", "certification": "HBM"}}
	not lib.hbm_exception({"date": "2025-06-02", "certifications": set()}, exporter)
}

# Country groups are dated facts -------------------------------------------

test_uae_keeps_d4_until_the_rule_moving_it_to_a5_is_found if {
	not lib.in_group("A5", "AE", "2025-09-15")
	not lib.in_group("A5", "AE", "2026-12-01")
	lib.in_group("D4", "AE", "2025-09-15")
	lib.facts(_order_to("AE", "2025-09-15")).licensed_destination
}

test_russia_and_belarus_from_the_rules_that_sanctioned_them if {
	not lib.in_group("RU_BY", "RU", "2022-02-23")
	lib.in_group("RU_BY", "RU", "2022-02-24")
	not lib.in_group("RU_BY", "BY", "2022-03-01")
	lib.in_group("RU_BY", "BY", "2022-03-02")
}

_order_to(c, d) := {"date": d, "parties": {"ship_to": {"id": "a", "country": c}}, "lines": []}

# Standing rules -------------------------------------------------------------

_deny := {"row": "B2", "outcome": "deny", "code": "D5_ADVANCED"}

_r1 := {"row": "R1", "outcome": "license", "code": "RUSSIA_BELARUS"}

test_a_standing_rule_never_loosens_a_row if {
	lib.raise([_deny], _r1) == [_deny]
	lib.raise([{"row": "C3", "outcome": "license", "code": "RESTRICTED_PARTY"}], _r1)[0].row == "C3"
}

test_a_standing_rule_raises_metered_rows_and_cuts_the_ladder if {
	q := {"key": "lpp:c1:2025", "cap": 10, "measure": "tpp"}
	ladder := [
		{"row": "D6", "outcome": "notify", "code": "LPP", "quota": q},
		{"row": "D8", "outcome": "license", "code": "TIER2_LICENSE", "quota": q},
		_deny,
	]
	lib.raise(ladder, _r1) == [_r1]
}

test_standing_rules_stand_on_their_dates_and_places if {
	[s.row | some s in lib.standing(lib.facts(_order_to("RU", "2025-06-02")), {})] == ["R1", "B10"]
	[s.row | some s in lib.standing(lib.facts(_order_to("RU", "2025-04-08")), {})] == ["R1"]
	lib.standing(lib.facts(_order_to("RU", "2022-02-23")), {}) == []
	[s.row | some s in lib.standing(lib.facts(_order_to("CN", "2025-04-09")), {})] == ["B10"]
	lib.standing(lib.facts(_order_to("CN", "2025-04-08")), {}) == []
	lib.standing(lib.facts(_order_to("CN", "2025-06-02")), {"is_informed": {"enabled": false}}) == []
}
