package exportgate.lib

import rego.v1

# The quota fold: lines take quota in line order, and a later line sees what
# earlier lines of the same order took. Rego has no recursion, so the fold is
# unrolled over at most tables.max_metered_lines (64) metered lines; an
# order with more is held (TOO_MANY_LINES). Quota arithmetic is in integers.

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

_step(s, _, metered, _, k) := s if k >= count(metered)

_step(s, ladders, metered, used, k) := ns if {
	k < count(metered)
	i := metered[k]
	ladder := ladders[metered[k]]
	j := min({x | some x; e := ladder[x]; _fits(e, s.acc, used)})
	e := ladder[j]
	pick := {"at": j, "before": _before(e, s.acc, used)}
	ns := {"acc": _add(s.acc, e), "picks": object.union(s.picks, {format_int(i, 10): pick})}
}

# picks: for each line index (as a string), the ladder entry it takes ("at")
# and the quota already used of that entry's key before it ("before").
picks(ladders, used) := {key: p | some i; ladder := ladders[i]; key := format_int(i, 10); p := _pick(folded.picks, i, ladder)} if {
	metered := [i | some i; ladder := ladders[i]; _has_quota(ladder)]
	count(metered) <= tables.max_metered_lines
	folded := _fold(ladders, metered, used)
}

_pick(ps, i, _) := ps[format_int(i, 10)]

_pick(ps, i, ladder) := {"at": 0, "before": 0} if {
	not ps[format_int(i, 10)]
	not _has_quota(ladder)
}

_fold(ladders, metered, used) := s64 if {
	s0 := {"acc": {}, "picks": {}}
	s1 := _step(s0, ladders, metered, used, 0)
	s2 := _step(s1, ladders, metered, used, 1)
	s3 := _step(s2, ladders, metered, used, 2)
	s4 := _step(s3, ladders, metered, used, 3)
	s5 := _step(s4, ladders, metered, used, 4)
	s6 := _step(s5, ladders, metered, used, 5)
	s7 := _step(s6, ladders, metered, used, 6)
	s8 := _step(s7, ladders, metered, used, 7)
	s9 := _step(s8, ladders, metered, used, 8)
	s10 := _step(s9, ladders, metered, used, 9)
	s11 := _step(s10, ladders, metered, used, 10)
	s12 := _step(s11, ladders, metered, used, 11)
	s13 := _step(s12, ladders, metered, used, 12)
	s14 := _step(s13, ladders, metered, used, 13)
	s15 := _step(s14, ladders, metered, used, 14)
	s16 := _step(s15, ladders, metered, used, 15)
	s17 := _step(s16, ladders, metered, used, 16)
	s18 := _step(s17, ladders, metered, used, 17)
	s19 := _step(s18, ladders, metered, used, 18)
	s20 := _step(s19, ladders, metered, used, 19)
	s21 := _step(s20, ladders, metered, used, 20)
	s22 := _step(s21, ladders, metered, used, 21)
	s23 := _step(s22, ladders, metered, used, 22)
	s24 := _step(s23, ladders, metered, used, 23)
	s25 := _step(s24, ladders, metered, used, 24)
	s26 := _step(s25, ladders, metered, used, 25)
	s27 := _step(s26, ladders, metered, used, 26)
	s28 := _step(s27, ladders, metered, used, 27)
	s29 := _step(s28, ladders, metered, used, 28)
	s30 := _step(s29, ladders, metered, used, 29)
	s31 := _step(s30, ladders, metered, used, 30)
	s32 := _step(s31, ladders, metered, used, 31)
	s33 := _step(s32, ladders, metered, used, 32)
	s34 := _step(s33, ladders, metered, used, 33)
	s35 := _step(s34, ladders, metered, used, 34)
	s36 := _step(s35, ladders, metered, used, 35)
	s37 := _step(s36, ladders, metered, used, 36)
	s38 := _step(s37, ladders, metered, used, 37)
	s39 := _step(s38, ladders, metered, used, 38)
	s40 := _step(s39, ladders, metered, used, 39)
	s41 := _step(s40, ladders, metered, used, 40)
	s42 := _step(s41, ladders, metered, used, 41)
	s43 := _step(s42, ladders, metered, used, 42)
	s44 := _step(s43, ladders, metered, used, 43)
	s45 := _step(s44, ladders, metered, used, 44)
	s46 := _step(s45, ladders, metered, used, 45)
	s47 := _step(s46, ladders, metered, used, 46)
	s48 := _step(s47, ladders, metered, used, 47)
	s49 := _step(s48, ladders, metered, used, 48)
	s50 := _step(s49, ladders, metered, used, 49)
	s51 := _step(s50, ladders, metered, used, 50)
	s52 := _step(s51, ladders, metered, used, 51)
	s53 := _step(s52, ladders, metered, used, 52)
	s54 := _step(s53, ladders, metered, used, 53)
	s55 := _step(s54, ladders, metered, used, 54)
	s56 := _step(s55, ladders, metered, used, 55)
	s57 := _step(s56, ladders, metered, used, 56)
	s58 := _step(s57, ladders, metered, used, 57)
	s59 := _step(s58, ladders, metered, used, 58)
	s60 := _step(s59, ladders, metered, used, 59)
	s61 := _step(s60, ladders, metered, used, 60)
	s62 := _step(s61, ladders, metered, used, 61)
	s63 := _step(s62, ladders, metered, used, 62)
	s64 := _step(s63, ladders, metered, used, 63)
}
