# METADATA
# title: exportgate shared library
# description: >-
#   Facts about the order every regime needs (destination, headquarters,
#   country groups, restrictions), item classes, and the rows common to every
#   regime (C1-C5) and the NAC/ACA rows for adv-b lines. Reads only input and
#   data.exportgate.tables.lib. Written in the Rego subset that OPA and
#   rego-cpp evaluate alike, and in the shapes rego-cpp evaluates fast
#   (docs/performance.md): order facts computed once, lookups by key, no
#   per-line work that does not depend on the line.
package exportgate.lib

import rego.v1

tables := data.exportgate.tables.lib

# Every fact about an order is a function of the order document `o`, so a
# regime's ladders are a pure function of the order and tests call it directly.

year(o) := to_number(substring(o.date, 0, 4))

# The end user defaults to the ship-to party; it is the consignee for quotas.
end_user(o) := object.get(o.parties, "end_user", o.parties.ship_to)

consignee(o) := end_user(o).id

# quota_key joins the parts of a quota key (docs/regimes.md, "Quota semantics").
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

# A dated fact (a group member, a period, a row) in force on date d. A
# `pending` member (in the current eCFR text, its rule not found) never is.
_dated(m, d) if {
	not m.pending
	object.get(m, "from", "0000-01-01") <= d
	d < object.get(m, "until", "9999-12-31")
}

_group_names := object.keys(tables.groups)

# groups_of: the country groups country c is in on date d, one lookup per
# group, so a fact about a country costs one call however many groups ask.
# The member is looked up inside the call: rego-cpp 1.5 evaluates
# `m := tables.groups[g][c]; _dated(m, d)` inside a function's comprehension
# as if c were unbound (every group matched).
groups_of(c, d) := {g | some g in _group_names; _dated(tables.groups[g][c], d)}

# in_group holds when country c is in group g on date d.
in_group(g, c, d) if _dated(tables.groups[g][c], d)

_any(gs, names) if {
	some g in names
	g in gs
}

concern(c, d) if _any(groups_of(c, d), tables.concern)

# restrictions: every restriction of the order's parties that applies on its
# date (a host's flag, or a screening hit: screening.rego), role by role in
# a fixed order (an object's iteration order is not the same on both engines).
_roles := ["sold_to", "ship_to", "end_user"]

restrictions(o) := restrictions_of(screened(o))

restrictions_of(s) := [] if {
	count(s) == 0
} else := [x.r | some x in s]

# restriction_lists names the lists with hits, each once, in the order the
# parties' restrictions give them. Not sorted: rego-cpp orders strings by
# their escaped form ("Z" < "\u00e4" < "a"), OPA by code point, so a sorted
# list with a non-ASCII name read differently on the two engines.
restriction_lists(rs) := concat(", ", names) if {
	names := [n | some i; r := rs[i]; n := r.list; not _listed_before(rs, i, n)]
}

_listed_before(rs, i, n) if {
	some j
	r := rs[j]
	j < i
	r.list == n
}

_holds(xs) := count(xs) > 0

# Affiliates rule (FR Doc. 2025-19001, 90 FR 47201) --------------------------
# A party at least 50% owned, in aggregate, by restricted parties (its
# `owners` with a `share` in percent and their own `restrictions`) is
# restricted itself, with the most restrictive policy of those owners, on
# orders dated in one of the rule's periods (suspended from 2025-11-10 to
# 2026-11-09 by the BIS rule of 12 Nov 2025, 90 FR No. 216). Owners are as
# the host states them: indirect ownership is the host's to add up.

_aff := tables.affiliates

# (`some p in xs; f(p)`: rego-cpp 1.5 leaves `some i; f(xs[i])` undefined.)
affiliates_in_force(d) if {
	some p in _aff.periods
	_dated(p, d)
}

# The share held by owners restricted on date d (restricted_owner: a flag or
# hit that restricts, screening.rego), in hundredths of a percent, rounded:
# both engines then compare whole numbers (OPA's decimals and rego-cpp's
# doubles round 33.3 + 16.7 alike).
restricted_share(p, d) := round(sum(_restricted_shares(p, d)) * 100)

_restricted_shares(p, d) := [s | some x in object.get(p, "owners", []); restricted_owner(x, d); s := x.share]

