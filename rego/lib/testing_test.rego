# Builders for the Rego tests of every regime: orders, items, parties, inputs.
package exportgate.testing

import rego.v1

h100 := {"eccn": "3A090.a", "tpp": 15832, "pd": 19.45, "datacenter": true, "dram_bandwidth_gbps": 3350}

h200 := {"eccn": "3A090.a", "tpp": 15832, "pd": 19.45, "datacenter": true, "dram_bandwidth_gbps": 4800}

b200 := {"eccn": "3A090.a", "tpp": 36000, "pd": 22.11, "datacenter": true, "dram_bandwidth_gbps": 8000}

bchip := {"eccn": "3A090.b", "tpp": 3000, "pd": 2, "datacenter": true}

rtx4090 := {"eccn": "3A090.a", "tpp": 5285, "datacenter": false}

laptop := {"eccn": "EAR99"}

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
	ls := [l | some i; p := pairs[i]; id := format_int((i + 1) * 10, 10); l := {"id": id, "item": "X", "quantity": p[1], "classification": p[0]}]
}

with_end_user(o, eu) := object.union(o, {"parties": object.union(o.parties, {"end_user": eu})})

with_ship_to(o, p) := object.union(o, {"parties": object.union(o.parties, {"ship_to": p})})

with_date(o, d) := object.union(o, {"date": d})

with_fields(o, f) := object.union(o, f)

input_of(o) := {"contract": 1, "order": o, "quota": {}}

input_with_quota(o, q) := {"contract": 1, "order": o, "quota": q}

# is(line, outcome, code) holds when a line decision has that outcome and first reason.
is(line, outcome, code) if {
	line.outcome == outcome
	line.reasons[0].code == code
}
