"""Screening speed: the index built on a generated 30,000-entry list, and one party searched.

    .venv/bin/python bench/screening.py [--entries 30000] [--queries 4000] [--baseline 200]

The list is generated in the styles of the real lists, deterministic for a
seed: Chinese companies and research institutes (pinyin place and brand
words, company words, Co., Ltd.), Russian companies (JSC, LLC, OOO, plants,
scientific production associations), Iranian organisations, trading
companies in the Gulf, Hong Kong and Turkey, and persons written
"SURNAME, Given" with other transliterations as aliases; each entry has 0-5
aliases and 1-2 addresses. The Chinese and Russian names are made from Han
and Cyrillic words, so the queries can come in those scripts.

Queries mix variants of listed names (case, legal forms, abbreviations,
word order, a misspelling, a missing space, an alias, the name in Han or
Cyrillic characters) with clean names (the same pools, combined as no entry
is, and a distributor's customers). Every query runs once untimed first (a
warm process), then three times timed; its best run is counted (a machine
shared with other work adds pauses that are not the index's: the single
runs' wall and CPU times are printed beside, and the machine's load).
Printed: the index's build time and size; `Index.search` p50/p99; the
ratio against a baseline measured in the same run (rapidfuzz's
``process.extract`` over every normalised name, token_set_ratio, the review
threshold as cutoff: what a search without an index costs); how many
variants found their entry and how many clean names came back with a "hit"
or a "possible".
"""
from __future__ import annotations

import argparse
import gc
import os
import random
import resource
import statistics
import sys
import time
from dataclasses import dataclass

from anyascii import anyascii
from exportgate.screening.index import REVIEW_THRESHOLD, Index
from exportgate.screening.model import Address, Entry
from exportgate.screening.normalise import tables
from rapidfuzz import fuzz, process

HAN_CITIES = {"北京": "Beijing", "上海": "Shanghai", "深圳": "Shenzhen", "广州": "Guangzhou",
              "杭州": "Hangzhou", "南京": "Nanjing", "天津": "Tianjin", "成都": "Chengdu",
              "武汉": "Wuhan", "西安": "Xian", "合肥": "Hefei", "长沙": "Changsha",
              "苏州": "Suzhou", "无锡": "Wuxi", "厦门": "Xiamen", "青岛": "Qingdao",
              "大连": "Dalian", "沈阳": "Shenyang", "哈尔滨": "Harbin", "珠海": "Zhuhai",
              "东莞": "Dongguan", "宁波": "Ningbo", "绵阳": "Mianyang", "郑州": "Zhengzhou"}
HAN_BRAND = ("华中兴海光飞腾龙江波迈伦比特兰芯源微创新星宇辰航睿智达通恒泰德安康瑞昌盛远"
             "科晶晨曦锐思维立鼎翔博宏伟金鹏云天宝联合力强景明凯旋永嘉亿佳信诚润锋巨鑫")
HAN_WORDS = {"技术": "Technology", "科技": "Technology", "电子": "Electronics",
             "信息技术": "Information Technology", "半导体": "Semiconductor",
             "微电子": "Microelectronics", "光电科技": "Optoelectronic Technology",
             "智能设备": "Intelligent Equipment", "精密机械": "Precision Machinery",
             "贸易": "Trading", "进出口": "Import and Export", "通信技术":
             "Communication Technology", "数字技术": "Digital Technology",
             "航空科技": "Aviation Technology", "集成电路": "Integrated Circuit"}
HAN_FORMS = {"有限公司": "Co., Ltd.", "股份有限公司": "Co., Ltd.",
             "集团有限公司": "Group Co., Ltd."}
RU_PIECES = ("Альфа Микро Радио Электро Спец Тех Пром Строй Гео Нефть Газ Авиа Мото Энерго "
             "Сталь Прибор Оборон Авто Сервис Транс Комплект Систем Снаб Импульс Вектор "
             "Квант Сигнал Полюс Орион Фотон Кристалл Элемент Аргон Титан Гранит Искра "
             "Рубин Сапфир Заря Восток Север Октава Сфера Модуль Пульс Луч").split()
RU_FORMS = {"АО": "Joint Stock Company", "ООО": "Limited Liability Company",
            "ПАО": "Public Joint Stock Company", "НПО": "Scientific Production Association"}
