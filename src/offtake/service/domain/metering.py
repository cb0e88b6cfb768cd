"""Meter readings (idempotent), compliance against setpoints, ledger postings, site events.

A batch of readings is one transaction: either every new reading, its compliance result
and its ledger entries are stored, or nothing is.  A reading whose ``reading_id`` or
``(site_id, interval_start)`` is already stored counts as a duplicate and changes nothing.
"""

from __future__ import annotations

import itertools
import os
import signal
from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, text, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from offtake.errors import InputError, NotFoundError
from offtake.service.db import billing_lock
from offtake.service.domain import prices, simclock
from offtake.service.domain.common import (
    ConflictError,
    audit,
    now,
    site_for_read,
    site_for_report,
)
from offtake.service.models import Invoice, LedgerEntry, MeterReading, Setpoint, Site, SiteEvent
from offtake.service.schemas import ReadingIn, SiteEventIn, TariffDesign
from offtake.service.security import ForbiddenError, Principal, Role
from offtake.service.settings import Settings

RECEIVABLE = "site:{site_id}:receivable"
ENERGY_REVENUE = "programme:energy_revenue"
PENALTY_REVENUE = "programme:penalty_revenue"
MAX_FUTURE = timedelta(minutes=5)
#: a reading implying a mean draw above this many times the site's contracted MW (+1 MW)
#: is a metering error, refused rather than billed
PLAUSIBLE_CONTRACT_FACTOR = 2.0


def billing_period(t: datetime, tz: str) -> str:
    """Calendar month ``YYYY-MM`` of ``t`` in the billing time zone."""
    return t.astimezone(ZoneInfo(tz)).strftime("%Y-%m")


def paisa(amount_pkr: float) -> int:
    return round(amount_pkr * 100)


def _in_force(history: list[tuple[float, datetime, datetime | None]], start: datetime,
              end: datetime) -> float:
    """Highest MW of the setpoints in force at any moment of [start, end).

    ``history``: (mw, issued_at, valid_until) ordered by seq; each is in force from its
    issue until the next one's issue or its own valid_until, whichever comes first.
    """
    best = 0.0
    for k, (mw, issued, until) in enumerate(history):
        stop = history[k + 1][1] if k + 1 < len(history) else None
        if until is not None and (stop is None or until < stop):
            stop = until
        if issued < end and (stop is None or stop > start):
            best = max(best, mw)
    return best


def _histories(session: Session, site_ids: list[str], t0: datetime,
               t1: datetime) -> dict[str, list[tuple[float, datetime, datetime | None]]]:
    """Setpoints issued in [t0, t1) plus the last one before t0, per site, by seq."""
    last_before = (select(Setpoint.site_id, func.max(Setpoint.seq).label("seq"))
                   .where(Setpoint.site_id.in_(site_ids), Setpoint.issued_at < t0)
                   .group_by(Setpoint.site_id).subquery())
    q_prev = select(Setpoint.site_id, Setpoint.seq, Setpoint.setpoint_mw, Setpoint.issued_at,
                    Setpoint.valid_until).join(
        last_before, (Setpoint.site_id == last_before.c.site_id) & (Setpoint.seq == last_before.c.seq))
    q_win = select(Setpoint.site_id, Setpoint.seq, Setpoint.setpoint_mw, Setpoint.issued_at,
                   Setpoint.valid_until).where(Setpoint.site_id.in_(site_ids),
                                               Setpoint.issued_at >= t0, Setpoint.issued_at < t1)
    rows = sorted({tuple(r) for r in session.execute(union_all(q_prev, q_win))},
                  key=lambda r: (r[0], r[1]))
    out: dict[str, list[tuple[float, datetime, datetime | None]]] = defaultdict(list)
    for site_id, _seq, mw, issued, until in rows:
        out[site_id].append((mw, issued, until))
    return out


