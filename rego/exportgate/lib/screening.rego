package exportgate.lib

import rego.v1

# Screening hits (data: `screening`; docs/regimes.md, "Screening hits").
# A party's restriction is the host's flag (`{"list", "policy"}`: its policy
# as stated) or a hit screening found (`entry` and no `policy`): what a hit
# means is the screening table's, by the hit's list code, read here once per
# order and applied by every regime through `facts` and `document`.

_scr := tables.screening

# effect: what restriction r means on date d: "denial", "case-by-case",
# "meu", "uvl" or "possible"; undefined for a hit whose entry was listed
# after d (the order predates the listing). A host's flag has no dates.
effect(r, d) := r.policy if {
	r.policy
} else := "possible" if {
	not _listed_after(r, d)
	r.status == "possible"
} else := hit_policy(r) if {
	not _listed_after(r, d)
}

# The hit's entry was listed after the order's date. (A start date that is
# not a date never postpones a hit: only a later ISO date does.)
_listed_after(r, d) if {
	is_string(r.start_date)
	regex.match(`^\d{4}-\d{2}-\d{2}`, r.start_date)
	substring(r.start_date, 0, 10) > d
}

# hit_policy: a confirmed hit's meaning, by its list code; a code the table
# does not know is the table's `unknown` (a license, never allow).
hit_policy(r) := _policy_of(_scr.lists[r.list].policy, r) if {
	_scr.lists[r.list]
} else := _scr.unknown

_policy_of(p, r) := "denial" if {
	p == "from_entry"
	denial_text(object.get(r, "license_policy", ""))
} else := "case-by-case" if {
	p == "from_entry"
} else := p

# denial_text: a license review policy text that states a presumption or
# policy of denial, anywhere in it, whatever its case.
denial_text(t) if {
	is_string(t)
	x := lower(t)
	some phrase in _scr.denial_phrases
	contains(x, phrase)
}

# The effect of r at the order's date, with "" for one that does not apply,
# so a comprehension keeps every restriction in order.
_effect_or_none(r, d) := x if {
	x := effect(r, d)
} else := ""

# screened: every restriction of the order's parties that applies on the
# order's date, with the party's role and the restriction's effect, role by
# role in a fixed order.
screened(o) := [] if {
	not _restricted_parties(o)
} else := [x |
	some role in _roles
	p := o.parties[role]
	some r in object.get(p, "restrictions", [])
	k := _effect_or_none(r, o.date)
	k != ""
	x := {"role": role, "party": p, "r": r, "effect": k}
]

# Whether any party of the order has restrictions at all (the usual order has
# none: then nothing below is computed).
_restricted_parties(o) if {
	some role in _roles
	count(object.get(o.parties[role], "restrictions", [])) > 0
}

effects(s) := set() if {
	count(s) == 0
} else := {k | some x in s; k := x.effect}

# Texts for the reasons ---------------------------------------------------------
# Each names the party (its role, name and id) and, for a hit, the entry it
# matched (list, entry id, entry name), the name or alias that matched, the
# score, the listing and the entry's review policy; for a host's flag, the
# list and policy the host gave.

_role_names := {"sold_to": "sold-to party", "ship_to": "ship-to party", "end_user": "end user"}

_str(x) := x if {
	is_string(x)
} else := json.marshal(x)

party_label(role, p) := roles_label([_role_names[role]], p)

# roles_label: a party in one or more roles ("The sold-to party, ship-to
# party and end user ACME Ltd (C-1)"): an order whose roles are one customer
# names it once.
roles_label(names, p) := concat("", ["The ", _and(names), " ", _str(p.name), " (", _str(p.id), ")"]) if {
	is_string(p.name)
} else := concat("", ["The ", _and(names), " ", _str(p.id)])

_and(xs) := xs[0] if {
	count(xs) == 1
} else := concat(" and ", [concat(", ", array.slice(xs, 0, count(xs) - 1)), xs[count(xs) - 1]])

list_name(code) := x if {
	x := _scr.lists[code].name
} else := code

_quoted(r, k, before) := concat("", [before, "\"", r[k], "\""]) if {
	is_string(r[k])
} else := ""

_plain(r, k, before) := concat("", [before, r[k]]) if {
	is_string(r[k])
} else := ""

# The entry's review policy, without its closing full stop (the reasons'
# texts go on after it).
_policy_text(r) := concat("", [": ", trim_right(r.license_policy, ". ")]) if {
	is_string(r.license_policy)
	trim_right(r.license_policy, ". ") != ""
} else := ""

