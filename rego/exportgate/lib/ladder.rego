package exportgate.lib

import rego.v1

# The ladder document (policy contract version 2, docs/policy-contract.md):
# for every line of the order, the ordered candidates of the regime's table.
# A candidate is a row with its outcome and code; a metered candidate also
# names the quota it draws on (key, cap, and the line's amount in TPP) and
# applies only if the line fits what remains, else the next candidate does.
# The fold over the lines (line order, whole lines, other orders' use) runs
# outside Rego, in the ledger transaction; the ladders hold no ledger state.

CONTRACT := 2

# row_info: a regime's row, else the library's.
row_info(rows, r) := x if {
	x := rows[r]
} else := tables.rows[r]

# candidate: a ladder entry that applies unconditionally.
candidate(rows, r) := {"row": r, "outcome": info.outcome, "code": info.code} if {
	info := row_info(rows, r)
}

# with_info: a regime's ladder entry ({"row"}, or {"row", "quota": {"key",
# "cap"}} for a row that applies only while the quota has room) with the
# row's outcome and code; the line's amount is added per line by line_doc.
with_info(rows, e) := {"row": e.row, "outcome": info.outcome, "code": info.code} if {
	not e.quota
	info := row_info(rows, e.row)
} else := {"row": e.row, "outcome": info.outcome, "code": info.code, "quota": q} if {
	info := row_info(rows, e.row)
	q := {"key": e.quota.key, "cap": e.quota.cap, "measure": "tpp"}
}

# order_row: rows C1-C4, which depend on the order alone; C2A and C3A are
# rows C2 and C3 for a party the Affiliates rule restricts; C3P a possible
# screening match (screening.rego), which a person must clear.
order_row(f) := "C1" if {
	f.embargoed
} else := "C2" if {
	f.denied_party
} else := "C2A" if {
	f.affiliate_denied
} else := "C3" if {
	f.restricted_party
} else := "C3A" if {
	f.affiliate_restricted
} else := "C3P" if {
	f.possible_match
} else := "C4" if {
	f.domestic
}

# in_force: row r (of `rows`, else the library's) applies on date d: the rule
# that added it had taken effect (`from`) and was not withdrawn (`until`).
in_force(rows, r, d) if _dated(row_info(rows, r), d)

# b_row: rows B3, B5, B6, B8, B9 for adv-b (and non-datacenter adv-a) lines;
# before License Exception ACA took effect (row B8's date), B8N (NAC).
b_row(f) := "B3" if {
	f.dest_concern
} else := "B5" if {
	f.hq_concern
} else := "B6" if {
	f.licensed_destination
	f.verified == "dc-veu"
	in_force({}, "B6", f.date)
} else := "B8" if {
	f.licensed_destination
	in_force({}, "B8", f.date)
} else := "B8N" if {
	f.licensed_destination
} else := "B9"

# until_stateless cuts a candidate list after its first entry that always
# applies (no quota, or a quota it only counts against: cap null), so no later
# row can.
until_stateless(entries) := array.slice(entries, 0, n + 1) if {
	n := min(_unconditional(entries) | _uncapped(entries))
}

_unconditional(entries) := {i | some i; e := entries[i]; not e.quota}

_uncapped(entries) := {i | some i; e := entries[i]; e.quota.cap == null}

# hbm_ladders: rows M1-M3 for high bandwidth memory (3A090.c). NAC and ACA
# do not apply to it: a license for D:5 and Macau destinations and for end
# users headquartered there (M2), unless License Exception HBM does (M1,
# only for memory below the exception's density limit: the "hbm:low"
# ladder); else NLR (M3).
hbm_ladders(f, rows, p) := {"hbm": x, "hbm:low": _hbm_low(f, rows, p, x)} if {
	x := [candidate(rows, _hbm_row(f))]
}

# Before 3A090.c took effect (the date of rows M1-M3), high bandwidth memory
# was not an advanced computing item: row M0.
_hbm_row(f) := "M0" if {
	not in_force({}, "M3", f.date)
} else := "M2" if {
	f.dest_concern
} else := "M2" if {
	f.hq_concern
} else := "M3"

