package exportgate.lib_test

import data.exportgate.lib
import rego.v1

# A ladder document as a regime answers it, by hand: a datacenter ladder
# whose first `license` row follows a metered exception, one of a deny, one
# of a restricted party (C3), one that allows.
_notify := {
	"row": "D6", "outcome": "notify", "code": "LPP",
	"quota": {"key": "lpp:C1:2026", "cap": 10, "measure": "tpp"},
}

_license := {"row": "B1", "outcome": "license", "code": "CASE_BY_CASE_2026"}

_doc(ladder) := {
	"contract": 2, "regime": "r", "facts": {},
	"ladders": {
		"dc-a": [_notify, _license],
		"deny": [{"row": "B2", "outcome": "deny", "code": "D5_ADVANCED"}],
		"c3": [{"row": "C3", "outcome": "license", "code": "RESTRICTED_PARTY"}],
		"other": [{"row": "C5", "outcome": "allow", "code": "NOT_CONTROLLED"}],
	},
	"lines": [{"id": "10", "class": "adv-a", "tpp": 1, "units": 5, "extra": [], "ladder": ladder}],
}

_order(d, dest, eu) := {
	"id": "T-1", "date": d, "parties": object.union({"ship_to": {"id": "C1", "country": dest}}, eu),
	"lines": [{"id": "10", "item": "H200", "quantity": 5, "classification": {"eccn": "3A090.a"}}],
}

_o := _order("2026-03-02", "CN", {})

_lic(fields) := object.union({
	"number": "D1", "issued": "2026-02-01", "expires": "2028-01-31", "destinations": ["CN"],
	"consignees": ["C1"], "items": [{"item": "H200", "quantity": 100}],
}, fields)

_rows(doc) := [c.row | some c in doc.ladders[doc.lines[0].ladder]]

test_allow_licensed_enters_before_the_first_license_row if {
	doc := lib.with_licenses(_doc("dc-a"), _o, [_lic({"conditions": "No reexport."})])
	doc.lines[0].ladder == "dc-a|lic:D1:0"
	_rows(doc) == ["D6", "LICENSED", "B1"]
	c := doc.ladders["dc-a|lic:D1:0"][1]
	c.outcome == "allow"
	c.quota == {"key": "license:D1:0", "cap": 100, "measure": "units"}
	c.license.number == "D1"
	c.license.conditions == "No reexport."
	doc.ladders["dc-a"] == [_notify, _license]
}

test_allow_every_covering_entry_in_order if {
	l2 := _lic({"number": "D2", "items": [{"item": "OTHER", "quantity": 1}, {"eccn": "3a090.A", "quantity": 7}]})
	doc := lib.with_licenses(_doc("dc-a"), _o, [_lic({}), l2])
	doc.lines[0].ladder == "dc-a|lic:D1:0,D2:1"
	[c.quota.key | some c in doc.ladders[doc.lines[0].ladder]; c.row == "LICENSED"] == ["license:D1:0", "license:D2:1"]
}

test_license_no_licenses_no_change if {
	lib.with_licenses(_doc("dc-a"), _o, []) == _doc("dc-a")
}

test_license_validity_is_decided_here if {
	# the last valid day is `expires`; not before `issued`; never once revoked
	lib.with_licenses(_doc("dc-a"), _order("2028-01-31", "CN", {}), [_lic({})]).lines[0].ladder == "dc-a|lic:D1:0"
	lib.with_licenses(_doc("dc-a"), _order("2028-02-01", "CN", {}), [_lic({})]).lines[0].ladder == "dc-a"
	lib.with_licenses(_doc("dc-a"), _order("2026-01-31", "CN", {}), [_lic({})]).lines[0].ladder == "dc-a"
	lib.with_licenses(_doc("dc-a"), _o, [_lic({"revoked_at": "2026-03-01T00:00:00Z"})]).lines[0].ladder == "dc-a"
}

test_license_parties_and_destination_must_be_named if {
	lib.with_licenses(_doc("dc-a"), _order("2026-03-02", "HK", {}), [_lic({})]).lines[0].ladder == "dc-a"
	lib.with_licenses(_doc("dc-a"), _o, [_lic({"consignees": ["C2"]})]).lines[0].ladder == "dc-a"
	eu := {"end_user": {"id": "E1", "country": "CN"}}
	cn := _order("2026-03-02", "CN", eu)
	lib.with_licenses(_doc("dc-a"), cn, [_lic({"end_users": ["E2"]})]).lines[0].ladder == "dc-a"
	lib.with_licenses(_doc("dc-a"), cn, [_lic({"end_users": ["E1"]})]).lines[0].ladder == "dc-a|lic:D1:0"
	lib.with_licenses(_doc("dc-a"), _o, [_lic({"items": [{"item": "H100", "quantity": 9}]})]).lines[0].ladder == "dc-a"
}

test_deny_a_license_never_enters_before_a_deny if {
	lib.with_licenses(_doc("deny"), _o, [_lic({})]) == _doc("deny")
}

test_license_a_restricted_party_row_stays_for_a_person if {
	lib.with_licenses(_doc("c3"), _o, [_lic({})]) == _doc("c3")
}

test_allow_a_line_that_needs_no_license_keeps_its_ladder if {
	lib.with_licenses(_doc("other"), _o, [_lic({})]) == _doc("other")
}

# Three lines: the first two covered by different entries, the third by none
# (its ladder allows); each line keeps its own place and ladder.
test_allow_lines_are_covered_each_by_its_own_entries if {
	l := {"id": "10", "class": "adv-a", "tpp": 1, "units": 5, "extra": [], "ladder": "dc-a"}
	lines := [l, object.union(l, {"id": "20"}), object.union(l, {"id": "30", "ladder": "other"})]
	doc := object.union(_doc("dc-a"), {"lines": lines})
	o := object.union(_o, {"lines": [
		{"id": "10", "item": "A", "quantity": 5, "classification": {"eccn": "3A090.a"}},
		{"id": "20", "item": "B", "quantity": 5, "classification": {"eccn": "4A090.a"}},
		{"id": "30", "item": "A", "quantity": 5, "classification": {"eccn": "3A090.a"}},
	]})
	x := _lic({"items": [{"item": "B", "quantity": 1}, {"item": "A", "quantity": 2}, {"eccn": "4A090.A", "quantity": 3}]})
	out := lib.with_licenses(doc, o, [x])
	[y.ladder | some y in out.lines] == ["dc-a|lic:D1:1", "dc-a|lic:D1:0,D1:2", "other"]
	[y.id | some y in out.lines] == ["10", "20", "30"]
	[c.quota.cap | some c in out.ladders["dc-a|lic:D1:0,D1:2"]; c.row == "LICENSED"] == [1, 3]
}