def ingest_readings(session: Session, *, actor: Principal, readings: list[ReadingIn],
                    settings: Settings) -> tuple[int, int]:
    """Store new readings with compliance flags and ledger entries; returns (accepted, dups)."""
    if not (actor.writes or Role.SITE_OPERATOR in actor.roles):
        raise ForbiddenError("sending meter readings needs the site_operator role")
    t = now()
    late = [r.reading_id for r in readings if r.interval_end > t + MAX_FUTURE]
    if late:
        raise InputError(f"readings end in the future: {', '.join(late[:5])}")
    site_ids = sorted({r.site_id for r in readings})
    # each site with its current setpoint (mw, issued_at, valid_until) in one query
    sites = {s.site_id: s for s in session.execute(
        select(Site.site_id, Site.owner_client_id, Site.tariff_pkr_per_kwh, Site.contracted_mw,
               Site.region_id, Site.tariff_design, Site.tariff_adder_pkr_per_kwh,
               Site.tariff_floor_pkr_per_kwh, Setpoint.setpoint_mw, Setpoint.issued_at, Setpoint.valid_until)
        .outerjoin(Setpoint, (Setpoint.site_id == Site.site_id)
                   & (Setpoint.seq == Site.setpoint_seq))
        .where(Site.site_id.in_(site_ids)))}
    missing = [s for s in site_ids if s not in sites]
    if missing:
        raise NotFoundError(f"unknown site(s): {', '.join(missing[:5])}")
    if not actor.writes:
        foreign = [s for s in site_ids if sites[s].owner_client_id != actor.client_id]
        if foreign:
            raise ForbiddenError(f"site(s) {', '.join(foreign[:5])} belong to another operator")
    implausible = [f"{r.reading_id} ({r.mean_mw:g} MW at site {r.site_id}, contracted "
                   f"{sites[r.site_id].contracted_mw:g} MW)" for r in readings
                   if r.mean_mw > PLAUSIBLE_CONTRACT_FACTOR * sites[r.site_id].contracted_mw + 1.0]
    if implausible:
        raise InputError(f"readings imply a draw above {PLAUSIBLE_CONTRACT_FACTOR:g}x the site's "
                         f"contracted MW (+1 MW), a metering error: {', '.join(implausible[:5])}")

    grace = timedelta(seconds=settings.compliance_grace_s)
    t0 = min(r.interval_start for r in readings) - grace
    if all(sites[s].issued_at is not None and sites[s].issued_at < t0 for s in site_ids):
        # usual case: no setpoint changed since the readings began, the current one rules
        hist = {s: [(sites[s].setpoint_mw, sites[s].issued_at, sites[s].valid_until)]
                for s in site_ids}
    else:
        hist = _histories(session, site_ids, t0, max(r.interval_end for r in readings))
    clock = simclock.active(session, settings)
    rows = []
    for r in readings:
        hours = (r.interval_end - r.interval_start).total_seconds() / 3600.0
        allowed = _in_force(hist.get(r.site_id, []), r.interval_start - grace, r.interval_end)
        excess_mw = max(0.0, r.energy_mwh / hours - allowed - settings.compliance_tolerance_mw)
        rows.append({**r.model_dump(), "allowed_mw": allowed, "excess_mwh": excess_mw * hours,
                     "flagged": excess_mw > 0,
                     "period": billing_period(clock.to_sim(r.interval_start) if clock
                                              else r.interval_start, settings.billing_timezone),
                     "received_at": t, "received_by": actor.client_id})

    # repeats inside the batch count once (first copy wins), like repeats across batches
    seen_ids: set[str] = set()
    seen_slots: set[tuple[str, datetime]] = set()
    unique_rows = []
    for row in rows:
        slot = (row["site_id"], row["interval_start"])
        if row["reading_id"] in seen_ids or slot in seen_slots:
            continue
        seen_ids.add(row["reading_id"])
        seen_slots.add(slot)
        unique_rows.append(row)
    rows = unique_rows

    _refuse_overlaps_in_batch(rows)
    current = billing_period(clock.to_sim(t) if clock else t, settings.billing_timezone)
    indexed = [r for r in rows if sites[str(r["site_id"])].tariff_design == TariffDesign.SURPLUS_INDEXED]
    price_rows = prices.price_rows(
        session, region_ids={sites[str(r["site_id"])].region_id for r in indexed},
        start=min(r["interval_start"] for r in indexed),  # type: ignore[type-var]
        end=max(r["interval_end"] for r in indexed)) if indexed else {}  # type: ignore[type-var]
    with billing_lock(session, exclusive=False):
        _lock_sites(session, site_ids)
        _refuse_overlaps_with_stored(session, rows)
        if any(row["period"] != current for row in rows):  # only a past month can be closed
            _carry_closed_periods(session, rows, current)
        # Core (not ORM bulk) statements: compiled once, cached, executemany + RETURNING
        table = MeterReading.__table__
        dialect = session.get_bind().dialect.name
        ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
        stmt = ins.on_conflict_do_nothing().returning(table.c.reading_id)
        conn = session.connection()
        accepted_ids = set(conn.execute(stmt, rows).scalars())
        new = [row for row in rows if row["reading_id"] in accepted_ids]
        if new:
            conn.execute(insert(LedgerEntry.__table__),
                         _ledger_rows(new, sites, settings, t, clock, price_rows))
        session.commit()
    _after_commit_hook(settings)
    return len(new), len(readings) - len(new)


