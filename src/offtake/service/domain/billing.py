"""Ledger reads and monthly invoices at each site's tariff (flat or surplus-indexed).

Every accepted meter reading posts a balanced transaction (see ``metering``): the site's
receivable is debited, programme revenue credited.  An invoice totals a site's
receivable entries for one billing month; issuing it closes that month for the site.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from offtake.errors import InputError, NotFoundError
from offtake.service.db import billing_lock
from offtake.service.domain import simclock
from offtake.service.domain.common import audit, now, require_writer, site_for_read
from offtake.service.domain.metering import ENERGY_REVENUE, PENALTY_REVENUE
from offtake.service.models import Invoice, LedgerEntry, MeterReading, Site
from offtake.service.schemas import LedgerBalance
from offtake.service.security import Principal
from offtake.service.settings import Settings


def _own_site_ids(session: Session, actor: Principal) -> list[str]:
    return list(session.scalars(select(Site.site_id).where(Site.owner_client_id == actor.client_id)))


def list_ledger(session: Session, *, actor: Principal, site_id: str | None = None,
                period: str | None = None, limit: int = 1000,
                offset: int = 0) -> list[LedgerEntry]:
    q = _scoped(select(LedgerEntry), LedgerEntry, session, actor, site_id, period)
    return list(session.scalars(q.order_by(LedgerEntry.entry_id).offset(offset).limit(limit)))


def _scoped(q: Any, table: Any, session: Session, actor: Principal, site_id: str | None,
            period: str | None) -> Any:
    """Restrict a ledger or invoice query to one readable site (or the actor's own sites) and a period."""
    if site_id:
        site_for_read(session, actor=actor, site_id=site_id)
        q = q.where(table.site_id == site_id)
    elif not actor.reads_all:
        q = q.where(table.site_id.in_(_own_site_ids(session, actor)))
    if period:
        q = q.where(table.period == period)
    return q


def ledger_balance(session: Session, *, actor: Principal, site_id: str | None = None,
                   period: str | None = None) -> LedgerBalance:
    """Totals of the ledger (or one site's part of it); ``balanced`` when they sum to 0."""
    q = select(
        func.count(), func.coalesce(func.sum(LedgerEntry.amount_paisa), 0),
        func.coalesce(func.sum(case((LedgerEntry.account.like("site:%"),
                                     LedgerEntry.amount_paisa), else_=0)), 0),
        func.coalesce(func.sum(case((LedgerEntry.account == ENERGY_REVENUE,
                                     LedgerEntry.amount_paisa), else_=0)), 0),
        func.coalesce(func.sum(case((LedgerEntry.account == PENALTY_REVENUE,
                                     LedgerEntry.amount_paisa), else_=0)), 0),
        func.coalesce(func.sum(case((LedgerEntry.account.like("site:%"),
                                     LedgerEntry.energy_mwh), else_=0.0)), 0.0))
    if site_id:
        site_for_read(session, actor=actor, site_id=site_id)
        q = q.where(LedgerEntry.site_id == site_id)
    elif not actor.reads_all:
        q = q.where(LedgerEntry.site_id.in_(_own_site_ids(session, actor)))
    if period:
        q = q.where(LedgerEntry.period == period)
    n, total, recv, energy_rev, penalty_rev, mwh = session.execute(q).one()
    return LedgerBalance(entries=int(n), sum_pkr=int(total) / 100, balanced=int(total) == 0,
                         receivable_pkr=int(recv) / 100, energy_revenue_pkr=-int(energy_rev) / 100,
                         penalty_revenue_pkr=-int(penalty_rev) / 100, energy_mwh=float(mwh))


def _period_over(period: str, tz: str, at: datetime) -> bool:
    year, month = int(period[:4]), int(period[5:7])
    nxt = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=ZoneInfo(tz))
    return at >= nxt


