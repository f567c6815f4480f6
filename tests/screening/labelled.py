"""A labelled set for screening names: a list in the lists' styles, true variants, near-misses.

`ENTRIES` is a small list written as the Consolidated Screening List writes
names (Chinese and Russian companies, Iranian organisations, persons as
"SURNAME, Given"). `variants()` gives the spellings under which a party of
each entry comes in (abbreviations, legal-form changes, transliterations from
Cyrillic and Chinese characters, reordered words, aliases, punctuation and
diacritics, missing spaces, misspellings), each with the entry it must find;
`NEAR_MISSES` are other companies and persons that share words with an entry
and must not be taken for it.
"""
from __future__ import annotations

from dataclasses import dataclass

from exportgate.screening.model import Address, Entry


def _entry(id: str, list_: str, name: str, aliases: tuple[str, ...] = (),
           type_: str = "Entity", countries: tuple[str, ...] = ("CN",),
           city: str | None = None) -> Entry:
    return Entry(id=id, list=list_, source=list_, name=name, alt_names=aliases, type=type_,
                 addresses=tuple(Address(city=city, country=c) for c in countries))


ENTRIES: tuple[Entry, ...] = (
    _entry("EL-1", "EL", "Huawei Technologies Co., Ltd.", ("Huawei",), city="Shenzhen"),
    _entry("EL-2", "EL", "China Electronics Technology Group Corporation", ("CETC",)),
    _entry("EL-3", "EL", "China Electronics Technology Group Corporation 14th Research "
           "Institute (CETC 14)", ("Nanjing Research Institute of Electronics Technology",)),
    _entry("EL-4", "EL", "China Electronics Technology Group Corporation 38th Research "
           "Institute (CETC 38)", ("East China Research Institute of Electronic Engineering",)),
    _entry("EL-5", "EL", "Semiconductor Manufacturing International Corporation", ("SMIC",)),
    _entry("EL-6", "EL", "Hangzhou Hikvision Digital Technology Co., Ltd.", ("Hikvision",)),
    _entry("EL-7", "EL", "Zhejiang Dahua Technology Co., Ltd.", ("Dahua Technology",)),
    _entry("EL-8", "EL", "Beijing University of Aeronautics and Astronautics",
           ("Beihang University", "BUAA")),
    _entry("EL-9", "EL", "Harbin Institute of Technology", ("HIT",)),
    _entry("EL-10", "EL", "Inspur Group Co., Ltd.", ("Inspur",)),
    _entry("EL-11", "EL", "Sugon Information Industry Co., Ltd.",
           ("Dawning Information Industry Co., Ltd.",)),
    _entry("EL-12", "EL", "Shanghai Micro Electronics Equipment (Group) Co., Ltd.",
           ("SMEE",)),
    _entry("EL-13", "EL", "Yangtze Memory Technologies Co., Ltd.", ("YMTC",)),
    _entry("EL-14", "EL", "Hefei Bitland Information Technology Co., Ltd."),
    _entry("EL-15", "EL", "Tianjin Phytium Information Technology Co., Ltd.",
           ("Phytium Technology Co., Ltd.",)),
    _entry("EL-16", "EL", "National University of Defense Technology", ("NUDT",)),
    _entry("EL-17", "EL", "China Academy of Engineering Physics", ("CAEP",)),
    _entry("EL-18", "EL", "Zhongxing Telecommunication Equipment Corporation",
           ("ZTE Corporation", "ZTE")),
    _entry("EL-19", "EL", "Shenzhen Jiangbolong Electronics Technology Co., Ltd.",
           city="Shenzhen"),
    _entry("EL-20", "EL", "Chengdu Haiguang Integrated Circuit Design Co., Ltd.",
           ("Hygon",)),
    _entry("EL-21", "EL", "Xian Aisheng Technology Group", ("Xi'an ASN Technology Group",)),
    _entry("EL-22", "EL", "Wuhan Mailun Optoelectronic Technology Co., Ltd."),
    _entry("SDN-1", "SDN", "Joint Stock Company Concern VKO Almaz-Antey",
           ("Almaz-Antey Air and Space Defense Corporation", "Almaz-Antey"), countries=("RU",)),
    _entry("SDN-2", "SDN", "Rosoboronexport", ("JSC Rosoboronexport", "ROE"),
           countries=("RU",)),
    _entry("EL-23", "EL", "Limited Liability Company Sertal", ("OOO Sertal",),
           countries=("RU",)),
    _entry("EL-24", "EL", "Joint Stock Company Mikron", ("AO Mikron", "Mikron"),
           countries=("RU",)),
    _entry("SDN-3", "SDN", "Public Joint Stock Company Sberbank of Russia", ("Sberbank",),
           countries=("RU",)),
    _entry("SDN-4", "SDN", "Federal State Unitary Enterprise Dukhov Automatics Research "
           "Institute", ("VNIIA", "FGUP VNIIA"), countries=("RU",)),
    _entry("SDN-5", "SDN", "Joint Stock Company Scientific Production Association Splav",
           ("NPO Splav",), countries=("RU",)),
    _entry("SDN-6", "SDN", "Kazan Helicopter Plant", ("Kazanskiy Vertoletnyy Zavod",),
           countries=("RU",)),
    _entry("SDN-7", "SDN", "Joint Stock Company Elara", ("AO Elara",), countries=("RU",)),
    _entry("SDN-8", "SDN", "Joint Stock Company Tactical Missiles Corporation", ("KTRV",),
           countries=("RU",)),
    _entry("SDN-9", "SDN", "Iran Electronics Industries",
           ("IEI", "Sanaye Electronic Iran"), countries=("IR",)),
    _entry("SDN-10", "SDN", "Mahan Air", ("Mahan Airlines", "Mahan Air Company"),
           countries=("IR",)),
    _entry("SDN-11", "SDN", "Shahid Hemmat Industrial Group", ("SHIG",), countries=("IR",)),
    _entry("SDN-12", "SDN", "Islamic Revolutionary Guard Corps", ("IRGC",),
           countries=("IR",)),
    _entry("SDN-13", "SDN", "Khatam al-Anbiya Construction Headquarters", ("KAA",),
           countries=("IR",)),
    _entry("SDN-14", "SDN", "Parchin Chemical Industries", countries=("IR",)),
    _entry("SDN-15", "SDN", "Pars Aviation Services Company", ("PASC",), countries=("IR",)),
    _entry("SDN-16", "SDN", "Korea Mining Development Trading Corporation", ("KOMID",),
           countries=("KP",)),
    _entry("SDN-17", "SDN", "Kalashnikov Concern", ("Concern Kalashnikov JSC",),
           countries=("RU",)),
    _entry("SDN-20", "SDN", "SIDOROV, Yuriy Petrovich", ("SIDOROV, Yury",),
           type_="Individual", countries=("RU",)),
    _entry("SDN-21", "SDN", "KOZLOV, Dmitriy Aleksandrovich", type_="Individual",
           countries=("RU",)),
    _entry("SDN-22", "SDN", "ZHANG, Wei", type_="Individual"),
    _entry("SDN-23", "SDN", "LI, Xiaoming", type_="Individual"),
    _entry("SDN-24", "SDN", "MOHAMMADI, Mohammad Reza", ("MOHAMADI, Mohamad Reza",),
           type_="Individual", countries=("IR",)),
    _entry("SDN-25", "SDN", "HOSSEINI, Seyed Ali", ("HOSSEINI, Sayyed Ali",),
           type_="Individual", countries=("IR",)),
    _entry("SDN-26", "SDN", "MÜLLER, Klaus-Jürgen", type_="Individual", countries=("DE",)),
    _entry("SDN-27", "SDN", "VOLKOVA, Yelena Sergeyevna", type_="Individual",
           countries=("RU",)),
    _entry("SDN-28", "SDN", "CHEN, Jianguo", type_="Individual"),
)


