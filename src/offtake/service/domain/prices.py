"""Region energy prices (forecast or actual) and the unit price a reading is charged at.

Prices are posted on wall-clock intervals, like surplus signals, and follow the same
overlap rule: overlapping prices are all stored, and the one *in force* at a moment is
the newest ``actual`` covering it, else the newest ``forecast`` ("newest" = posted last,
i.e. the highest ``price_id``).  Posting a correction is therefore just posting again.
One batch may not hold two prices of the same region and kind that overlap (which of
them would be newer is unclear), and a batch is stored whole or not at all.

A reading is charged when it is ingested, at the prices in force then; a price posted
later does not re-bill it (the ledger is append-only).  The unit price is time-weighted
over the reading's interval, so a reading inside one price interval pays that price.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from offtake.errors import InputError, NotFoundError
from offtake.service.domain.common import audit, in_interval, now, require_writer
from offtake.service.models import Region, RegionPrice
from offtake.service.schemas import PriceIn, SignalKind, TariffDesign
from offtake.service.security import Principal

#: (price_id, is_actual, interval_start, interval_end, price_pkr_per_kwh)
PriceRow = tuple[int, bool, datetime, datetime, float]


def post_prices(session: Session, *, actor: Principal, prices: list[PriceIn]) -> list[RegionPrice]:
    """Store a batch of prices (all or nothing); see the module doc for overlaps."""
    require_writer(actor)
    known = set(session.scalars(select(Region.region_id)))
    unknown = sorted({p.region_id for p in prices} - known)
    if unknown:
        raise NotFoundError(f"unknown region(s): {', '.join(unknown)}; nothing was stored")
    _refuse_overlaps_in_batch(prices)
    t = now()
    rows = [RegionPrice(region_id=p.region_id, interval_start=p.interval_start,
                        interval_end=p.interval_end, price_pkr_per_kwh=p.price_pkr_per_kwh,
                        kind=str(p.kind), posted_by=actor.client_id, posted_at=t)
            for p in prices]
    session.add_all(rows)
    audit(session, actor=actor, action="prices.post", target_type="region",
          target_id=",".join(sorted({p.region_id for p in prices}))[:100],
          detail={"count": len(rows),
                  "from": min(p.interval_start for p in prices),
                  "to": max(p.interval_end for p in prices)})
    session.commit()
    return rows


def _refuse_overlaps_in_batch(prices: list[PriceIn]) -> None:
    ordered = sorted(prices, key=lambda p: (p.region_id, str(p.kind), p.interval_start))
    for a, b in itertools.pairwise(ordered):
        if (a.region_id, a.kind) == (b.region_id, b.kind) and b.interval_start < a.interval_end:
            raise InputError(
                f"the batch has two {b.kind} prices for region {b.region_id} that overlap: "
                f"[{a.interval_start.isoformat()}, {a.interval_end.isoformat()}) and "
                f"[{b.interval_start.isoformat()}, {b.interval_end.isoformat()}); send one "
                f"per interval (a later POST may replace a price); nothing was stored")


def list_prices(session: Session, *, region_id: str | None = None,
                start: datetime | None = None, end: datetime | None = None,
                kind: SignalKind | None = None, limit: int = 1000) -> list[RegionPrice]:
    """Prices overlapping [start, end), newest interval first (then newest posted)."""
    q = in_interval(select(RegionPrice), RegionPrice, region_id=region_id, start=start, end=end)
    if kind:
        q = q.where(RegionPrice.kind == str(kind))
    q = q.order_by(RegionPrice.interval_start.desc(), RegionPrice.price_id.desc())
    return list(session.scalars(q.limit(limit)))


def price_rows(session: Session, *, region_ids: set[str], start: datetime,
               end: datetime) -> dict[str, list[PriceRow]]:
    """Per region, every price overlapping [start, end) (one query)."""
    if not region_ids:
        return {}
    p = RegionPrice
    out: dict[str, list[PriceRow]] = defaultdict(list)
    for pid, region, kind, s, e, price in session.execute(
            select(p.price_id, p.region_id, p.kind, p.interval_start, p.interval_end,
                   p.price_pkr_per_kwh)
            .where(p.region_id.in_(region_ids), p.interval_start < end, p.interval_end > start)):
        out[region].append((pid, kind == SignalKind.ACTUAL, s, e, price))
    return out


def _rank(row: PriceRow) -> tuple[bool, int]:
    """An actual beats a forecast; then the newest posted (highest price_id) wins."""
    return row[1], row[0]


def in_force(rows: list[PriceRow], start: datetime,
             end: datetime) -> list[tuple[float, float | None, str | None]]:
    """Pieces ``(seconds, price or None, kind or None)`` covering [start, end) in order.

    Within a piece the same price is in force throughout: the newest actual covering it,
    else the newest forecast, else none (price and kind None).
    """
    cuts = {start, end}
    for _pid, _act, s, e, _price in rows:
        cuts |= {t for t in (s, e) if start < t < end}
    pieces: list[tuple[float, float | None, str | None]] = []
    for a, b in itertools.pairwise(sorted(cuts)):
        best: PriceRow | None = None
        for row in rows:
            if row[2] <= a < row[3] and (best is None or _rank(row) > _rank(best)):
                best = row
        seconds = (b - a).total_seconds()
        if best is None:
            pieces.append((seconds, None, None))
        else:
            kind = SignalKind.ACTUAL if best[1] else SignalKind.FORECAST
            pieces.append((seconds, best[4], str(kind)))
    return pieces


@dataclass(frozen=True)
class Tariff:
    """What a site's energy is charged at (columns of ``sites``)."""

    design: str
    flat_pkr_per_kwh: float
    adder_pkr_per_kwh: float = 0.0
    floor_pkr_per_kwh: float | None = None


def unit_price(tariff: Tariff, rows: list[PriceRow], start: datetime,
               end: datetime) -> tuple[float, str]:
    """Unit price [PKR/kWh] for energy drawn evenly over [start, end), and its source.

    flat: ``flat_pkr_per_kwh`` ("flat").  surplus_indexed, per piece of the interval:
    (region price in force, else the flat tariff) + adder, raised to the floor; the
    pieces' time-weighted mean.  Source: "actual", "forecast", "fallback" (no price), or
    "mixed" when the pieces differ.
    """
    if tariff.design != TariffDesign.SURPLUS_INDEXED:
        return tariff.flat_pkr_per_kwh, "flat"
    total_s = weighted = 0.0
    sources = set()
    for seconds, price, kind in in_force(rows, start, end):
        base = tariff.flat_pkr_per_kwh if price is None else price
        unit = base + tariff.adder_pkr_per_kwh
        if tariff.floor_pkr_per_kwh is not None:
            unit = max(unit, tariff.floor_pkr_per_kwh)
        total_s += seconds
        weighted += unit * seconds
        sources.add(kind or "fallback")
    return weighted / total_s, sources.pop() if len(sources) == 1 else "mixed"