RU_SURNAMES = ("Иванов Петров Сидоров Козлов Волков Смирнов Кузнецов Попов Лебедев Новиков "
               "Морозов Соколов Павлов Семенов Голубев Виноградов Богданов Воробьев Федоров "
               "Михайлов Беляев Тарасов Белов Комаров Орлов Киселев Макаров Андреев Ковалев "
               "Ильин Гусев Титов Кузьмин Кудрявцев Баранов Куликов Алексеев Степанов Яковлев "
               "Сорокин Сергеев Романов Захаров Борисов Королев Герасимов Пономарев Григорьев "
               "Лазарев Медведев Ершов Никитин Соболев Рябов Поляков Цветков Данилов Жуков "
               "Фролов Журавлев Николаев Крылов Максимов Осипов Белоусов Федотов Дорофеев "
               "Егоров Матвеев Бобров Дмитриев Калинин Анисимов Петухов Антонов Тимофеев").split()
RU_GIVEN = ("Александр Алексей Андрей Антон Борис Вадим Валерий Виктор Владимир Дмитрий "
            "Евгений Игорь Илья Кирилл Константин Максим Михаил Николай Олег Павел Роман "
            "Сергей Юрий Ярослав").split()
FA_WORDS = ("Pars Kish Tadbir Sepehr Arya Kaveh Mehr Noavaran Sanat Saman Paya Fanavar Towsee "
            "Behsaz Kimia Rayan Negin Ofogh Danesh Atlas Parsian Tavan Nasr Fajr Raad Shahab "
            "Simorgh Alborz Zagros Damavand Karun Sahand Bina Arman Pishro Pouya Hamrah Tejarat "
            "Sadid Moje Nour Kowsar Setareh Payam Hoda Marun Hirbod Nikan Avand").split()
FA_KINDS = ("Industries", "Trading Company", "Engineering Company", "Industrial Group",
            "Electronics Company", "Aviation Services", "Chemical Industries", "Shipping Lines")
FA_SURNAMES = ("Mohammadi Hosseini Ahmadi Rezaei Moradi Karimi Jafari Rahimi Hashemi Mousavi "
               "Ghasemi Sadeghi Bagheri Ebrahimi Kazemi Heidari Zamani Nazari Asadi Salehi "
               "Abbasi Najafi Taheri Soltani Yazdani Akbari Shariati Davoudi Mirzaei "
               "Farahani").split()
FA_GIVEN = ("Mohammad Ali Reza Hossein Mahmoud Mehdi Hamid Hassan Ahmad Saeed Majid Javad "
            "Abbas Amir Masoud Morteza Mostafa Hamed Behrouz Kamran").split()
CN_SURNAMES = ("Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo He Lin "
               "Gao Luo").split()
WORLD_WORDS = ("Gulf Star Crescent Falcon Oasis Horizon Summit Pacific Atlas Orient Zenith "
               "Phoenix Apex Prime Delta Nova Vertex Global Sky Ocean Silver Golden Royal "
               "Eagle Lotus Jade Pearl Dragon Bridge Harbour").split()
WESTERN = ("Acme Northwind Contoso Fabrikam Globex Initech Umbrella Stark Wayne Tyrell Cyberdyne "
           "Soylent Hooli Vandelay Wonka Gekko Aperture Oscorp Massive Dynamic Bluth Pied Piper "
           "Kruger Schneider Bauer Fischer Weber Meyer Wagner Becker Hoffmann Dubois Moreau "
           "Lefebvre Rossi Bianchi Tanaka Suzuki Sato Kim Park Nguyen Tran Singh Patel "
           "Sharma").split()
WESTERN_KINDS = ("Electronics GmbH", "Systems Inc.", "Computing Ltd.", "Data Centers LLC",
                 "Research AG", "Cloud Services B.V.", "Distribution S.A.", "Technologies Pte Ltd",
                 "Semiconductor Corp.", "University", "Hospital", "Networks Oy")


@dataclass
class Listed:
    entry: Entry
    native: str | None  # the name in Han or Cyrillic characters, when it has one


