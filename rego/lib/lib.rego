# METADATA
# title: exportgate shared library
# description: >-
#   Facts about the order every regime needs (destination, headquarters,
#   country groups, restrictions), item classes, and the rows common to every
#   regime (C1-C5) and the NAC/ACA rows for adv-b lines. Reads only input and
#   data.exportgate.tables.lib. Written in the Rego subset that OPA and
#   rego-cpp evaluate alike: integers for quota arithmetic, no time builtins
#   (ISO dates compare as strings), no rego.metadata.
package exportgate.lib

import rego.v1

tables := data.exportgate.tables.lib

# Every fact about an order is a function of the order document `o`, so a
# decision is a pure function of (order, quota) and tests call it directly.

year(o) := to_number(substring(o.date, 0, 4))

# The end user defaults to the ship-to party; it is the consignee for quotas.
end_user(o) := object.get(o.parties, "end_user", o.parties.ship_to)

consignee(o) := end_user(o).id

# quota_key joins the parts of a quota key (REGIMES.md, "Quota semantics").
# concat, not sprintf: rego-cpp quotes %s arguments that are Rego literals.
quota_key(parts) := concat(":", parts)

# country normalises an ISO code: HK is treated as CN.
country(c) := x if {
	x := tables.aliases[c]
} else := c

dest(o) := country(o.parties.ship_to.country)

ship_from(o) := country(object.get(o, "ship_from", tables.home))

transaction(o) := object.get(o, "transaction", "export")

hq(o) := country(object.get(eu, "hq_country", eu.country)) if {
	eu := end_user(o)
}

parent_hq(o) := country(object.get(eu, "parent_hq_country", object.get(eu, "hq_country", eu.country))) if {
	eu := end_user(o)
}

verified(o) := object.get(end_user(o), "verified", "")

certifications(o) := {c | some c in object.get(end_user(o), "certifications", [])}

# in_group holds when country c is in group g on date d.
in_group(g, c, d) if {
	m := tables.groups[g][c]
	object.get(m, "from", "0000-01-01") <= d
	d < object.get(m, "until", "9999-12-31")
}

concern(c, d) if {
	some g in tables.concern
	in_group(g, c, d)
}

dest_concern(o) if concern(dest(o), o.date)

hq_concern(o) if concern(hq(o), o.date)

hq_concern(o) if concern(parent_hq(o), o.date)

embargoed(o) if {
	some g in tables.embargo
	in_group(g, dest(o), o.date)
}

# The destinations of rows B6-B8: in D:1 or D:4, and in neither A:5 nor A:6.
licensed_destination(o) if {
	some g in tables.licensed
	in_group(g, dest(o), o.date)
	not exempt_destination(o)
}

exempt_destination(o) if {
	some g in tables.exempt
	in_group(g, dest(o), o.date)
}

domestic(o) if {
	dest(o) == tables.home
	ship_from(o) == tables.home
}

# restrictions: every screening hit of the order's parties, role by role in a
# fixed order (an object's iteration order is not the same on both engines).
_roles := ["sold_to", "ship_to", "end_user"]

restrictions(o) := [r | some role in _roles; p := o.parties[role]; some r in object.get(p, "restrictions", [])]

# restriction_lists names the lists with hits, each once, in the order the
# parties' restrictions give them. Not sorted: rego-cpp orders strings by
# their escaped form ("Z" < "\u00e4" < "a"), OPA by code point, so a sorted
# list with a non-ASCII name read differently on the two engines.
restriction_lists(o) := concat(", ", names) if {
	rs := restrictions(o)
	names := [n | some i; r := rs[i]; n := r.list; not _listed_before(rs, i, n)]
}

_listed_before(rs, i, n) if {
	some j
	r := rs[j]
	j < i
	r.list == n
}

_holds(xs) := count(xs) > 0