# The share held by owners restricted or possibly restricted (a possible
# match only) on date d.
possible_share(p, d) := round(sum(_possible_shares(p, d)) * 100)

_possible_shares(p, d) := [s | some x in object.get(p, "owners", []); _owner_counts(x, d); s := x.share]

_owner_counts(x, d) if restricted_owner(x, d)

_owner_counts(x, d) if possible_owner(x, d)

_affiliated(p, d) if restricted_share(p, d) >= _aff.threshold_pct * 100

# possibly_affiliated: the party reaches the threshold only with the owners
# whose matches are possible: a person must clear them (row C3P).
possibly_affiliated(p, d) if {
	not _affiliated(p, d)
	possible_share(p, d) >= _aff.threshold_pct * 100
}

# affiliated: the parties the rule restricts on the order's date, each
# party looked up inside the call, in a fixed role order.
affiliated(o) := [p |
	affiliates_in_force(o.date)
	some role in _roles
	_affiliated(o.parties[role], o.date)
	p := o.parties[role]
]

_owner_policies(p, d) := {y | some x in p.owners; some y in owner_effects(x, d)}

# The most restrictive policy among a party's restricted owners (an owner on
# the MEU List restricts the affiliate case by case, for every item).
_owner_policy(p, d) := "denial" if {
	"denial" in _owner_policies(p, d)
} else := "case-by-case"

# An owner as the reasons name it: its name, and the entries it matched
# when screening found it (a host's flag is the host's: the name alone).
_owner_label(x, d) := concat("", [_str(object.get(x, "name", x.id)), " (", concat(", ", ts), ")"]) if {
	ts := [t | some r in x.restrictions; not r.policy; _effect_or_none(r, d) in _restricting; t := _owner_entry(r)]
	count(ts) > 0
} else := _str(object.get(x, "name", x.id))

_owner_entry(r) := concat("", [
	"matched ", list_name(r.list), " entry ", _str(object.get(r, "entry", "(no id)")),
	_quoted(r, "entry_name", " "),
])

_owner_names(p, d) := [n | some x in p.owners; restricted_owner(x, d); n := _owner_label(x, d)]

_party_owners(p, d) := concat("", [
	_str(object.get(p, "name", p.id)), " (owned by ", concat(", ", _owner_names(p, d)), ")",
])

_owner_text(af, d) := concat("; ", [t | some p in af; t := _party_owners(p, d)])


# facts: everything the tables ask about an order, computed once per order
# and passed to the per-line rules.
facts(o) := {
	"date": o.date,
	"year": year(o),
	"dest": d,
	"ship_from": ship_from(o),
	"transaction": transaction(o),
	"hq": h,
	"parent_hq": p,
	"consignee": consignee(o),
	"verified": verified(o),
	"certifications": certifications(o),
	"lists": restriction_lists(rs),
	"embargoed": _holds([1 | _any(dg, tables.embargo)]),
	"denied_party": "denial" in ks,
	"restricted_party": "case-by-case" in ks,
	"possible_match": sf.possible != "",
	"meu": "meu" in ks,
	"meu_lines": meu_lines(o, ks),
	"uvl": "uvl" in ks,
	"denied": sf.denied,
	"denied_cite": sf.denied_cite,
	"restricted": sf.restricted,
	"restricted_cite": sf.restricted_cite,
	"possible": sf.possible,
	"meu_parties": sf.meu_parties,
	"uvl_parties": sf.uvl_parties,
	"affiliate_denied": _holds([1 | some x in af; _owner_policy(x, o.date) == "denial"]),
	"affiliate_restricted": count(af) > 0,
	"owners": _owner_text(af, o.date),
	"domestic": _holds([1 | d == tables.home; ship_from(o) == tables.home]),
	"dest_concern": _holds([1 | _any(dg, tables.concern)]),
	"hq_concern": _holds([1 | some gs in [hg, pg]; _any(gs, tables.concern)]),
	"licensed_destination": _holds([1 | _any(dg, tables.licensed); not _any(dg, tables.exempt)]),
	"dest_groups": dg,
	"end_user_groups": groups_of(country(end_user(o).country), o.date),
	"hq_groups": hg | pg,
} if {
	s := screened(o)
	ks := effects(s)
	rs := restrictions_of(s)
	sf := screening_texts(o, s, ks)
	af := affiliated(o)
	d := dest(o)
	h := hq(o)
	p := parent_hq(o)
	dg := groups_of(d, o.date)
	hg := groups_of(h, o.date)
	pg := groups_of(p, o.date)
}