def chinese(rng: random.Random, n: int) -> Listed:
    city_han, city = rng.choice(list(HAN_CITIES.items()))
    brand_han = "".join(rng.sample(HAN_BRAND, rng.choice((2, 2, 2, 3))))
    brand = anyascii(brand_han).capitalize()
    word_han, word = rng.choice(list(HAN_WORDS.items()))
    form_han, form = rng.choice(list(HAN_FORMS.items()))
    if rng.random() < 0.12:
        number = rng.randint(1, 60)
        name = f"China {brand} {word} Group Corporation {number}th Research Institute"
        aliases = [f"{_acronym(f'China {brand} {word}')} {number}",
                   f"{city} Research Institute of {word}"]
        return Listed(_entity(n, "EL", name, aliases, "CN", city), None)
    name = f"{city} {brand} {word} {form}"
    aliases = rng.sample([f"{brand} {word}", f"{brand}", f"{city} {brand}",
                          f"{brand} {word} {form}", _acronym(f"{city} {brand} {word}"),
                          (f"{city} {anyascii(rng.choice(HAN_BRAND)).capitalize()}"
                           f"{brand.lower()} {word}")], rng.randint(0, 4))
    return Listed(_entity(n, "EL", name, aliases, "CN", city),
                  f"{city_han}{brand_han}{word_han}{form_han}")


def _acronym(name: str) -> str:
    return "".join(w[0] for w in name.split()).upper()


def russian(rng: random.Random, n: int) -> Listed:
    core = "".join(rng.sample(RU_PIECES, 2)).capitalize()
    latin = anyascii(core)
    form, form_en = rng.choice(list(RU_FORMS.items()))
    kind = rng.random()
    if kind < 0.2:
        name, native = f"{latin} Plant", f"{form} «Завод {core}»"
    elif kind < 0.3:
        name, native = f"{form_en} Concern {latin}", f"{form} Концерн {core}"
    else:
        name, native = f"{form_en} {latin}", f"{form} «{core}»"
    aliases = rng.sample([f"{anyascii(form)} {latin}", f"{latin}", f"{latin} JSC",
                          f"{latin.upper()}", f"{anyascii(form)} {latin.replace('o', 'a', 1)}"],
                         rng.randint(0, 3))
    return Listed(_entity(n, rng.choice(("SDN", "EL", "MEU")), name, aliases, "RU", "Moscow"),
                  native)


def iranian(rng: random.Random, n: int) -> Listed:
    words = " ".join(rng.sample(FA_WORDS, rng.choice((1, 2, 2))))
    name = f"{words} {rng.choice(FA_KINDS)}"
    if rng.random() < 0.2:
        name = f"Shahid {rng.choice(FA_SURNAMES)} {rng.choice(FA_KINDS)}"
    aliases = rng.sample([f"Sherkat-e {words}", words, f"{words} Co.",
                          _acronym(name)], rng.randint(0, 3))
    return Listed(_entity(n, "SDN", name, aliases, "IR", "Tehran"), None)


def trader(rng: random.Random, n: int) -> Listed:
    words = " ".join(rng.sample(WORLD_WORDS, 2))
    country, form = rng.choice((("AE", "General Trading LLC"), ("AE", "Trading FZE"),
                                ("HK", "Limited"), ("HK", "Trading Co., Limited"),
                                ("TR", "Dis Ticaret Ltd. Sti."), ("SG", "Pte. Ltd.")))
    aliases = rng.sample([words, f"{words} Trading", f"{words} Electronics {form}"],
                         rng.randint(0, 2))
    return Listed(_entity(n, "EL", f"{words} {form}", aliases, country, None), None)


def person(rng: random.Random, n: int) -> Listed:
    style = rng.random()
    if style < 0.4:
        surname, given, father = (rng.choice(RU_SURNAMES), rng.choice(RU_GIVEN),
                                  rng.choice(RU_GIVEN))
        patronymic = father + ("ович" if not father.endswith("й") else "евич")
        patronymic = patronymic.replace("йевич", "евич")
        name = f"{anyascii(surname).upper()}, {anyascii(given)} {anyascii(patronymic)}"
        aliases = [f"{anyascii(surname).upper()}, {anyascii(given).replace('y', 'i')}",
                   f"{anyascii(given)} {anyascii(surname)}"][:rng.randint(0, 2)]
        native, country = f"{surname} {given} {patronymic}", "RU"
    elif style < 0.7:
        surname, given = rng.choice(CN_SURNAMES), anyascii("".join(rng.sample(HAN_BRAND, 2)))
        name = f"{surname.upper()}, {given.capitalize()}"
        aliases = [f"{given.capitalize()} {surname}"][:rng.randint(0, 1)]
        native, country = None, "CN"
    else:
        surname, given = rng.choice(FA_SURNAMES), " ".join(rng.sample(FA_GIVEN, 2))
        name = f"{surname.upper()}, {given}"
        aliases = [f"{surname.upper()}, {given.replace('ammad', 'amad')}",
                   f"{given} {surname}"][:rng.randint(0, 2)]
        native, country = None, "IR"
    entry = _entity(n, "SDN", name, aliases, country, None, type_="Individual")
    return Listed(entry, native)


