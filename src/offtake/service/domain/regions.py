"""Regions: the seven Pakistan regions, seeded once; live status per region."""

from __future__ import annotations

import csv
from datetime import datetime
from importlib import resources

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from offtake.service.models import Region, Site
from offtake.service.schemas import RegionStatus

DEFAULT_REGIONS: dict[str, str] = {
    "KP": "Khyber Pakhtunkhwa",
    "PUNJAB_N": "North Punjab / Islamabad",
    "PUNJAB_C": "Central Punjab",
    "PUNJAB_S": "South Punjab",
    "SINDH": "Sindh",
    "KARACHI": "Karachi",
    "BALOCHISTAN": "Balochistan",
}


def _names_from_scenario() -> dict[str, str]:
    """Region names from the built-in scenario's regions.csv when it exists."""
    try:
        path = resources.files("offtake.scenario") / "builtin" / "pakistan-2025" / "regions.csv"
        if not path.is_file():
            return {}
        rows = list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))
    except (ModuleNotFoundError, OSError, csv.Error, UnicodeDecodeError):
        return {}
    if not rows:
        return {}
    header = list(rows[0])
    rid_col = next((c for c in ("region_id", "id", "region", "code", "name") if c in header), None)
    name_col = next((c for c in ("display_name", "label", "description", "name")
                     if c in header and c != rid_col), None)
    if rid_col is None or name_col is None:
        return {}
    names: dict[str, str] = {}
    for row in rows:
        rid, name = (row.get(rid_col) or "").strip(), (row.get(name_col) or "").strip()
        if rid in DEFAULT_REGIONS and name:
            names[rid] = name
    return names


def ensure_regions(session: Session) -> None:
    """Insert the seven regions if missing (idempotent; safe with several workers)."""
    names = {**DEFAULT_REGIONS, **_names_from_scenario()}
    have = set(session.scalars(select(Region.region_id)))
    missing = [Region(region_id=rid, name=name) for rid, name in names.items() if rid not in have]
    if not missing:
        return
    session.add_all(missing)
    try:
        session.commit()
    except IntegrityError:  # another worker seeded them at the same moment
        session.rollback()


def list_regions(session: Session) -> list[Region]:
    return list(session.scalars(select(Region).order_by(Region.region_id)))


def region_status(session: Session, *, at: datetime | None = None) -> list[RegionStatus]:
    """Per region: surplus signal in force, allocated and contracted MW, curtailment."""
    from offtake.service.domain.common import now
    from offtake.service.domain.setpoints import curtailed_regions
    from offtake.service.domain.signals import signals_in_force

    at = at or now()
    signals = signals_in_force(session, at=at)
    curtailed = curtailed_regions(session)
    agg = {r: (mw or 0.0, cap or 0.0, n) for r, mw, cap, n in session.execute(
        select(Site.region_id, func.sum(Site.setpoint_mw), func.sum(Site.contracted_mw),
               func.count()).where(Site.active.is_(True)).group_by(Site.region_id))}
    out = []
    for region in list_regions(session):
        sig = signals.get(region.region_id)
        mw, cap, n = agg.get(region.region_id, (0.0, 0.0, 0))
        out.append(RegionStatus(
            region_id=region.region_id, name=region.name,
            available_mw=sig.available_mw if sig else None,
            signal_kind=sig.kind if sig else None, allocated_mw=float(mw),
            contracted_mw=float(cap), sites=int(n),
            curtailed=None in curtailed or region.region_id in curtailed))
    return out