# Item classes -------------------------------------------------------------

_t := tables.classes

# hbm (3A090.c) ranks above adv-b: it needs a license where adv-b ships
# under NAC, and is not controlled where adv-b needs none.
_rank := {"other": 0, "adv-b": 1, "hbm": 2, "adv-a": 3}

_by_rank := ["other", "adv-b", "hbm", "adv-a"]

# The class of an ECCN (data: `classes.eccn`). An ECCN written as the
# Commerce Control List writes it is one lookup; a sub-paragraph ("3A090.a.1")
# takes its paragraph's class, and other spellings ("3a090.A") are
# normalised first. String builtins cost rego-cpp 1.5 about as much as the
# rest of a line's work (docs/performance.md), so the usual case uses none.
eccn_class(e) := x if {
	x := _t.eccn[e]
} else := x if {
	x := _t.eccn[concat(".", array.slice(split(e, "."), 0, 2))]
} else := x if {
	parts := split(e, ".")
	x := _t.eccn[concat(".", [upper(parts[0]), lower(parts[1])])]
} else := "other"

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

# memory_class: 3A090.c by performance, high bandwidth memory whose memory
# bandwidth density (GB/s per mm2 of package or stack) exceeds the threshold.
memory_class(c) := "hbm" if c.memory_bandwidth_density > _t.hbm_density_above

# The classes a unit's classification implies: its ECCN's, its
# performance's, its memory's.
unit_classes(c) := _chip_classes(c) | {x | x := memory_class(c)} if {
	c.memory_bandwidth_density
} else := _chip_classes(c)

_chip_classes(c) := {x | x := eccn_class(c.eccn)} | {x | x := perf_class(c)}

# A system (a board, server or rack) that lists the chips it `contains` is
# classified by its most restrictive chip: the thresholds are tested per
# chip, never on the system's summed TPP; the system's own ECCN counts too.
# (`some chip in c.contains; some x in unit_classes(chip)`: rego-cpp 1.5
# returns nothing for `some i; some x in unit_classes(c.contains[i])`.)
system_classes(c) := {x | x := eccn_class(c.eccn)} | {x | some chip in c.contains; some x in unit_classes(chip)}

# (The common case, a chip with no memory density, is tested first: every
# call level costs on rego-cpp, and this runs once per line.)
stated_classes(c) := {x | x := eccn_class(c.eccn)} | {x | x := perf_class(c)} if {
	not c.contains
	not c.memory_bandwidth_density
} else := system_classes(c) if {
	count(c.contains) > 0
} else := unit_classes(c)

# top_class: the strictest of a set of classes (the comprehension's head is a
# plain variable: rego-cpp 1.5 answers a head with a reference wrongly).
top_class(cs) := x if {
	top := max({v | some k in cs; v := _rank[k]})
	some x in cs
	_rank[x] == top
}

# item_class is the stricter of the ECCN's class and the performance's class.
item_class(c) := top_class(stated_classes(c))

conflict(c) if count(stated_classes(c)) > 1

datacenter(c) := object.get(c, "datacenter", true)

# The column of the decision tables: datacenter adv-a ("dc-a"); adv-b or a
# non-datacenter adv-a ("b"); "other".
column_of(k, c) := "dc-a" if {
	k == "adv-a"
	datacenter(c)
} else := "other" if {
	k == "other"
} else := "hbm" if {
	k == "hbm"
} else := "b"

# informed: the item, or a chip a system contains, is named in a letter
# from BIS that informed its exporter of a license requirement.
informed(c) if c.is_informed == true

informed(c) if {
	some chip in c.contains
	chip.is_informed == true
}

column(c) := column_of(item_class(c), c)

# line_tpp: the line's TPP (quantity x TPP per unit). rego-cpp computes in
# 64-bit integers and leaves an overflowing product undefined where OPA's
# numbers are unbounded, so a line with an absurd quantity or TPP (above
# 10^9) has no known TPP on either engine: it cannot be metered and is held.
line_tpp(l) := l.quantity * l.classification.tpp if {
	l.quantity <= 1000000000
	l.classification.tpp <= 1000000000
}
