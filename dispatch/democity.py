"""The demo city: a reproducible, realistic-looking service area around Shanghai.

``fieldroute demo`` is the first thing a new user runs, and the dispatch
benchmark needs a city it can regenerate at will; both use this module.

Two steps, kept apart on purpose:

1. :func:`generate_city` is pure: a seed and a size give a :class:`CitySpec`
   (plain data: district fences, engineers, customers, sites, tickets, a week
   of history). Same seed, same city — only the dates follow the chosen day.
2. :func:`load_city` writes a spec through the ``crm`` services, exactly as the
   API would: phones are normalised and de-duplicated (a repeat caller whose
   number is typed differently becomes the same customer), fences are
   validated, sites get their territory from the fence index.

District fences are unions of Voronoi cells around jittered seeds near the
real district centres, so neighbours share borders exactly (a valid coverage)
and borders are jagged like real ones, not straight Voronoi edges.
"""

from __future__ import annotations

import colorsys
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import shapely
from shapely.geometry import MultiPolygon, Polygon
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from crm.db import session_scope
from crm.errors import DuplicateRecord, InvalidInput
from crm.models import (
    Customer,
    Engineer,
    EngineerTerritory,
    Plan,
    PlanStatus,
    PlanUnassigned,
    Role,
    Route,
    Shift,
    Site,
    Stop,
    Territory,
    TerritoryRole,
    Ticket,
    TicketEvent,
    TicketStatus,
)
from crm.schemas.common import Window
from crm.schemas.customers import CustomerCreate, SiteCreate
from crm.schemas.engineers import (
    AbsenceCreate,
    EngineerCreate,
    MembershipItem,
    ShiftCreate,
    SkillCreate,
    SkillLevel,
)
from crm.schemas.mobile import LocationPoint
from crm.schemas.tickets import RequiredSkill, TicketCreate, TransitionRequest
from crm.schemas.users import UserCreate
from crm.services import customers as customers_svc
from crm.services import engineers as engineers_svc
from crm.services import tickets as tickets_svc
from crm.services import users as users_svc
from crm.services.common import SYSTEM, Actor
from crm.services.locations import store_points
from crm.services.territories import FenceCache, create_territory
from dispatch.staffing import trade_cover
from geofence import FenceIndex, FenceItem, LatLon
from geofence.coords import latlon_of_point

__all__ = [
    "SIZES",
    "CitySize",
    "CitySpec",
    "LoadReport",
    "city_figures",
    "generate_city",
    "load_city",
    "trade_minutes",
    "write_sketch_plan",
]

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class CitySize:
    """How big a demo city is."""

    name: str
    territories: int
    engineers: int
    tickets: int
    history_per_engineer: int
    """Completed tickets per engineer over the past week (the leaderboard)."""


SIZES: dict[str, CitySize] = {
    "tiny": CitySize("tiny", 3, 6, 30, 1),  # tests: a city in a second
    "small": CitySize("small", 6, 15, 150, 2),
    "medium": CitySize("medium", 12, 60, 600, 3),
    "large": CitySize("large", 25, 250, 5000, 2),
}

# Near the real centres, most central first: a size takes the first N.
DISTRICTS: tuple[tuple[str, float, float], ...] = (
    ("Huangpu", 31.2317, 121.4846),
    ("Jing'an", 31.2500, 121.4550),
    ("Xuhui", 31.1830, 121.4370),
    ("Changning", 31.2120, 121.3950),
    ("Hongkou", 31.2720, 121.4950),
    ("Lujiazui", 31.2300, 121.5350),
    ("Putuo", 31.2550, 121.3950),
    ("Yangpu", 31.2900, 121.5300),
    ("Zhangjiang", 31.2000, 121.5900),
    ("Minhang", 31.1150, 121.3900),
    ("Baoshan", 31.3650, 121.4500),
    ("Jinqiao", 31.2700, 121.6000),
    ("Hongqiao", 31.1950, 121.3200),
    ("Zhoupu", 31.1150, 121.5750),
    ("Jiading", 31.3750, 121.2650),
    ("Gaoqiao", 31.3450, 121.5750),
    ("Meilong", 31.0600, 121.4300),
    ("Chuansha", 31.1900, 121.7000),
    ("Songjiang", 31.0300, 121.2300),
    ("Qingpu", 31.1500, 121.1200),
    ("Anting", 31.3000, 121.1700),
    ("Wusong", 31.4050, 121.5000),
    ("Nanhui", 31.0500, 121.7600),
    ("Fengxian", 30.9200, 121.4700),
    ("Zhuanqiao", 31.0200, 121.3600),
)

SKILLS: tuple[tuple[str, str, float], ...] = (
    # code, name, share of tickets needing it
    ("hvac", "Air conditioning and heating", 0.28),
    ("electrical", "Electrical installations", 0.20),
    ("plumbing", "Plumbing and drainage", 0.18),
    ("network", "Network and IT", 0.10),
    ("elevator", "Lifts and escalators", 0.08),
    ("fire", "Fire safety systems", 0.08),
    ("refrigeration", "Commercial refrigeration", 0.05),
    ("security", "Access control and CCTV", 0.03),
)

TITLES: dict[str, tuple[str, ...]] = {
    "hvac": (
        "Air conditioner not cooling",
        "Annual HVAC maintenance",
        "Heat pump shows error E4",
        "Noisy fan coil unit",
        "Radiator cold on third floor",
    ),
    "electrical": (
        "Circuit breaker keeps tripping",
        "Install new sockets in meeting room",
        "Emergency lighting test",
        "Flickering lights in lobby",
    ),
    "plumbing": (
        "Leaking pipe under kitchen sink",
        "Blocked drain in washroom",
        "Water heater not working",
        "Low water pressure",
    ),
    "network": (
        "Wi-Fi access point offline",
        "Patch panel rewiring",
        "POS terminals lose connection",
    ),
    "elevator": ("Lift stuck between floors", "Quarterly lift inspection", "Escalator noise"),
    "fire": ("Sprinkler inspection", "Fire alarm panel fault", "Replace smoke detectors"),
    "refrigeration": ("Cold room above 8 °C", "Display fridge icing up"),
    "security": ("Door access reader broken", "CCTV camera offline"),
}

