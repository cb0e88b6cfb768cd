"""Region prices and surplus-indexed tariffs: hand-computed ledger amounts, fallback,
overlap rule, bad input refused whole; runs on SQLite and on PostgreSQL (conftest)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from offtake.service.db import run_migrations

DAY = datetime(2025, 8, 1, tzinfo=UTC)  # a finished month, billed on the wall clock


def at(h: float) -> datetime:
    return DAY + timedelta(hours=h)


def _price(region: str, h0: float, h1: float, pkr: float, kind: str = "forecast") -> dict:
    return {"region_id": region, "interval_start": at(h0).isoformat(),
            "interval_end": at(h1).isoformat(), "price_pkr_per_kwh": pkr, "kind": kind}


def _reading(rid: str, site: str, h0: float, h1: float, mwh: float) -> dict:
    mw = mwh / (h1 - h0)
    return {"reading_id": rid, "site_id": site, "interval_start": at(h0).isoformat(),
            "interval_end": at(h1).isoformat(), "energy_mwh": mwh, "mean_mw": mw, "max_mw": mw}


def _site(client, h, site_id: str, **extra) -> dict:  # type: ignore[no-untyped-def]
    body = {"site_id": site_id, "name": site_id, "site_type": "bitcoin_mining",
            "region_id": "KP", "contracted_mw": 10, "interruptible_share": 1,
            "tariff_pkr_per_kwh": 22.98, "owner_client_id": "op-a", **extra}
    r = client.post("/api/v1/sites", headers=h, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def _energy_entries(client, h) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    return {e["txn_id"]: e for e in client.get("/api/v1/ledger", headers=h).json()
            if e["kind"] == "energy" and e["account"].startswith("site:")}


def test_surplus_indexed_charges_by_hand(client, world) -> None:  # type: ignore[no-untyped-def]
    grid = world["grid"]
    site = _site(client, grid, "si", tariff_design="surplus_indexed",
                 tariff_adder_pkr_per_kwh=2.0, tariff_floor_pkr_per_kwh=12.0)
    assert (site["tariff_design"], site["tariff_adder_pkr_per_kwh"],
            site["tariff_floor_pkr_per_kwh"]) == ("surplus_indexed", 2.0, 12.0)
    _site(client, grid, "fl")  # flat by default: 22.98 whatever the region's price
    r = client.post("/api/v1/prices", headers=grid, json={"prices": [
        _price("KP", 10, 12, 15.0),             # forecast 15 over 10:00-12:00
        _price("KP", 10, 11, 8.0, "actual")]})  # actual 8 over 10:00-11:00 beats it there
    assert r.status_code == 201, r.text
    assert [p["price_pkr_per_kwh"] for p in r.json()["prices"]] == [15.0, 8.0]
    readings = [
        _reading("r1", "si", 10, 10.5, 3.0),       # actual 8 + 2 = 10 < floor 12 -> 12
        _reading("r2", "si", 11.25, 11.75, 3.0),   # forecast 15 + 2 = 17
        _reading("r3", "si", 12, 12.5, 0.123456),  # no price: flat 22.98 + 2 = 24.98
        _reading("r4", "si", 10.75, 11.25, 2.0),   # half at 12 (floor), half at 17 -> 14.5
        _reading("f1", "fl", 10, 10.5, 3.0)]       # flat site: 22.98
    r = client.post("/api/v1/meter-readings", headers=grid, json={"readings": readings})
    assert r.json() == {"accepted": 5, "duplicates": 0}, r.text
    e = _energy_entries(client, grid)
    expected = {  # (PKR, unit PKR/kWh, source), computed by hand
        "r1": (3000 * 12.0, 12.0, "actual"),          # 36,000.00
        "r2": (3000 * 17.0, 17.0, "forecast"),        # 51,000.00
        "r3": (3083.93, 24.98, "fallback"),           # 123.456 kWh x 24.98 = 3,083.93088
        "r4": (2000 * 14.5, 14.5, "mixed"),           # 29,000.00
        "f1": (3000 * 22.98, 22.98, "flat")}          # 68,940.00
    for rid, (pkr, unit, source) in expected.items():
        assert e[rid]["amount_pkr"] == pytest.approx(pkr, abs=0.001), rid
        assert e[rid]["price_pkr_per_kwh"] == pytest.approx(unit), rid
        assert e[rid]["price_source"] == source, rid
    bal = client.get("/api/v1/ledger/balance", headers=grid).json()
    assert bal["balanced"] is True and bal["sum_pkr"] == 0
    # the invoice totals the same figures; average price = energy charge / energy
    inv = {i["site_id"]: i for i in client.post("/api/v1/invoices", headers=grid,
                                                 json={"period": "2025-08"}).json()}
    total = 36_000 + 51_000 + 3_083.93 + 29_000
    assert inv["si"]["energy_charge_pkr"] == pytest.approx(total, abs=0.001)
    assert inv["si"]["tariff_design"] == "surplus_indexed"
    assert inv["si"]["energy_mwh"] == pytest.approx(8.123456)
    assert inv["si"]["average_price_pkr_per_kwh"] == pytest.approx(total / 8123.456)
    assert inv["fl"]["tariff_design"] == "flat"
    assert inv["fl"]["average_price_pkr_per_kwh"] == pytest.approx(22.98)


def test_no_price_falls_back_to_flat_tariff(client, world) -> None:  # type: ignore[no-untyped-def]
    grid = world["grid"]
    _site(client, grid, "si", tariff_design="surplus_indexed", tariff_adder_pkr_per_kwh=1.5)
    # a price in another region, and one in KP that ends before the reading starts
    assert client.post("/api/v1/prices", headers=grid, json={"prices": [
        _price("SINDH", 0, 24, 3.0, "actual"), _price("KP", 8, 9, 3.0)]}).status_code == 201
    r = client.post("/api/v1/meter-readings", headers=grid,
                    json={"readings": [_reading("x", "si", 9, 10, 1.0)]})
    assert r.status_code == 200, r.text
    e = _energy_entries(client, grid)["x"]
    assert e["amount_pkr"] == pytest.approx(1000 * (22.98 + 1.5))  # 24,480.00, no floor
    assert e["price_source"] == "fallback"


def test_newer_price_replaces_older_for_later_readings(client, world) -> None:  # type: ignore[no-untyped-def]
    """Overlaps are stored; the newest of the strongest kind is in force; billed stays billed."""
    grid = world["grid"]
    _site(client, grid, "si", tariff_design="surplus_indexed")
    assert client.post("/api/v1/prices", headers=grid,
                       json={"prices": [_price("KP", 0, 24, 10.0)]}).status_code == 201
    client.post("/api/v1/meter-readings", headers=grid,
                json={"readings": [_reading("before", "si", 1, 2, 1.0)]})
    # a corrected forecast, then an actual for part of the day
    assert client.post("/api/v1/prices", headers=grid,
                       json={"prices": [_price("KP", 0, 24, 11.0)]}).status_code == 201
    assert client.post("/api/v1/prices", headers=grid,
                       json={"prices": [_price("KP", 3, 4, 9.0, "actual")]}).status_code == 201
    # a later forecast does not beat an actual
    assert client.post("/api/v1/prices", headers=grid,
                       json={"prices": [_price("KP", 3, 4, 30.0)]}).status_code == 201
    client.post("/api/v1/meter-readings", headers=grid, json={"readings": [
        _reading("after", "si", 2, 3, 1.0), _reading("actual", "si", 3, 4, 1.0)]})
    e = _energy_entries(client, grid)
    assert e["before"]["amount_pkr"] == pytest.approx(10_000)  # billed at intake, not re-billed
    assert e["after"]["amount_pkr"] == pytest.approx(11_000)
    assert e["actual"]["amount_pkr"] == pytest.approx(9_000)
    listed = client.get("/api/v1/prices?region_id=KP&kind=forecast", headers=grid).json()
    assert [p["price_pkr_per_kwh"] for p in listed] == [30.0, 11.0, 10.0]  # newest interval first


def test_prices_readable_by_any_client_writable_by_grid_and_admin(client, world) -> None:  # type: ignore[no-untyped-def]
    body = {"prices": [_price("KP", 0, 1, 5.0)]}
    for who in ("admin", "grid"):
        assert client.post("/api/v1/prices", headers=world[who], json=body).status_code == 201
    for who in ("regulator", "op_a"):
        r = client.post("/api/v1/prices", headers=world[who], json=body)
        assert r.status_code == 403 and "grid_operator" in r.json()["detail"], r.text
    assert client.post("/api/v1/prices", json=body).status_code == 401
    for who in ("admin", "grid", "regulator", "op_a"):
        r = client.get(f"/api/v1/prices?region_id=KP&start={at(0.5).isoformat()}"
                       f"&end={at(2).isoformat()}".replace("+", "%2B"), headers=world[who])
        assert r.status_code == 200 and len(r.json()) == 2, (who, r.text)
    assert client.get("/api/v1/prices").status_code == 401
    r = client.get(f"/api/v1/prices?start={at(1).isoformat()}".replace("+", "%2B"),
                   headers=world["op_a"])
    assert r.json() == []  # intervals are half-open: [0, 1) does not overlap [1, ...)


def _raw_price(literal: str) -> str:
    """A POST body whose price is the bare JSON token ``literal``."""
    return json.dumps({"prices": [_price("KP", 0, 1, 1.0)]}).replace("1.0", literal)


@pytest.mark.parametrize(("case", "payload", "status", "words"), [
    ("nan", _raw_price("NaN"), 422, "finite"),  # Python's JSON reader accepts NaN literals
    ("infinity", _raw_price("Infinity"), 422, "finite"),
    ("negative", {"prices": [_price("KP", 0, 1, -0.01)]}, 422, "greater than or equal to 0"),
    ("unknown region", {"prices": [_price("ATLANTIS", 0, 1, 5.0)]}, 404, "ATLANTIS"),
    ("end before start", {"prices": [_price("KP", 2, 1, 5.0)]}, 422, "interval_end"),
    ("empty interval", {"prices": [_price("KP", 1, 1, 5.0)]}, 422, "interval_end"),
    ("naive time", {"prices": [dict(_price("KP", 0, 1, 5.0), interval_start="2025-08-01T00:00:00")]},
     422, "timezone"),
    ("bad kind", {"prices": [_price("KP", 0, 1, 5.0, "guess")]}, 422, "forecast"),
    ("same-kind overlap in batch", {"prices": [_price("KP", 0, 2, 5.0), _price("KP", 1, 3, 6.0)]},
     422, "overlap"),
    ("malformed json", '{"prices": [', 422, "JSON"),
    ("empty list", '{"prices": []}', 422, "at least 1"),
    ("extra field", {"prices": [dict(_price("KP", 0, 1, 5.0), currency="USD")]}, 422, "currency"),
])
def test_bad_prices_refused_whole(client, world, case, payload, status, words) -> None:  # type: ignore[no-untyped-def]
    good = _price("KP", 5, 6, 7.0)
    if isinstance(payload, dict):
        payload = dict(payload, prices=[good, *payload["prices"]])  # with a good one: all or nothing
        r = client.post("/api/v1/prices", headers=world["grid"], json=payload)
    else:
        r = client.post("/api/v1/prices", headers={**world["grid"], "content-type": "application/json"},
                        content=payload)
    assert r.status_code == status, (case, r.text)
    body = r.json()
    assert r.headers["content-type"] == "application/problem+json"
    assert body["status"] == status and words.lower() in body["detail"].lower(), (case, body)
    assert client.get("/api/v1/prices", headers=world["grid"]).json() == []


def test_forecast_and_actual_may_overlap_in_one_batch(client, world) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/prices", headers=world["grid"], json={"prices": [
        _price("KP", 0, 2, 5.0), _price("KP", 1, 3, 6.0, "actual"), _price("SINDH", 1, 3, 6.0)]})
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(("change", "words"), [
    ({"tariff_design": "auction"}, "flat"),
    ({"tariff_design": "surplus_indexed", "tariff_adder_pkr_per_kwh": -1}, "greater than"),
    ({"tariff_design": "surplus_indexed", "tariff_floor_pkr_per_kwh": float("nan")}, "finite"),
])
def test_bad_tariff_fields_refused(client, world, change, words) -> None:  # type: ignore[no-untyped-def]
    body = {"site_id": "bad", "name": "bad", "site_type": "bitcoin_mining", "region_id": "KP",
            "contracted_mw": 10, "interruptible_share": 1, "tariff_pkr_per_kwh": 22.98,
            "owner_client_id": "op-a", **change}
    r = client.post("/api/v1/sites", headers={**world["grid"], "content-type": "application/json"},
                    content=json.dumps(body))
    assert r.status_code == 422 and words in r.json()["detail"], r.text
    assert client.get("/api/v1/sites", headers=world["grid"]).json() == []
    _site(client, world["grid"], "ok")
    r = client.patch("/api/v1/sites/ok", headers={**world["grid"], "content-type": "application/json"},
                     content=json.dumps(change))
    assert r.status_code == 422, r.text
    assert client.get("/api/v1/sites/ok", headers=world["grid"]).json()["tariff_design"] == "flat"


def test_patch_site_to_surplus_indexed(client, world) -> None:  # type: ignore[no-untyped-def]
    grid = world["grid"]
    assert _site(client, grid, "s")["tariff_design"] == "flat"
    r = client.patch("/api/v1/sites/s", headers=grid, json={
        "tariff_design": "surplus_indexed", "tariff_adder_pkr_per_kwh": 3.0,
        "tariff_floor_pkr_per_kwh": 20.0})
    assert r.status_code == 200, r.text
    assert (r.json()["tariff_design"], r.json()["tariff_floor_pkr_per_kwh"]) == ("surplus_indexed", 20.0)
    client.post("/api/v1/prices", headers=grid, json={"prices": [_price("KP", 0, 24, 10.0)]})
    client.post("/api/v1/meter-readings", headers=grid,
                json={"readings": [_reading("a", "s", 1, 2, 1.0)]})
    client.patch("/api/v1/sites/s", headers=grid, json={"tariff_floor_pkr_per_kwh": 0})
    client.post("/api/v1/meter-readings", headers=grid,
                json={"readings": [_reading("b", "s", 2, 3, 1.0)]})
    e = _energy_entries(client, grid)
    assert e["a"]["amount_pkr"] == pytest.approx(20_000)  # 10 + 3 = 13 below the floor of 20
    assert e["b"]["amount_pkr"] == pytest.approx(13_000)  # floor 0: no floor


def test_existing_sites_stay_flat_after_upgrade(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Migration 0003 on a database with a site and an invoice from before it."""
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    run_migrations(engine, "0002")
    t = "2025-08-01 00:00:00"
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO regions VALUES ('KP', 'KP')"))
        conn.execute(text("INSERT INTO clients (client_id, name, secret_hash, roles, active, "
                          f"created_at) VALUES ('o', 'o', 'x', 'site_operator', 1, '{t}')"))
        conn.execute(text(
            "INSERT INTO sites (site_id, name, site_type, region_id, contracted_mw, "
            "interruptible_share, priority, tariff_pkr_per_kwh, owner_client_id, active, "
            f"created_at, setpoint_seq, setpoint_mw) VALUES ('old', 'old', 'bitcoin_mining', "
            f"'KP', 5, 1, 1, 20, 'o', 1, '{t}', 0, 0)"))
        conn.execute(text(
            "INSERT INTO invoices (site_id, period, energy_mwh, tariff_pkr_per_kwh, "
            "energy_charge_paisa, penalty_paisa, total_paisa, readings, flagged_readings, "
            f"issued_at, issued_by) VALUES ('old', '2025-07', 1, 20, 2000000, 0, 2000000, 1, 0, "
            f"'{t}', 'g')"))
    run_migrations(engine)
    with engine.connect() as conn:
        site = conn.execute(text("SELECT tariff_design, tariff_adder_pkr_per_kwh, "
                                 "tariff_floor_pkr_per_kwh FROM sites")).one()
        design = conn.execute(text("SELECT tariff_design FROM invoices")).scalar_one()
    engine.dispose()
    assert tuple(site) == ("flat", 0.0, None)
    assert design == "flat"