_commits = [0]


def _after_commit_hook(settings: Settings) -> None:
    """Tests only (``OFFTAKE_TEST_DIE_AFTER_COMMIT=N``): the Nth committed batch kills this
    process before the answer leaves, so clients meet a batch that is stored but was
    never acknowledged and must resend it."""
    n = settings.test_die_after_commit
    if n <= 0:
        return
    _commits[0] += 1
    if _commits[0] == n:
        import logging

        logging.getLogger(__name__).warning("test hook: batch %d committed; dying before "
                                            "the response (OFFTAKE_TEST_DIE_AFTER_COMMIT)", n)
        os.kill(os.getpid(), signal.SIGKILL)


_PG_SITE_READINGS_LOCK = 764_201_314


def _lock_sites(session: Session, site_ids: list[str]) -> None:
    """PostgreSQL: serialise intake per site (sorted, so no deadlock) for the overlap check;
    SQLite intake is already serialised by :func:`billing_lock`."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for site_id in site_ids:  # sorted by the caller
        session.execute(text("SELECT pg_advisory_xact_lock(:k, hashtext(:s))"),
                        {"k": _PG_SITE_READINGS_LOCK, "s": site_id})


def _overlap_error(a: dict[str, object], b_id: str, b_start: datetime, b_end: datetime,
                   where: str) -> ConflictError:
    return ConflictError(
        f"reading {a['reading_id']} for site {a['site_id']} "
        f"[{a['interval_start']:%Y-%m-%dT%H:%M:%S%z}, {a['interval_end']:%Y-%m-%dT%H:%M:%S%z}) "
        f"overlaps {where} reading {b_id} [{b_start:%Y-%m-%dT%H:%M:%S%z}, "
        f"{b_end:%Y-%m-%dT%H:%M:%S%z}): energy would be billed twice; nothing was stored")


def _refuse_overlaps_in_batch(rows: list[dict[str, object]]) -> None:
    ordered = sorted(rows, key=lambda r: (str(r["site_id"]), r["interval_start"]))  # type: ignore[arg-type,return-value]
    for prev, row in itertools.pairwise(ordered):
        if row["site_id"] == prev["site_id"] and row["interval_start"] < prev["interval_end"]:  # type: ignore[operator]
            raise _overlap_error(row, str(prev["reading_id"]), prev["interval_start"],  # type: ignore[arg-type]
                                 prev["interval_end"], "the batch's")  # type: ignore[arg-type]


def _refuse_overlaps_with_stored(session: Session, rows: list[dict[str, object]]) -> None:
    """A new reading may repeat a stored one (same id or same site and start: a duplicate)
    but never overlap another stored reading of its site."""
    if not rows:
        return
    lo = min(r["interval_start"] for r in rows) - timedelta(days=1)  # type: ignore[operator]
    hi = max(r["interval_end"] for r in rows)  # type: ignore[type-var]
    m = MeterReading
    stored = session.execute(select(m.reading_id, m.site_id, m.interval_start, m.interval_end)
                             .where(m.site_id.in_({str(r["site_id"]) for r in rows}),
                                    m.interval_start >= lo, m.interval_start < hi)).all()
    if not stored:
        return
    by_site: dict[str, list[tuple[str, datetime, datetime]]] = defaultdict(list)
    ids = set()
    for rid, site, start, end in stored:
        by_site[site].append((rid, start, end))
        ids.add(rid)
    for row in rows:
        if row["reading_id"] in ids:
            continue  # a resend: counted as a duplicate
        for rid, start, end in by_site.get(str(row["site_id"]), ()):
            if start == row["interval_start"]:
                continue  # same slot: a duplicate
            if start < row["interval_end"] and end > row["interval_start"]:  # type: ignore[operator]
                raise _overlap_error(row, rid, start, end, "the stored")


def _carry_closed_periods(session: Session, rows: list[dict[str, object]],
                          current: str) -> None:
    """A reading for a month already invoiced for its site is billed in the current month."""
    pairs = {(str(r["site_id"]), str(r["period"])) for r in rows}
    closed = set(session.execute(select(Invoice.site_id, Invoice.period).where(
        Invoice.site_id.in_({p[0] for p in pairs}), Invoice.period.in_({p[1] for p in pairs}))
    ).tuples()) & pairs
    for row in rows:
        if (row["site_id"], row["period"]) in closed:
            row["period"] = current


def _ledger_rows(new: list[dict[str, object]], sites: dict, settings: Settings,  # type: ignore[type-arg]
                 t: datetime, clock: simclock.Clock | None,
                 price_rows: dict[str, list[prices.PriceRow]]) -> list[dict[str, object]]:
    """One balanced transaction per reading: energy x unit price, and the penalty.

    On the simulated clock a mapped reading bills ``speed`` times its metered energy (and
    excess); the unit price comes from the wall-clock interval (docs/service.md).
    """
    out: list[dict[str, object]] = []
    for r in new:
        site_id, period = str(r["site_id"]), str(r["period"])
        site = sites[site_id]
        start, end = r["interval_start"], r["interval_end"]
        scale = clock.speed if clock is not None and clock.maps(start) else 1.0  # type: ignore[arg-type]
        energy = float(r["energy_mwh"]) * scale  # type: ignore[arg-type]
        tariff = prices.Tariff(site.tariff_design, site.tariff_pkr_per_kwh,
                               site.tariff_adder_pkr_per_kwh or 0.0, site.tariff_floor_pkr_per_kwh)
        unit, source = prices.unit_price(tariff, price_rows.get(site.region_id, []), start, end)  # type: ignore[arg-type]
        acct = RECEIVABLE.format(site_id=site_id)
        charge = paisa(energy * 1000.0 * unit)
        base = {"txn_id": r["reading_id"], "site_id": site_id, "period": period, "created_at": t,
                "reconstructed": bool(r.get("reconstructed", False))}
        priced = {"price_pkr_per_kwh": unit, "price_source": source}
        none = {"price_pkr_per_kwh": None, "price_source": None}
        out += [{**base, **priced, "account": acct, "kind": "energy", "energy_mwh": energy,
                 "amount_paisa": charge},
                {**base, **priced, "account": ENERGY_REVENUE, "kind": "energy",
                 "energy_mwh": -energy, "amount_paisa": -charge}]
        excess = float(r["excess_mwh"]) * scale  # type: ignore[arg-type]
        penalty = paisa(excess * 1000.0 * settings.penalty_pkr_per_kwh)
        if penalty:
            out += [{**base, **none, "account": acct, "kind": "penalty", "energy_mwh": 0.0,
                     "amount_paisa": penalty},
                    {**base, **none, "account": PENALTY_REVENUE, "kind": "penalty",
                     "energy_mwh": 0.0, "amount_paisa": -penalty}]
    return out


def list_readings(session: Session, *, actor: Principal, site_id: str,
                  start: datetime | None = None, end: datetime | None = None,
                  flagged_only: bool = False, limit: int = 1000) -> list[MeterReading]:
    site_for_read(session, actor=actor, site_id=site_id)
    q = select(MeterReading).where(MeterReading.site_id == site_id)
    if start:
        q = q.where(MeterReading.interval_start >= start)
    if end:
        q = q.where(MeterReading.interval_start < end)
    if flagged_only:
        q = q.where(MeterReading.flagged.is_(True))
    return list(session.scalars(q.order_by(MeterReading.interval_start.desc()).limit(limit)))


def record_site_event(session: Session, *, actor: Principal, site_id: str,
                      event: SiteEventIn) -> tuple[SiteEvent, bool]:
    """Store an agent's event (idempotent on event_id) and audit it; returns (event, new)."""
    site_for_report(session, actor=actor, site_id=site_id)
    existing = session.get(SiteEvent, event.event_id)
    if existing is not None:
        return existing, False
    row = SiteEvent(event_id=event.event_id, site_id=site_id, kind=str(event.kind), at=event.at,
                    detail=event.detail, received_at=now())
    session.add(row)
    audit(session, actor=actor, action=f"site_event.{event.kind}", target_type="site",
          target_id=site_id, detail={"event_id": event.event_id, "at": event.at,
                                     "detail": event.detail})
    try:
        session.commit()
    except Exception:  # a concurrent resend of the same event won the race
        session.rollback()
        again = session.get(SiteEvent, event.event_id)
        if again is None:
            raise
        return again, False
    return row, True


def list_site_events(session: Session, *, actor: Principal, site_id: str,
                     limit: int = 500) -> list[SiteEvent]:
    site_for_read(session, actor=actor, site_id=site_id)
    return list(session.scalars(select(SiteEvent).where(SiteEvent.site_id == site_id)
                                .order_by(SiteEvent.at.desc()).limit(limit)))