BUSINESS_WORDS = (
    "Hengtong", "Jinqiao", "Xinhua", "Huamei", "Dongfang", "Baolong", "Ruijin", "Yuyuan",
    "Tianshan", "Longhua", "Meilan", "Anfu", "Kangqiao", "Zhongshan", "Guangming", "Fuxing",
    "Haitong", "Jiahe", "Shengda", "Minsheng", "Huaxia", "Yongan", "Taikang", "Lianhua",
)  # fmt: skip
BUSINESS_KINDS = (
    "Dental Clinic", "Hotel", "Supermarket", "Office Tower", "Restaurant", "Kindergarten",
    "Pharmacy", "Fitness Club", "Data Centre", "Bank Branch", "Cinema", "Bakery",
    "Property Management", "Shopping Mall", "Tea House", "Logistics Park", "Hospital Wing",
    "Language School", "Coffee Roasters", "Serviced Apartments",
)  # fmt: skip
ROADS = (
    "Nanjing West Rd", "Huaihai Middle Rd", "Yan'an East Rd", "Zhaojiabang Rd", "Hongqiao Rd",
    "Siping Rd", "Century Ave", "Zhangyang Rd", "Caoxi North Rd", "Wuning Rd", "Tianmu West Rd",
    "Zhongshan North Rd", "Xietu Rd", "Changshou Rd", "Dalian Rd", "Longyang Rd",
    "Gubei Rd", "Hengshan Rd", "Jiangning Rd", "Dongdaming Rd", "Pudong South Rd",
)  # fmt: skip
SURNAMES = (
    "Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun",
    "Ma", "Zhu", "Hu", "Guo", "He", "Lin", "Gao", "Luo", "Zheng", "Liang", "Xie", "Tang",
)  # fmt: skip
GIVEN = (
    "Wei", "Fang", "Lei", "Jing", "Min", "Jun", "Yan", "Tao", "Hao", "Qiang", "Li", "Xin",
    "Yu", "Bo", "Hui", "Ping", "Chao", "Ming", "Lan", "Ying", "Kai", "Ning", "Rui", "Dong",
)  # fmt: skip


# --- the spec: plain data -------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TerritorySpec:
    name: str
    colour: str
    geometry: Polygon


@dataclass(frozen=True, slots=True)
class EngineerSpec:
    name: str
    phone: str
    home: LatLon
    colour: str
    skills: dict[str, int]
    primary: int
    secondary: tuple[int, ...]
    shift: tuple[time, time] | None
    """Local start and end of tomorrow's shift (None: day off)."""
    break_minutes: int
    absent_from: time | None
    """Local time from which he is away for the rest of the day (training, doctor)."""
    last_seen: LatLon


@dataclass(frozen=True, slots=True)
class CustomerSpec:
    name: str
    phone: str | None
    """As a dispatcher typed it: formats vary, some are repeats, a few are wrong."""
    tier: str
    licence_no: str | None


@dataclass(frozen=True, slots=True)
class SiteSpec:
    customer: int
    name: str
    address: str
    at: LatLon
    access: tuple[int, int] | None
    """Access window in minutes after local midnight."""


@dataclass(frozen=True, slots=True)
class TicketSpec:
    site: int
    title: str
    duration_min: int
    priority: str
    skills: dict[str, int]
    windows: tuple[tuple[int, int], ...]
    """Minutes after local midnight of the ticket's day (may exceed 1440)."""
    sla_minutes: int | None
    """SLA due as minutes after local midnight of the ticket's day."""
    days_before: int = 0
    """0 for tomorrow's tickets; 1..7 for history (completed that many days earlier)."""
    engineer: int | None = None
    late: bool = False


@dataclass(frozen=True, slots=True)
class CitySpec:
    """A whole demo city, ready to load."""

    size: CitySize
    seed: int
    territories: tuple[TerritorySpec, ...]
    engineers: tuple[EngineerSpec, ...]
    customers: tuple[CustomerSpec, ...]
    sites: tuple[SiteSpec, ...]
    tickets: tuple[TicketSpec, ...]
    history: tuple[TicketSpec, ...]


# --- geometry -------------------------------------------------------------------------
def _colour(i: int, n: int, lightness: float = 0.45) -> str:
    hue = (i * 0.618033988749895) % 1.0 if n > 12 else i / max(n, 1)
    r, g, b = colorsys.hls_to_rgb(hue, lightness, 0.7)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


