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
	lib.eccn_class("3A090.c") == "other"
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
	lib.until_stateless([{"row": "A", "quota": {}}, {"row": "B"}, {"row": "C"}]) == [{"row": "A", "quota": {}}, {"row": "B"}]
}

test_end_user_defaults_to_ship_to_and_parent_to_hq if {
	o := {"date": "2025-06-02", "parties": {"ship_to": {"id": "s", "country": "DE", "hq_country": "HK"}}}
	lib.consignee(o) == "s"
	lib.hq(o) == "CN"
	lib.parent_hq(o) == "CN"
}
