"""Ledger and invoices."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from offtake.service.deps import (
    MAX_OFFSET,
    WRITER,
    ActorDep,
    SessionDep,
    StateDep,
    require_roles,
)
from offtake.service.domain import billing
from offtake.service.models import Invoice, LedgerEntry
from offtake.service.schemas import (
    InvoicePublic,
    InvoiceRequest,
    LedgerBalance,
    LedgerEntryPublic,
    Period,
)
from offtake.service.security import Principal

router = APIRouter(prefix="/api/v1", tags=["billing"])
Writer = Annotated[Principal, require_roles(*WRITER)]


def _entry(e: LedgerEntry) -> LedgerEntryPublic:
    return LedgerEntryPublic(entry_id=e.entry_id, txn_id=e.txn_id, site_id=e.site_id,
                             account=e.account, kind=e.kind, period=e.period,
                             energy_mwh=e.energy_mwh, amount_pkr=e.amount_paisa / 100,
                             created_at=e.created_at, reconstructed=bool(e.reconstructed),
                             price_pkr_per_kwh=e.price_pkr_per_kwh, price_source=e.price_source)


def _invoice(i: Invoice) -> InvoicePublic:
    return InvoicePublic(invoice_id=i.invoice_id, site_id=i.site_id, period=i.period,
                         energy_mwh=i.energy_mwh, tariff_pkr_per_kwh=i.tariff_pkr_per_kwh,
                         tariff_design=i.tariff_design or "flat",
                         average_price_pkr_per_kwh=(i.energy_charge_paisa / 100 / (i.energy_mwh * 1000)
                                                    if i.energy_mwh > 0 else None),
                         energy_charge_pkr=i.energy_charge_paisa / 100,
                         penalty_pkr=i.penalty_paisa / 100, total_pkr=i.total_paisa / 100,
                         readings=i.readings, flagged_readings=i.flagged_readings,
                         issued_at=i.issued_at, issued_by=i.issued_by)


@router.get("/ledger", response_model=list[LedgerEntryPublic],
            summary="Ledger entries (append-only, double entry)")
def list_ledger(session: SessionDep, actor: ActorDep, site_id: str | None = None,
                period: Annotated[Period | None, Query()] = None,
                limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
                offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> list[LedgerEntryPublic]:
    return [_entry(e) for e in billing.list_ledger(session, actor=actor, site_id=site_id,
                                                   period=period, limit=limit, offset=offset)]


@router.get("/ledger/balance", response_model=LedgerBalance)
def ledger_balance(session: SessionDep, actor: ActorDep, site_id: str | None = None,
                   period: Annotated[Period | None, Query()] = None) -> LedgerBalance:
    return billing.ledger_balance(session, actor=actor, site_id=site_id, period=period)


@router.post("/invoices", response_model=list[InvoicePublic], status_code=201,
             summary="Invoice a finished month for every site (or one); idempotent")
def issue_invoices(body: InvoiceRequest, session: SessionDep, actor: Writer,
                   state: StateDep) -> list[InvoicePublic]:
    return [_invoice(i) for i in billing.issue_invoices(session, actor=actor, period=body.period,
                                                        settings=state.settings,
                                                        site_id=body.site_id)]


@router.get("/invoices", response_model=list[InvoicePublic])
def list_invoices(session: SessionDep, actor: ActorDep, site_id: str | None = None,
                  period: Annotated[Period | None, Query()] = None) -> list[InvoicePublic]:
    return [_invoice(i) for i in billing.list_invoices(session, actor=actor, site_id=site_id,
                                                       period=period)]


@router.get("/invoices/{invoice_id}", response_model=InvoicePublic)
def get_invoice(invoice_id: Annotated[int, Path(ge=1, le=2**31 - 1)], session: SessionDep,
                actor: ActorDep) -> InvoicePublic:
    return _invoice(billing.get_invoice(session, actor=actor, invoice_id=invoice_id))
