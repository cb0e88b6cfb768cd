"""A reading the agent reconstructed after downtime (#13, Agent) is stored with its flag
and the flag is visible on its ledger entries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

T0 = datetime(2025, 9, 1, tzinfo=UTC)


def test_reconstructed_reading_is_stored_and_shown_in_the_ledger(client, world, make_site) -> None:  # type: ignore[no-untyped-def]
    make_site("a")
    op = world["op_a"]

    def reading(rid: str, start: datetime, seconds: float, mw: float, **kw) -> dict:  # type: ignore[no-untyped-def]
        return {"reading_id": rid, "site_id": "a", "interval_start": start.isoformat(),
                "interval_end": (start + timedelta(seconds=seconds)).isoformat(),
                "energy_mwh": mw * seconds / 3600, "mean_mw": mw, "max_mw": mw, **kw}

    r = client.post("/api/v1/meter-readings", headers=op, json={"readings": [
        reading("live", T0, 60, 2.0),
        reading("gap", T0 + timedelta(seconds=60), 5.8, 0.1, reconstructed=True),
        reading("after", T0 + timedelta(seconds=65.8), 60, 2.0)]})
    assert r.json() == {"accepted": 3, "duplicates": 0}, r.text
    rows = {x["reading_id"]: x for x in
            client.get("/api/v1/sites/a/meter-readings", headers=op).json()}
    assert {k: v["reconstructed"] for k, v in rows.items()} == {
        "live": False, "gap": True, "after": False}
    ledger = client.get("/api/v1/ledger?site_id=a", headers=world["grid"]).json()
    flags = {(e["txn_id"], e["account"]): e["reconstructed"] for e in ledger}
    assert flags[("gap", "site:a:receivable")] and flags[("gap", "programme:energy_revenue")]
    assert not flags[("live", "site:a:receivable")]
    gap_energy = sum(e["energy_mwh"] for e in ledger
                     if e["txn_id"] == "gap" and e["account"] == "site:a:receivable")
    assert abs(gap_energy - 0.1 * 5.8 / 3600) < 1e-12