def _entity(n: int, list_: str, name: str, aliases: list[str], country: str,
            city: str | None, type_: str = "Entity") -> Entry:
    rng = random.Random(n)
    addresses = [Address(address=f"{rng.randint(1, 300)} {rng.choice(WORLD_WORDS)} Road",
                         city=city, country=country)]
    if rng.random() < 0.3:
        addresses.append(Address(city=None, country=rng.choice(("HK", "AE", "TR", "SG"))))
    return Entry(id=f"E{n}", list=list_, source=list_, name=name,
                 alt_names=tuple(dict.fromkeys(a for a in aliases if a != name)), type=type_,
                 addresses=tuple(addresses))


def generate(count: int, seed: int) -> list[Listed]:
    rng = random.Random(seed)
    makers = [(chinese, 40), (russian, 22), (iranian, 10), (trader, 8), (person, 20)]
    out = []
    for n in range(count):
        maker = rng.choices([m for m, _ in makers], [w for _, w in makers])[0]
        out.append(maker(rng, n))
    return out


LEGAL_SWAPS = (("Co., Ltd.", "Company Limited"), ("Joint Stock Company", "JSC"),
               ("Limited Liability Company", "LLC"), ("Technology", "Tech"),
               ("Corporation", "Corp."), ("Industries", "Industry"), ("International", "Intl"))


def variant(rng: random.Random, listed: Listed) -> str:
    entry = listed.entry
    name = rng.choice((entry.name, *entry.alt_names))
    kind = rng.randrange(8)
    if kind == 0 and listed.native:
        return listed.native
    if kind == 1:
        return name.upper()
    if kind == 2:
        for old, new in LEGAL_SWAPS:
            if old in name:
                return name.replace(old, new)
        return name + " Co."
    if kind == 3:  # word order: persons given name first, companies a word moved
        if "," in name:
            surname, given = name.split(",", 1)
            return f"{given.strip()} {surname.strip()}"
        words = name.split()
        if len(words) >= 2 and "Joint" not in name and "Liability" not in name:
            words.append(words.pop(0))
        return " ".join(words)
    if kind == 4:  # a letter changed in the longest word
        words = name.split()
        i = max(range(len(words)), key=lambda k: len(words[k]))
        w = words[i]
        if len(w) >= 6:
            j = rng.randrange(1, len(w) - 1)
            words[i] = w[:j] + rng.choice("aeioukrst") + w[j + 1:]
        return " ".join(words)
    if kind == 5:  # a missing space
        words = name.split()
        if len(words) >= 2:
            i = rng.randrange(len(words) - 1)
            words[i:i + 2] = [words[i] + words[i + 1]]
        return " ".join(words)
    if kind == 6:
        return name.replace(",", "").replace(".", "").replace("-", " ")
    return name


def clean(rng: random.Random, index: Index) -> str:
    """A name no entry is called: no listed name's own words (all but company words) in it."""
    while True:
        name = _clean(rng)
        tokens = set(index.tables.normalise(name).tokens)
        if not any({index._words[t] for t in index._name_words[n]
                    if index._words[t] not in index.tables.generic} <= tokens
                   for n in _holding(index, tokens)):
            return name


def _holding(index: Index, tokens: set[str]) -> set[int]:
    out: set[int] = set()
    for token in tokens:
        tid = index._vocab.get(token)
        if tid is not None and token not in index.tables.generic:
            out.update(int(n) for n in index._postings[tid])
    return out