_hbm_low(f, rows, p, x) := [candidate(rows, "M1")] if {
	x[0].row == "M2"
	hbm_exception(f, p)
} else := x

# hbm_exception: License Exception HBM's conditions on the order: the
# exporter (the deployment, `params.hbm`) is headquartered in the US or an
# A:5 country without a D:5 or Macau parent, and the end user (the designer
# of the co-packaged product) holds the exception's certification: bought
# directly, not through a distributor, shipped to its packaging site, not to
# an advanced-node fab in D:5 or Macau, with the packaging site's
# confirmation of the units.
hbm_exception(f, p) if {
	p.hbm.certification in f.certifications
	_eligible_exporter(p.hbm.exporter_hq, f.date)
	not concern(country(p.hbm.exporter_parent_hq), f.date)
}

_eligible_exporter(c, _) if c == tables.home

_eligible_exporter(c, d) if in_group("A5", country(c), d)

# columns: the candidates of each column of the tables for this order,
# computed once per order (dc is the regime's own rows for datacenter adv-a
# lines, in table order; p its parameters). Rows C1-C4 decide every line of
# the order. The ":informed" ladders are the plain ones here; a regime with
# a row for items named in an is-informed letter replaces them.
columns(f, rows, dc, p) := {
	"other": x, "b": x, "dc-a": x, "unknown": x, "hbm": x, "hbm:low": x,
	"other:informed": x, "b:informed": x,
} if {
	x := [candidate(rows, order_row(f))]
} else := object.union(hbm_ladders(f, rows, p), {
	"other": other,
	"b": b,
	"dc-a": until_stateless(dc),
	"unknown": until_stateless([_unknown(rows, e) | some e in dc]),
	"other:informed": other,
	"b:informed": b,
}) if {
	other := [candidate(rows, "C5")]
	b := [candidate(rows, b_row(f))]
}

# A line whose TPP is unknown cannot be metered: its first quota row becomes
# TPP_UNKNOWN (held), and the rows after it cannot apply.
_unknown(rows, e) := candidate(rows, "TPP_UNKNOWN") if e.quota

_unknown(_, e) := e if not e.quota

_tpp(l) := x if {
	x := line_tpp(l)
} else := null

# The ladder a line takes: its column's, or for a datacenter adv-a line
# without a TPP the "unknown" one; a regime may add variants of the
# datacenter ladders (`variant`, e.g. ":B1") for lines that meet a row of its
# own that depends on the line. High bandwidth memory below License
# Exception HBM's density limit takes "hbm:low"; an item named in an
# is-informed letter takes its column's ":informed" ladder.
_ladder_key(col, t, v, c) := concat("", ["dc-a", v]) if {
	col == "dc-a"
	t != null
} else := concat("", ["unknown", v]) if {
	col == "dc-a"
} else := _hbm_key(c) if {
	col == "hbm"
} else := _informed_key(col, c)

_hbm_key(c) := "hbm:low" if {
	c.memory_bandwidth_density < tables.hbm.exception_density_below
} else := "hbm"

_informed_key(col, c) := concat("", [col, ":informed"]) if {
	informed(c)
} else := col


_conflict(cs) := ["CLASSIFICATION_CONFLICT"] if {
	count(cs) > 1
} else := []

# A system line also names the chips it contains (row SYSTEM).
_extra(cs, c) := _conflict(cs) if {
	not c.contains
} else := array.concat(_conflict(cs), ["SYSTEM"]) if {
	count(c.contains) > 0
} else := _conflict(cs)

# line_doc: one line of the ladder document. It names its ladder (a key of
# the document's "ladders") rather than repeating it: every line of a column
# shares its candidates, a metered candidate names the line measure it draws
# on ("measure": "tpp"), and the fold takes the amount from the line. So the
# per-line work is the line's class and TPP, and nothing else.
line_doc(l, variant) := {
	"id": l.id,
	"class": k,
	"tpp": t,
	"units": l.quantity,
	"extra": _extra(cs, c),
	"ladder": _ladder_key(column_of(k, c), t, variant, c),
} if {
	c := l.classification
	cs := stated_classes(c)
	k := top_class(cs)
	t := _tpp(l)
}

