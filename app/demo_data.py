"""A synthetic county for the demo and the benchmarks: collectives, households, parcels.

Pure data: no Flask, no database. :func:`iter_county` streams one collective
at a time, so a county of a million parcels never sits in memory; the
``sanquan demo`` command and the benchmark loaders turn each
:class:`DemoCollective` into rows through the ordinary services.

Layout (Donggang, 东港市, 210681): villager groups are squares of
:data:`GROUP_PITCH_M` on a grid over the inland part of the county, ten
groups (5 × 2) to a village, :data:`VILLAGES_PER_TOWNSHIP` villages to a
township, filled from the north-west corner eastwards. Every collective
draws from its own ``numpy`` generator keyed by ``(seed, township,
village, group)``, so a smaller county is a prefix of a larger one with the
same seed (only the last group is cut to hit the parcel count), and the
same seed always gives the same geometry, codes and ID numbers.

Village-level collectives (group code ``00``) are yielded too, just before
their first group, with no households and no parcels: they are the
issuers the groups belong to and the holders of the village's collective
income-distribution shares; land and households sit with the groups.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from gis.codes import id_check_char
from gis.synth import CONTRACT_LAND, HOMESTEAD, PRIVATE_PLOT, RESERVE, group_parcels, lonlat_box_to_4550, to_4490

GROUP_PITCH_M = 600.0
GROUPS_PER_VILLAGE = 10
VILLAGE_GRID = (5, 2)  # groups across, groups down
VILLAGES_PER_TOWNSHIP = 15
#: Group sizes are drawn around this mean (docs/rules.md: ~300 parcels, ~60 households).
MEAN_GROUP_PARCELS = 300


@dataclass(frozen=True)
class _County:
    province: str
    prefecture: str
    name: str
    #: Inland lon/lat box (EPSG:4490) the village grid fills.
    box: tuple[float, float, float, float]
    #: GB/T 2260 areas for ID numbers: the county first, then neighbours
    #: (Dandong's districts and Kuandian, Fengcheng) once a birth date's
    #: sequence numbers are used up.
    id_areas: tuple[str, ...]


COUNTIES = {
    "210681": _County(
        province="辽宁省",
        prefecture="丹东市",
        name="东港市",
        box=(123.9, 39.85, 124.4, 40.2),
        id_areas=("210681", "210602", "210603", "210604", "210624", "210682"),
    ),
}


def _liaoning(prefecture: str, name: str, box: tuple[float, float, float, float], code: str) -> _County:
    """A county of the provincial benchmark: a farming part of it (box approximate) and its own ID area only,
    so its people's numbers never meet another generated county's."""
    return _County(province="辽宁省", prefecture=prefecture, name=name, box=box, id_areas=(code,))


#: Nine more Liaoning counties, for the provincial benchmark (bench/citus.py). None lies in Dandong, whose areas
#: Donggang's ID numbers use; all lie within 1.5° of 123°E, the zone Donggang's packages are surveyed in.
PROVINCE_COUNTIES = {code: _liaoning(prefecture, name, box, code) for code, prefecture, name, box in (
    ("210281", "大连市", "瓦房店市", (121.85, 39.55, 122.15, 39.75)),
    ("210283", "大连市", "庄河市", (122.80, 39.70, 123.10, 39.90)),
    ("210323", "鞍山市", "岫岩满族自治县", (123.10, 40.20, 123.40, 40.40)),
    ("210381", "鞍山市", "海城市", (122.60, 40.75, 122.90, 40.95)),
    ("210521", "本溪市", "本溪满族自治县", (123.95, 41.15, 124.25, 41.35)),
    ("210881", "营口市", "盖州市", (122.30, 40.30, 122.60, 40.50)),
    ("210882", "营口市", "大石桥市", (122.45, 40.55, 122.75, 40.70)),
    ("211021", "辽阳市", "辽阳县", (122.90, 41.10, 123.20, 41.30)),
    ("211221", "铁岭市", "铁岭县", (123.60, 42.10, 123.90, 42.30)),
)}
COUNTIES |= PROVINCE_COUNTIES

_TOWNSHIPS = (
    "长山镇 前阳镇 孤山镇 北井子镇 椅圈镇 黄土坎镇 马家店镇 龙王庙镇 小甸子镇 菩萨庙镇 "
    "十字街镇 长安镇 新农镇 合隆镇 汤池镇 黑沟镇 新兴镇 新城镇 大鹿岛镇 獐岛镇 "
    "海洋镇 东尖山镇 安民镇 兴隆镇 永安镇 太平镇 红旗镇 五龙背镇 石佛镇 三道镇 "
    "沙河镇 大孤山镇 南尖镇 虎山镇 楼房镇 前进镇 胜利镇 新立镇 双山镇 光明镇"
).split()
_VILLAGES_CURATED = (
    "前阳 后阳 东岗 西岗 南岗 北岗 大岭 小岭 红旗 胜利 新立 永胜 太平 双山 黄岭 海洋 "
    "獐岛 石桥 山城 桥头 夹河 二龙 三合 四平 五道 六股 七道 八家 九龙 十里 大甸 小甸 "
    "土城 古城 新民 兴隆 长胜 安民 建设 团结 光明 前进 和平 民主 幸福 东升 向阳 新华 "
    "马家 李家 王家 张家 刘家 孙家 于家 姜家 曲家 宋家 郭家 赵家 高家 杨家 曹家 丛家"
).split()
_VILLAGE_PREFIX = "东 西 南 北 前 后 大 小 上 下 新 老 中 高 青".split()
_VILLAGE_ROOT = "山 岭 岗 河 沟 台 屯 堡 甸 泡 洼 坎 坨 营 店 桥 湾 岔 峪 窝".split()
_CN_DIGITS = "零一二三四五六七八九"
_FIELD_NAMES = (
    "河东地 河西地 北岗地 南岗地 东大块 西大块 前洼子 后山地 道南地 道北地 大甸子 "
    "下洼地 岗上地 长条地 三角地 坝外地 泡子边 沟里地 树趟子 西山根 东山坡 老场院 "
    "稻田地 水田地 苇塘地 碱场地 大排地 小排地 南大地 北大地"
).split()
_HOMESTEAD_NAME = "宅基地"

_SURNAMES = "王 李 张 刘 孙 于 姜 曲 宋 郭 赵 徐 高 杨 陈 周 吴 黄 林 马 韩 丛 隋 衣 邹 潘 曹 董 鞠 毕".split()
_SURNAME_WEIGHTS = np.array(
    [12, 10, 10, 8, 6, 6, 5, 4, 4, 4, 4, 4, 4, 4, 3, 3, 3, 2, 2, 2, 2, 1.5, 1.5, 1, 1, 1, 1, 1, 1, 1]
)
_SURNAME_P = _SURNAME_WEIGHTS / _SURNAME_WEIGHTS.sum()
#: Given names by era of birth (before 1960, 1960–1984, from 1985) and sex.
_GIVEN = {
    ("old", "male"): "德胜 永福 长贵 福才 玉山 振海 宝山 殿臣 国华 庆和 树林 凤山 连成 景春 万有 文广".split(),
    ("old", "female"): "秀英 桂兰 玉兰 淑珍 凤兰 素芬 秀珍 桂芝 玉芝 淑芳 凤英 金凤 春兰 桂英 玉珍 淑兰".split(),
    ("mid", "male"): "建国 国庆 志强 建华 卫东 立新 海涛 洪波 振宇 春生 文革 建军 红军 永刚 宝成 德明".split(),
    ("mid", "female"): "丽华 红梅 秀梅 艳华 玉梅 春燕 凤霞 丽娟 海燕 彩霞 秀云 桂荣 晓红 淑华 艳玲 丽萍".split(),
    ("new", "male"): "伟 磊 鹏 浩 宇 博 超 杰 强 涛 洋 明轩 子豪 浩然 宇航 一鸣 俊杰 天宇".split(),
    ("new", "female"): "丽 静 婷 雪 娜 颖 佳 欣怡 雨涵 思琪 梦瑶 子涵 佳琪 诗雨 晓雪 一诺 可馨 雅琪".split(),
}

RELATIONS = ("head", "spouse", "child", "parent", "grandchild", "sibling", "child_in_law", "other")
LAND_USE = {CONTRACT_LAND: "cultivated", RESERVE: "cultivated", PRIVATE_PLOT: "cultivated", HOMESTEAD: "homestead"}

# Household make-ups and how often they occur (about 2.9 persons a household).
_MAKEUPS = (
    (0.10, ("head",)),
    (0.24, ("head", "spouse")),
    (0.30, ("head", "spouse", "child")),
    (0.14, ("head", "spouse", "child", "child")),
    (0.08, ("head", "spouse", "child", "parent")),
    (0.08, ("head", "spouse", "child", "child_in_law", "grandchild")),
    (0.04, ("head", "child")),
    (0.015, ("head", "spouse", "sibling")),
    (0.005, ("head", "other")),
)
_MAKEUP_P = np.array([p for p, _ in _MAKEUPS]) / sum(p for p, _ in _MAKEUPS)


@dataclass
class DemoPerson:
    name: str
    id_number: str
    sex: str  # "male" | "female"
    relation: str  # one of RELATIONS, relative to the head
    birth_date: dt.date


@dataclass
class DemoHousehold:
    code18: str  #: CBFBM: the collective's 14 digits + 0001–8000 (docs/rules.md §5)
    address: str
    members: list[DemoPerson]  # head first


@dataclass
class DemoCollective:
    code14: str  #: FBFBM: county 6 + township 3 + village 3 + group 2 (00 = village)
    name: str
    households: list[DemoHousehold]
    parcels_geoms_4490: np.ndarray  # shapely Polygons, x = longitude, y = latitude
    parcel_codes: list[str]  #: DKBM: code14 + 00001…
    parcel_kinds: np.ndarray  # contract_land | reserve | private_plot | homestead
    parcel_land_uses: np.ndarray  # cultivated | homestead
    parcel_names: list[str]  #: DKMC: the field's local name
    membership_decided_on: dt.date
    #: Index into ``households`` of the household each parcel is allocated
    #: to (contract land and private plots in proportion to household size,
    #: one house plot each); ``-1`` for the collective's reserve land.
    parcel_household: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int32))

    @property
    def level(self) -> str:
        """``village`` for group code ``00``, else ``group``."""
        return "village" if self.code14.endswith("00") else "group"


@dataclass(frozen=True)
class DemoSummary:
    collectives: int
    villages: int
    groups: int
    households: int
    persons: int
    parcels: int
    homesteads: int


def county_capacity(county: str = "210681") -> int:
    """Return how many villager groups fit the county's grid."""
    return _Layout(county).n_villages * GROUPS_PER_VILLAGE