def _district_fences(rng: random.Random, count: int) -> tuple[list[tuple[str, Polygon]], Polygon]:
    """Jagged district polygons sharing borders exactly, and the city outline."""
    chosen = DISTRICTS[:count]
    centres = [shapely.Point(lon, lat) for _, lat, lon in chosen]
    nn = [
        min(c.distance(o) for j, o in enumerate(centres) if j != i) if count > 1 else 0.05
        for i, c in enumerate(centres)
    ]
    spread = sorted(nn)[len(nn) // 2]
    city = shapely.MultiPoint(centres).convex_hull.buffer(spread * 0.75, quad_segs=4)
    seeds: list[shapely.Point] = []
    owner: list[int] = []
    for i, c in enumerate(centres):
        seeds.append(c)
        owner.append(i)
        for _ in range(14):
            p = shapely.Point(c.x + rng.gauss(0, nn[i] * 0.45), c.y + rng.gauss(0, nn[i] * 0.45))
            seeds.append(p)
            # A jittered seed belongs to the nearest centre: districts stay in one piece.
            owner.append(min(range(count), key=lambda k: centres[k].distance(p)))
    cells = shapely.voronoi_polygons(
        shapely.MultiPoint(seeds), extend_to=city.buffer(spread), ordered=True
    )
    parts: list[list[Polygon]] = [[] for _ in range(count)]
    for k, cell in enumerate(cells.geoms):
        piece = cell.intersection(city)
        if not piece.is_empty:
            parts[owner[k]].append(piece)
    shapes = [shapely.union_all(p) for p in parts]
    shapes = _one_piece_each(shapes)
    shapes = [shapely.set_precision(s, 1e-6) for s in shapes]
    return [(chosen[i][0], shapes[i]) for i in range(count)], city


def _one_piece_each(shapes: list[Any]) -> list[Polygon]:
    """Give every stray piece of a district to the neighbour it shares most border with."""
    for _ in range(10):
        moved = False
        for i, s in enumerate(shapes):
            if not isinstance(s, MultiPolygon):
                continue
            pieces = sorted(s.geoms, key=lambda g: g.area, reverse=True)
            shapes[i] = pieces[0]
            for piece in pieces[1:]:
                best = max(
                    (j for j in range(len(shapes)) if j != i),
                    key=lambda j: piece.boundary.intersection(shapes[j].boundary).length,
                )
                shapes[best] = shapely.union_all([shapes[best], piece])
            moved = True
        if not moved:
            break
    return [s if isinstance(s, Polygon) else max(s.geoms, key=lambda g: g.area) for s in shapes]


def _point_in(rng: random.Random, polygon: Any) -> LatLon:
    min_x, min_y, max_x, max_y = polygon.bounds
    shapely.prepare(polygon)
    for _ in range(10_000):
        p = shapely.Point(rng.uniform(min_x, max_x), rng.uniform(min_y, max_y))
        if polygon.contains(p):
            return latlon_of_point(p)
    return latlon_of_point(polygon.representative_point())


def _round(p: LatLon) -> LatLon:
    return LatLon(lat=round(p.lat, 6), lon=round(p.lon, 6))


# --- people and things -------------------------------------------------------------------
def _mobile(rng: random.Random, used: set[str]) -> str:
    while True:
        digits = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
        if digits not in used:
            used.add(digits)
            return digits


def _typed(rng: random.Random, digits: str) -> str:
    """A mobile number the way people type it."""
    style = rng.randrange(5)
    if style == 0:
        return f"+86 {digits[:3]} {digits[3:7]} {digits[7:]}"
    if style == 1:
        return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    if style == 2:
        return f"0086 {digits}"
    if style == 3:
        return digits
    return f"+86-{digits}"


def _weighted(rng: random.Random, items: Sequence[tuple[Any, float]]) -> Any:
    return rng.choices([i for i, _ in items], weights=[w for _, w in items])[0]


def _windows(rng: random.Random, priority: str) -> tuple[tuple[int, int], ...]:
    h = 60
    if priority == "urgent":
        return ((8 * h, 14 * h),)
    kind = _weighted(
        rng,
        [("day", 0.30), ("am", 0.20), ("pm", 0.20), ("slot", 0.20), ("two", 0.07), ("any", 0.03)],
    )
    if kind == "day":
        return ((8 * h, 18 * h),)
    if kind == "am":
        return ((8 * h, 12 * h),)
    if kind == "pm":
        return ((13 * h, 17 * h),)
    if kind == "slot":
        start = rng.choice([8, 9, 10, 11, 13, 14, 15, 16]) * h
        return ((start, start + 2 * h),)
    if kind == "two":
        return ((9 * h, 11 * h), (14 * h, 16 * h))
    return ()


def generate_city(size: str | CitySize = "medium", seed: int = 7) -> CitySpec:
    """A reproducible demo city: same ``size`` and ``seed``, same city.

    Dates are not part of the spec; :func:`load_city` places the tickets on
    the day it is given, so the demo always plans "tomorrow".
    """
    spec = SIZES[size] if isinstance(size, str) else size
    rng = random.Random(seed)
    fences, city = _district_fences(rng, spec.territories)
    n_t = len(fences)
    territories = tuple(
        TerritorySpec(name=name, colour=_colour(i, n_t), geometry=geom)
        for i, (name, geom) in enumerate(fences)
    )
    index = FenceIndex(FenceItem(i, t.geometry) for i, t in enumerate(territories))
    neighbours: dict[int, list[int]] = {i: [] for i in range(n_t)}
    for a, b in index.touching_pairs():
        neighbours[int(a)].append(int(b))
        neighbours[int(b)].append(int(a))

    # Demand is denser downtown: a Gaussian around the centre mixed with uniform.
    centre = city.centroid
    radius = math.sqrt(city.area / math.pi)
    outside_ring = city.buffer(radius * 0.12).difference(city.buffer(radius * 0.02))

    def site_position() -> LatLon:
        if rng.random() < 0.015:
            return _point_in(rng, outside_ring)  # outside every fence: someone must notice
        if rng.random() < 0.55:
            for _ in range(100):
                p = shapely.Point(
                    rng.gauss(centre.x, radius * 0.45), rng.gauss(centre.y, radius * 0.45)
                )
                if city.contains(p):
                    return latlon_of_point(p)
        return _point_in(rng, city)

    # Customers (a few repeat callers typed differently, a few wrong numbers).
    used: set[str] = set()
    n_customers = max(3, round(spec.tickets * 0.7))
    customers: list[CustomerSpec] = []
    numbers: list[str] = []
    for i in range(n_customers):
        if i > 10 and rng.random() < 0.03:
            j = rng.randrange(len(customers))
            if numbers[j]:
                base = customers[j]
                customers.append(
                    CustomerSpec(
                        name=base.name + " (repeat call)",
                        phone=_typed(rng, numbers[j]),
                        tier=base.tier,
                        licence_no=None,
                    )
                )
                numbers.append(numbers[j])
                continue
        if rng.random() < 0.01:
            phone: str | None = f"{rng.randrange(1000, 99999)}"  # too short: rejected
            digits = ""
        elif rng.random() < 0.12:
            digits = f"21{rng.randrange(10**8):08d}"  # a Shanghai landline
            while digits in used:
                digits = f"21{rng.randrange(10**8):08d}"
            used.add(digits)
            phone = f"021-{digits[2:6]} {digits[6:]}"
        else:
            digits = _mobile(rng, used)
            phone = _typed(rng, digits)
        licence = (
            "91310" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(13))
            if rng.random() < 0.4
            else None
        )
        customers.append(
            CustomerSpec(
                name=f"{rng.choice(BUSINESS_WORDS)} {rng.choice(BUSINESS_KINDS)}",
                phone=phone,
                tier=_weighted(rng, [("A", 0.15), ("B", 0.5), ("C", 0.35)]),
                licence_no=licence,
            )
        )
        numbers.append(digits)

    # Sites: every customer has one, some have two or three.
    sites: list[SiteSpec] = []
    n_sites = max(n_customers, round(spec.tickets * 0.85))
    owners = list(range(n_customers)) + [
        rng.randrange(n_customers) for _ in range(n_sites - n_customers)
    ]
    for c in owners:
        at = _round(site_position())
        access = _weighted(
            rng, [(None, 0.75), ((8 * 60, 18 * 60), 0.2), ((14 * 60, 17 * 60), 0.05)]
        )
        sites.append(
            SiteSpec(
                customer=c,
                name=customers[c].name,
                address=f"{rng.randrange(1, 2999)} {rng.choice(ROADS)}",
                at=at,
                access=access,
            )
        )
    site_territory = index.assign(lat=[s.at.lat for s in sites], lon=[s.at.lon for s in sites])

    # Tickets for tomorrow.
    skill_weights = [(code, share) for code, _, share in SKILLS]
    tickets: list[TicketSpec] = []
    order = list(range(len(sites)))
    rng.shuffle(order)
    site_of_ticket = [order[i % len(order)] for i in range(spec.tickets)]
    for s in site_of_ticket:
        tickets.append(_ticket(rng, s, skill_weights))
    # Sized first for the crew a district would expect (most at work, 8 paid hours) to
    # share engineers out by load; refitted below to the hours actually rostered.
    drawn = tickets
    tickets = _fit_to_capacity(drawn, spec.engineers * 0.92 * 8 * 60)

    # Engineers: as many per district as its share of tomorrow's work.
    load = [0.0] * n_t
    for t in tickets:
        tid = int(site_territory[t.site])
        if tid >= 0:
            load[tid] += t.duration_min
    total = sum(load) or 1.0
    per = [max(1, round(spec.engineers * load_i / total)) for load_i in load]
    while sum(per) > spec.engineers:
        per[per.index(max(per))] -= 1
    while sum(per) < spec.engineers:
        per[min(range(n_t), key=lambda i: per[i] / (load[i] or 1))] += 1
    engineers: list[EngineerSpec] = []
    names: set[str] = set()
    for tid, count in enumerate(per):
        for _ in range(count):
            engineers.append(
                _engineer(
                    rng, len(engineers), spec.engineers, tid, territories, neighbours, used, names
                )
            )
    _staff_every_trade(rng, engineers, n_t)
    _roster_days_off(engineers, n_t)
    tickets = _fit_to_capacity(drawn, sum(_paid_minutes(e) for e in engineers))
    _staff_trades_to_demand(rng, engineers, tickets, site_territory.tolist())

    # A week of history: tickets each engineer completed (the leaderboard).
    history: list[TicketSpec] = []
    by_territory: dict[int, list[int]] = {}
    for i, tid in enumerate(site_territory.tolist()):
        by_territory.setdefault(int(tid), []).append(i)
    for e_idx, e in enumerate(engineers):
        own = by_territory.get(e.primary) or list(range(len(sites)))
        for _ in range(rng.randint(0, spec.history_per_engineer * 2)):
            past = _ticket(rng, rng.choice(own), skill_weights)
            history.append(
                TicketSpec(
                    site=past.site,
                    title=past.title,
                    duration_min=past.duration_min,
                    priority=past.priority,
                    skills={},
                    windows=past.windows,
                    sla_minutes=past.sla_minutes,
                    days_before=rng.randint(1, 6),
                    engineer=e_idx,
                    late=rng.random() < 0.12,
                )
            )
    return CitySpec(
        size=spec,
        seed=seed,
        territories=territories,
        engineers=tuple(engineers),
        customers=tuple(customers),
        sites=tuple(sites),
        tickets=tuple(tickets),
        history=tuple(history),
    )