# (round then format_int: both engines print a whole number alike.)
_score(r) := concat("", [" (score ", format_int(round(r.score), 10), ")"]) if {
	is_number(r.score)
} else := ""

# restriction_text: what party `who` has: the entry it matched, or the
# host's flag.
restriction_text(who, r) := concat("", [
	who, " matched ", list_name(r.list), " entry ", _str(object.get(r, "entry", "(no id)")),
	_quoted(r, "entry_name", " "), _quoted(r, "matched", " as "), _score(r),
	_plain(r, "start_date", ", listed "), _plain(r, "federal_register_notice", ", "),
	_policy_text(r),
]) if {
	not r.policy
} else := concat("", [who, " is on ", _str(r.list), " (the host's flag, policy ", _str(r.policy), ")"])

# The text of the order's restrictions with effect k, and the citations of
# their lists (each once, in order; a host's flag cites the Entity List).
effect_text(s, k) := concat("; ", [t |
	some i
	x := s[i]
	x.effect == k
	not _held_before(s, i, x)
	t := restriction_text(roles_label(_roles_holding(s, x), x.party), x.r)
])

# The same party (by id) with the same restriction in another role is named
# once, with all its roles.
_held_before(s, i, x) if {
	some j
	y := s[j]
	j < i
	y.party.id == x.party.id
	y.r == x.r
}

_roles_holding(s, x) := [n | some y in s; y.party.id == x.party.id; y.r == x.r; n := _role_names[y.role]]

_cite_of(r) := x if {
	not r.policy
	x := _scr.lists[r.list].cite
} else := concat("", [
	"Supp. No. 3 to part 732 (know your customer); list ", _str(r.list),
	", which the screening table does not describe: reviewed case by case",
]) if {
	not r.policy
} else := _scr.lists.EL.cite

effect_cite(s, k) := concat("; ", cs) if {
	xs := [c | some x in s; x.effect == k; c := _cite_of(x.r)]
	cs := [c | some i; c := xs[i]; not _cited_before(xs, i, c)]
}

_cited_before(xs, i, c) if {
	some j
	xs[j] == c
	j < i
}

# Items of Supplement No. 2 to part 744 (the MEU List's reach) ---------------

_meu_eccns := {x | some x in _scr.meu.eccns}

_meu_eccn(e) if upper(substring(e, 0, 5)) in _meu_eccns

# A line's item is listed when its ECCN is, when it states none (failing
# closed), or when a chip it contains has a listed ECCN.
meu_item(c) if not is_string(object.get(c, "eccn", null))

meu_item(c) if _meu_eccn(c.eccn)

meu_item(c) if {
	some chip in object.get(c, "contains", [])
	is_string(chip.eccn)
	_meu_eccn(chip.eccn)
}

# meu_lines: the ids of the order's lines an MEU hit reaches; computed only
# for an order with one.
meu_lines(o, ks) := {l.id | some l in o.lines; meu_item(l.classification)} if {
	"meu" in ks
} else := set()

# Owners (the Affiliates rule) -------------------------------------------------
# An owner with a hit or flag that restricts (denial, case by case, MEU) is a
# restricted owner; one with only a possible match may be: when the shares of
# the restricted and the possibly restricted owners together reach the rule's
# threshold, the order is a possible match (row C3P) naming those owners.
# The Unverified List is not among the lists the Affiliates rule extends.

_restricting := {"denial", "case-by-case", "meu"}

owner_effects(x, d) := {k | some r in object.get(x, "restrictions", []); k := _effect_or_none(r, d); k != ""}

restricted_owner(x, d) if {
	some k in owner_effects(x, d)
	k in _restricting
}

possible_owner(x, d) if {
	not restricted_owner(x, d)
	"possible" in owner_effects(x, d)
}

# The text of the possible matches among the owners of parties the rule may
# restrict: "The owner O of the end user P (id) matched ...".
_owner_possible_text(o) := concat("; ", [t |
	some i
	y := ps[i]
	not _held_before(ps, i, y)
	who := concat("", [
		"The owner ", _str(object.get(y.owner, "name", y.owner.id)), " (", _str(y.owner.id), ") of the ",
		_and(_roles_holding(ps, y)), " ", _str(object.get(y.party, "name", y.party.id)),
	])
	t := restriction_text(who, y.r)
]) if {
	ps := _owner_possibles(o)
}