@dataclass(frozen=True)
class Variant:
    """A spelling a party comes in under, and the entry it must find."""

    query: str
    entry: str
    kind: str
    country: str | None = None


#: Written by hand: the spellings generated rules do not make.
_BY_HAND: tuple[tuple[str, str, str], ...] = (
    # Chinese characters
    ("华为技术有限公司", "EL-1", "chinese"),
    ("华为", "EL-1", "chinese"),
    ("中国电子科技集团公司", "EL-2", "chinese"),
    ("中国电子科技集团有限公司", "EL-2", "chinese"),
    ("中国电子科技集团公司第十四研究所", "EL-3", "chinese"),
    ("中国电子科技集团公司第三十八研究所", "EL-4", "chinese"),
    ("北京航空航天大学", "EL-8", "chinese"),
    ("深圳市江波龙电子股份有限公司", "EL-19", "chinese"),
    ("成都海光集成电路设计有限公司", "EL-20", "chinese"),
    ("武汉迈伦光电科技有限公司", "EL-22", "chinese"),
    ("合肥比特兰信息技术有限公司", "EL-14", "chinese"),
    ("张伟", "SDN-22", "chinese"),
    ("李晓明", "SDN-23", "chinese"),
    ("陈建国", "SDN-28", "chinese"),
    # Cyrillic
    ("АО «Концерн ВКО «Алмаз – Антей»", "SDN-1", "cyrillic"),
    ("Концерн ВКО Алмаз-Антей", "SDN-1", "cyrillic"),
    ("АО Рособоронэкспорт", "SDN-2", "cyrillic"),
    ("ООО «Сертал»", "EL-23", "cyrillic"),
    ("Общество с ограниченной ответственностью Сертал", "EL-23", "cyrillic"),
    ("АО «Микрон»", "EL-24", "cyrillic"),
    ("ПАО Сбербанк России", "SDN-3", "cyrillic"),
    ("ПАО Сбербанк", "SDN-3", "cyrillic"),
    ("НПО «Сплав»", "SDN-5", "cyrillic"),
    ("Казанский вертолётный завод", "SDN-6", "cyrillic"),
    ("АО «Элара»", "SDN-7", "cyrillic"),
    ("Концерн Калашников", "SDN-17", "cyrillic"),
    ("Сидоров Юрий Петрович", "SDN-20", "cyrillic"),
    ("Юрий Сидоров", "SDN-20", "cyrillic"),
    ("Козлов Дмитрий Александрович", "SDN-21", "cyrillic"),
    ("Волкова Елена Сергеевна", "SDN-27", "cyrillic"),
    # Other transliterations of a Latin name
    ("Rosoboroneksport", "SDN-2", "transliteration"),
    ("Kozlov, Dmitrii Alexandrovich", "SDN-21", "transliteration"),
    ("Dmitry Kozlov", "SDN-21", "transliteration"),
    ("Yury Petrovich Sidorov", "SDN-20", "transliteration"),
    ("Elena Sergeevna Volkova", "SDN-27", "transliteration"),
    ("Mohamad Reza Mohammadi", "SDN-24", "transliteration"),
    ("Muhammad Reza Mohammadi", "SDN-24", "transliteration"),
    ("Sayed Ali Hosseini", "SDN-25", "transliteration"),
    ("Seyyed Ali Husseini", "SDN-25", "transliteration"),
    ("Klaus Juergen Mueller", "SDN-26", "transliteration"),
    ("Xi'an Aisheng Technology Group", "EL-21", "transliteration"),
    ("Sanaye Elektronik Iran", "SDN-9", "transliteration"),
    # Abbreviations and company words
    ("China Electronics Tech. Group Corp.", "EL-2", "abbreviation"),
    ("China Elec. Technology Grp", "EL-2", "abbreviation"),
    ("CETC 14th Research Inst.", "EL-3", "abbreviation"),
    ("CETC No. 38 Research Institute", "EL-4", "abbreviation"),
    ("Semiconductor Mfg. Int'l Corp.", "EL-5", "abbreviation"),
    ("Semiconductor Manufacturing Intl Corporation", "EL-5", "abbreviation"),
    ("Hangzhou Hikvision Digital Tech Co", "EL-6", "abbreviation"),
    ("Zhejiang Dahua Technologies Company Limited", "EL-7", "abbreviation"),
    ("Beijing Univ. of Aeronautics & Astronautics", "EL-8", "abbreviation"),
    ("Harbin Inst. of Tech.", "EL-9", "abbreviation"),
    ("Natl. Univ. of Defense Technology", "EL-16", "abbreviation"),
    ("China Acad. of Engineering Physics", "EL-17", "abbreviation"),
    ("Zhongxing Telecom Equipment Corp.", "EL-18", "abbreviation"),
    ("Shanghai Micro Electronics Equipment Group Co Ltd", "EL-12", "abbreviation"),
    ("Yangtze Memory Technology Co.", "EL-13", "abbreviation"),
    ("Tactical Missiles Corp.", "SDN-8", "abbreviation"),
    ("Dukhov Automatics Research Inst.", "SDN-4", "abbreviation"),
    ("Parchin Chemical Industry", "SDN-14", "abbreviation"),
    ("Pars Aviation Svcs Co.", "SDN-15", "abbreviation"),
    ("Korea Mining Dev. Trading Corp.", "SDN-16", "abbreviation"),
    ("Iran Electronic Industries", "SDN-9", "abbreviation"),
    # Legal forms written otherwise, added or left out
    ("Huawei Technologies Company Limited", "EL-1", "legal form"),
    ("Huawei Technologies Co Ltd", "EL-1", "legal form"),
    ("Huawei Technologies LLC", "EL-1", "legal form"),
    ("Huawei Technologies", "EL-1", "legal form"),
    ("Sertal LLC", "EL-23", "legal form"),
    ("Sertal Limited Liability Company", "EL-23", "legal form"),
    ("Mikron JSC", "EL-24", "legal form"),
    ("OAO Mikron", "EL-24", "legal form"),
    ("Sberbank of Russia PJSC", "SDN-3", "legal form"),
    ("Elara JSC", "SDN-7", "legal form"),
    ("Rosoboronexport JSC", "SDN-2", "legal form"),
    ("Almaz-Antey JSC", "SDN-1", "legal form"),
    ("Mahan Air Co.", "SDN-10", "legal form"),
    ("Inspur Group Company Limited", "EL-10", "legal form"),
    ("Sugon Information Industry Company", "EL-11", "legal form"),
    ("Semiconductor Manufacturing International Corp", "EL-5", "legal form"),
    ("Kalashnikov Concern JSC", "SDN-17", "legal form"),
    # Word order
    ("Technologies Huawei", "EL-1", "word order"),
    ("Concern Almaz-Antey VKO", "SDN-1", "word order"),
    ("Yuriy Petrovich Sidorov", "SDN-20", "word order"),
    ("Dmitriy Aleksandrovich Kozlov", "SDN-21", "word order"),
    ("Wei Zhang", "SDN-22", "word order"),
    ("Xiaoming Li", "SDN-23", "word order"),
    ("Mohammad Reza Mohammadi", "SDN-24", "word order"),
    ("Seyed Ali Hosseini", "SDN-25", "word order"),
    ("Klaus-Jürgen Müller", "SDN-26", "word order"),
    ("Yelena Sergeyevna Volkova", "SDN-27", "word order"),
    ("Jianguo Chen", "SDN-28", "word order"),
    ("Concern Kalashnikov", "SDN-17", "word order"),
    ("Industries Iran Electronics", "SDN-9", "word order"),
    ("Institute of Technology Harbin", "EL-9", "word order"),
    # Aliases
    ("Beihang University", "EL-8", "alias"),
    ("Nanjing Research Institute of Electronics Technology", "EL-3", "alias"),
    ("East China Research Institute of Electronic Engineering", "EL-4", "alias"),
    ("Dawning Information Industry Co., Ltd.", "EL-11", "alias"),
    ("Phytium Technology Co., Ltd.", "EL-15", "alias"),
    ("ZTE Corporation", "EL-18", "alias"),
    ("Almaz-Antey Air and Space Defense Corporation", "SDN-1", "alias"),
    ("Kazanskiy Vertoletnyy Zavod", "SDN-6", "alias"),
    ("Mahan Airlines", "SDN-10", "alias"),
    ("Concern Kalashnikov JSC", "SDN-17", "alias"),
    ("Dahua Technology", "EL-7", "alias"),
    ("Hikvision", "EL-6", "alias"),
    ("Inspur", "EL-10", "alias"),
    ("Sberbank", "SDN-3", "alias"),
    ("VNIIA", "SDN-4", "alias"),
    ("Xi'an ASN Technology Group", "EL-21", "alias"),
    ("Sanaye Electronic Iran", "SDN-9", "alias"),
    # Extra words around the listed name (a branch, an office)
    ("Huawei Technologies Co., Ltd. Dubai Branch", "EL-1", "extra words"),
    ("Huawei Technologies Co Ltd (Shenzhen)", "EL-1", "extra words"),
    ("Rosoboronexport Moscow Office", "SDN-2", "extra words"),
    ("Mahan Air Dubai Branch", "SDN-10", "extra words"),
    ("Zhejiang Dahua Technology Co Ltd Hong Kong Branch", "EL-7", "extra words"),
    # Missing or added spaces
    ("HuaweiTechnologies", "EL-1", "spaces"),
    ("Hua Wei Technologies", "EL-1", "spaces"),
    ("HikVision", "EL-6", "spaces"),
    ("Hik Vision Digital Technology", "EL-6", "spaces"),
    ("Rosoboron Export", "SDN-2", "spaces"),
    ("AlmazAntey", "SDN-1", "spaces"),
    ("Sber Bank", "SDN-3", "spaces"),
    ("Mahan Air Lines", "SDN-10", "spaces"),
    ("Jiang Bo Long Electronics Technology", "EL-19", "spaces"),
    ("ShahidHemmat Industrial Group", "SDN-11", "spaces"),
    ("Zhong Xing Telecommunication Equipment", "EL-18", "spaces"),
    # Punctuation and diacritics
    ("HUAWEI-TECHNOLOGIES CO.,LTD.", "EL-1", "punctuation"),
    ("Almaz Antey", "SDN-1", "punctuation"),
    ("Khatam al Anbiya Construction Headquarters", "SDN-13", "punctuation"),
    ("Khatam-al-Anbiya Construction HQ", "SDN-13", "punctuation"),
    ("MULLER, Klaus Jurgen", "SDN-26", "punctuation"),
    ("Müller Klaus Jürgen", "SDN-26", "punctuation"),
    ("Shanghai Micro-Electronics Equipment (Group) Co. Ltd.", "EL-12", "punctuation"),
    ("Xian Aisheng Technology Group", "EL-21", "punctuation"),
    ("Sidorov Yuriy Petrovich", "SDN-20", "punctuation"),
    ("Islamic Revolutionary Guards Corps", "SDN-12", "punctuation"),
    # Misspellings
    ("Huawai Technologies", "EL-1", "misspelling"),
    ("Hikvison Digital Technology", "EL-6", "misspelling"),
    ("Rosoboronexprot", "SDN-2", "misspelling"),
    ("Sberbnak of Russia", "SDN-3", "misspelling"),
    ("Kalashnikow Concern", "SDN-17", "misspelling"),
    ("Semiconducter Manufacturing International", "EL-5", "misspelling"),
    ("Shahid Hemat Industrial Group", "SDN-11", "misspelling"),
    ("Parchin Chemcial Industries", "SDN-14", "misspelling"),
    ("Phytium Informaton Technology", "EL-15", "misspelling"),
    ("Kozlov Dmitrj Aleksandrovich", "SDN-21", "misspelling"),
    ("Islamic Revolutionery Guard Corps", "SDN-12", "misspelling"),
    ("Yangtse Memory Technologies", "EL-13", "misspelling"),
)