def _staff_every_trade(rng: random.Random, engineers: list[EngineerSpec], territories: int) -> None:
    """Give each district someone at level 3 in every trade, as a real company staffs it.

    Left to chance, a district of five engineers lacks a trade or two and the
    demo's plan fills up with "no engineer with the skill"; a few such tickets
    (level 4-5 jobs) remain, which is what a dispatcher should see.
    """
    for tid in range(territories):
        crew = [i for i, e in enumerate(engineers) if e.primary == tid]
        if not crew:
            continue
        for code, _, _ in SKILLS:
            if any(engineers[i].skills.get(code, 0) >= 3 for i in crew):
                continue
            i = min(crew, key=lambda k: (len(engineers[k].skills), rng.random()))
            engineers[i].skills[code] = max(engineers[i].skills.get(code, 0), 3)


def _paid_minutes(e: EngineerSpec) -> int:
    """Minutes of tomorrow an engineer can work: his shift, less his break and absence."""
    if e.shift is None:
        return 0
    start = e.shift[0].hour * 60 + e.shift[0].minute
    end = e.shift[1].hour * 60 + e.shift[1].minute
    if e.absent_from is not None:
        end = min(end, e.absent_from.hour * 60 + e.absent_from.minute)
    return max(0, end - start - e.break_minutes)