# The possible matches of the owners of parties the rule may restrict, role
# by role, each with its party and owner (as `screened` gives a party's).
_owner_possibles(o) := [y |
	affiliates_in_force(o.date)
	some role in _roles
	p := o.parties[role]
	possibly_affiliated(p, o.date)
	some x in p.owners
	possible_owner(x, o.date)
	some r in x.restrictions
	_effect_or_none(r, o.date) == "possible"
	y := {"role": role, "party": p, "owner": x, "r": r}
]

# possible_text: every possible match of the order, its parties' and (where
# the Affiliates rule may restrict a party) its owners'; "" when none.
possible_text(o, s) := concat("; ", [t | some t in [effect_text(s, "possible"), _owner_possible_text(o)]; t != ""])

# screening_texts: the slots of the screening rows' reasons (ks: the effects
# of the order's restrictions). The usual order, with no restriction and no
# owner the Affiliates rule could weigh, costs one test.
screening_texts(o, s, ks) := _no_texts if {
	count(s) == 0
	not _owners_weighed(o)
} else := {
	"denied": _text_of(s, ks, "denial"),
	"denied_cite": _cite_of_effect(s, ks, "denial"),
	"restricted": _text_of(s, ks, "case-by-case"),
	"restricted_cite": _cite_of_effect(s, ks, "case-by-case"),
	"possible": possible_text(o, s),
	"meu_parties": _text_of(s, ks, "meu"),
	"uvl_parties": _text_of(s, ks, "uvl"),
}

_no_texts := {
	"denied": "", "denied_cite": "", "restricted": "", "restricted_cite": "",
	"possible": "", "meu_parties": "", "uvl_parties": "",
}

_owners_weighed(o) if {
	affiliates_in_force(o.date)
	some role in _roles
	count(object.get(o.parties[role], "owners", [])) > 0
}

_text_of(s, ks, k) := effect_text(s, k) if {
	k in ks
} else := ""

_cite_of_effect(s, ks, k) := effect_cite(s, k) if {
	k in ks
} else := ""

# UVL: license exceptions suspended, the UVL statement before an export that
# needs no license ---------------------------------------------------------------

_uvl_exceptions := {c | some c in _scr.uvl.exception_codes}

_uvl_license := candidate({}, "C3X")

# A candidate under a party on the Unverified List: a license exception
# becomes C3X (license); another candidate that would allow becomes C3U
# (notify), keeping the quota it draws on; the rest stay.
_uvl_candidate(e) := _uvl_license if {
	e.code in _uvl_exceptions
	_strictness[e.outcome] < _strictness.license
} else := object.union(e, {"row": "C3U", "outcome": "notify", "code": tables.rows.C3U.code}) if {
	e.outcome == "allow"
} else := e

uvl_ladder(entries) := until_stateless(raised) if {
	raised := [y | some e in entries; y := _uvl_candidate(e)]
}

# screened_ladders: the ladders with the hits that reach lines applied: an
# MEU hit raises the ladders of lines of listed items to row C3M (each such
# ladder gets a "|meu" variant), a UVL hit every ladder (uvl_ladder).
screened_ladders(ladders, lines, f) := ladders if {
	not f.meu
	not f.uvl
} else := _uvl_all(object.union(ladders, _meu_variants(ladders, lines, f)), f)

_meu_variants(ladders, lines, f) := {k: v |
	some key in _meu_keys(lines, f)
	k := concat("", [key, "|meu"])
	v := raise(ladders[key], candidate({}, "C3M"))
} if {
	f.meu
} else := {}

_meu_keys(lines, f) := {l.ladder | some l in lines; l.id in f.meu_lines}

_uvl_all(ladders, f) := {k: v | some k, x in ladders; v := uvl_ladder(x)} if {
	f.uvl
} else := ladders

# screened_lines: lines of listed items under an MEU hit take their "|meu"
# ladder; under a possible match that another row decides, every line also
# names row C3P, so the reason shows the match a person must clear.
screened_lines(lines, f) := [y | some l in lines; y := _screened_line(l, f)] if {
	_line_work(f)
} else := lines

_line_work(f) if f.meu

_line_work(f) if _possible_extra(f)

_possible_extra(f) if {
	f.possible_match
	order_row(f) != "C3P"
}

_screened_line(l, f) := object.union(l, {"ladder": _meu_key(l, f), "extra": _extra_possible(l, f)})

_meu_key(l, f) := concat("", [l.ladder, "|meu"]) if {
	f.meu
	l.id in f.meu_lines
} else := l.ladder

_extra_possible(l, f) := array.concat(l.extra, ["C3P"]) if {
	_possible_extra(f)
} else := l.extra
