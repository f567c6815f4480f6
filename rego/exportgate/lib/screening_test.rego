package exportgate.lib_test

import data.exportgate.lib
import data.exportgate.testing as t
import rego.v1

# Screening hits as the library decides them for every regime: the ladders
# of a regime without rows of its own (datacenter adv-a lines: B9), so each
# test shows what the hit alone does.

_scr_doc(o) := lib.document("test", f, {}, cols, lines) if {
	f := lib.facts(o)
	cols := lib.columns(f, {}, [lib.candidate({}, "B9")], {})
	lines := [x | some l in o.lines; x := lib.line_doc(l, "")]
}

_scr_line(o) := t.line_of(_scr_doc(o), 0, {})

_scr_hit(code, extra) := object.union({
	"list": code, "status": "hit", "entry": "e-1", "entry_name": "ACME LIMITED",
	"matched": "ACME LIMITED", "score": 96.5, "version": "v1",
}, extra)

_scr_el(policy) := _scr_hit("EL", {
	"license_requirement": "For all items subject to the EAR. (See §744.11 of the EAR).",
	"license_policy": policy, "start_date": "2024-12-05",
	"federal_register_notice": "89 FR 96790",
})

_scr_end_user(rs) := {"id": "C-1", "name": "ACME Ltd", "country": "DE", "restrictions": rs}

# An order of one line (classification c) to Germany for an end user with
# restrictions rs.
_scr_order(c, rs) := t.with_end_user(t.order("DE", c, 1), _scr_end_user(rs))

_scr_other := {"eccn": "EAR99"}

# Entity List: the entry's own review policy --------------------------------

test_entity_list_presumption_of_denial_denies_and_names_party_and_entry if {
	o := _scr_order(_scr_other, [_scr_el("Presumption of denial.")])
	t.is(_scr_line(o), "deny", "RESTRICTED_PARTY")
	_scr_doc(o).facts.denied == concat("", [
		"The end user ACME Ltd (C-1) matched Entity List entry e-1 \"ACME LIMITED\" as ",
		"\"ACME LIMITED\" (score 97), listed 2024-12-05, 89 FR 96790: Presumption of denial",
	])
	_scr_doc(o).facts.denied_cite == "15 CFR 744.11; Supp. No. 4 to part 744 (Entity List)"
	_scr_doc(o).facts.lists == "EL"
}

test_entity_list_policy_texts_read_whatever_their_case_and_place if {
	denials := [
		"Presumption of denial.",
		"Policy of denial.",
		"PRESUMPTION OF DENIAL for all items subject to the EAR.",
		"Case-by-case review for ECCNs 1A004.c, 1A004.d; presumption of denial for all other items subject to the EAR.",
		concat("", [
			"Presumption of denial for items uniquely required for production at the 10 nm node; ",
			"case-by-case review for all other items.",
		]),
	]
	every p in denials {
		lib.hit_policy(_scr_el(p)) == "denial"
	}
	reviews := [
		"Case-by-case review.", "Presumption of approval for EAR99 items; case-by-case review for others.",
		"See §744.2(d) of the EAR", "",
	]
	every p in reviews {
		lib.hit_policy(_scr_el(p)) == "case-by-case"
	}
	lib.hit_policy(object.remove(_scr_el(""), ["license_policy"])) == "case-by-case"
}

test_entity_list_case_by_case_needs_a_license if {
	o := _scr_order(_scr_other, [_scr_el("Case-by-case review.")])
	t.is(_scr_line(o), "license", "RESTRICTED_PARTY")
	contains(_scr_doc(o).facts.restricted, "The end user ACME Ltd (C-1) matched Entity List entry e-1")
	endswith(_scr_doc(o).facts.restricted, ": Case-by-case review")
}

# Each list code ------------------------------------------------------------------

test_each_list_code_has_its_outcome if {
	denied := ["SDN", "FSE", "SSI", "NS-MBS", "CAP", "CMIC", "PLC", "DPL"]
	every code in denied {
		t.is(_scr_line(_scr_order(_scr_other, [_scr_hit(code, {})])), "deny", "RESTRICTED_PARTY")
	}
	reviewed := ["ISN", "DTC"]
	every code in reviewed {
		t.is(_scr_line(_scr_order(_scr_other, [_scr_hit(code, {})])), "license", "RESTRICTED_PARTY")
	}
}