def _staff_trades_to_demand(
    rng: random.Random,
    engineers: list[EngineerSpec],
    tickets: Sequence[TicketSpec],
    site_territory: Sequence[int],
) -> None:
    """Cross-train engineers until each district's crew can carry tomorrow's work.

    Skills drawn at random leave a district with, say, a third of its HVAC work and a
    sixth of its HVAC hands; no plan can then serve that trade's day (the fences are hard)
    and the plan reports it as short of capacity. A manager staffs each trade to its
    demand: the hours of a district's on-shift engineers, at the utilisation the whole
    city is sized for (:data:`WORK_SHARE`), must carry every trade's ticket minutes *at
    once* — an engineer's day counts once, not once per trade he holds (a max-flow,
    :func:`dispatch.staffing.trade_cover`). While some trade's work does not fit, the
    engineer with the most hours left over who lacks it learns it at level 3 (the
    specialist whose trade has little work that day). A ticket's minutes go to its main
    trade; level 4-5 work is left as drawn: a few such tickets find nobody, which is what
    a dispatcher should see.
    """
    for tid, minutes in sorted(trade_minutes(tickets, site_territory).items()):
        crew = [e for e in engineers if e.primary == tid and _paid_minutes(e)]
        hours = [_paid_minutes(e) * WORK_SHARE for e in crew]
        stuck: set[str] = set()
        while crew:
            holds = [{c for c, lv in e.skills.items() if lv >= 3} for e in crew]
            cover = trade_cover(minutes, hours, holds)
            short = [c for c, v in cover.unmet.items() if v > 1e-6 and c not in stuck]
            # The most short trade first; one nobody can learn is set aside for good.
            for code in sorted(short, key=lambda c: (cover.unmet[c], c), reverse=True):
                # Only an engineer with hours to spare adds cover: when the whole crew is
                # busy the district is short of people, not of trades, and training
                # cannot help.
                learners = [
                    k for k, e in enumerate(crew) if e.skills.get(code, 0) < 3 and cover.free[k] > 1
                ]
                if learners:
                    k = max(
                        learners,
                        key=lambda k: (
                            cover.free[k],
                            -sum(v >= 3 for v in crew[k].skills.values()),
                            rng.random(),
                        ),
                    )
                    crew[k].skills[code] = 3
                    break
                stuck.add(code)
            else:
                break


def trade_minutes(
    tickets: Sequence[TicketSpec], site_territory: Sequence[int]
) -> dict[int, dict[str, float]]:
    """Ticket minutes per district and main trade (the first of a ticket's highest level):
    the demand a district's crew must carry. Sites outside every fence count nowhere."""
    demand: dict[int, dict[str, float]] = {}
    for t in tickets:
        tid = int(site_territory[t.site])
        if tid < 0 or not t.skills:
            continue
        main = max(t.skills, key=lambda code: t.skills[code])
        per = demand.setdefault(tid, {})
        per[main] = per.get(main, 0.0) + t.duration_min
    return demand


def _roster_days_off(engineers: list[EngineerSpec], territories: int) -> None:
    """Spread tomorrow's days off over the districts in proportion to their crews.

    Drawn independently, days off fall unevenly: a four-person district can lose two at
    once while a twenty-person one loses none, and no plan can then serve the small
    district's day. A manager rosters days off so every district keeps its cover; this
    keeps the same number of days off and moves the surplus ones to the districts that have
    fewer than their share (largest remainder), deterministically.
    """
    crews = [[i for i, e in enumerate(engineers) if e.primary == t] for t in range(territories)]
    off = [[i for i in crew if engineers[i].shift is None] for crew in crews]
    total_off = sum(len(o) for o in off)
    staff = sum(len(c) for c in crews) or 1
    quota = [total_off * len(c) / staff for c in crews]
    target = [math.floor(q) for q in quota]
    by_remainder = sorted(range(territories), key=lambda t: (target[t] - quota[t], t))
    for t in by_remainder[: total_off - sum(target)]:
        target[t] += 1
    back: list[int] = []  # engineers whose day off moves elsewhere: they work tomorrow
    for t in range(territories):
        back += off[t][target[t] :]
    for i in back:
        engineers[i] = replace(engineers[i], shift=(time(8, 0), time(17, 0)))
    for t in range(territories):
        working = [i for i in crews[t] if engineers[i].shift is not None]
        for i in working[::-1][: max(0, target[t] - len(off[t]))]:
            engineers[i] = replace(engineers[i], shift=None, absent_from=None)


#: Share of the engineers' paid minutes tomorrow's work fills; the rest is
#: driving and slack, so a good plan can serve every ticket someone can do.
WORK_SHARE = 0.6


def _fit_to_capacity(tickets: list[TicketSpec], paid: float) -> list[TicketSpec]:
    """Scale durations so the day's work fits the crew (a demo, not a crisis).

    The issue fixes the counts (60 engineers, 600 tickets; 250 and 5,000):
    at realistic job lengths that is more work than a day holds, and every
    plan would drop a third of the tickets. Scaling keeps the mix of short
    and long jobs while making the totals plausible.

    The share is met *after* rounding to 5 minutes and the 10-minute floor: scaling by
    the plain ratio leaves most jobs at the floor and the day about a tenth fuller than
    :data:`WORK_SHARE` says, which no plan can then serve in the larger districts.
    """
    target = paid * WORK_SHARE

    def fitted(scale: float) -> list[int]:
        return [max(10, round(t.duration_min * scale / 5) * 5) for t in tickets]

    lo, hi = 0.0, 1.0
    if sum(fitted(hi)) > target:
        for _ in range(40):  # the largest scale whose rounded total fits
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if sum(fitted(mid)) <= target else (lo, mid)
        hi = lo
    return [
        TicketSpec(
            site=t.site,
            title=t.title,
            duration_min=minutes,
            priority=t.priority,
            skills=t.skills,
            windows=t.windows,
            sla_minutes=t.sla_minutes,
        )
        for t, minutes in zip(tickets, fitted(hi), strict=True)
    ]


def _ticket(rng: random.Random, site: int, skill_weights: list[tuple[str, float]]) -> TicketSpec:
    skill = _weighted(rng, skill_weights)
    level = _weighted(rng, [(1, 0.5), (2, 0.3), (3, 0.15), (4, 0.04), (5, 0.01)])
    skills = {skill: level}
    if rng.random() < 0.1:
        other = _weighted(rng, skill_weights)
        skills.setdefault(other, 1)
    priority = _weighted(rng, [("urgent", 0.05), ("high", 0.17), ("normal", 0.58), ("low", 0.2)])
    sla = {"urgent": 12 * 60, "high": 18 * 60, "normal": 20 * 60, "low": None}[priority]
    duration = _weighted(
        rng, [(30, 0.2), (45, 0.2), (60, 0.3), (90, 0.15), (120, 0.1), (180, 0.05)]
    )
    return TicketSpec(
        site=site,
        title=rng.choice(TITLES[skill]),
        duration_min=duration,
        priority=priority,
        skills=skills,
        windows=_windows(rng, priority),
        sla_minutes=sla,
    )