def iter_county(seed: int = 2017, parcels: int = 3000, county: str = "210681") -> Iterator[DemoCollective]:
    """Yield the collectives of a synthetic county, one at a time.

    Args:
        seed: fixes everything; the same seed gives the same county.
        parcels: total parcels wanted; met exactly (the last group takes the rest).
        county: a county of :data:`COUNTIES` (Donggang, 210681, and the provincial benchmark's nine).
    Yields:
        For each village its village-level collective (group ``00``, no
        households or parcels), then its groups ``01``–``10`` with households
        and parcels, until ``parcels`` parcels have been yielded.
    Raises:
        ValueError: for an unknown county, a non-positive count, or more
            parcels than the county's grid holds (about 1.2 million).
    """
    if county not in COUNTIES:
        raise ValueError(f"no synthetic layout for county {county!r}")
    parcels = int(parcels)
    if parcels < 1:
        raise ValueError("parcels must be at least 1")
    layout = _Layout(county)
    # Leave room for groups drawn below the mean.
    if parcels > layout.n_villages * GROUPS_PER_VILLAGE * MEAN_GROUP_PARCELS * 0.85:
        raise ValueError(f"county {county} holds at most about {layout.parcel_capacity:,} synthetic parcels")
    ids = _IdAllocator(COUNTIES[county].id_areas)
    names = _village_names(layout.n_villages, np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0,))))
    done = 0
    for vi in range(layout.n_villages):
        if done >= parcels:
            return
        township, village = 101 + vi // VILLAGES_PER_TOWNSHIP, 1 + vi % VILLAGES_PER_TOWNSHIP
        village_code = f"{county}{township:03d}{village:03d}"
        village_name = f"{_township_name(township)}{names[vi]}村"
        vrng = _rng(seed, township, village, 0)
        decided = dt.date(2018, 6, 1) + dt.timedelta(days=int(vrng.integers(0, 850)))
        yield DemoCollective(
            code14=village_code + "00",
            name=village_name + "股份经济合作社",
            households=[],
            parcels_geoms_4490=np.empty(0, dtype=object),
            parcel_codes=[],
            parcel_kinds=np.empty(0, dtype="<U13"),
            parcel_land_uses=np.empty(0, dtype="<U10"),
            parcel_names=[],
            membership_decided_on=decided,
        )
        for g in range(1, GROUPS_PER_VILLAGE + 1):
            if done >= parcels:
                return
            rng = _rng(seed, township, village, g)
            n = int(np.clip(round(rng.normal(MEAN_GROUP_PARCELS, 40)), 200, 400))
            remaining = parcels - done
            if remaining - n < 150:  # too little left for another group: this one takes it
                n = remaining
            collective = _group(
                rng,
                ids,
                county=county,
                code14=f"{village_code}{g:02d}",
                village_name=village_name,
                group=g,
                origin=layout.group_origin(vi, g),
                n_parcels=n,
                decided=decided + dt.timedelta(days=int(rng.integers(0, 21))),
            )
            done += len(collective.parcel_codes)
            yield collective