test_a_list_the_table_does_not_know_needs_a_license if {
	o := _scr_order(_scr_other, [_scr_hit("ACME-DENIED", {})])
	t.is(_scr_line(o), "license", "RESTRICTED_PARTY")
	startswith(_scr_doc(o).facts.restricted, "The end user ACME Ltd (C-1) matched ACME-DENIED entry e-1")
}

test_a_host_flag_keeps_its_policy_and_is_named if {
	o := _scr_order(_scr_other, [{"list": "entity-list", "policy": "denial"}])
	t.is(_scr_line(o), "deny", "RESTRICTED_PARTY")
	_scr_doc(o).facts.denied == "The end user ACME Ltd (C-1) is on entity-list (the host's flag, policy denial)"
	flagged := {"id": "s9", "country": "DE", "restrictions": [{"list": "uvl", "policy": "case-by-case"}]}
	o2 := t.with_ship_to(t.order("DE", _scr_other, 1), flagged)
	_scr_doc(o2).facts.restricted == "The ship-to party s9 is on uvl (the host's flag, policy case-by-case)"
}

test_denial_outranks_review_and_each_is_named_in_its_row if {
	o := _scr_order(_scr_other, [_scr_hit("DTC", {}), _scr_hit("SDN", {"entry": "s-2"})])
	t.is(_scr_line(o), "deny", "RESTRICTED_PARTY")
	contains(_scr_doc(o).facts.denied, "Specially Designated Nationals (OFAC) entry s-2")
	not contains(_scr_doc(o).facts.denied, "ITAR Debarred")
}

# Dates ---------------------------------------------------------------------------

test_a_hit_listed_after_the_order_does_not_apply if {
	later := _scr_el("Presumption of denial.")
	t.is(_scr_line(t.with_date(_scr_order(_scr_other, [later]), "2024-12-04")), "allow", "NOT_CONTROLLED")
	t.is(_scr_line(t.with_date(_scr_order(_scr_other, [later]), "2024-12-05")), "deny", "RESTRICTED_PARTY")
	# a possible match on that entry does not apply before it either
	possible := object.union(later, {"status": "possible"})
	t.is(_scr_line(t.with_date(_scr_order(_scr_other, [possible]), "2024-12-04")), "allow", "NOT_CONTROLLED")
	# a start date that is not a date never postpones a hit
	odd := _scr_el("Presumption of denial.")
	t.is(_scr_line(_scr_order(_scr_other, [object.union(odd, {"start_date": "12/05/2099"})])), "deny", "RESTRICTED_PARTY")
}

# Possible matches ------------------------------------------------------------------

test_a_possible_match_needs_a_person_and_names_the_match if {
	p := _scr_hit("SDN", {"status": "possible", "score": 88.2, "matched": "ACME Ltd"})
	o := _scr_order(_scr_other, [p])
	t.is(_scr_line(o), "license", "POSSIBLE_MATCH")
	_scr_doc(o).facts.possible == concat("", [
		"The end user ACME Ltd (C-1) matched Specially Designated Nationals (OFAC) entry e-1 ",
		"\"ACME LIMITED\" as \"ACME Ltd\" (score 88)",
	])
}

test_a_possible_match_never_allows_or_notifies if {
	p := _scr_hit("UVL", {"status": "possible"})
	every c in [_scr_other, t.bchip, t.h100, t.hbm2] {
		t.is(_scr_line(_scr_order(c, [p])), "license", "POSSIBLE_MATCH")
	}
	t.is(_scr_line(_scr_order(_scr_other, [_scr_hit("EL", {"status": "possible"})])), "license", "POSSIBLE_MATCH")
}

test_a_possible_match_beside_a_denial_is_named_too if {
	o := _scr_order(_scr_other, [_scr_hit("SDN", {}), _scr_hit("EL", {"status": "possible", "entry": "e-9"})])
	l := _scr_line(o)
	t.is(l, "deny", "RESTRICTED_PARTY")
	l.reasons[1].code == "C3P" # the extra row, by name
	contains(_scr_doc(o).facts.possible, "entry e-9")
}

