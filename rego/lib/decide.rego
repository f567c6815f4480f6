package exportgate.lib

import rego.v1

# decide builds a regime's decision document (docs/policy-contract.md) for
# an order (its facts f and its lines), given the quota other orders hold (quota) and each line's ladder, the regime's rows and the regime's obligations.
# Rows and obligations not in the regime's tables come from the library's.

_rank_of := {"allow": 0, "notify": 1, "license": 2, "deny": 3}

_by_rank := ["allow", "notify", "license", "deny"]

worst(lines) := _by_rank[top] if {
	top := max({v | some x in lines; v := _rank_of[x.outcome]})
}

row_info(rows, r) := x if {
	x := rows[r]
} else := tables.rows[r]

_obligation(obls, o) := object.union({"code": o}, x) if {
	x := obls[o]
} else := object.union({"code": o}, tables.obligations[o])

_metered_count(ladders) := count([i | some i; ladder := ladders[i]; _has_quota(ladder)])

decide(f, lines, quota, ladders, rows, obls) := d if {
	_metered_count(ladders) > tables.max_metered_lines
	too_many := [{"row": "TOO_MANY_LINES"}]
	results := [r | some l in lines; r := line_result(f, l, too_many, {"at": 0, "before": 0}, rows, obls)]
	d := {"contract": 1, "outcome": "license", "lines": results}
} else := d if {
	ps := picks(ladders, quota)
	results := [r | some i; l := lines[i]; lad := ladders[i]; p := ps[format_int(i, 10)]; r := line_result(f, l, lad, p, rows, obls)]
	count(results) == count(lines)
	d := {"contract": 1, "outcome": worst(results), "lines": results}
}

# quota_keys: every quota key a set of ladders may touch; the ledger locks
# these and reports their use before the decision is evaluated.
quota_keys(ladders) := {k | some ladder in ladders; some e in ladder; k := e.quota.key}

line_result(f, l, ladder, pick, rows, obls) := {
	"id": l.id,
	"outcome": info.outcome,
	"class": item_class(l.classification),
	"reasons": array.concat([reason], _conflict_reasons(l, rows, vars)),
	"obligations": [x | some o in object.get(info, "obligations", []); x := _obligation(obls, o)],
	"consumes": [x | e.quota; x := {"quota": e.quota.key, "tpp": e.quota.tpp, "cap": e.quota.cap}],
} if {
	e := ladder[pick.at]
	info := row_info(rows, e.row)
	vars := object.union(_vars(f, l), _quota_vars(e, pick))
	reason := {
		"code": info.code,
		"cite": fill(vars, info.cite),
		"message": fill(vars, info.message),
		"row": e.row,
	}
}

_conflict_reasons(l, rows, vars) := [r] if {
	conflict(l.classification)
	info := row_info(rows, "CLASSIFICATION_CONFLICT")
	r := {
		"code": info.code,
		"cite": fill(vars, info.cite),
		"message": fill(vars, info.message),
		"row": "CLASSIFICATION_CONFLICT",
	}
} else := []

# fill puts the values of vars ({"{name}": text}) into a template in one pass,
# as OPA's strings.replace_n does. rego-cpp's strings.replace_n replaces key
# after key, so a value that itself holds "{dest}" or "{tpp}" (an item or a
# party id from the ERP) was filled again: the engines disagreed. Unknown
# {names} stay as they are.
fill(vars, template) := concat("", pieces) if {
	parts := split(template, "{")
	pieces := [p | some i; part := parts[i]; p := _fill_piece(vars, i, part)]
}

_fill_piece(_, i, part) := part if i == 0

_fill_piece(vars, i, part) := p if {
	i > 0
	p := _fill_value(vars, part)
}

_fill_value(vars, part) := concat("", [value, substring(part, j + 1, -1)]) if {
	j := indexof(part, "}")
	j >= 0
	value := vars[concat("", ["{", substring(part, 0, j), "}"])]
} else := concat("", ["{", part])

_text(x) := format_int(x, 10) if is_number(x)

_text(x) := x if is_string(x)

_line_tpp_text(l) := x if {
	x := format_int(line_tpp(l), 10)
} else := "unknown"

_unit_tpp_text(c) := x if {
	x := format_int(c.tpp, 10)
} else := "unknown"

_vars(f, l) := {
	"{dest}": f.dest,
	"{hq}": f.hq,
	"{parent_hq}": f.parent_hq,
	"{item}": l.item,
	"{class}": item_class(l.classification),
	"{eccn}": object.get(l.classification, "eccn", "not stated"),
	"{tpp}": _line_tpp_text(l),
	"{tpp_unit}": _unit_tpp_text(l.classification),
	"{pd}": "stated",
	"{lists}": f.lists,
	"{max}": format_int(tables.max_metered_lines, 10),
	"{year}": format_int(f.year, 10),
	"{consignee}": f.consignee,
}

_quota_vars(e, pick) := {
	"{quota}": e.quota.key,
	"{cap}": _text(e.quota.cap),
	"{used}": _text(pick.before),
	"{after}": _text(pick.before + e.quota.tpp),
} if {
	e.quota
} else := {}
