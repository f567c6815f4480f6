package exportgate.lib

import rego.v1

# Granted licenses (docs/licenses.md). The policy input's `licenses` are the
# recorded licenses that could apply to the order (exportgate's prefilter
# narrows them by destination, parties and date); the rules here decide which
# entry of which license covers which line, and where it enters the line's
# ladder. A covered line takes its own ladder variant, named
# "<ladder>|lic:<number>:<entry>,...": its ladder with one metered candidate
# per covering entry (row LICENSED, outcome allow, quota
# "license:<number>:<entry>" capped at the entry's quantity, in units)
# inserted before its first `license` row. So a line that fits what remains
# of an entry is allowed under the license, and one that does not falls
# through to the next entry, then to the regime's own outcome.
#
# A license only ever replaces a `license` outcome: it never enters a ladder
# before a `deny` row (an embargo, a denied party, a presumption of denial
# such as rows B2, B4, D1, D9, K1 stay `deny` whatever is recorded), nor one
# whose first `license` row is in `tables.licenses.never_before` (a party on
# a restricted list: whether the license names that party is for a person
# to check). Lines whose ladders hold no `license` row need no license and
# keep their ladder.

# with_licenses: the ladder document `doc` of order `o` with the licenses `ls`
# entered; with no licenses, `doc` itself.
with_licenses(doc, o, ls) := doc if {
	count(ls) == 0
} else := _licensed_doc(doc, o, vs) if {
	vs := _valid_licenses(o, ls)
	count(vs) > 0
} else := doc

# The licenses valid for the order as a whole, decided once per order.
_valid_licenses(o, ls) := [x | some x in ls; license_valid(x, o)]

_licensed_doc(doc, o, ls) := object.union(doc, {
	"ladders": object.union(doc.ladders, _variants(cs)),
	"lines": _relabel_lines(doc.lines, cs),
}) if {
	cs := _covers_of(doc, o, ls)
}

# One cover per line, in line order: {"key", "ladder"} when licenses cover
# the line, else {}.
_covers_of(doc, o, ls) := [c | some i; doc.lines[i]; c := _cover(doc, o, ls, i)]

_cover(doc, o, ls, i) := {"key": k, "ladder": x} if {
	p := _entry_point(doc.ladders[doc.lines[i].ladder])
	es := _entries(ls, o.lines[i])
	count(es) > 0
	k := concat("", [doc.lines[i].ladder, "|lic:", _tag(es)])
	x := _inserted(doc.ladders[doc.lines[i].ladder], p, es)
} else := {}

_inserted(ladder, p, es) := array.concat(before, array.concat(es, after)) if {
	before := array.slice(ladder, 0, p)
	after := array.slice(ladder, p, count(ladder))
}

_tag(es) := concat(",", [t | some e in es; t := e.license.entry])

_variants(cs) := {k: v | some c in cs; k := c.key; v := c.ladder}

_relabel_lines(lines, cs) := [x | some i; lines[i]; x := _relabel(lines[i], cs[i])]

_relabel(l, c) := x if {
	x := object.union(l, {"ladder": c.key})
} else := l

# _entry_point: the index of a ladder's first `license` row, when a license
# may enter there.
_entry_point(ladder) := p if {
	count(_license_rows(ladder)) > 0
	p := min(_license_rows(ladder))
	not _deny_before(ladder, p)
	_licensable(ladder[p].row)
}

_license_rows(ladder) := {i | some i; ladder[i].outcome == "license"}

_deny_before(ladder, p) if {
	some i
	ladder[i].outcome == "deny"
	i < p
}

# Fails closed: without the data, no row is licensable.
_licensable(r) if {
	never := tables.licenses.never_before
	not r in never
}

# The entries of the (valid) licenses `ls` covering line `l`, license by
# license (in the input's order), entry by entry.
_entries(ls, l) := [e | some x in ls; some j; x.items[j]; covers(x.items[j], l); e := _candidate(x, j)]

_candidate(x, j) := {
	"row": "LICENSED",
	"outcome": info.outcome,
	"code": info.code,
	"quota": {
		"key": concat(":", ["license", x.number, n]),
		"cap": x.items[j].quantity,
		"measure": "units",
	},
	"license": {
		"number": x.number,
		"entry": concat(":", [x.number, n]),
		"expires": x.expires,
		"conditions": object.get(x, "conditions", ""),
	},
} if {
	info := tables.rows.LICENSED
	n := format_int(j, 10)
}

# license_valid: license x applies to order o: in force on the order date
# (`expires` is its last day), not revoked, the destination (as the order
# states it: a license for CN does not cover HK) and the consignee (the
# ship-to party) named, and the end user too when the license names end users.
license_valid(x, o) if {
	x.issued <= o.date
	o.date <= x.expires
	not x.revoked_at
	o.parties.ship_to.country in x.destinations
	o.parties.ship_to.id in x.consignees
	_end_user_named(x, o)
}

_end_user_named(x, _) if not x.end_users

_end_user_named(x, o) if end_user(o).id in x.end_users

# covers: a license entry names the line's catalog item, or its ECCN.
covers(e, l) if e.item == l.item

covers(e, l) if upper(e.eccn) == upper(l.classification.eccn)