def _engineer(
    rng: random.Random,
    i: int,
    n: int,
    territory: int,
    territories: Sequence[TerritorySpec],
    neighbours: dict[int, list[int]],
    phones: set[str],
    names: set[str],
) -> EngineerSpec:
    name = f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}"
    while name in names:
        name = f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}{rng.choice(GIVEN).lower()}"
    names.add(name)
    codes = [c for c, _, _ in SKILLS]
    specialty = _weighted(rng, [(c, share) for c, _, share in SKILLS])
    skills = {specialty: rng.choice([3, 3, 4, 4, 5])}
    for code in rng.sample(codes, rng.randint(1, 3)):
        skills.setdefault(code, _weighted(rng, [(1, 0.25), (2, 0.4), (3, 0.25), (4, 0.1)]))
    home = _round(_point_in(rng, territories[territory].geometry))
    near = neighbours.get(territory, [])
    secondary = (
        tuple(sorted(rng.sample(near, min(len(near), rng.randint(1, 2)))))
        if (near and rng.random() < 0.4)
        else ()
    )
    shift: tuple[time, time] | None = None
    if rng.random() < 0.92:
        start = _weighted(
            rng, [(time(8, 0), 0.7), (time(7, 30), 0.1), (time(9, 0), 0.15), (time(10, 0), 0.05)]
        )
        end = (datetime.combine(date(2000, 1, 1), start) + timedelta(hours=9)).time()
        shift = (start, end)
    return EngineerSpec(
        name=name,
        phone=_typed(rng, _mobile(rng, phones)),
        home=home,
        colour=_colour(i, n, lightness=0.4),
        skills=skills,
        primary=territory,
        secondary=secondary,
        shift=shift,
        break_minutes=rng.choice([45, 60, 60]),
        absent_from=time(14, 0) if shift and rng.random() < 0.03 else None,
        last_seen=_round(
            LatLon(lat=home.lat + rng.gauss(0, 0.004), lon=home.lon + rng.gauss(0, 0.004))
        ),
    )


# --- loading through the services ---------------------------------------------------------
@dataclass
class LoadReport:
    """What :func:`load_city` wrote, and what the services refused or merged."""

    day: date
    territories: int = 0
    engineers: int = 0
    shifts: int = 0
    absences: int = 0
    customers: int = 0
    repeat_callers_merged: int = 0
    phones_rejected: int = 0
    sites: int = 0
    sites_outside: int = 0
    tickets: int = 0
    history: int = 0
    logins: list[tuple[str, str, str]] = field(default_factory=list)
    """(username, password, role) of the accounts created."""


def _at(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone) + timedelta(minutes=minutes)


def load_city(
    engine: Engine,
    spec: CitySpec,
    *,
    day: date,
    tz: str = "Asia/Shanghai",
    dispatcher_password: str,
    progress: Progress | None = None,
) -> LoadReport:
    """Write a city through the crm services in one transaction; tickets land on ``day``.

    Nothing half-loaded survives a failure: the transaction rolls back.
    """
    zone = ZoneInfo(tz)
    report = LoadReport(day=day)
    tick = progress or (lambda stage, done, total: None)
    fences = FenceCache()
    with session_scope(engine) as session:
        for code, name, _ in SKILLS:
            engineers_svc.create_skill(session, data=SkillCreate(code=code, name=name))

        territory_ids: list[int] = []
        for i, fence in enumerate(spec.territories):
            feature = {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(fence.geometry),
                "properties": {"name": fence.name, "colour": fence.colour, "priority": 0},
            }
            territory, _, _ = create_territory(session, body=feature, repair=False, fences=fences)
            assert territory.id is not None
            territory_ids.append(territory.id)
            tick("territories", i + 1, len(spec.territories))
        report.territories = len(territory_ids)

        customer_ids: list[int] = []
        for i, c in enumerate(spec.customers):
            customer_ids.append(_customer(session, c, report, customers_svc))
            if i % 50 == 0 or i + 1 == len(spec.customers):
                tick("customers", i + 1, len(spec.customers))
        report.customers = len(set(customer_ids))

        site_ids: list[int] = []
        for i, s in enumerate(spec.sites):
            data = SiteCreate(
                customer_id=customer_ids[s.customer],
                name=s.name,
                address=s.address,
                lat=s.at.lat,
                lon=s.at.lon,
                access_start_min=s.access[0] if s.access else None,
                access_end_min=s.access[1] if s.access else None,
            )
            site = customers_svc.create_site(
                session, data=data, lat=s.at.lat, lon=s.at.lon, fences=fences
            )
            assert site.id is not None
            site_ids.append(site.id)
            report.sites_outside += site.territory_id is None
            if i % 50 == 0 or i + 1 == len(spec.sites):
                tick("sites", i + 1, len(spec.sites))
        report.sites = len(site_ids)

        now = datetime.now(UTC)
        engineer_ids: list[int] = []
        for i, e in enumerate(spec.engineers):
            row = engineers_svc.create_engineer(
                session,
                data=EngineerCreate(
                    name=e.name,
                    phone=e.phone,
                    home_lat=e.home.lat,
                    home_lon=e.home.lon,
                    colour=e.colour,
                    max_work_minutes=9 * 60,
                    skills=[SkillLevel(code=k, level=v) for k, v in sorted(e.skills.items())],
                ),
            )
            assert row.id is not None
            engineer_ids.append(row.id)
            engineers_svc.set_memberships(
                session,
                engineer_id=row.id,
                items=[MembershipItem(territory_id=territory_ids[e.primary])]
                + [
                    MembershipItem(territory_id=territory_ids[s], role=TerritoryRole.secondary)
                    for s in e.secondary
                ],
            )
            if e.shift is not None:
                start = datetime.combine(day, e.shift[0], tzinfo=zone)
                end = datetime.combine(day, e.shift[1], tzinfo=zone)
                engineers_svc.create_shift(
                    session,
                    engineer_id=row.id,
                    data=ShiftCreate(
                        day=day,
                        start_at=start,
                        end_at=end,
                        break_earliest_at=datetime.combine(day, time(11, 30), tzinfo=zone),
                        break_latest_at=datetime.combine(day, time(13, 30), tzinfo=zone),
                        break_minutes=e.break_minutes,
                    ),
                )
                report.shifts += 1
                if e.absent_from is not None:
                    engineers_svc.create_absence(
                        session,
                        engineer_id=row.id,
                        data=AbsenceCreate(
                            start_at=datetime.combine(day, e.absent_from, tzinfo=zone),
                            end_at=end,
                            reason="training",
                        ),
                    )
                    report.absences += 1
            store_points(
                session,
                engineer_id=row.id,
                points=[
                    LocationPoint(
                        at=now - timedelta(minutes=30 + 7 * i % 600),
                        lat=e.last_seen.lat,
                        lon=e.last_seen.lon,
                        accuracy_m=15.0,
                    )
                ],
                now=now,
                retention_days=30,
            )
            if i % 20 == 0 or i + 1 == len(spec.engineers):
                tick("engineers", i + 1, len(spec.engineers))
        report.engineers = len(engineer_ids)

        for i, t in enumerate(spec.tickets):
            s = spec.sites[t.site]
            tickets_svc.create_ticket(
                session,
                data=_ticket_create(t, customer_ids[s.customer], site_ids[t.site], day, zone),
                actor=SYSTEM,
            )
            if i % 50 == 0 or i + 1 == len(spec.tickets):
                tick("tickets", i + 1, len(spec.tickets))
        report.tickets = len(spec.tickets)

        for i, t in enumerate(spec.history):
            assert t.engineer is not None
            _history_ticket(
                session,
                t,
                customer_ids[spec.sites[t.site].customer],
                site_ids[t.site],
                engineer_ids[t.engineer],
                spec.sites[t.site].at,
                day,
                zone,
                tickets_svc,
            )
            if i % 25 == 0 or i + 1 == len(spec.history):
                tick("history", i + 1, len(spec.history))
        report.history = len(spec.history)

        users_svc.create_user(
            session,
            data=UserCreate(
                username="dispatcher", password=dispatcher_password, role=Role.dispatcher
            ),
        )
        report.logins.append(("dispatcher", dispatcher_password, "dispatcher"))
    return report