#: Other companies and persons sharing words with an entry: none may be a "hit".
NEAR_MISSES: tuple[str, ...] = (
    "China Electronic Trading Co., Ltd.",
    "China Electronics Import Export Group",
    "China National Electronics Trading Company",
    "China Technology Group Co., Ltd.",
    "China Electronics Development Corporation",
    "Huaxin Technologies Co., Ltd.",
    "Huawen Digital Technology Co., Ltd.",
    "Shenzhen Huayang Electronics Co., Ltd.",
    "Hangzhou Hikari Digital Technology Co., Ltd.",
    "Hangzhou Digital Technology Co., Ltd.",
    "Zhejiang Dahong Technology Co., Ltd.",
    "Zhejiang Technology Trading Co., Ltd.",
    "Shanghai Micro Precision Tools Co., Ltd.",
    "Shanghai Electronics Equipment Trading Co., Ltd.",
    "Yangtze River Shipping Co., Ltd.",
    "Yangtze Optical Fibre and Cable",
    "Wenzhou Institute of Technology",
    "Harbin Engineering Trading Co., Ltd.",
    "Beijing Institute of Graphic Communication",
    "National University of Singapore",
    "China Academy of Art",
    "Inspiration Group Co., Ltd.",
    "Sugar Information Industry Co., Ltd.",
    "Tianjin Information Technology Co., Ltd.",
    "Chengdu Integrated Circuit Trading Co., Ltd.",
    "Xian Technology Group Co., Ltd.",
    "Wuhan Optoelectronic Technology Co., Ltd.",
    "Almaz Trading LLC",
    "Antey Logistics LLC",
    "Rosneft Export Trading",
    "OOO Sertex",
    "Mikrotek JSC",
    "Sberlogistics LLC",
    "Kazan Chemical Plant",
    "Kazan Helicopter Services",
    "Elara Hotels Ltd.",
    "Tactical Solutions Corporation",
    "Iran Electronic Trading Company",
    "Iran Industries Development Company",
    "Mahan Logistics",
    "Mahan Textiles Co.",
    "Shahid Beheshti University",
    "Islamic Development Bank",
    "Khatam Construction Materials",
    "Parchin Trading Company",
    "Pars Trading Company",
    "Korea Trading Corporation",
    "Kalashnikov Vodka Ltd.",
    "Ivan Sidorov",
    "SIDOROV, Aleksei Ivanovich",
    "KOZLOV, Pavel Sergeyevich",
    "ZHANG, Min",
    "Zhang Hua",
    "LI, Jianping",
    "Chen Xiaoming",
    "Wang Wei",
    "MOHAMMADI, Ali",
    "HOSSEINI, Mahmoud",
    "MULLER, Thomas",
    "VOLKOVA, Irina Sergeyevna",
    "VOLKOV, Yelena",
)

#: What the same name looks like under the generated rules.
_LEGAL_SWAP = {"Co., Ltd.": "Company Limited", "Corporation": "Corp.",
               "Joint Stock Company": "JSC", "Limited Liability Company": "LLC",
               "Public Joint Stock Company": "PJSC"}


def variants() -> list[Variant]:
    """Every true variant: by hand, and upper/lower case and legal-form swaps of each name."""
    out = [Variant(q, e, k) for q, e, k in _BY_HAND]
    for entry in ENTRIES:
        for name in (entry.name, *entry.alt_names):
            out.append(Variant(name.upper(), entry.id, "case"))
            out.append(Variant(name.lower().replace(",", ""), entry.id, "case"))
            for old, new in _LEGAL_SWAP.items():
                if old in name:
                    out.append(Variant(name.replace(old, new), entry.id, "legal form"))
    return out