# Standing rules (data: `standing`) ----------------------------------------
# Dated facts that bind the exporter whichever regime reads the order (the
# Russia and Belarus sanctions, the is-informed letter), written once here and
# applied to every regime's ladders by `document`, so no regime can leave
# them out. A rule that stands on the order raises every candidate of the
# ladders it reaches that is less strict than its row to that row: it never
# loosens a regime's answer, and a deny or an order-wide row (C1-C3) as strict
# stays.

_strictness := {"allow": 0, "notify": 1, "license": 2, "deny": 3}

# standing: the rules that stand on this order (p: the regime's parameters,
# for a rule's `switch`), in data order.
standing(f, p) := [s | some s in tables.standing; _stands(s, f, p)]

_stands(s, f, p) if {
	_dated(s, f.date)
	_switched_on(s, p)
	_reaches(s, f)
}

_switched_on(s, _) if not s.switch

_switched_on(s, p) if object.get(p, [s.switch, "enabled"], true) == true

_reaches(s, f) if _any(f.dest_groups, object.get(s, "destination", []))

_reaches(s, f) if _any(f.end_user_groups, object.get(s, "end_user", []))

_reaches(s, f) if _any(f.hq_groups, object.get(s, "headquarters", []))

# A rule reaches every ladder (`lines: all`) or the ladders of items an
# is-informed letter names (the ":informed" ones).
_scope(s, _) if s.lines == "all"

_scope(s, k) if {
	s.lines == "informed"
	endswith(k, ":informed")
}

# with_standing: the ladders with the standing rules applied; each ladder is
# raised by the strictest rule that reaches it (the first in data order on a
# tie), which raises it at least as far as any other would.
with_standing(ladders, ss) := ladders if {
	count(ss) == 0
} else := {k: v | some k, x in ladders; v := _raised_ladder(k, x, ss)}

_raised_ladder(k, entries, ss) := raise(entries, candidate({}, top.row)) if {
	rs := [s | some s in ss; _scope(s, k)]
	count(rs) > 0
	m := max({v | some s in rs; v := _strictness[row_info({}, s.row).outcome]})
	tops := [s | some s in rs; _strictness[row_info({}, s.row).outcome] == m]
	top := tops[0]
} else := entries

# raise: every candidate less strict than `row` becomes `row`; the ladder is
# cut after its first candidate that always applies. (The comprehension
# binds its value with `:=`: rego-cpp 1.5 answers `[f(e, x) | some e in xs]`
# inside a function as if the function's argument x were unbound.)
raise(entries, row) := until_stateless(raised) if {
	raised := [y | some e in entries; y := _raise(e, row)]
}

_raise(e, row) := row if {
	_strictness[e.outcome] < _strictness[row.outcome]
} else := e

# document: the whole answer for one order (p: the regime's parameters),
# the standing rules applied to its ladders, then the screening hits that
# reach lines (MEU, UVL: screening.rego). Its facts are the slots of the
# reasons' texts.
document(regime, f, p, ladders, lines) := {
	"contract": CONTRACT,
	"regime": regime,
	"ladders": screened_ladders(with_standing(ladders, standing(f, p)), lines, f),
	"facts": {
		"dest": f.dest, "hq": f.hq, "parent_hq": f.parent_hq,
		"consignee": f.consignee, "year": f.year, "lists": f.lists,
		"owners": f.owners,
		"denied": f.denied, "denied_cite": f.denied_cite,
		"restricted": f.restricted, "restricted_cite": f.restricted_cite,
		"possible": f.possible, "meu_parties": f.meu_parties, "uvl_parties": f.uvl_parties,
	},
	"lines": screened_lines(lines, f),
}

# answer: a regime's entrypoint answer for the policy input `inp`: the
# document its `ladders_of` gives for the order, with the recorded licenses
# that cover its lines entered in their ladders (licenses.rego). Without
# licenses in the input it is the document itself.
answer(doc, inp) := with_licenses(doc, inp.order, object.get(inp, "licenses", []))