test_a_possible_match_on_another_party_is_named if {
	possible := [_scr_hit("EL", {"status": "possible"})]
	st := {"id": "S-7", "name": "Forwarder GmbH", "country": "DE", "restrictions": possible}
	o := t.with_ship_to(t.order("DE", _scr_other, 1), st)
	t.is(_scr_line(o), "license", "POSSIBLE_MATCH")
	startswith(_scr_doc(o).facts.possible, "The ship-to party Forwarder GmbH (S-7) matched Entity List entry e-1")
}

# Owners (the Affiliates rule, in force from 2026-11-10) ---------------------------

_scr_owner(id, share, rs) := {"id": id, "name": id, "share": share, "restrictions": rs}

_scr_owned(owners) := t.with_date(o, "2026-11-10") if {
	o := t.with_end_user(t.order("DE", _scr_other, 1), {"id": "aff", "country": "DE", "owners": owners})
}

test_an_owner_hit_feeds_the_affiliates_rule if {
	o := _scr_owned([_scr_owner("O1", 60, [_scr_el("Presumption of denial.")])])
	t.is(_scr_line(o), "deny", "RESTRICTED_AFFILIATE")
	_scr_doc(o).facts.owners == "aff (owned by O1 (matched Entity List entry e-1 \"ACME LIMITED\"))"
	reviewed := _scr_owned([_scr_owner("O1", 60, [_scr_el("Case-by-case review.")])])
	t.is(_scr_line(reviewed), "license", "RESTRICTED_AFFILIATE")
	t.is(_scr_line(_scr_owned([_scr_owner("O1", 60, [_scr_hit("MEU", {})])])), "license", "RESTRICTED_AFFILIATE")
}

test_an_owner_listed_after_the_order_does_not_count if {
	late := object.union(_scr_el("Presumption of denial."), {"start_date": "2027-01-01"})
	t.is(_scr_line(_scr_owned([_scr_owner("O1", 60, [late])])), "allow", "NOT_CONTROLLED")
}

test_the_unverified_list_does_not_make_affiliates if {
	t.is(_scr_line(_scr_owned([_scr_owner("O1", 60, [_scr_hit("UVL", {})])])), "allow", "NOT_CONTROLLED")
}

test_owners_that_possibly_match_hold_the_order_when_they_reach_the_threshold if {
	possible := _scr_hit("EL", {"status": "possible", "entry": "p-1"})
	o := _scr_owned([_scr_owner("O1", 60, [possible])])
	t.is(_scr_line(o), "license", "POSSIBLE_MATCH")
	startswith(_scr_doc(o).facts.possible, "The owner O1 (O1) of the end user aff matched Entity List entry p-1")
	# restricted and possibly restricted owners add up
	added := _scr_owned([_scr_owner("O1", 30, [possible]), _scr_owner("O2", 20, [_scr_hit("DTC", {})])])
	t.is(_scr_line(added), "license", "POSSIBLE_MATCH")
	# below the threshold, or while the rule is suspended, they do not
	t.is(_scr_line(_scr_owned([_scr_owner("O1", 30, [possible])])), "allow", "NOT_CONTROLLED")
	t.is(_scr_line(t.with_date(o, "2026-11-09")), "allow", "NOT_CONTROLLED")
}

# Military End-User List: the items of Supplement No. 2 to part 744 ----------------

_scr_meu := [_scr_hit("MEU", {"entry": "m-1", "entry_name": "ACME AVIATION"})]

test_an_meu_hit_needs_a_license_for_supplement_2_items_only if {
	t.is(_scr_line(_scr_order({"eccn": "5A992.c"}, _scr_meu)), "license", "MILITARY_END_USER")
	t.is(_scr_line(_scr_order({"eccn": "4A994.l"}, _scr_meu)), "license", "MILITARY_END_USER")
	t.is(_scr_line(_scr_order({"eccn": "3A991.a.1"}, _scr_meu)), "license", "MILITARY_END_USER")
	t.is(_scr_line(_scr_order(_scr_other, _scr_meu)), "allow", "NOT_CONTROLLED")
	t.is(_scr_line(_scr_order(t.bchip, _scr_meu)), "allow", "NLR")
	meu_text := _scr_doc(_scr_order({"eccn": "5A992.c"}, _scr_meu)).facts.meu_parties
	contains(meu_text, "Military End-User List entry m-1 \"ACME AVIATION\"")
}

