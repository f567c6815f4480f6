package exportgate.lib

import rego.v1

# The quota fold: lines take quota in line order, and a later line sees what
# earlier lines of the same order took. Rego has no recursion, so the fold is
# unrolled over at most tables.max_metered_lines (64) metered lines (lines
# whose ladder holds a quota row); an order with more is held
# (TOO_MANY_LINES). Each step gets only its own ladder (null past the last
# metered line), which keeps a step cheap on both engines. Quota arithmetic
# is in integers.

_has_quota(ladder) if {
	some e in ladder
	e.quota
}

_fits(e, _, _) if not e.quota

_fits(e, acc, used) if {
	q := e.quota
	total := object.get(used, q.key, 0) + object.get(acc, q.key, 0) + q.tpp
	total <= q.cap
}

_before(e, _, _) := 0 if not e.quota

_before(e, acc, used) := object.get(used, e.quota.key, 0) + object.get(acc, e.quota.key, 0) if e.quota

_add(acc, e) := acc if not e.quota

_add(acc, e) := object.union(acc, {e.quota.key: object.get(acc, e.quota.key, 0) + e.quota.tpp}) if e.quota

_step(s, ladder, _) := s if ladder == null

_step(s, ladder, used) := ns if {
	ladder != null
	j := min({x | some x; e := ladder[x]; _fits(e, s.acc, used)})
	e := ladder[j]
	pick := {"at": j, "before": _before(e, s.acc, used)}
	ns := {"acc": _add(s.acc, e), "picks": array.concat(s.picks, [pick])}
}

_nulls := [n | some _ in numbers.range(1, 64); n := null]

# picks: for each line index (as a string), the ladder entry it takes ("at")
# and the quota already used of that entry's key before it ("before").
picks(ladders, used) := object.union(taken, unmetered) if {
	metered := [i | some i; ladder := ladders[i]; _has_quota(ladder)]
	count(metered) <= tables.max_metered_lines
	ladders_in_order := [ladder | some i in metered; ladder := ladders[i]]
	folded := _fold(array.concat(ladders_in_order, _nulls), used)
	taken := {key: p | some k; i := metered[k]; key := format_int(i, 10); p := folded.picks[k]}
	unmetered := {key: p | some i; ladder := ladders[i]; not _has_quota(ladder); key := format_int(i, 10); p := {"at": 0, "before": 0}}
}

_fold(padded, used) := s64 if {
	s0 := {"acc": {}, "picks": []}
	s1 := _step(s0, padded[0], used)
	s2 := _step(s1, padded[1], used)
	s3 := _step(s2, padded[2], used)
	s4 := _step(s3, padded[3], used)
	s5 := _step(s4, padded[4], used)
	s6 := _step(s5, padded[5], used)
	s7 := _step(s6, padded[6], used)
	s8 := _step(s7, padded[7], used)
	s9 := _step(s8, padded[8], used)
	s10 := _step(s9, padded[9], used)
	s11 := _step(s10, padded[10], used)
	s12 := _step(s11, padded[11], used)
	s13 := _step(s12, padded[12], used)
	s14 := _step(s13, padded[13], used)
	s15 := _step(s14, padded[14], used)
	s16 := _step(s15, padded[15], used)
	s17 := _step(s16, padded[16], used)
	s18 := _step(s17, padded[17], used)
	s19 := _step(s18, padded[18], used)
	s20 := _step(s19, padded[19], used)
	s21 := _step(s20, padded[20], used)
	s22 := _step(s21, padded[21], used)
	s23 := _step(s22, padded[22], used)
	s24 := _step(s23, padded[23], used)
	s25 := _step(s24, padded[24], used)
	s26 := _step(s25, padded[25], used)
	s27 := _step(s26, padded[26], used)
	s28 := _step(s27, padded[27], used)
	s29 := _step(s28, padded[28], used)
	s30 := _step(s29, padded[29], used)
	s31 := _step(s30, padded[30], used)
	s32 := _step(s31, padded[31], used)
	s33 := _step(s32, padded[32], used)
	s34 := _step(s33, padded[33], used)
	s35 := _step(s34, padded[34], used)
	s36 := _step(s35, padded[35], used)
	s37 := _step(s36, padded[36], used)
	s38 := _step(s37, padded[37], used)
	s39 := _step(s38, padded[38], used)
	s40 := _step(s39, padded[39], used)
	s41 := _step(s40, padded[40], used)
	s42 := _step(s41, padded[41], used)
	s43 := _step(s42, padded[42], used)
	s44 := _step(s43, padded[43], used)
	s45 := _step(s44, padded[44], used)
	s46 := _step(s45, padded[45], used)
	s47 := _step(s46, padded[46], used)
	s48 := _step(s47, padded[47], used)
	s49 := _step(s48, padded[48], used)
	s50 := _step(s49, padded[49], used)
	s51 := _step(s50, padded[50], used)
	s52 := _step(s51, padded[51], used)
	s53 := _step(s52, padded[52], used)
	s54 := _step(s53, padded[53], used)
	s55 := _step(s54, padded[54], used)
	s56 := _step(s55, padded[55], used)
	s57 := _step(s56, padded[56], used)
	s58 := _step(s57, padded[57], used)
	s59 := _step(s58, padded[58], used)
	s60 := _step(s59, padded[59], used)
	s61 := _step(s60, padded[60], used)
	s62 := _step(s61, padded[61], used)
	s63 := _step(s62, padded[62], used)
	s64 := _step(s63, padded[63], used)
}
