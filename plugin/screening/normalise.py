"""Names as the screening index compares them: Latin letters, words, no legal form.

A party's name and a list entry's name are compared after the same steps,
in this order:

1. Unicode compatibility forms folded (NFKC: full-width letters, ligatures).
2. Chinese written in Han characters becomes what the lists write: the words
   the lists translate (技术 "technology", 中国 "China"), places as one pinyin
   word (深圳 "Shenzhen"), legal forms dropped (有限公司), ordinals as numbers
   (第十四 "14"), and every other run of characters as one pinyin word
   (华为 "huawei"), as the lists write a name. A plain transliteration would
   give ``HuaWeiJiShuYouXianGongSi`` for 华为技术有限公司; the lists write
   "Huawei Technologies Co., Ltd.".
3. Everything else in Latin letters with `anyascii` (Cyrillic, Greek, Arabic,
   accented letters: "ООО «Ромашка»" -> "OOO <<Romashka>>"). anyascii rather
   than unidecode: ISC licence (unidecode is GPL, which a library linked into
   a company's order path should not carry), and its tables cover CJK and
   every other script, the supplementary planes included. Arabic and Persian
   script come out without their short vowels ("شركة" -> "shrkh"), which the
   lists write: a name in that script rarely matches its listed spelling.
4. Lower case; dotted initials joined ("L.L.C." -> "llc", "S.A." -> "sa");
   apostrophes dropped ("Int'l", "ob'edinenie"); any other punctuation is a
   word break ("Almaz-Antey" -> "almaz antey"); ordinals as numbers ("14th").
5. Each word through the spelling rules transliterations differ in ("Yuriy",
   "Yurii" and "Yuri" become one word; "Eksport" and "Export"), doubled
   letters single in words of four letters or more.
6. Legal forms dropped wherever they stand (Co., Ltd., LLC, GmbH, JSC, OOO,
   "Obshchestvo s ogranichennoy otvetstvennostyu", ...), the longest first;
   company words written several ways made one ("Tech", "Technologies");
   words that carry nothing dropped ("of", "the", "No.").

Word order is not kept for comparing: the index compares the words as a
set. The tables (legal forms, Han words, synonyms, company words, stopwords,
spelling rules) are data, in ``exportgate/data/screening_names.yaml``, read
once per process.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from anyascii import anyascii

from .. import _yaml
from .._exceptions import ConfigError

DATA = "data/screening_names.yaml"
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_HAN_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
               "七": 7, "八": 8, "九": 9}
_HAN_NUMERAL = set(_HAN_DIGITS) | {"十", "百"}
_INITIALS = re.compile(r"\b(?:[a-z]\.){1,}[a-z]\b\.?")
_APOSTROPHE = re.compile(r"['`\u2019]")
_BREAK = re.compile(r"[^a-z0-9]+")
_ORDINAL = re.compile(r"^(\d+)(?:st|nd|rd|th)$")
_DOUBLE = re.compile(r"(.)\1+")


@dataclass(frozen=True)
class Name:
    """A name as the index compares it.

    ``tokens`` are comparison keys, each once, in the order they stand
    (spelling rules applied: keys, not spellings to show); ``text`` is them
    joined by spaces. ``organisation`` says the name carried a legal form or
    a company word, so it names an organisation rather than a person.
    ``words`` are the name's words before step 6 (legal forms still in): the
    index joins or splits them when a space is missing or extra.
    """

    text: str
    tokens: tuple[str, ...]
    organisation: bool
    words: tuple[str, ...] = ()


@dataclass(frozen=True)
class Tables:
    """The data the normaliser works from (see ``screening_names.yaml``)."""

    legal: Mapping[str, tuple[tuple[str, ...], ...]]  # first word -> forms, longest first
    han: Mapping[str, str]
    han_longest: int
    synonyms: Mapping[str, str]
    generic: frozenset[str]
    stopwords: frozenset[str]
    spellings: tuple[tuple[str, str], ...]

    @classmethod
    def from_doc(cls, doc: Any, what: str) -> Tables:
        """Tables from the YAML document; `ConfigError` naming the field that is wrong."""
        if not isinstance(doc, dict):
            raise ConfigError(f"{what}: expected a mapping at the top")

        def strings(key: str) -> list[str]:
            value = doc.get(key)
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{what}: {key}: expected a list of strings")
            return list(value)

        spellings_doc = doc.get("spellings")
        if not isinstance(spellings_doc, list) or not all(
                isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) and x for x in p)
                for p in spellings_doc):
            raise ConfigError(f"{what}: spellings: expected a list of [from, to] pairs")
        han_doc = doc.get("han")
        if not isinstance(han_doc, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in han_doc.items()):
            raise ConfigError(f"{what}: han: expected a mapping of Han words to Latin words")
        synonyms_doc = doc.get("synonyms")
        if not isinstance(synonyms_doc, dict) or not all(
                isinstance(k, str) and isinstance(v, list) and all(isinstance(x, str) for x in v)
                for k, v in synonyms_doc.items()):
            raise ConfigError(f"{what}: synonyms: expected a mapping of a word to its spellings")

        bare = cls({}, {}, 1, {}, frozenset(), frozenset(),
                   tuple((a, b) for a, b in spellings_doc))
        legal: dict[str, list[tuple[str, ...]]] = {}
        for form in strings("legal_forms"):
            words = tuple(bare.words(form))
            if not words:
                raise ConfigError(f"{what}: legal_forms: {form!r} has no letters")
            legal.setdefault(words[0], []).append(words)
        synonyms: dict[str, str] = {}
        for word, spellings in synonyms_doc.items():
            spelt_key = bare.words(word)
            if len(spelt_key) != 1:
                raise ConfigError(f"{what}: synonyms: {word!r} is not one word")
            key = spelt_key[0]
            for spelling in spellings:
                spelt = bare.words(spelling)
                if len(spelt) == 1:
                    synonyms[spelt[0]] = key
        generic = {" ".join(bare.words(w)) for w in strings("generic")}
        generic |= {w for g in list(generic) for w in g.split()}  # "hong kong"
        return cls(
            legal={k: tuple(sorted(v, key=len, reverse=True)) for k, v in legal.items()},
            han=dict(han_doc), han_longest=max(map(len, han_doc), default=1),
            synonyms=synonyms,
            generic=frozenset(synonyms.get(g, g) for g in generic),
            stopwords=frozenset(w for s in strings("stopwords") for w in bare.words(s)),
            spellings=bare.spellings)

    # -- the steps ---------------------------------------------------------

    def latin(self, name: str) -> str:
        """Steps 1-3: the name in Latin letters, Han words as the lists write them."""
        text = unicodedata.normalize("NFKC", name)
        if _HAN.search(text):
            text = _HAN.sub(lambda m: f" {self._han_run(m.group())} ", text)
        return anyascii(text)

    def words(self, name: str) -> list[str]:
        """Steps 1-5: the name's words, spelling rules applied (legal forms still in)."""
        text = self.latin(name).lower()
        text = _INITIALS.sub(lambda m: m.group().replace(".", ""), text)
        text = _APOSTROPHE.sub("", text)
        out = []
        for word in _BREAK.split(text):
            if not word:
                continue
            ordinal = _ORDINAL.match(word)
            if ordinal:
                out.append(ordinal.group(1))
                continue
            for old, new in self.spellings:
                if old in word:
                    word = word.replace(old, new)
            if len(word) >= 4:
                word = _DOUBLE.sub(r"\1", word)
            out.append(word)
        return out

    def _han_run(self, run: str) -> str:
        """A run of Han characters as the lists write it (step 2)."""
        out: list[str] = []
        pinyin: list[str] = []

        def flush() -> None:
            if pinyin:
                out.append("".join(pinyin))
                pinyin.clear()

        i = 0
        while i < len(run):
            if run[i] == "第":  # 第十四 -> 14
                j = i + 1
                while j < len(run) and run[j] in _HAN_NUMERAL:
                    j += 1
                if j > i + 1:
                    flush()
                    out.append(str(_han_number(run[i + 1:j])))
                    i = j
                    continue
            for size in range(min(self.han_longest, len(run) - i), 0, -1):
                word = self.han.get(run[i:i + size])
                if word is not None:
                    flush()
                    if word:
                        out.append(word)
                    i += size
                    break
            else:
                pinyin.append(anyascii(run[i]))
                i += 1
        flush()
        return " ".join(out)

    def normalise(self, name: str) -> Name:
        """The name as the index compares it (every step)."""
        words = self.words(name)
        tokens, organisation = self.keys(words)
        if not tokens:  # a name that is nothing but a legal form or stopwords
            tokens = self._synonyms(words) or tuple(dict.fromkeys(words))
        organisation = organisation or any(t in self.generic for t in tokens)
        return Name(" ".join(tokens), tokens, organisation, tuple(words))

    def keys(self, words: Sequence[str]) -> tuple[tuple[str, ...], bool]:
        """Step 6 on spelt words: legal forms dropped, synonyms made one, stopwords dropped.

        Also the index's, on a party's words it has split ("companyavtosnab").
        Says whether a legal form was dropped.
        """
        kept: list[str] = []
        organisation = False
        i = 0
        while i < len(words):
            for form in self.legal.get(words[i], ()):
                if tuple(words[i:i + len(form)]) == form:
                    organisation = True
                    i += len(form)
                    break
            else:
                kept.append(words[i])
                i += 1
        return self._synonyms(kept), organisation

    @property
    def legal_words(self) -> frozenset[str]:
        """Every word that is part of a legal form ("joint", "stock", "company", "llc")."""
        return frozenset(w for forms in self.legal.values() for form in forms for w in form)

    def _synonyms(self, words: Iterable[str]) -> tuple[str, ...]:
        out: dict[str, None] = {}
        for word in words:
            word = self.synonyms.get(word, word)
            if word not in self.stopwords:
                out[word] = None
        return tuple(out)


def _han_number(numeral: str) -> int:
    """十四 -> 14, 二十 -> 20, 一百零八 -> 108, 三八 -> 38."""
    if "十" not in numeral and "百" not in numeral:
        return int("".join(str(_HAN_DIGITS[c]) for c in numeral))
    total = current = 0
    for char in numeral:
        if char == "百":
            total += (current or 1) * 100
            current = 0
        elif char == "十":
            total += (current or 1) * 10
            current = 0
        else:
            current = _HAN_DIGITS[char]
    return total + current


@lru_cache(maxsize=1)
def tables() -> Tables:
    """The built-in tables, read once per process."""
    text = resources.files("exportgate").joinpath(DATA).read_text("utf-8")
    return Tables.from_doc(_yaml.loads(text, DATA), DATA)


def normalise(name: str) -> Name:
    """A party's or an entry's name as the index compares it (the built-in tables)."""
    return tables().normalise(name)