test_an_meu_hit_holds_an_item_without_an_eccn_and_a_system_with_a_listed_chip if {
	t.is(_scr_line(_scr_order({"tpp": 100}, _scr_meu)), "license", "MILITARY_END_USER")
	server := {"eccn": "EAR99", "contains": [{"item": "NIC", "count": 1, "eccn": "5A991.b"}]}
	t.is(_scr_line(_scr_order(server, _scr_meu)), "license", "MILITARY_END_USER")
}

test_an_meu_hit_reaches_only_the_lines_of_listed_items if {
	o := t.with_end_user(t.order_lines("DE", [[_scr_other, 1], [{"eccn": "5A992.c"}, 1]]), _scr_end_user(_scr_meu))
	doc := _scr_doc(o)
	t.is(t.line_of(doc, 0, {}), "allow", "NOT_CONTROLLED")
	t.is(t.line_of(doc, 1, {}), "license", "MILITARY_END_USER")
	doc.lines[1].ladder == "other|meu"
}

test_an_meu_hit_never_loosens_a_deny if {
	o := t.with_end_user(t.order("CU", {"eccn": "5A992.c"}, 1), _scr_end_user(_scr_meu))
	t.is(_scr_line(o), "deny", "EMBARGO")
}

# Unverified List: the UVL statement, no license exception --------------------------

_scr_uvl := [_scr_hit("UVL", {"entry": "u-1", "entry_name": "ACME TRADING"})]

test_a_uvl_hit_asks_for_the_statement_where_no_license_is_needed if {
	o := _scr_order(_scr_other, _scr_uvl)
	t.is(_scr_line(o), "notify", "UVL_STATEMENT")
	contains(_scr_doc(o).facts.uvl_parties, "Unverified List entry u-1 \"ACME TRADING\"")
	t.is(_scr_line(_scr_order(t.bchip, _scr_uvl)), "notify", "UVL_STATEMENT")
}

test_a_uvl_hit_suspends_license_exceptions if {
	# ACA (Saudi Arabia, D:4) and NAC (China) would ship adv-b
	sa := t.with_end_user(t.order("SA", t.bchip, 1), object.union(_scr_end_user(_scr_uvl), {"country": "SA"}))
	t.is(_scr_line(sa), "license", "UVL_LICENSE")
	cn := t.with_end_user(t.order("CN", t.bchip, 1), object.union(_scr_end_user(_scr_uvl), {"country": "CN"}))
	t.is(_scr_line(cn), "license", "UVL_LICENSE")
	# a deny stays a deny
	t.is(_scr_line(t.with_end_user(t.order("IR", _scr_other, 1), _scr_end_user(_scr_uvl))), "deny", "EMBARGO")
}

test_a_uvl_statement_keeps_the_quota_a_row_draws_on if {
	q := {"key": "nveu:c1:AE", "cap": 10, "measure": "tpp"}
	ladder := [
		{"row": "D5", "outcome": "allow", "code": "NVEU", "quota": q},
		{"row": "D6", "outcome": "notify", "code": "LPP", "quota": q},
		{"row": "D9", "outcome": "deny", "code": "ALLOCATION_EXHAUSTED"},
	]
	lib.uvl_ladder(ladder) == [
		{"row": "C3U", "outcome": "notify", "code": "UVL_STATEMENT", "quota": q},
		{"row": "C3X", "outcome": "license", "code": "UVL_LICENSE"},
	]
}

# Licenses never enter before the screening rows a person must judge -------------

test_a_license_never_enters_before_a_possible_match_or_an_meu_row if {
	"C3P" in lib.tables.licenses.never_before
	"C3M" in lib.tables.licenses.never_before
}