def _customer(session: Session, c: CustomerSpec, report: LoadReport, svc: Any) -> int:
    """Create a customer; a repeat caller becomes the existing customer (dedup)."""
    data = CustomerCreate(name=c.name, phone=c.phone, tier=c.tier, licence_no=c.licence_no)  # type: ignore[arg-type]
    try:
        with session.begin_nested():
            row = svc.create_customer(session, data=data)
    except DuplicateRecord as exc:
        report.repeat_callers_merged += 1
        return int(exc.extra["existing_id"])
    except InvalidInput as exc:
        report.phones_rejected += 1
        data = CustomerCreate(
            name=c.name,
            phone=None,
            tier=c.tier,  # type: ignore[arg-type]
            licence_no=c.licence_no,
            notes=f"phone {c.phone!r} rejected on import: {exc.detail}",
        )
        with session.begin_nested():
            row = svc.create_customer(session, data=data)
    assert row.id is not None
    return int(row.id)


def _ticket_create(
    t: TicketSpec, customer_id: int, site_id: int, day: date, zone: ZoneInfo
) -> TicketCreate:
    return TicketCreate(
        customer_id=customer_id,
        site_id=site_id,
        title=t.title,
        duration_min=t.duration_min,
        priority=t.priority,  # type: ignore[arg-type]
        required_skills=[RequiredSkill(code=k, min_level=v) for k, v in sorted(t.skills.items())],
        windows=[Window(start=_at(day, a, zone), end=_at(day, b, zone)) for a, b in t.windows],
        sla_due_at=_at(day, t.sla_minutes, zone) if t.sla_minutes is not None else None,
    )


def _history_ticket(
    session: Session,
    t: TicketSpec,
    customer_id: int,
    site_id: int,
    engineer_id: int,
    where: LatLon,
    tomorrow: date,
    zone: ZoneInfo,
    svc: Any,
) -> None:
    """A ticket completed earlier in the week, walked through every status.

    The services stamp "now"; the stamps are then moved back to the day the
    work happened, so the week's figures read like a real week.
    """
    day = tomorrow - timedelta(days=t.days_before + 1)
    ticket = svc.create_ticket(
        session, data=_ticket_create(t, customer_id, site_id, day, zone), actor=SYSTEM
    )
    actor = Actor(name="demo-history")
    for status in ("scheduled", "dispatched", "accepted", "travelling", "on_site", "completed"):
        request = TransitionRequest(
            to=TicketStatus(status),
            engineer_id=engineer_id if status == "scheduled" else None,
            lat=where.lat if status in ("on_site", "completed") else None,
            lon=where.lon if status in ("on_site", "completed") else None,
            accuracy_m=20.0 if status in ("on_site", "completed") else None,
        )
        svc.transition(session, ticket_id=ticket.id, request=request, actor=actor)
    due = _at(day, t.sla_minutes, zone) if t.sla_minutes is not None else None
    end = t.windows[-1][1] if t.windows else 17 * 60
    finished = _at(day, end - 20, zone)
    if due is not None:
        finished = (
            due + timedelta(minutes=45) if t.late else min(finished, due - timedelta(minutes=15))
        )
    ticket.completed_at = finished
    ticket.planned_start = finished - timedelta(minutes=t.duration_min)
    ticket.planned_end = finished
    ticket.created_at = finished - timedelta(days=1)
    session.add(ticket)
    events = session.exec(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(col(TicketEvent.id))
    ).all()
    for k, ev in enumerate(events):
        ev.at = (
            ticket.created_at
            if k == 0
            else finished - timedelta(minutes=10 * (len(events) - 1 - k))
        )
        session.add(ev)
    session.flush()


