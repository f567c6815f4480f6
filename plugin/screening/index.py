"""The screening index: a list version's names, searched by a party's name in well under 1 ms.

Built once per list version (`Index(entries, hit=..., review=...)`) and then
only read, so one index serves every thread and every order screened against
that version. `Index.search` answers every entry whose name or an alias
scores at or above the review threshold, best first: "hit" at or above the
hit threshold, else "possible" (a person must look; never `allow`).

How a name scores
-----------------
Both names are normalised (`normalise`: Latin letters, legal forms dropped,
company words made one) and compared as sets of words, so word order does
not count. Each word weighs 1, a company word (``technology``, ``group``,
``china``: the data's ``generic``) weighs `GENERIC_WEIGHT`, a lone initial
nothing. Two words match when they are equal, or when they differ by a
letter or two (rapidfuzz's ratio at least `FUZZY_MIN`, words of
`FUZZY_MIN_LENGTH` letters or more; they count for their similarity). The
score is the Tversky index of the weighted words::

    score = 100 * M / (M + UNMATCHED_ENTRY * E + UNMATCHED_PARTY * P)

with M the weight matched, E the entry's words the party's name lacks and P
the party's words the entry lacks. A listed name found whole inside a longer
party name ("Huawei Technologies Co., Ltd., Dubai Branch") still scores high:
extra words in the party's name cost half what missing words of the listed
name cost. When only company words match ("China Electronic Trading" against
"China Electronics Technology Group"), every word counts in full on both
sides (Jaccard), so company words alone do not make a match.

A name written without a space ("HuaweiTechnologies", "Joint StockCompany
Elara") is tried again split, one written with an extra space ("Hua Wei",
"Rosoboron Export") joined, where the parts are words of the list
(`RESPLIT_PENALTY` points less). A match that needs a near spelling of one
of the name's own words, or words joined, is "possible" whatever its score:
"Huawai" may be a typing error for Huawei or another company, and a person
tells which; so is a listed acronym ("HIT", "ZTE": one word of at most
`ACRONYM_LENGTH` letters that the list writes in capitals) found among
other words of the party's name ("HIT Trading"). A party whose name carries
a legal form or a company word scores `PERSON_PENALTY` points less against a
listed person. The lists' names in brackets ("... 14th Research Institute
(CETC 14)") are names of their own.

Country and address
-------------------
Supporting evidence, never a reason to drop a name match: the party's country
among the entry's address countries adds `COUNTRY_POINTS`, its address sharing
two words or the postal code with an entry's address adds `ADDRESS_POINTS`,
and each says so in the hit's ``why``. A party in another country keeps its
score; only a borderline hit (name score below hit + `OTHER_COUNTRY_MARGIN`)
stays "possible", so a listed party shipping through another country is
still held.

Speed
-----
Candidates come from an inverted index of words (and of their one-letter
deletions, for near spellings): each word of the party's name adds its
weight to every name holding it, one numpy operation per word on arrays the
thread keeps, and an upper bound of the score drops the names that cannot
reach the review threshold. The names left are scored word by word, best
bound first, until the answer cannot change. ``bench/screening.py`` on a
generated list of 30,000 entries (74,510 names and aliases), 4,000 queries,
on 2 CPUs shared with other work (load average 4-10): p50 0.08 ms, p99
0.32-0.36 ms (each query's best of 3 runs; CPU time of single runs p99
0.46-0.51 ms); build 1.5-3.7 s, +43-55 MiB; rapidfuzz's ``process.extract``
over every name, measured in the same runs, p50 38-61 ms (500-900 times
slower).

Thresholds
----------
`HIT_THRESHOLD` and `REVIEW_THRESHOLD` (kept in `model`, so a process that
screens nothing imports no index) are the defaults, chosen from the
labelled set of ``tests/screening/labelled.py`` and the bench's list.
Measured at these defaults (review 78 flags more clean names for no recall
gained, 82 loses variants):

- labelled set, 376 true variants of 50 entries in 12 kinds (abbreviations,
  legal forms, transliterations from Cyrillic and from Chinese characters,
  other transliterations, word order, aliases, extra words, missing and
  extra spaces, punctuation and diacritics, misspellings, case): recall 1.000
  (found "hit" or "possible"), 0.944 as "hit";
- 61 near-misses (other companies sharing company words or one own word,
  persons sharing a surname or given names): none "hit", 3 (4.9 %)
  "possible";
- the bench's list: 98.9-99.3 % of generated variants found; of clean names
  (no listed name's own words all in them) 0.7-1.2 % "possible", none "hit".
"""
from __future__ import annotations

