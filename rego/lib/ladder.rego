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

# order_row: rows C1-C4, which depend on the order alone.
order_row(f) := "C1" if {
	f.embargoed
} else := "C2" if {
	f.denied_party
} else := "C3" if {
	f.restricted_party
} else := "C4" if {
	f.domestic
}

# b_row: rows B3, B5, B6, B8, B9 for adv-b (and non-datacenter adv-a) lines.
b_row(f) := "B3" if {
	f.dest_concern
} else := "B5" if {
	f.hq_concern
} else := "B6" if {
	f.licensed_destination
	f.verified == "dc-veu"
} else := "B8" if {
	f.licensed_destination
} else := "B9"

# until_stateless cuts a candidate list after its first entry that needs no
# quota: that entry always applies, so no later row can.
until_stateless(entries) := array.slice(entries, 0, n + 1) if {
	n := min({i | some i; e := entries[i]; not e.quota})
}

# columns: the candidates of each column of the tables for this order,
# computed once per order (dc is the regime's own rows for datacenter adv-a
# lines, in table order). Rows C1-C4 decide every line of the order.
columns(f, rows, dc) := {"other": x, "b": x, "dc-a": x, "unknown": x} if {
	x := [candidate(rows, order_row(f))]
} else := {
	"other": [candidate(rows, "C5")],
	"b": [candidate(rows, b_row(f))],
	"dc-a": until_stateless(dc),
	"unknown": until_stateless([_unknown(rows, e) | some e in dc]),
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
# own that depends on the line.
_ladder_key(col, t, _) := col if col != "dc-a"

_ladder_key(col, null, v) := concat("", ["unknown", v]) if col == "dc-a"

_ladder_key(col, t, v) := concat("", ["dc-a", v]) if {
	col == "dc-a"
	t != null
}

_extra(cs) := ["CLASSIFICATION_CONFLICT"] if {
	count(cs) > 1
} else := []

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
	"extra": _extra(cs),
	"ladder": _ladder_key(column_of(k, c), t, variant),
} if {
	c := l.classification
	cs := stated_classes(c)
	k := top_class(cs)
	t := _tpp(l)
}

# document: the whole answer for one order.
document(regime, f, ladders, lines) := {
	"contract": CONTRACT,
	"regime": regime,
	"ladders": ladders,
	"facts": {
		"dest": f.dest, "hq": f.hq, "parent_hq": f.parent_hq,
		"consignee": f.consignee, "year": f.year, "lists": f.lists,
	},
	"lines": lines,
}