# --- figures ---------------------------------------------------------------------------------
def city_figures(session: Session, *, day: date) -> dict[str, Any]:
    """The loaded city's key figures for ``day``: what a new user should see first."""
    open_statuses = (TicketStatus.new, TicketStatus.declined)
    by_priority = dict(
        session.exec(
            select(Ticket.priority, func.count())
            .where(col(Ticket.status).in_(open_statuses))
            .group_by(Ticket.priority)
        ).all()
    )
    demand_min = session.exec(
        select(func.coalesce(func.sum(Ticket.duration_min), 0)).where(
            col(Ticket.status).in_(open_statuses)
        )
    ).one()
    shifts = session.exec(select(Shift).where(Shift.day == day)).all()
    shift_min = sum((s.end_at - s.start_at).total_seconds() / 60 - s.break_minutes for s in shifts)
    return {
        "day": day.isoformat(),
        "territories": session.exec(select(func.count()).select_from(Territory)).one(),
        "engineers": session.exec(select(func.count()).select_from(Engineer)).one(),
        "engineers_on_shift": len(shifts),
        "customers": session.exec(select(func.count()).select_from(Customer)).one(),
        "sites": session.exec(select(func.count()).select_from(Site)).one(),
        "sites_outside_fences": session.exec(
            select(func.count()).select_from(Site).where(col(Site.territory_id).is_(None))
        ).one(),
        "open_tickets": sum(by_priority.values()),
        "open_by_priority": {p: by_priority.get(p, 0) for p in ("urgent", "high", "normal", "low")},
        "completed_last_week": session.exec(
            select(func.count()).select_from(Ticket).where(Ticket.status == TicketStatus.completed)
        ).one(),
        "work_hours_demanded": round(demand_min / 60, 1),
        "shift_hours_available": round(shift_min / 60, 1),
        "memberships_secondary": session.exec(
            select(func.count())
            .select_from(EngineerTerritory)
            .where(EngineerTerritory.role == TerritoryRole.secondary)
        ).one(),
    }


# --- a sketch of routes, for map fixtures and the map benchmark -----------------------------
def write_sketch_plan(session: Session, *, day: date, speed_kmh: float = 22.0) -> Plan:
    """A draft plan drawn by a nearest-neighbour walk: for drawing maps, not for dispatch.

    The map page, its browser tests and its load benchmark need routes on the
    map; a real plan comes from ``dispatch`` (OR-Tools, minutes for a large
    city). This sketch ignores windows, skills and breaks: each engineer on
    shift walks to the nearest open ticket of his primary territory until his
    shift is over. It is stored as a draft with ``created_by="sketch"`` and
    never touches ticket statuses, so a real plan replaces it cleanly.
    """
    plan = Plan(day=day, status=PlanStatus.draft, created_by="sketch", scope={"kind": "sketch"})
    session.add(plan)
    session.flush()
    assert plan.id is not None
    rows = session.exec(
        select(Ticket.id, Ticket.duration_min, Site.lat, Site.lon, Site.territory_id)
        .join(Site, col(Site.id) == Ticket.site_id)
        .where(col(Ticket.status).in_((TicketStatus.new, TicketStatus.declined)))
        .order_by(Ticket.id)
    ).all()
    pool: dict[int | None, list[tuple[int, int, LatLon]]] = {}
    for tid, dur, lat, lon, terr in rows:
        pool.setdefault(terr, []).append((tid, dur, LatLon(lat=lat, lon=lon)))
    primary = dict(
        session.exec(
            select(EngineerTerritory.engineer_id, EngineerTerritory.territory_id).where(
                EngineerTerritory.role == TerritoryRole.primary
            )
        ).all()
    )
    speed = speed_kmh / 3.6
    shifts = session.exec(select(Shift).where(Shift.day == day).order_by(Shift.engineer_id)).all()
    for shift in shifts:
        engineer = session.get(Engineer, shift.engineer_id)
        todo = pool.get(primary.get(shift.engineer_id))
        if engineer is None or not todo:
            continue
        home = LatLon(lat=engineer.home_lat, lon=engineer.home_lon)
        here, clock = home, shift.start_at
        route = Route(plan_id=plan.id, engineer_id=shift.engineer_id, day=day, start_at=clock)
        session.add(route)
        session.flush()
        seq = distance = drive = work = 0
        while todo:
            k = min(range(len(todo)), key=lambda j: _metres(here, todo[j][2]))
            tid, dur, there = todo[k]
            leg = round(_metres(here, there) * 1.3)
            leg_s = round(leg / speed)
            back_s = round(_metres(there, home) * 1.3 / speed)
            arrive = clock + timedelta(seconds=leg_s)
            finish = arrive + timedelta(minutes=dur)
            if finish + timedelta(seconds=back_s) > shift.end_at:
                break
            todo.pop(k)
            seq += 1
            session.add(
                Stop(
                    route_id=route.id or 0,
                    ticket_id=tid,
                    seq=seq,
                    arrival_at=arrive,
                    start_at=arrive,
                    end_at=finish,
                    leg_m=leg,
                    leg_s=leg_s,
                )
            )
            distance += leg
            drive += leg_s
            work += dur * 60
            clock, here = finish, there
        home_leg = round(_metres(here, home) * 1.3)
        route.distance_m = distance + home_leg
        route.drive_s = drive + round(home_leg / speed)
        route.work_s = work
        route.stop_count = seq
        route.end_at = clock + timedelta(seconds=round(home_leg / speed))
        session.add(route)
    for terr, left in pool.items():
        for tid, _, _ in left:
            session.add(
                PlanUnassigned(
                    plan_id=plan.id,
                    ticket_id=tid,
                    reason="outside_all_territories" if terr is None else "over_capacity",
                    message="sketch plan: its site is outside every fence"
                    if terr is None
                    else "sketch plan: no time left on its territory's engineers",
                )
            )
    session.flush()
    return plan


def _metres(a: LatLon, b: LatLon) -> float:
    """Great-circle distance in metres (the sketch needs no ellipsoid)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_000 * math.asin(math.sqrt(h))