import heapq
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from rapidfuzz import fuzz

from .._exceptions import ConfigError
from .model import HIT_THRESHOLD, REVIEW_THRESHOLD, Entry, Hit
from .normalise import Name, Tables
from .normalise import tables as default_tables

DEFAULT_LIMIT = 20

GENERIC_WEIGHT = 0.35
UNMATCHED_ENTRY = 0.5
UNMATCHED_PARTY = 0.25
FUZZY_MIN = 80.0
FUZZY_MIN_LENGTH = 5
NEAR_MAX = 8
RESPLIT_PENALTY = 3.0
ACRONYM_LENGTH = 5
PERSON_PENALTY = 8.0
COUNTRY_POINTS = 5.0
ADDRESS_POINTS = 3.0
OTHER_COUNTRY_MARGIN = 5.0
PERSON_TYPES = frozenset({"individual", "person"})
_BRACKETS = re.compile(r"\(([^()]*)\)")


@dataclass(frozen=True)
class _Word:
    """A word of the party's name: its weight and the list's words it matches."""

    text: str
    weight: float
    generic: bool
    matches: dict[int, float]  # vocabulary id -> similarity 0..1


@dataclass
class _Best:
    score: float
    name: int
    words: tuple[str, ...]   # the listed name's words matched
    near: tuple[str, ...]    # "party ~ listed" for a name's own word matched as a near spelling
    resplit: str             # "", "joined" or "split": the party's words as matched
    extra: bool              # the party's name has words the listed name lacks


def _claimed(words: list[_Word]) -> list[_Word]:
    """The party's words, near spellings dropped where another party word has that word itself.

    Scoring pairs words best first, so a listed word matched exactly by one
    party word is never left for another's near spelling ("Xian Xinan":
    "xinan" is not "xian" when "Xian" is there); dropping it keeps the bound
    in `Index._candidates` tight.
    """
    exact = {tid for w in words for tid, s in w.matches.items() if s >= 1.0}
    out = []
    for word in words:
        own = {tid for tid, s in word.matches.items() if s >= 1.0}
        taken = exact - own
        if taken & word.matches.keys():
            word = _Word(word.text, word.weight, word.generic,
                         {tid: s for tid, s in word.matches.items() if tid not in taken})
        out.append(word)
    return out


def _spellings(entry: Entry) -> list[tuple[str, bool]]:
    """An entry's names and aliases, and each without its brackets and the brackets alone.

    The lists write acronyms and other names in brackets ("China Electronics
    Technology Group Corporation 14th Research Institute (CETC 14)"): each
    is a name of its own. The flag marks what stood in brackets: it is a
    name only if it holds more than company words ("(Group)" is not).
    """
    out: list[tuple[str, bool]] = []
    for text in (entry.name, *entry.alt_names):
        out.append((text, False))
        if "(" in text:
            bare = _BRACKETS.sub(" ", text).strip()
            if bare:
                out.append((bare, False))
            out.extend((inner.strip(), True) for inner in _BRACKETS.findall(text)
                       if inner.strip())
    return out