def _clean(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.5:
        return f"{rng.choice(WESTERN)} {rng.choice(WESTERN_KINDS)}"
    if roll < 0.7:
        city = rng.choice(list(HAN_CITIES.values()))
        brand = anyascii("".join(rng.sample(HAN_BRAND, 2))).capitalize()
        return f"{city} {brand} {rng.choice(list(HAN_WORDS.values()))} Co., Ltd."
    if roll < 0.85:
        return f"OOO {anyascii(''.join(rng.sample(RU_PIECES, 2))).capitalize()}"
    return f"{rng.choice(WESTERN)} {rng.choice(WORLD_WORDS)} Trading LLC"


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=30_000)
    ap.add_argument("--queries", type=int, default=4000)
    ap.add_argument("--baseline", type=int, default=200,
                    help="queries timed for the baseline (it is slow)")
    ap.add_argument("--seed", type=int, default=20261206)
    args = ap.parse_args()

    listed = generate(args.entries, args.seed)
    entries = [x.entry for x in listed]
    names = sum(1 + len(e.alt_names) for e in entries)
    tables()  # read once, as a process does before its first index
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    index = Index(entries)
    build = time.perf_counter() - started
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss) / 1024
    print(f"list: {len(entries):,} entries, {names:,} names and aliases "
          f"({len(index):,} distinct after normalising)")
    print(f"index build: {build:.2f} s, peak memory +{grown:.0f} MiB")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} "
          "(above the CPU count, other work shares the CPUs and the timings)")

    rng = random.Random(args.seed + 1)
    queries: list[tuple[str, str | None]] = []
    for i in range(args.queries):
        if i % 2 == 0:
            target = rng.choice(listed)
            queries.append((variant(rng, target), target.entry.id))
        else:
            queries.append((clean(rng, index), None))
    gc.collect()  # what building left behind, as a process would before serving
    for query, _ in queries:
        index.search(query)  # warm-up: every query once, untimed

    times: list[float] = []
    single: list[float] = []
    cpu: list[float] = []
    found = variants = clean_flagged = clean_hits = 0
    for query, target in queries:
        runs = []
        for _ in range(3):
            c = time.thread_time()
            t = time.perf_counter()
            hits = index.search(query)
            runs.append(time.perf_counter() - t)
            if len(runs) == 1:
                cpu.append(time.thread_time() - c)
        times.append(min(runs))
        single.append(runs[0])
        if target is None:
            clean_flagged += bool(hits)
            clean_hits += any(h.status == "hit" for h in hits)
        else:
            variants += 1
            found += any(h.entry.id == target for h in hits)

    normalised = [index.tables.normalise(n).text
                  for e in entries for n in (e.name, *e.alt_names)]
    base: list[float] = []
    for query, _ in queries[:args.baseline]:
        runs = []
        for _ in range(3):
            t = time.perf_counter()
            process.extract(index.tables.normalise(query).text, normalised,
                            scorer=fuzz.token_set_ratio, score_cutoff=REVIEW_THRESHOLD,
                            limit=20)
            runs.append(time.perf_counter() - t)
        base.append(min(runs))

    p50, p99 = pct(times, 50) * 1e3, pct(times, 99) * 1e3
    b50, b99 = pct(base, 50) * 1e3, pct(base, 99) * 1e3
    print(f"search ({len(times):,} queries, each the best of 3 runs): p50 {p50:.3f} ms, "
          f"p99 {p99:.3f} ms, max {max(times) * 1e3:.2f} ms, "
          f"mean {statistics.fmean(times) * 1e3:.3f} ms")
    print(f"  one run each: p50 {pct(single, 50) * 1e3:.3f} ms, "
          f"p99 {pct(single, 99) * 1e3:.3f} ms; its CPU time p99 {pct(cpu, 99) * 1e3:.3f} ms "
          f"(the difference is waiting for the CPU: other processes' load)")
    print(f"baseline process.extract over every name ({len(base)} queries, best of 3): "
          f"p50 {b50:.2f} ms, p99 {b99:.2f} ms")
    print(f"ratio baseline/index: p50 {b50 / p50:.0f}x, p99 {b99 / p99:.0f}x")
    print(f"variants of listed names: {found}/{variants} found ({found / variants:.3f})")
    clean_count = len(queries) - variants
    print(f"clean names: {clean_flagged}/{clean_count} flagged "
          f"({clean_flagged / clean_count:.3f}), {clean_hits} as hit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