def issue_invoices(session: Session, *, actor: Principal, period: str, settings: Settings,
                   site_id: str | None = None) -> list[Invoice]:
    """Invoice every site (or one) for a finished month; existing invoices are returned as is."""
    require_writer(actor)
    t = now()
    clock = simclock.active(session, settings)
    at = clock.to_sim(t) if clock else t
    if not _period_over(period, settings.billing_timezone, at):
        on = f" on the simulated clock (now {at.isoformat()})" if clock else ""
        raise InputError(f"month {period} is not over yet in {settings.billing_timezone}{on}")
    with billing_lock(session, exclusive=True):
        return _issue_locked(session, actor=actor, period=period, site_id=site_id, t=t)


def _issue_locked(session: Session, *, actor: Principal, period: str, site_id: str | None,
                  t: datetime) -> list[Invoice]:
    sites_q = select(Site.site_id, Site.tariff_pkr_per_kwh, Site.tariff_design)
    if site_id:
        if session.get(Site, site_id) is None:
            raise NotFoundError(f"unknown site '{site_id}'")
        sites_q = sites_q.where(Site.site_id == site_id)
    tariffs = {sid: (tariff, design) for sid, tariff, design in session.execute(sites_q)}
    existing = {i.site_id: i for i in session.scalars(
        select(Invoice).where(Invoice.period == period, Invoice.site_id.in_(list(tariffs))))}
    sums = {r[0]: r[1:] for r in session.execute(
        select(LedgerEntry.site_id,
               func.sum(case((LedgerEntry.kind == "energy", LedgerEntry.energy_mwh), else_=0.0)),
               func.sum(case((LedgerEntry.kind == "energy", LedgerEntry.amount_paisa), else_=0)),
               func.sum(case((LedgerEntry.kind == "penalty", LedgerEntry.amount_paisa), else_=0)))
        .where(LedgerEntry.period == period, LedgerEntry.account.like("site:%"),
               LedgerEntry.site_id.in_(list(tariffs)))
        .group_by(LedgerEntry.site_id))}
    counts = {r[0]: (int(r[1]), int(r[2] or 0)) for r in session.execute(
        select(MeterReading.site_id, func.count(),
               func.sum(case((MeterReading.flagged.is_(True), 1), else_=0)))
        .where(MeterReading.period == period, MeterReading.site_id.in_(list(tariffs)))
        .group_by(MeterReading.site_id))}
    out: list[Invoice] = []
    for sid, (tariff, design) in sorted(tariffs.items()):
        if sid in existing:
            out.append(existing[sid])
            continue
        mwh, charge, penalty = sums.get(sid, (0.0, 0, 0))
        n, flagged = counts.get(sid, (0, 0))
        inv = Invoice(site_id=sid, period=period, energy_mwh=float(mwh or 0.0),
                      tariff_pkr_per_kwh=tariff, tariff_design=design or "flat",
                      energy_charge_paisa=int(charge or 0),
                      penalty_paisa=int(penalty or 0),
                      total_paisa=int(charge or 0) + int(penalty or 0), readings=n,
                      flagged_readings=flagged, issued_at=t, issued_by=actor.client_id)
        session.add(inv)
        out.append(inv)
        audit(session, actor=actor, action="invoice.issue", target_type="site", target_id=sid,
              detail={"period": period, "total_paisa": inv.total_paisa})
    try:
        session.commit()
    except IntegrityError:  # a concurrent run issued some of them: return what is stored
        session.rollback()
        return list_invoices(session, actor=actor, period=period, site_id=site_id)
    return out


def list_invoices(session: Session, *, actor: Principal, site_id: str | None = None,
                  period: str | None = None, limit: int = 1000) -> list[Invoice]:
    q = _scoped(select(Invoice), Invoice, session, actor, site_id, period)
    return list(session.scalars(q.order_by(Invoice.period.desc(), Invoice.site_id).limit(limit)))


def get_invoice(session: Session, *, actor: Principal, invoice_id: int) -> Invoice:
    inv = session.get(Invoice, invoice_id)
    if inv is None:
        raise NotFoundError(f"unknown invoice {invoice_id}")
    site_for_read(session, actor=actor, site_id=inv.site_id)
    return inv
