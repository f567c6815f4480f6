"""Names as the index compares them: spellings of one name become one set of words."""
from __future__ import annotations

import re

import pytest
from anyascii import anyascii
from hypothesis import given, settings
from hypothesis import strategies as st

from exportgate._exceptions import ConfigError
from exportgate.screening.normalise import Tables, normalise, tables


def words(name: str) -> set[str]:
    return set(normalise(name).tokens)


@pytest.mark.parametrize(("one", "other"), [
    # Chinese in Han characters, as the lists write it in Latin letters
    ("华为技术有限公司", "Huawei Technologies Co., Ltd."),
    ("中国电子科技集团公司", "China Electronics Technology Group Corporation"),
    ("中国电子科技集团公司第十四研究所",
     "China Electronics Technology Group Corporation 14th Research Institute"),
    ("中国电子科技集团公司第三十八研究所",
     "China Electronics Technology Group Corp. No. 38 Research Institute"),
    ("北京航空航天大学", "Beijing University of Aeronautics and Astronautics"),
    ("深圳市江波龙电子股份有限公司", "Shenzhen Jiangbolong Electronics Co., Ltd."),
    # Cyrillic, legal forms in Russian and in English
    ("ООО «Ромашка»", "OOO Romashka"),
    ("Общество с ограниченной ответственностью Ромашка", "Romashka LLC"),
    ("Акционерное общество «Концерн ВКО «Алмаз – Антей»",
     "Joint Stock Company Concern VKO Almaz-Antey"),
    ("ПАО Сбербанк России", "Public Joint Stock Company Sberbank of Russia"),
    ("НПО «Сплав»", "Scientific Production Association Splav"),
    # Persons: word order, transliterations
    ("SIDOROV, Yuriy Petrovich", "Юрий Петрович Сидоров"),
    ("Yurii Sidorov", "Yuri Sidorov"),
    ("KOZLOV, Dmitriy Aleksandrovich", "Kozlov Dmitry Alexandrovich"),
    ("Mohammad Reza", "Muhammad Reza"),
    ("Seyed Ali", "Sayyed Ali"),
    ("Mahmoud", "Mahmud"),
    # Diacritics, punctuation, abbreviations, legal forms
    ("Müller GmbH & Co. KG", "MULLER"),
    ("Société Générale S.A.", "Societe Generale"),
    ("Int'l Trading L.L.C.", "International Trading LLC"),
    ("Huawei Technologies Co.,Ltd.", "HUAWEI TECHNOLOGIES COMPANY LIMITED"),
    ("Semiconductor Mfg. Int'l Corp.", "Semiconductor Manufacturing International"),
    ("Hikvision Digital Tech", "Hikvision Digital Technologies"),
    ("Rosoboroneksport", "Rosoboronexport"),
    ("Almaz-Antey", "Almaz Antey"),
    ("Khatam al-Anbiya Construction HQ", "Khatam Al Anbiya Construction Headquarters"),
    ("Sherkat-e Sanaye Electronic Iran", "Iran Electronic Industries"),
])
def test_spellings_of_one_name_are_one_set_of_words(one: str, other: str) -> None:
    assert words(one) == words(other)


@pytest.mark.parametrize(("one", "other"), [
    ("China Electronics Technology", "China Electronic Trading"),
    ("Huawei Technologies", "Huawen Technologies"),
    ("SIDOROV, Yuriy", "SIDOROV, Aleksei"),
    ("OOO Sertal", "OOO Sertex"),
])
def test_different_names_stay_different(one: str, other: str) -> None:
    assert words(one) != words(other)


def test_a_plain_transliteration_is_not_how_the_lists_write_chinese() -> None:
    # Why Han words have a table (the module's docstring shows this).
    assert anyascii("华为技术有限公司") == "HuaWeiJiShuYouXianGongSi"
    assert words(anyascii("华为技术有限公司")) != words("Huawei Technologies Co., Ltd.")
    assert words("华为技术有限公司") == words("Huawei Technologies Co., Ltd.")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_text_normalises_to_latin_keys(text: str) -> None:
    name = normalise(text)
    assert all(re.fullmatch(r"[a-z0-9]+", t) for t in name.tokens)
    assert len(set(name.tokens)) == len(name.tokens)


def test_han_characters_become_pinyin_words_as_the_lists_write_them() -> None:
    # Characters no table holds: one word per run, not a syllable each.
    assert normalise("华为").tokens == normalise("Huawei").tokens
    assert len(normalise("华为").tokens) == 1
    assert normalise("第一百零八研究所").tokens == normalise("108th Research Institute").tokens


def test_a_legal_form_makes_an_organisation_a_person_has_none() -> None:
    assert normalise("OOO Romashka").organisation
    assert normalise("株式会社東芝").organisation
    assert normalise("China Trading").organisation  # company words
    assert not normalise("SIDOROV, Yuriy Petrovich").organisation


def test_a_name_that_is_only_a_legal_form_keeps_its_words() -> None:
    assert normalise("Limited").tokens
    assert normalise("Company Limited").tokens


def test_text_is_the_tokens_joined_and_words_keep_the_legal_form() -> None:
    name = normalise("OOO Romashka Trading")
    assert name.text == " ".join(name.tokens)
    assert len(name.words) == 3 and len(name.tokens) == 2


def test_an_empty_or_punctuation_only_name_has_no_words() -> None:
    assert normalise("").tokens == ()
    assert normalise(" -- ,. ").tokens == ()


def _doc(**changes: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "legal_forms": ["ltd", "xyzco"], "han": {"公司": "Co."}, "synonyms": {"tech": ["tek"]},
        "generic": ["tech"], "stopwords": ["of"], "spellings": [["y", "i"]]}
    doc.update(changes)
    return doc


def test_the_tables_are_data_a_legal_form_added_there_is_dropped() -> None:
    custom = Tables.from_doc(_doc(), "custom")
    assert custom.normalise("Acme XyzCo").tokens == ("acme",)
    assert custom.normalise("Acme Tek").tokens == ("acme", "tech")
    assert "tech" in custom.generic
    assert len(tables().normalise("Acme XyzCo").tokens) == 2  # not built in


@pytest.mark.parametrize(("changes", "field"), [
    ({"legal_forms": "ltd"}, "legal_forms"),
    ({"legal_forms": ["..."]}, "legal_forms"),
    ({"spellings": [["y"]]}, "spellings"),
    ({"han": ["公司"]}, "han"),
    ({"synonyms": {"two words": ["x"]}}, "synonyms"),
    ({"synonyms": {"tech": "tek"}}, "synonyms"),
    ({"stopwords": [1]}, "stopwords"),
])
def test_tables_that_are_wrong_are_refused_naming_the_field(changes: dict[str, object],
                                                            field: str) -> None:
    with pytest.raises(ConfigError, match=f"custom: {field}"):
        Tables.from_doc(_doc(**changes), "custom")


def test_tables_are_read_once_per_process() -> None:
    assert tables() is tables()
