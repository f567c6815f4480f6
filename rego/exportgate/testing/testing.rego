# Builders for the Rego tests of every regime: orders, items, parties, inputs.
package exportgate.testing

import rego.v1

h100 := {"eccn": "3A090.a", "tpp": 15832, "pd": 19.45, "datacenter": true, "dram_bandwidth_gbps": 3350}

h200 := {"eccn": "3A090.a", "tpp": 15832, "pd": 19.45, "datacenter": true, "dram_bandwidth_gbps": 4800}

b200 := {"eccn": "3A090.a", "tpp": 36000, "pd": 22.11, "datacenter": true, "dram_bandwidth_gbps": 8000}

bchip := {"eccn": "3A090.b", "tpp": 3000, "pd": 2, "datacenter": true}

rtx4090 := {"eccn": "3A090.a", "tpp": 5285, "datacenter": false}

laptop := {"eccn": "EAR99"}

# The H20: below both 3A090.b prongs, named in the April 2025 letter.
h20 := {"tpp": 2368, "pd": 2.91, "datacenter": true, "dram_bandwidth_gbps": 4000, "is_informed": true}

# Systems list their chips; the catalog sums their TPP per system.
hgx_h100 := {
	"eccn": "4A090.a", "tpp": 126656, "datacenter": true,
	"contains": [object.union(h100, {"item": "NVIDIA-H100-SXM5-80GB", "count": 8})],
}

hgx_h20 := {"tpp": 18944, "datacenter": true, "contains": [object.union(h20, {"item": "NVIDIA-H20-96GB", "count": 8})]}

# High bandwidth memory stacks: HBM2-class below License Exception HBM's
# density limit, HBM3E above it.
hbm2 := {"eccn": "3A090.c", "memory_bandwidth_density": 2.78}

hbm3e := {"eccn": "3A090.c", "memory_bandwidth_density": 9.8}

# An owner of a party with a share in percent and its screening hits.
owner(id, share, policy) := {
	"id": id, "name": id, "share": share,
	"restrictions": [{"list": "entity-list", "policy": policy}],
}

clean_owner(id, share) := {"id": id, "name": id, "share": share, "restrictions": []}

eccn_only_a := {"eccn": "3A090.a"}

party(id, c) := {"id": id, "country": c}

order(dest, cls, qty) := {
	"id": "T-1",
	"date": "2025-06-02",
	"ship_from": "US",
	"transaction": "export",
	"parties": {"ship_to": party("c1", dest)},
	"lines": [{"id": "10", "item": "X", "quantity": qty, "classification": cls}],
}

# lines builds an order with one line per (classification, quantity) pair.
order_lines(dest, pairs) := object.union(order(dest, {}, 1), {"lines": ls}) if {
	ls := [l |
		some i
		p := pairs[i]
		id := format_int((i + 1) * 10, 10)
		l := {"id": id, "item": "X", "quantity": p[1], "classification": p[0]}
	]
}

with_end_user(o, eu) := object.union(o, {"parties": object.union(o.parties, {"end_user": eu})})

with_ship_to(o, p) := object.union(o, {"parties": object.union(o.parties, {"ship_to": p})})

with_date(o, d) := object.union(o, {"date": d})

with_fields(o, f) := object.union(o, f)

input_of(o) := {"contract": 2, "order": o}

# The line fold for one line of a ladder document, alone (the fold of whole
# orders is exportgate's, tested in Python): the first candidate of line i's
# ladder that applies, given what other orders hold of each quota (quota).
_fits(c, _, _) if not c.quota

_fits(c, _, _) if c.quota.cap == null

_fits(c, line, quota) if object.get(quota, c.quota.key, 0) + line[c.quota.measure] <= c.quota.cap

_fitting(ladder, line, quota) := [c | some c in ladder; _fits(c, line, quota)]

first_fit(doc, i, quota) := fitting[0] if {
	line := doc.lines[i]
	fitting := _fitting(doc.ladders[line.ladder], line, quota)
}

_consumes(c, line) := [{"quota": c.quota.key, "tpp": line[c.quota.measure], "cap": c.quota.cap}] if c.quota