class Index:
    """Every name and alias of a list version, ready to search (build once, read only)."""

    def __init__(self, entries: Iterable[Entry], *, hit: float = HIT_THRESHOLD,
                 review: float = REVIEW_THRESHOLD, tables: Tables | None = None) -> None:
        if not 0 < review <= hit <= 100:
            raise ConfigError(f"screening thresholds: need 0 < review ({review}) <= hit "
                              f"({hit}) <= 100")
        self.hit = float(hit)
        self.review = float(review)
        self.tables = tables or default_tables()
        self.entries: tuple[Entry, ...] = tuple(entries)
        vocab: dict[str, int] = {}
        postings: list[list[int]] = []
        name_entry: list[int] = []
        self._name_text: list[str] = []
        self._name_words: list[tuple[int, ...]] = []
        self._acronyms: set[int] = set()  # names that are one word in capitals: "HIT", "SMIC"
        for number, entry in enumerate(self.entries):
            seen: dict[frozenset[str], int] = {}  # the entry's names so far, by their words
            for text, inner in _spellings(entry):
                tokens = self.tables.normalise(text).tokens
                if not tokens or (inner and all(t in self.tables.generic for t in tokens)):
                    continue
                nid = seen.get(frozenset(tokens))
                if nid is None:
                    nid = seen[frozenset(tokens)] = len(name_entry)
                    ids = []
                    for token in tokens:
                        tid = vocab.setdefault(token, len(vocab))
                        if tid == len(postings):
                            postings.append([])
                        postings[tid].append(nid)
                        ids.append(tid)
                    name_entry.append(number)
                    self._name_text.append(text)
                    self._name_words.append(tuple(ids))
                if (len(tokens) == 1 and len(tokens[0]) <= ACRONYM_LENGTH
                        and tokens[0].isalpha() and not any(c.islower() for c in text)):
                    self._acronyms.add(nid)  # "ZTE" makes "ZTE Corporation" one too
        self._vocab = vocab
        self._words = list(vocab)
        self._weights = np.array([self._weight(w) for w in self._words], dtype=np.float32)
        self._postings = [np.array(p, dtype=np.int32) for p in postings]
        self._name_entry = np.array(name_entry, dtype=np.int32)
        self._name_weight = np.array([float(self._weights[list(ids)].sum())
                                      for ids in self._name_words], dtype=np.float32)
        # Near spellings are looked up among the list's words and the other
        # spellings of its company words ("industries" for "industri"), by
        # their one-letter deletions: two words a letter or two apart share one.
        self._forms = list(self._words) + [
            spelling for spelling, word in self.tables.synonyms.items()
            if word in vocab and spelling not in vocab]
        self._form_word = list(range(len(self._words))) + [
            vocab[self.tables.synonyms[f]] for f in self._forms[len(self._words):]]
        self._form_id = {form: i for i, form in enumerate(self._forms)}
        deletes: dict[str, list[int]] = {}  # a deletion -> the forms it comes from
        for fid, form in enumerate(self._forms):
            if len(form) >= FUZZY_MIN_LENGTH and not form.isdigit():
                for key in {form[:i] + form[i + 1:] for i in range(len(form))}:
                    deletes.setdefault(key, []).append(fid)
        # Tuples of ints: the garbage collector stops looking at them.
        self._deletes = {key: tuple(fids) for key, fids in deletes.items()}
        self._legal_words = self.tables.legal_words
        self._addresses: dict[int, frozenset[str]] = {}
        self._arrays: dict[int, tuple[NDArray[np.float32], NDArray[np.float32],
                                      NDArray[np.float32]]] = {}
        self._person = [(e.type or "").lower() in PERSON_TYPES for e in self.entries]

    def __len__(self) -> int:
        """The number of distinct names (names and aliases) held."""
        return len(self._name_text)

    # -- searching ---------------------------------------------------------

    def search(self, name: str, *, country: str | None = None, address: str | None = None,
               limit: int = DEFAULT_LIMIT) -> list[Hit]:
        """Every entry whose name or alias scores at least ``review``, best first.

        ``country`` (ISO alpha-2) and ``address`` are the party's; they raise
        or qualify a name match, never make one. At most ``limit`` hits.
        """
        party = self.tables.normalise(name)
        if not party.tokens or not self._name_text or limit < 1:
            return []
        country = country.strip().upper() if country else None
        floor = max(self.review - (COUNTRY_POINTS if country else 0.0)
                    - (ADDRESS_POINTS if address else 0.0), 1.0) / 100.0
        cache: dict[str, _Word] = {}
        best: dict[int, _Best] = {}
        sure: dict[int, float] = {}  # per entry found: the least its final score can be
        slack = (COUNTRY_POINTS if country else 0.0) + (ADDRESS_POINTS if address else 0.0)
        top: list[float] = []  # the `limit` largest of `sure`, a min-heap
        for tokens, resplit in self._segmentations(party):
            words = _claimed([cache.get(t) or cache.setdefault(t, self._word(t))
                              for t in tokens])
            names, bounds = self._candidates(words, floor)
            penalty = RESPLIT_PENALTY if resplit else 0.0
            for k in np.argsort(-bounds, kind="stable"):
                # Names come best bound first: once `limit` entries are sure to
                # rank above anything the rest can score, the rest cannot change
                # the answer.
                if len(top) >= limit and top[0] >= 100.0 * float(bounds[k]) - penalty + slack:
                    break
                nid = int(names[k])
                score, matched, near, extra = self._score(words, self._name_words[nid])
                score -= penalty
                entry_number = int(self._name_entry[nid])
                held = best.get(entry_number)
                if held is None or score > held.score:
                    best[entry_number] = _Best(score, nid, matched, near, resplit, extra)
                    person = party.organisation and self._person[entry_number]
                    sure[entry_number] = score - (PERSON_PENALTY if person else 0.0)
                    if held is None:
                        heapq.heappush(top, sure[entry_number])
                        if len(top) > limit:
                            heapq.heappop(top)
                    else:  # an entry found again by a better name: rare, count afresh
                        top = heapq.nlargest(limit, sure.values())
                        heapq.heapify(top)
        hits = []
        party_address = None
        if address:
            spelt = self.tables.words(address)
            party_address = frozenset(spelt) | {"postal:" + w for w in spelt}
        for entry_number, found in best.items():
            hit = self._hit(self.entries[entry_number], found, party.organisation,
                            country, party_address)
            if hit is not None:
                hits.append(hit)
        hits.sort(key=lambda h: (-h.score, h.entry.list, h.entry.id))
        return hits[:limit]

    def _hit(self, entry: Entry, found: _Best, organisation: bool, country: str | None,
             address: frozenset[str] | None) -> Hit | None:
        """The name score with the supporting evidence; None below the review threshold."""
        name_score = found.score
        why = [f"name scores {found.score:.1f} against {self._name_text[found.name]!r}"
               + (f" (words {', '.join(found.words)})" if found.words else "")]
        if organisation and (entry.type or "").lower() in PERSON_TYPES:
            name_score -= PERSON_PENALTY
            why.append(f"the party names an organisation, the entry a person "
                       f"(-{PERSON_PENALTY:g})")
        score = name_score
        other_country = False
        countries = entry.countries
        if country and countries:
            if country in countries:
                score += COUNTRY_POINTS
                why.append(f"country {country} is among the entry's addresses "
                           f"(+{COUNTRY_POINTS:g})")
            else:
                other_country = True
                why.append(f"country {country} is not among the entry's addresses "
                           f"({', '.join(sorted(countries))})")
        if address:
            shared = self._shared_address(entry, found.name, address)
            if shared:
                score += ADDRESS_POINTS
                why.append(f"address shares {', '.join(shared)} (+{ADDRESS_POINTS:g})")
        score = round(min(score, 100.0), 1)
        if score < self.review:
            return None
        status = "hit" if score >= self.hit else "possible"
        if status == "hit" and other_country and name_score < self.hit + OTHER_COUNTRY_MARGIN:
            status = "possible"
            why.append("borderline in another country: a person must look")
        if found.near:
            why.append(f"near spellings: {', '.join(found.near)}")
        if found.resplit:
            why.append(f"found with the party's words {found.resplit}")
        if status == "hit" and (found.near or found.resplit == "joined"):
            status = "possible"
            why.append("a near spelling or joined words: a person must look")
        if status == "hit" and found.extra and found.name in self._acronyms:
            status = "possible"
            why.append("the listed acronym is one word of the party's name: a person must look")
        return Hit(entry=entry, matched=self._name_text[found.name], score=score,
                   status=status, why=tuple(why))

    # -- the steps ---------------------------------------------------------

    def _weight(self, word: str) -> float:
        if len(word) == 1 and not word.isdigit():
            return 0.0  # an initial: supporting only
        return GENERIC_WEIGHT if word in self.tables.generic else 1.0

    def _word(self, text: str) -> _Word:
        """A word of the party's name with the list's words it matches (itself, near spellings).

        A word the list does not hold takes the weight of the list's word
        it is nearest to (a misspelt company word is still a company word);
        it matches only words of that weight, so the bound in `_candidates`
        holds.
        """
        weight = self._weight(text)
        own = self._vocab.get(text)
        matches: dict[int, float] = {} if own is None else {own: 1.0}
        if len(text) >= FUZZY_MIN_LENGTH and weight > 0 and not text.isdigit():
            forms: set[int] = set(self._deletes.get(text, ()))
            for i in range(len(text)):
                key = text[:i] + text[i + 1:]
                fid = self._form_id.get(key)
                if fid is not None:
                    forms.add(fid)
                forms.update(self._deletes.get(key, ()))
            best: dict[int, float] = {}
            for fid in forms:
                form = self._forms[fid]
                tid = self._form_word[fid]
                if tid != own and len(form) >= FUZZY_MIN_LENGTH:
                    similarity = fuzz.ratio(text, form, score_cutoff=FUZZY_MIN) / 100.0
                    if similarity > best.get(tid, 0.0):
                        best[tid] = similarity
            scored = [(similarity, tid) for tid, similarity in best.items()]
            if scored and own is None:
                weight = float(self._weights[max(scored)[1]])
            same = sorted(((similarity, tid) for similarity, tid in scored
                           if self._weights[tid] == np.float32(weight)), reverse=True)
            matches.update((tid, similarity) for similarity, tid in same[:NEAR_MAX])
        return _Word(text, weight, np.float32(weight) == np.float32(GENERIC_WEIGHT), matches)

    def _segmentations(self, party: Name) -> list[tuple[tuple[str, ...], str]]:
        """The party's words; joined where together they are a word of the list ("Hua Wei",
        "Rosoboron Export"); split where a word is two ("HuaweiTechnologies",
        "StockCompany")."""
        out = [(party.tokens, "")]
        words = party.words
        synonyms = self.tables.synonyms
        joined: list[str] = []
        i = 0
        while i < len(words):
            for size in (3, 2, 1):
                word = "".join(words[i:i + size])
                if size == 1 or (i + size <= len(words)
                                 and synonyms.get(word, word) in self._vocab):
                    joined.append(word)
                    i += size
                    break
        if len(joined) < len(words):
            keys, _ = self.tables.keys(joined)
            if keys and keys != party.tokens:
                out.append((keys, "joined"))
        split: list[str] = []
        for word in words:
            split.extend(self._split(word))
        if len(split) > len(words):
            keys, _ = self.tables.keys(split)  # "joint stock" + "company": a legal form
            if keys and keys != party.tokens:
                out.append((keys, "split"))
        return out

    def _split(self, token: str) -> list[str]:
        """A word not in the list written as two that are ("huaweitechnologies", "zagrosco").

        Either part may be a legal form or a stopword, then dropped; a letter
        at the cut may have been one of a doubled pair ("antonnikolaevich"
        became "antonikolaevich").
        """
        if self.tables.synonyms.get(token, token) in self._vocab or len(token) < 5:
            return [token]
        for doubled in (0, 1):  # "antonikolaevich" only if no plain cut works
            best: list[str] = [token]
            balance = 0
            for cut in range(2, len(token) - 1):
                left, right = token[:cut], token[cut - doubled:]
                if self._known(left) is None or self._known(right) is None:
                    continue
                if min(len(left), len(right)) > balance:
                    best, balance = [left, right], min(len(left), len(right))
            if balance:
                return best
        return [token]

    def _known(self, text: str) -> str | None:
        """A part of a split word: "word" for a word of the list, "" for one of a legal form
        or a stopword, None for neither."""
        if self.tables.synonyms.get(text, text) in self._vocab:
            return "word"
        if text in self.tables.stopwords or text in self._legal_words:
            return ""
        return None

    def _candidates(self, words: Sequence[_Word],
                    floor: float) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
        """The names whose score can reach ``floor`` (0..1): an upper bound, per name, in numpy.

        ``matched`` sums, per name, the weight of the party's words it holds
        (at most the weight matched word by word, so the bound is safe);
        ``own`` the part of it that is not company words.
        """
        total = float(sum(w.weight for w in words))
        if total <= 0:
            return np.empty(0, dtype=np.int32), np.empty(0, dtype=np.float32)
        matched, own, best = self._scratch()
        matched.fill(0)
        own.fill(0)
        for word in words:
            if word.weight <= 0 or not word.matches:
                continue
            if len(word.matches) == 1:
                ((tid, similarity),) = word.matches.items()
                post = self._postings[tid]
                gain = np.float32(word.weight * similarity)
                matched[post] += gain
                if not word.generic:
                    own[post] += gain
                continue
            # Near spellings: a name holding several counts the best once.
            posts = [self._postings[tid] for tid in word.matches]
            post = np.concatenate(posts)
            gains = np.repeat(np.array([word.weight * s for s in word.matches.values()],
                                       dtype=np.float32), [len(p) for p in posts])
            np.maximum.at(best, post, gains)
            matched[post] += best[post]  # once per name: fancy += does not repeat
            if not word.generic:
                own[post] += best[post]
            best[post] = 0
        # A name below `least` cannot score `floor` even if it holds none of
        # the words the party lacks (Tversky with the entry's term left out).
        beta = UNMATCHED_PARTY
        least = floor * beta * total / (1 - floor + floor * beta)
        names = np.flatnonzero(matched >= least - 1e-6).astype(np.int32)
        if not len(names):
            return names, np.empty(0, dtype=np.float32)
        m = matched[names]
        generic_only = own[names] <= 0
        alpha = np.where(generic_only, 1.0, UNMATCHED_ENTRY)
        if any(w.weight == 0 for w in words):
            alpha = np.where(generic_only, 1.0, 0.0)  # an initial may stand for a word
        beta_each = np.where(generic_only, 1.0, beta)
        entry_left = np.maximum(self._name_weight[names] - m, 0)
        party_left = np.maximum(total - m, 0)
        bound = m / (m + alpha * entry_left + beta_each * party_left)
        keep = bound >= floor - 1e-6
        kept: NDArray[np.int32] = names[keep]
        bounds: NDArray[np.float32] = bound[keep].astype(np.float32)
        return kept, bounds

    def _scratch(self) -> tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.float32]]:
        """Three arrays of one float per name, this thread's own (a search allocates none)."""
        arrays = self._arrays.get(threading.get_ident())
        if arrays is None:
            size = len(self._name_text)
            arrays = (np.zeros(size, dtype=np.float32), np.zeros(size, dtype=np.float32),
                      np.zeros(size, dtype=np.float32))
            self._arrays[threading.get_ident()] = arrays
        return arrays

    def _score(self, words: Sequence[_Word],
               name: tuple[int, ...]) -> tuple[float, tuple[str, ...], tuple[str, ...], bool]:
        """The name score (0..100) of the party's words against one listed name, word by word."""
        pairs = sorted(((similarity, qi, tid) for qi, word in enumerate(words)
                        for tid in name if (similarity := word.matches.get(tid))),
                       reverse=True)
        used_party: set[int] = set()
        used_entry: set[int] = set()
        matched = own = 0.0
        shown: list[str] = []
        near: list[str] = []
        for similarity, qi, tid in pairs:
            if qi in used_party or tid in used_entry:
                continue
            used_party.add(qi)
            used_entry.add(tid)
            gain = words[qi].weight * similarity
            matched += gain
            if not words[qi].generic and gain > 0:
                own += gain
            shown.append(self._words[tid])
            if similarity < 1.0 and not words[qi].generic:
                near.append(f"{words[qi].text} ~ {self._words[tid]}")
        entry_weight = float(sum(self._weights[tid] for tid in name))
        entry_left = entry_weight - matched
        party_left = sum(w.weight for w in words) - matched
        # Initials: "Ivan P. Sidorov" for "Ivan Petrovich Sidorov", either way round.
        for qi, word in enumerate(words):
            if word.weight == 0 and qi not in used_party:
                for tid in name:
                    if tid not in used_entry and self._words[tid].startswith(word.text):
                        used_entry.add(tid)
                        entry_left -= 0.5 * float(self._weights[tid])
                        break
        for tid in name:
            if self._weights[tid] == 0 and tid not in used_entry:
                letter = self._words[tid]
                for qi, word in enumerate(words):
                    if qi not in used_party and word.text.startswith(letter):
                        used_party.add(qi)
                        party_left -= 0.5 * word.weight
                        break
        if matched <= 0:
            return 0.0, (), (), False
        alpha, beta = ((1.0, 1.0) if own <= 0 else (UNMATCHED_ENTRY, UNMATCHED_PARTY))
        score = matched / (matched + alpha * max(entry_left, 0.0)
                           + beta * max(party_left, 0.0))
        return 100.0 * score, tuple(shown), tuple(near), party_left > 1e-6

    def _shared_address(self, entry: Entry, name: int,
                        party_words: frozenset[str]) -> tuple[str, ...]:
        """Words of the party's address found in the entry's: two of them, or its postal code.

        The entry's address words are read the first time the entry is hit
        (most entries never are); a race between threads writes the same value.
        """
        number = int(self._name_entry[name])
        listed = self._addresses.get(number)
        if listed is None:
            words: set[str] = set()
            for a in entry.addresses:
                for part in (a.address, a.city, a.state):
                    if part:
                        words.update(w for w in self.tables.words(part) if len(w) >= 4)
                if a.postal_code:
                    words.add("postal:" + "".join(self.tables.words(a.postal_code)))
            listed = frozenset(w for w in words if w not in self.tables.generic)
            self._addresses[number] = listed
        shared = sorted(w.removeprefix("postal:") for w in party_words & listed)
        if len(shared) >= 2 or any(w.startswith("postal:") for w in party_words & listed):
            return tuple(shared)
        return ()