test_a_list_the_table_does_not_know_cites_what_it_is if {
	o := _scr_order(_scr_other, [_scr_hit("ACME-DENIED", {})])
	contains(_scr_doc(o).facts.restricted_cite, "list ACME-DENIED, which the screening table does not describe")
}

test_the_entry_policy_is_quoted_without_its_full_stop if {
	head := concat("", [
		"P matched Entity List entry e-1 \"ACME LIMITED\" as \"ACME LIMITED\" (score 97), ",
		"listed 2024-12-05, 89 FR 96790",
	])
	lib.restriction_text("P", _scr_el("Policy of denial. ")) == concat("", [head, ": Policy of denial"])
	lib.restriction_text("P", _scr_el(".")) == head
}

test_one_customer_in_every_role_is_named_once if {
	hit := _scr_el("Presumption of denial.")
	acme := _scr_end_user([hit])
	o := object.union(t.order("DE", _scr_other, 1), {"parties": {"sold_to": acme, "ship_to": acme, "end_user": acme}})
	all_roles := "The sold-to party, ship-to party and end user ACME Ltd (C-1) matched Entity List entry e-1"
	startswith(_scr_doc(o).facts.denied, all_roles)
	not contains(_scr_doc(o).facts.denied, "; ")
	two := object.union(t.order("DE", _scr_other, 1), {"parties": {"ship_to": acme, "end_user": acme}})
	startswith(_scr_doc(two).facts.denied, "The ship-to party and end user ACME Ltd (C-1) matched")
	# another party with the same hit is named on its own
	other := object.union(acme, {"id": "C-2", "name": "ACME GmbH"})
	both := object.union(t.order("DE", _scr_other, 1), {"parties": {"ship_to": other, "end_user": acme}})
	contains(_scr_doc(both).facts.denied, "; The end user ACME Ltd (C-1) matched")
	startswith(_scr_doc(both).facts.denied, "The ship-to party ACME GmbH (C-2) matched")
}

test_owners_shared_by_roles_are_named_once if {
	possible := _scr_hit("EL", {"status": "possible", "entry": "p-1"})
	aff := {"id": "aff", "name": "Aff Ltd", "country": "DE", "owners": [_scr_owner("O1", 60, [possible])]}
	both := object.union(t.order("DE", _scr_other, 1), {"parties": {"ship_to": aff, "end_user": aff}})
	o := t.with_date(both, "2026-11-10")
	_scr_doc(o).facts.possible == concat("", [
		"The owner O1 (O1) of the ship-to party and end user Aff Ltd matched Entity List entry p-1 ",
		"\"ACME LIMITED\" as \"ACME LIMITED\" (score 97)",
	])
}

test_a_numeric_entry_id_and_a_party_without_a_name_are_written_alike if {
	r := {"list": "EL", "entry": 12345, "score": 100}
	who := lib.party_label("ship_to", {"id": "S-1"})
	lib.restriction_text(who, r) == "The ship-to party S-1 matched Entity List entry 12345 (score 100)"
	lib.party_label("sold_to", {"id": 7}) == "The sold-to party 7"
}

test_a_granted_license_covers_a_uvl_line_but_not_an_meu_or_possible_one if {
	lic := {
		"number": "D1", "issued": "2025-01-01", "expires": "2027-01-01", "destinations": ["DE", "SA"],
		"consignees": ["c1"], "items": [{"eccn": "5A992.c", "quantity": 10}, {"eccn": "3A090.b", "quantity": 10}],
	}
	meu := _scr_order({"eccn": "5A992.c"}, _scr_meu)
	not contains(lib.with_licenses(_scr_doc(meu), meu, [lic]).lines[0].ladder, "|lic:")
	possible := _scr_order({"eccn": "5A992.c"}, [_scr_hit("EL", {"status": "possible"})])
	not contains(lib.with_licenses(_scr_doc(possible), possible, [lic]).lines[0].ladder, "|lic:")
	# ACA suspended (C3X): a license for the line covers it
	sa := t.with_end_user(t.order("SA", t.bchip, 1), object.union(_scr_end_user(_scr_uvl), {"country": "SA"}))
	uvl := lib.with_licenses(_scr_doc(sa), sa, [lic])
	t.line_of(uvl, 0, {}).row == "LICENSED"
}
