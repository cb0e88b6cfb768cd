"""Meter readings (idempotency, atomicity), compliance, ledger and invoices; hand-computed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest


def _r(site: str, start: datetime, minutes: float, mwh: float, rid: str | None = None) -> dict:
    return {"reading_id": rid or uuid.uuid4().hex, "site_id": site,
            "interval_start": start.isoformat(),
            "interval_end": (start + timedelta(minutes=minutes)).isoformat(),
            "energy_mwh": mwh, "mean_mw": mwh * 60 / minutes, "max_mw": mwh * 60 / minutes}


def _post(client, h, *readings: dict):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/meter-readings", headers=h, json={"readings": list(readings)})


def test_compliance_penalty_and_ledger(client, world, make_site) -> None:  # type: ignore[no-untyped-def]
    make_site("a", contracted_mw=10, interruptible_share=1.0, tariff_pkr_per_kwh=20.0)
    now = datetime.now(UTC)
    client.post("/api/v1/surplus-signals", headers=world["grid"], json={"signals": [{
        "region_id": "KP", "interval_start": (now - timedelta(minutes=1)).isoformat(),
        "interval_end": (now + timedelta(hours=1)).isoformat(), "available_mw": 6,
        "kind": "actual"}]})
    t = datetime.now(UTC) + timedelta(seconds=5)
    ok = _r("a", t, 1, 0.1)            # 6 MW against a 6 MW setpoint
    over = _r("a", t + timedelta(minutes=1), 1, 0.15)  # 9 MW: 2.95 MW above (tolerance 0.05)
    r = _post(client, world["op_a"], ok, over)
    assert r.status_code == 200 and r.json() == {"accepted": 2, "duplicates": 0}
    rows = {x["reading_id"]: x for x in
            client.get("/api/v1/sites/a/meter-readings", headers=world["op_a"]).json()}
    assert rows[ok["reading_id"]]["flagged"] is False
    assert rows[over["reading_id"]]["flagged"] is True
    assert rows[over["reading_id"]]["allowed_mw"] == pytest.approx(6.0)
    assert rows[over["reading_id"]]["excess_mwh"] == pytest.approx(2.95 / 60)
    bal = client.get("/api/v1/ledger/balance", headers=world["regulator"]).json()
    penalty = round(2.95 / 60 * 1000 * 50.0, 2)  # 50 PKR/kWh default penalty
    assert bal["balanced"] is True and bal["sum_pkr"] == 0
    assert bal["energy_revenue_pkr"] == pytest.approx(0.25 * 1000 * 20.0)  # 5,000 PKR
    assert bal["penalty_revenue_pkr"] == pytest.approx(penalty, abs=0.01)
    assert bal["receivable_pkr"] == pytest.approx(5000 + penalty, abs=0.01)
    assert bal["energy_mwh"] == pytest.approx(0.25)
    # every transaction (one per reading) sums to zero
    entries = client.get("/api/v1/ledger", headers=world["grid"]).json()
    per_txn: dict[str, float] = {}
    for e in entries:
        per_txn[e["txn_id"]] = per_txn.get(e["txn_id"], 0) + e["amount_pkr"]
    assert set(per_txn) == {ok["reading_id"], over["reading_id"]}
    assert all(v == pytest.approx(0) for v in per_txn.values())


def test_idempotent_and_atomic(client, world, make_site) -> None:  # type: ignore[no-untyped-def]
    make_site("a")
    t0 = datetime(2025, 8, 1, 10, tzinfo=UTC)
    first = _r("a", t0, 15, 1.0)
    assert _post(client, world["op_a"], first).json() == {"accepted": 1, "duplicates": 0}
    # the same reading again, and the same interval under a new id: both duplicates
    again = _post(client, world["op_a"], first, dict(first, reading_id="other-id"))
    assert again.json() == {"accepted": 0, "duplicates": 2}
    # duplicates inside one batch count once
    second = _r("a", t0 + timedelta(minutes=15), 15, 1.0)
    assert _post(client, world["op_a"], second, second).json() == {"accepted": 1,
                                                                    "duplicates": 1}
    # one bad reading fails the whole batch and stores nothing
    fresh = _r("a", t0 + timedelta(minutes=30), 15, 1.0)
    for bad, code in [(_r("ghost", t0, 15, 1.0), 404),
                      (_r("a", datetime.now(UTC) + timedelta(hours=1), 15, 1.0), 422),
                      (dict(fresh, interval_end=fresh["interval_start"]), 422),
                      (dict(fresh, interval_start="2025-08-01T10:00:00"), 422),
                      (dict(fresh, energy_mwh=-1), 422)]:
        r = _post(client, world["grid"], dict(fresh), bad)
        assert r.status_code == code, (bad, r.text)
        assert r.json()["status"] == code and r.json()["detail"]
    assert len(client.get("/api/v1/sites/a/meter-readings", headers=world["grid"]).json()) == 2
    bal = client.get("/api/v1/ledger/balance", headers=world["grid"]).json()
    assert bal["energy_mwh"] == pytest.approx(2.0) and bal["balanced"]


def test_monthly_invoice(client, world, make_site) -> None:  # type: ignore[no-untyped-def]
    make_site("a", tariff_pkr_per_kwh=22.98)
    make_site("b", owner="op-b")
    june = datetime(2025, 6, 10, tzinfo=UTC)
    # no setpoint existed then: all drawn power is above the (zero) setpoint
    _post(client, world["grid"], _r("a", june, 60, 2.0), _r("a", june + timedelta(hours=1), 60, 3.0),
          # 20:00 UTC on 30 June is 1 July in Asia/Karachi: billed in July
          _r("a", datetime(2025, 6, 30, 20, tzinfo=UTC), 60, 7.0))
    r = client.post("/api/v1/invoices", headers=world["grid"], json={"period": "2025-06"})
    assert r.status_code == 201, r.text
    inv = {i["site_id"]: i for i in r.json()}
    a = inv["a"]
    assert a["energy_mwh"] == pytest.approx(5.0)
    assert a["energy_charge_pkr"] == pytest.approx(5000 * 22.98)           # 114,900
    assert a["penalty_pkr"] == pytest.approx((1.95 + 2.95) * 1000 * 50.0)  # 245,000
    assert a["total_pkr"] == pytest.approx(359_900.0)
    assert (a["readings"], a["flagged_readings"]) == (2, 2)
    assert inv["b"]["total_pkr"] == 0
    # issuing again returns the same invoices; the month is closed for new readings
    again = client.post("/api/v1/invoices", headers=world["grid"], json={"period": "2025-06"})
    assert {i["invoice_id"] for i in again.json()} == {i["invoice_id"] for i in r.json()}
    # a late June reading is accepted and billed in the current month; June stays as issued
    late = _r("a", june + timedelta(days=1), 60, 1.0)
    assert _post(client, world["grid"], late).json() == {"accepted": 1, "duplicates": 0}
    this_month = datetime.now(UTC).astimezone(ZoneInfo("Asia/Karachi")).strftime("%Y-%m")
    entries = client.get(f"/api/v1/ledger?site_id=a&period={this_month}",
                         headers=world["op_a"]).json()
    assert {e["txn_id"] for e in entries} == {late["reading_id"]}
    assert client.get(f"/api/v1/invoices/{a['invoice_id']}", headers=world["op_a"]).json() == a
    assert client.get("/api/v1/ledger/balance", headers=world["grid"]).json()["balanced"]
    assert client.get(f"/api/v1/invoices/{a['invoice_id']}", headers=world["op_b"]).status_code == 403
    # a month that is not over cannot be invoiced
    r = client.post("/api/v1/invoices", headers=world["grid"], json={"period": this_month})
    assert r.status_code == 422
    assert client.post("/api/v1/invoices", headers=world["grid"],
                       json={"period": "2025-13"}).status_code == 422


def test_site_events_idempotent(client, world, make_site) -> None:  # type: ignore[no-untyped-def]
    make_site("a")
    ev = {"event_id": "e-1", "kind": "failsafe_enter", "at": datetime.now(UTC).isoformat(),
          "detail": "lost link"}
    for _ in range(2):
        r = client.post("/api/v1/sites/a/events", headers=world["op_a"], json=ev)
        assert r.status_code == 201 and r.json()["event_id"] == "e-1"
    assert len(client.get("/api/v1/sites/a/events", headers=world["grid"]).json()) == 1
    audit = client.get("/api/v1/audit?action=site_event.failsafe_enter",
                       headers=world["grid"]).json()
    assert len(audit) == 1 and audit[0]["actor"] == "op-a"
    bad = client.post("/api/v1/sites/a/events", headers=world["op_a"], json=ev | {"kind": "x"})
    assert bad.status_code == 422


def test_allowed_mw_rules() -> None:
    from offtake.service.domain.metering import _in_force

    t = datetime(2025, 1, 1, tzinfo=UTC)
    m = timedelta(minutes=1)
    hist = [(10.0, t, None), (4.0, t + 10 * m, None), (8.0, t + 20 * m, t + 25 * m)]
    assert _in_force(hist, t + m, t + 2 * m) == 10.0         # first in force
    assert _in_force(hist, t + 12 * m, t + 13 * m) == 4.0    # superseded by the cut
    assert _in_force(hist, t + 9 * m, t + 11 * m) == 10.0    # interval spans the cut
    assert _in_force(hist, t + 26 * m, t + 27 * m) == 0.0    # 8 MW expired at +25
    assert _in_force([], t, t + m) == 0.0                    # never a setpoint
    assert _in_force(hist, t - 5 * m, t - m) == 0.0          # before the first


def test_fast_path_matches_rule(client, world, make_site) -> None:  # type: ignore[no-untyped-def]
    """Readings that start after the current setpoint: judged against it alone."""
    make_site("a", contracted_mw=10, interruptible_share=1.0)
    now = datetime.now(UTC)
    client.post("/api/v1/surplus-signals", headers=world["grid"], json={"signals": [{
        "region_id": "KP", "interval_start": (now - timedelta(minutes=1)).isoformat(),
        "interval_end": (now + timedelta(hours=1)).isoformat(), "available_mw": 6,
        "kind": "actual"}]})
    start = datetime.now(UTC) + timedelta(minutes=2)  # > issue + 60 s grace
    reading = _r("a", start, 1, 0.15)                   # 9 MW against 6
    assert _post(client, world["op_a"], reading).json()["accepted"] == 1
    row = client.get("/api/v1/sites/a/meter-readings", headers=world["grid"]).json()[0]
    assert row["allowed_mw"] == pytest.approx(6.0) and row["flagged"] is True
    assert row["excess_mwh"] == pytest.approx(2.95 / 60)