_consumes(c, _) := [] if not c.quota

# line_of: line i as the fold decides it alone: its outcome, its reasons'
# codes (the row's, then the line's extra rows) and the quota it takes.
line_of(doc, i, quota) := {
	"outcome": c.outcome,
	"row": c.row,
	"reasons": array.concat([{"code": c.code}], _extra_codes(line)),
	"consumes": _consumes(c, line),
} if {
	line := doc.lines[i]
	c := first_fit(doc, i, quota)
}

_extra_codes(line) := [{"code": r} | some r in line.extra]

# rows: the rows of line i's ladder, in order.
rows(doc, i) := [c.row | some c in doc.ladders[doc.lines[i].ladder]]

# keys: every quota key the ladders of a document name.
keys(doc) := {c.quota.key | some name; some c in doc.ladders[name]; c.quota}

# is(line, outcome, code) holds when a line decision has that outcome and first reason.
is(line, outcome, code) if {
	line.outcome == outcome
	line.reasons[0].code == code
}

# Standing rules (rego/exportgate/lib/data.yaml, `standing`): orders every
# regime must decide alike, with the outcome and the first reason's code
# (null: any code, where regimes name the same outcome differently).
ru_end_user := {"id": "ru1", "country": "RU"}

# An H20-class chip that is not named in the letter.
h20_uninformed := object.remove(h20, ["is_informed"])

nac_item := {"eccn": "5A992.c"}

_case(why, o, outcome, code) := {"why": why, "order": o, "outcome": outcome, "code": code}

_ru_via_de := with_end_user(order("DE", h20_uninformed, 8), ru_end_user)

_cn_parent := with_end_user(order("SG", h20, 10), {"id": "e", "country": "SG", "parent_hq_country": "CN"})

standing_cases := [
	_case("H20 to Russia", order("RU", h20, 8), "license", "RUSSIA_BELARUS"),
	_case("5A992.c to Russia", order("RU", nac_item, 8), "license", "RUSSIA_BELARUS"),
	_case("RTX 4090 to Russia, no NAC", order("RU", rtx4090, 1), "license", "RUSSIA_BELARUS"),
	_case("3A090.b to Belarus, no NAC", order("BY", bchip, 1), "license", "RUSSIA_BELARUS"),
	_case("EAR99 computer to Belarus", order("BY", laptop, 1), "license", "RUSSIA_BELARUS"),
	_case("H20 via Germany to a Russian end user", _ru_via_de, "license", "RUSSIA_BELARUS"),
	_case("datacenter H100 to Russia stays a deny", order("RU", h100, 1), "deny", null),
	_case("embargo first", order("IR", h20, 1), "deny", "EMBARGO"),
	_case("H20 to China after the letter", order("CN", h20, 100), "license", "IS_INFORMED"),
	_case("H20 to Hong Kong after the letter", order("HK", h20, 100), "license", "IS_INFORMED"),
	_case("H20 to Macau after the letter", order("MO", h20, 100), "license", "IS_INFORMED"),
	_case("H20 for a Chinese parent", _cn_parent, "license", "IS_INFORMED"),
	_case("H20 to China before the letter", with_date(order("CN", h20, 100), "2025-04-08"), "allow", "NOT_CONTROLLED"),
	_case("H20 to Korea", order("KR", h20, 100), "allow", "NOT_CONTROLLED"),
	_case("HBM to China before 3A090.c", with_date(order("CN", hbm3e, 10), "2024-11-15"), "allow", "NOT_CONTROLLED"),
	_case("HBM to China from 3A090.c", with_date(order("CN", hbm3e, 10), "2024-12-02"), "license", "HBM_LICENSE"),
]

_case_holds(c, decided) if {
	l := decided[c.why]
	l.outcome == c.outcome
	c.code == null
}

_case_holds(c, decided) if {
	l := decided[c.why]
	l.outcome == c.outcome
	l.reasons[0].code == c.code
}

# standing_failures: the cases a regime decides otherwise (or not at all), by
# name (decided: each case's line as `line_of` decides it alone, by name).
standing_failures(decided) := [c.why | some c in standing_cases; not _case_holds(c, decided)]