# facts: everything the tables ask about an order, computed once per order
# and passed to the per-line rules (passing the whole order to every
# per-line call makes rego-cpp quadratic in the number of lines).
facts(o) := {
	"date": o.date,
	"year": year(o),
	"dest": dest(o),
	"ship_from": ship_from(o),
	"transaction": transaction(o),
	"hq": hq(o),
	"parent_hq": parent_hq(o),
	"consignee": consignee(o),
	"verified": verified(o),
	"certifications": certifications(o),
	"lists": restriction_lists(o),
	"embargoed": _holds([1 | embargoed(o)]),
	"denied_party": _holds([1 | some r in restrictions(o); r.policy == "denial"]),
	"restricted_party": count(restrictions(o)) > 0,
	"domestic": _holds([1 | domestic(o)]),
	"dest_concern": _holds([1 | dest_concern(o)]),
	"hq_concern": _holds([1 | hq_concern(o)]),
	"licensed_destination": _holds([1 | licensed_destination(o)]),
}

# Item classes -------------------------------------------------------------

_eccn_is(e, p) if upper(e) == upper(p)

_eccn_is(e, p) if startswith(upper(e), concat("", [upper(p), "."]))

eccn_class(e) := "adv-a" if {
	some p in tables.classes.eccn_a
	_eccn_is(e, p)
} else := "adv-b" if {
	some p in tables.classes.eccn_b
	_eccn_is(e, p)
} else := "other"

_t := tables.classes

perf_class(c) := "adv-a" if {
	c.tpp >= _t.a_tpp
} else := "adv-a" if {
	c.tpp >= _t.a2_tpp
	c.pd >= _t.a2_pd
} else := "adv-b" if {
	c.tpp >= _t.b1_tpp
	c.pd >= _t.b1_pd
	c.pd < _t.a2_pd
} else := "adv-b" if {
	c.tpp >= _t.b2_tpp
	c.pd >= _t.b2_pd
	c.pd < _t.a2_pd
} else := "other" if {
	is_number(c.tpp)
}

_rank := {"other": 0, "adv-b": 1, "adv-a": 2}

stated_classes(c) := {x | x := eccn_class(c.eccn)} | {x | x := perf_class(c)}

# item_class is the stricter of the ECCN's class and the performance's class.
item_class(c) := x if {
	cs := stated_classes(c)
	top := max({v | some k in cs; v := _rank[k]})
	some x in cs
	_rank[x] == top
}

conflict(c) if count(stated_classes(c)) > 1

datacenter(c) := object.get(c, "datacenter", true)

# The column of the decision tables: datacenter adv-a ("dc-a"); adv-b or a
# non-datacenter adv-a ("b"); "other".
column(c) := "dc-a" if {
	item_class(c) == "adv-a"
	datacenter(c)
} else := "b" if {
	item_class(c) in {"adv-a", "adv-b"}
} else := "other" if {
	item_class(c) == "other"
}

# line_tpp: the line's TPP (quantity x TPP per unit). rego-cpp computes in
# 64-bit integers and leaves an overflowing product undefined where OPA's
# numbers are unbounded, so a line with an absurd quantity or TPP (above
# 10^9) has no known TPP on either engine: it cannot be metered and is held.
line_tpp(l) := l.quantity * l.classification.tpp if {
	l.quantity <= 1000000000
	l.classification.tpp <= 1000000000
}

# Rows -----------------------------------------------------------------------

# common_row: rows C1-C5, evaluated before any regime's table.
common_row(f, l) := "C1" if {
	f.embargoed
} else := "C2" if {
	f.denied_party
} else := "C3" if {
	f.restricted_party
} else := "C4" if {
	f.domestic
} else := "C5" if {
	column(l.classification) == "other"
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

# quota_entry is a ladder entry that consumes quota; a line without a TPP
# cannot be metered and stops at TPP_UNKNOWN instead.
quota_entry(row, key, cap, l) := {"row": row, "quota": {"key": key, "cap": cap, "tpp": t}} if {
	t := line_tpp(l)
} else := {"row": "TPP_UNKNOWN"}

# until_stateless cuts a row list after its first entry that needs no quota:
# that entry always applies, so no later row can.
until_stateless(entries) := array.slice(entries, 0, n + 1) if {
	n := min({i | some i; e := entries[i]; not e.quota})
}

# pre_ladder: the one-row ladder of a line decided before the regime's own
# table (rows C1-C5, and the NAC/ACA rows for adv-b lines); undefined for a
# datacenter adv-a line, which the regime's table decides.
pre_ladder(f, l) := [{"row": r}] if {
	r := common_row(f, l)
} else := [{"row": r}] if {
	column(l.classification) == "b"
	r := b_row(f)
}
