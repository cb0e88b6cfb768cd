"""Bad numbers the service accepted (#13 item 7): each is now a 4xx problem body and
changes nothing.

Before: overlapping readings for one site were both billed; 100,000 MWh in one second
with ``mean_mw`` 0 was accepted; ``offset=9223372036854775808`` gave 500 for any role;
a manual hold until 9999-12-31 was accepted.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

T0 = datetime(2025, 9, 1, tzinfo=UTC)


def _r(rid: str, start: datetime, minutes: float, mw: float, site: str = "a", **over) -> dict:  # type: ignore[no-untyped-def]
    return {"reading_id": rid, "site_id": site, "interval_start": start.isoformat(),
            "interval_end": (start + timedelta(minutes=minutes)).isoformat(),
            "energy_mwh": mw * minutes / 60, "mean_mw": mw, "max_mw": mw} | over


def _post(client, h, *readings):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/meter-readings", headers=h, json={"readings": list(readings)})


def _stored(client, h) -> tuple[list[str], float]:  # type: ignore[no-untyped-def]
    rows = client.get("/api/v1/sites/a/meter-readings", headers=h).json()
    bal = client.get("/api/v1/ledger/balance", headers=h).json()
    return sorted(r["reading_id"] for r in rows), bal["energy_mwh"]


def _problem(r, status: int, *words: str) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    for w in words:
        assert w in r.json()["detail"], r.json()["detail"]


def test_overlapping_readings_are_refused(client, world, make_site) -> None:  # type: ignore[no-untyped-def]
    make_site("a")
    op = world["op_a"]
    assert _post(client, op, _r("r1", T0, 60, 2.0)).json() == {"accepted": 1, "duplicates": 0}
    before = _stored(client, world["grid"])
    # starts inside the stored hour
    _problem(_post(client, op, _r("r2", T0 + timedelta(minutes=30), 60, 2.0)), 409,
             "r2", "overlaps the stored reading r1", "billed twice")
    # covers it entirely (starts earlier)
    _problem(_post(client, op, _r("r3", T0 - timedelta(minutes=5), 120, 1.0)), 409, "r3")
    # two readings of one batch overlap each other (nothing stored: the batch is refused)
    _problem(_post(client, op, _r("r4", T0 + timedelta(hours=2), 30, 1.0),
                   _r("r5", T0 + timedelta(hours=2, minutes=10), 30, 1.0)), 409,
             "overlaps the batch's reading")
    assert _stored(client, world["grid"]) == before == (["r1"], pytest.approx(2.0))
    # what stays allowed: a resend, the same slot under another id (a duplicate), and
    # readings that touch end-to-start
    assert _post(client, op, _r("r1", T0, 60, 2.0)).json() == {"accepted": 0, "duplicates": 1}
    assert _post(client, op, _r("r1b", T0, 60, 2.0)).json() == {"accepted": 0, "duplicates": 1}
    assert _post(client, op, _r("r6", T0 + timedelta(hours=1), 60, 2.0),
                 _r("r7", T0 + timedelta(hours=2), 60, 2.0)).json()["accepted"] == 2
    assert client.get("/api/v1/ledger/balance", headers=world["grid"]).json()["balanced"]


def test_absurd_energy_is_refused(client, world, make_site) -> None:  # type: ignore[no-untyped-def]
    make_site("a", contracted_mw=10)
    op = world["op_a"]
    one_second = {"interval_end": (T0 + timedelta(seconds=1)).isoformat()}
    # the reported case: 100,000 MWh in one second with mean_mw 0
    _problem(_post(client, op, _r("x1", T0, 1, 0.0) | one_second | {"energy_mwh": 100_000}),
             422, "does not match mean_mw")
    # energy consistent with itself but inconsistent with its mean power (x1000: kWh as MWh)
    _problem(_post(client, op, _r("x2", T0, 60, 2.0) | {"energy_mwh": 2000.0}), 422,
             "energy_mwh")
    # max below mean
    _problem(_post(client, op, _r("x3", T0, 60, 2.0) | {"max_mw": 1.0}), 422, "max_mw")
    # self-consistent but far beyond what the site can draw (contract 10 MW)
    _problem(_post(client, op, _r("x4", T0, 60, 5000.0)), 422, "contracted", "x4")
    assert _stored(client, world["grid"]) == ([], 0)
    # 2x the contract plus 1 MW is the documented limit
    assert _post(client, op, _r("ok", T0, 60, 21.0)).status_code == 200


@pytest.mark.parametrize("who", ["admin", "grid", "regulator", "op_a"])
def test_huge_offset_is_a_4xx_for_every_role(client, world, who) -> None:  # type: ignore[no-untyped-def]
    for path in ("/api/v1/sites", "/api/v1/ledger"):
        for offset in ("9223372036854775808", "9223372036854775807", "1000000001", "-1"):
            r = client.get(f"{path}?offset={offset}", headers=world[who])
            _problem(r, 422, "offset")
        assert client.get(f"{path}?offset=1000000000", headers=world[who]).status_code == 200


def test_manual_hold_is_capped(client, world, make_site) -> None:  # type: ignore[no-untyped-def]
    make_site("a")
    grid = world["grid"]
    before = client.get("/api/v1/sites/a/setpoints", headers=grid).json()  # the site's first
    r = client.put("/api/v1/sites/a/setpoint", headers=grid,
                   json={"setpoint_mw": 1.0, "valid_until": "9999-12-31T00:00:00+00:00"})
    _problem(r, 422, "at most 31 days")
    assert client.get("/api/v1/sites/a/setpoints", headers=grid).json() == before
    until = datetime.now(UTC) + timedelta(days=30)
    r = client.put("/api/v1/sites/a/setpoint", headers=grid,
                   json={"setpoint_mw": 1.0, "valid_until": until.isoformat()})
    assert r.status_code == 200, r.text


def test_concurrent_overlapping_batches_store_one(client, world, make_site, app, backend,
                                                   monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Two batches racing past the overlap check: the per-site lock lets one through."""
    import threading
    import time

    from offtake.errors import InputError
    from offtake.service.domain import metering
    from offtake.service.schemas import ReadingIn
    from offtake.service.security import Principal, Role

    make_site("a")
    check = metering._refuse_overlaps_with_stored

    def slow_check(session, rows):  # type: ignore[no-untyped-def]
        check(session, rows)
        time.sleep(0.4)  # widen the window between the check and the insert

    monkeypatch.setattr(metering, "_refuse_overlaps_with_stored", slow_check)
    state = app.state.offtake
    grid = Principal("grid-1", frozenset({Role.GRID_OPERATOR}))
    outcome: list[str] = []

    def send(rid: str, start: datetime) -> None:
        reading = ReadingIn.model_validate(_r(rid, start, 60, 2.0))
        with state.sessions() as s:
            try:
                metering.ingest_readings(s, actor=grid, readings=[reading],
                                         settings=state.settings)
                outcome.append("stored")
            except InputError as exc:  # ConflictError is an InputError (409)
                outcome.append(f"{exc.http_status}")

    threads = [threading.Thread(target=send, args=("c1", T0)),
               threading.Thread(target=send, args=("c2", T0 + timedelta(minutes=30)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcome) == ["409", "stored"], (backend, outcome)
    ids, energy = _stored(client, world["grid"])
    assert len(ids) == 1 and energy == pytest.approx(2.0)