def summarise(collectives: Iterable[DemoCollective]) -> DemoSummary:
    """Count what a stream of collectives holds (consumes it)."""
    c = v = g = h = p = n = hs = 0
    for col in collectives:
        c += 1
        if col.level == "village":
            v += 1
        else:
            g += 1
        h += len(col.households)
        p += sum(len(hh.members) for hh in col.households)
        n += len(col.parcel_codes)
        hs += int(np.count_nonzero(col.parcel_kinds == HOMESTEAD))
    return DemoSummary(c, v, g, h, p, n, hs)


def summary(seed: int = 2017, parcels: int = 3000, county: str = "210681") -> DemoSummary:
    """Return the counts of :func:`iter_county` (generates the whole county)."""
    return summarise(iter_county(seed=seed, parcels=parcels, county=county))


# --- layout ------------------------------------------------------------------


class _Layout:
    def __init__(self, county: str):
        xmin, ymin, xmax, ymax = lonlat_box_to_4550(*COUNTIES[county].box)
        across, down = VILLAGE_GRID
        self.village_w, self.village_h = across * GROUP_PITCH_M, down * GROUP_PITCH_M
        self.cols = int((xmax - xmin) // self.village_w)
        self.rows = int((ymax - ymin) // self.village_h)
        # Centre the grid in the box; start in the north-west corner.
        self.x0 = xmin + ((xmax - xmin) - self.cols * self.village_w) / 2
        self.y_top = ymax - ((ymax - ymin) - self.rows * self.village_h) / 2
        self.n_villages = self.cols * self.rows
        self.parcel_capacity = int(self.n_villages * GROUPS_PER_VILLAGE * MEAN_GROUP_PARCELS * 0.85)

    def group_origin(self, village_index: int, group: int) -> tuple[float, float]:
        """South-west corner of the group's square of land."""
        row, col = divmod(village_index, self.cols)
        across = VILLAGE_GRID[0]
        gr, gc = divmod(group - 1, across)
        x = self.x0 + col * self.village_w + gc * GROUP_PITCH_M
        y = self.y_top - row * self.village_h - (gr + 1) * GROUP_PITCH_M
        return x, y


def _rng(seed: int, township: int, village: int, group: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(1, township, village, group)))


def _township_name(township: int) -> str:
    i = township - 101
    return _TOWNSHIPS[i] if i < len(_TOWNSHIPS) else f"第{i + 1}镇"


def _village_names(n: int, rng: np.random.Generator) -> list[str]:
    """Return ``n`` distinct village names (numbered once the pool runs out)."""
    curated = [_VILLAGES_CURATED[i] for i in rng.permutation(len(_VILLAGES_CURATED))]
    combos = [p + r for p in _VILLAGE_PREFIX for r in _VILLAGE_ROOT if p + r not in _VILLAGES_CURATED]
    pool = curated + [combos[i] for i in rng.permutation(len(combos))]
    names = pool[:n]
    copy = 2
    while len(names) < n:
        names += [f"{name}{_CN_DIGITS[copy] if copy < 10 else copy}" for name in pool[: n - len(names)]]
        copy += 1
    return names


def _group_name(group: int) -> str:
    if group <= 10:
        digits = "十" if group == 10 else _CN_DIGITS[group]
    elif group < 20:
        digits = "十" + _CN_DIGITS[group - 10]
    else:
        digits = _CN_DIGITS[group // 10] + "十" + (_CN_DIGITS[group % 10] if group % 10 else "")
    return f"第{digits}村民小组"


# --- one villager group ------------------------------------------------------


def _group(rng, ids, *, county, code14, village_name, group, origin, n_parcels, decided) -> DemoCollective:
    n_households = max(1, int(round(n_parcels / rng.uniform(4.6, 5.4))))
    n_homesteads = int(round(n_households * rng.uniform(0.85, 1.0)))
    n_homesteads = max(0, min(n_homesteads, n_parcels // 4))
    size = GROUP_PITCH_M * min(1.0, math.sqrt(max(n_parcels, 1) / 370.0))
    size = max(size, 80.0)
    slack = GROUP_PITCH_M - size
    x = origin[0] + rng.uniform(0, slack)
    y = origin[1] + rng.uniform(0, slack)
    geoms, kinds, blocks = group_parcels(rng, (x, y), size, n_parcels, n_homesteads, with_blocks=True)

    group_name = _group_name(group)
    county_info = COUNTIES[county]
    address_prefix = f"{county_info.province}{county_info.prefecture}{county_info.name}{village_name}{group_name}"
    households = []
    for serial in range(1, n_households + 1):
        members = _household_members(rng, ids)
        households.append(DemoHousehold(code18=f"{code14}{serial:04d}", address=f"{address_prefix}{serial}号",
                                        members=members))

    # Each field block gets a local name; neighbouring blocks may share one.
    n_blocks = int(blocks.max()) + 1 if len(blocks) else 0
    block_names = rng.choice(np.array(_FIELD_NAMES), size=max(n_blocks, 1))
    names = np.where(blocks >= 0, block_names[np.maximum(blocks, 0)], _HOMESTEAD_NAME)

    holder = np.full(len(kinds), -1, dtype=np.int32)
    home = np.flatnonzero(kinds == HOMESTEAD)
    holder[home] = rng.permutation(n_households)[: len(home)]
    allotted = np.flatnonzero((kinds == CONTRACT_LAND) | (kinds == PRIVATE_PLOT))
    sizes = np.array([len(h.members) for h in households], dtype=float)
    # 按人分地: parcels dealt in a shuffled order, quota proportional to persons.
    quota = np.cumsum(sizes) / sizes.sum() * len(allotted)
    holder[allotted[rng.permutation(len(allotted))]] = np.minimum(
        np.searchsorted(quota, np.arange(len(allotted)) + 0.5), n_households - 1
    )

    return DemoCollective(
        code14=code14,
        name=f"{village_name}{group_name}",
        households=households,
        parcels_geoms_4490=to_4490(geoms),
        parcel_codes=[f"{code14}{i:05d}" for i in range(1, len(geoms) + 1)],
        parcel_kinds=kinds,
        parcel_land_uses=np.array([LAND_USE[k] for k in kinds], dtype="<U10"),
        parcel_names=names.tolist(),
        membership_decided_on=decided,
        parcel_household=holder,
    )


def _household_members(rng: np.random.Generator, ids: _IdAllocator) -> list[DemoPerson]:
    makeup = _MAKEUPS[int(rng.choice(len(_MAKEUPS), p=_MAKEUP_P))][1]
    if "parent" in makeup:
        head_year = int(rng.integers(1962, 1986))
    elif "grandchild" in makeup:
        head_year = int(rng.integers(1950, 1966))
    else:
        head_year = int(rng.integers(1950, 1986))
    # Women head mostly households without a husband (widows, divorcees).
    head_sex = "male" if rng.random() < (0.95 if "spouse" in makeup else 0.6) else "female"
    family = _SURNAMES[int(rng.choice(len(_SURNAMES), p=_SURNAME_P))]
    head_birth = _day_in(rng, head_year)
    members = [_person(rng, ids, family, head_sex, "head", head_birth)]
    child_birth = None
    for relation in makeup[1:]:
        if relation == "spouse":
            sex = "female" if head_sex == "male" else "male"
            shift = rng.normal(2.0, 2.5) if sex == "female" else -rng.normal(2.0, 2.5)
            birth = _clip(head_birth + _years(shift), 1948, 1990)
            members.append(_person(rng, ids, _other_surname(rng, family), sex, relation, birth))
        elif relation == "child":
            sex = "male" if rng.random() < 0.52 else "female"
            birth = _clip(head_birth + _years(rng.uniform(21, 36)), 1975, 2015)
            child_birth = child_birth or birth
            members.append(_person(rng, ids, family, sex, relation, birth))
        elif relation == "parent":
            sex = "male" if rng.random() < 0.4 else "female"
            birth = _clip(head_birth - _years(rng.uniform(22, 34)), 1930, 1955)
            surname = family if sex == "male" else _other_surname(rng, family)
            members.append(_person(rng, ids, surname, sex, relation, birth))
        elif relation == "child_in_law":
            sex = "female" if members[-1].sex == "male" else "male"
            birth = _clip(members[-1].birth_date + _years(rng.normal(1.0, 2.0)), 1972, 1995)
            members.append(_person(rng, ids, _other_surname(rng, family), sex, relation, birth))
        elif relation == "grandchild":
            sex = "male" if rng.random() < 0.52 else "female"
            birth = _clip((child_birth or head_birth) + _years(rng.uniform(22, 30)), 1995, 2020)
            members.append(_person(rng, ids, family, sex, relation, birth))
        elif relation == "sibling":
            sex = "male" if rng.random() < 0.5 else "female"
            birth = _clip(head_birth + _years(rng.uniform(-8, 8)), 1945, 1990)
            members.append(_person(rng, ids, family, sex, relation, birth))
        else:
            sex = "male" if rng.random() < 0.5 else "female"
            birth = _day_in(rng, int(rng.integers(1940, 2005)))
            members.append(_person(rng, ids, _other_surname(rng, family), sex, relation, birth))
    return members


def _person(rng, ids, surname, sex, relation, birth) -> DemoPerson:
    era = "old" if birth.year < 1960 else ("mid" if birth.year < 1985 else "new")
    pool = _GIVEN[(era, sex)]
    return DemoPerson(
        name=surname + pool[int(rng.integers(len(pool)))],
        id_number=ids.allocate(birth, sex),
        sex=sex,
        relation=relation,
        birth_date=birth,
    )


def _other_surname(rng, family: str) -> str:
    surname = _SURNAMES[int(rng.choice(len(_SURNAMES), p=_SURNAME_P))]
    return surname if surname != family else _SURNAMES[(_SURNAMES.index(family) + 1) % len(_SURNAMES)]


def _day_in(rng, year: int) -> dt.date:
    first = dt.date(year, 1, 1)
    return first + dt.timedelta(days=int(rng.integers(0, (dt.date(year + 1, 1, 1) - first).days)))


def _years(n: float) -> dt.timedelta:
    return dt.timedelta(days=int(round(n * 365.25)))


def _clip(day: dt.date, first_year: int, last_year: int) -> dt.date:
    return min(max(day, dt.date(first_year, 1, 1)), dt.date(last_year, 12, 31))


class _IdAllocator:
    """Hands out GB 11643 numbers that are unique by construction.

    Per birth date and sex a counter picks the next sequence number of the
    first area (odd 001–999 for men, even 002–998 for women); a fixed
    per-date permutation keeps the numbers from all starting at 001. When
    a date's numbers in one area are used up the next area takes over.
    """

    _MEN, _WOMEN = 500, 499  # odd and even sequence numbers available per date

    def __init__(self, areas: tuple[str, ...]):
        self.areas = areas
        self.used: dict[tuple[int, bool], int] = {}

    def allocate(self, birth: dt.date, sex: str) -> str:
        male = sex == "male"
        key = (birth.toordinal(), male)
        n = self.used.get(key, 0)
        self.used[key] = n + 1
        size = self._MEN if male else self._WOMEN
        area_index, i = divmod(n, size)
        if area_index >= len(self.areas):
            raise ValueError(f"no sequence numbers left for {birth.isoformat()}")
        offset = (key[0] * 7919) % size
        if male:  # 137 is coprime to 500, and 499 is prime: both maps are bijections
            seq = 2 * ((137 * i + offset) % size) + 1
        else:
            seq = 2 * ((61 * i + offset) % size) + 2
        first17 = f"{self.areas[area_index]}{birth:%Y%m%d}{seq:03d}"
        return first17 + id_check_char(first17)
