"""Role x route authorisation matrix over every core route, plus token attacks.

This module's service runs with the sandbox clock enabled (``OFFTAKE_SANDBOX_CLOCK=1``) so
the ``/admin/sim-clock`` routes are in the matrix; without the setting they answer 404
(:func:`test_sim_clock_routes_404_without_the_setting`).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from fastapi.routing import APIRoute
from svc_support import SECRET, TestClient

from offtake.service.app import create_app
from offtake.service.security import Role
from offtake.service.settings import Settings

ROLES = ["admin", "grid", "regulator", "owner", "other_op", "anonymous"]
WRITE = {"admin", "grid"}
READ_ALL = {"admin", "grid", "regulator"}
ANY = {"admin", "grid", "regulator", "owner", "other_op"}
PUBLIC = set(ROLES)

NOW = datetime.now(UTC)


_READING_SLOT = itertools.count()


def _reading(site: str = "s-a") -> dict[str, Any]:
    # each reading gets its own minute: readings of one site may not overlap (a 409 otherwise)
    start = NOW - timedelta(hours=2) + timedelta(minutes=next(_READING_SLOT))
    return {"readings": [{"reading_id": uuid.uuid4().hex, "site_id": site,
                          "interval_start": start.isoformat(),
                          "interval_end": (start + timedelta(minutes=1)).isoformat(),
                          "energy_mwh": 0.01, "mean_mw": 0.6, "max_mw": 0.7}]}


def _curtailment(c, h) -> int:  # type: ignore[no-untyped-def]
    r = c.post("/api/v1/emergency-curtailments", headers=h["grid"],
               json={"region_id": "SINDH", "reason": "matrix"})
    return int(r.json()["curtailment_id"])


# far in the future: no reading is billed on it and "now" stays the wall clock, so the clock
# changes nothing for the other routes
_FAR = "2100-01-01T00:00:00+00:00"
CLOCK = {"wall_origin": _FAR, "sim_origin": _FAR, "speed": 60}


def _clock_set(c, h) -> None:  # type: ignore[no-untyped-def]
    r = c.put("/api/v1/admin/sim-clock", headers=h["admin"], json=CLOCK)
    assert r.status_code == 200, r.text


def _price(region: str = "KP", price: float = 12.5) -> dict[str, Any]:
    return {"prices": [{"region_id": region, "interval_start": NOW.isoformat(),
                        "interval_end": (NOW + timedelta(hours=1)).isoformat(),
                        "price_pkr_per_kwh": price, "kind": "forecast"}]}


Req = Callable[..., tuple[str, str, dict[str, Any]]]
# (method, path template) -> (roles allowed, request builder(client, headers, role))
MATRIX: dict[tuple[str, str], tuple[set[str], Req]] = {
    ("POST", "/auth/token"): (PUBLIC, lambda c, h, r: (
        "POST", "/auth/token", {"data": {"grant_type": "client_credentials",
                                         "client_id": "op-a", "client_secret": h["secret"]}})),
    ("GET", "/healthz"): (PUBLIC, lambda c, h, r: ("GET", "/healthz", {})),
    ("GET", "/api/v1/me"): (ANY, lambda c, h, r: ("GET", "/api/v1/me", {})),
    ("POST", "/api/v1/clients"): ({"admin"}, lambda c, h, r: (
        "POST", "/api/v1/clients", {"json": {"name": "x", "roles": ["regulator"]}})),
    ("GET", "/api/v1/clients"): ({"admin"}, lambda c, h, r: ("GET", "/api/v1/clients", {})),
    ("PATCH", "/api/v1/clients/{client_id}"): ({"admin"}, lambda c, h, r: (
        "PATCH", "/api/v1/clients/op-b", {"json": {"name": "renamed"}})),
    ("POST", "/api/v1/clients/{client_id}/revoke-tokens"): ({"admin"}, lambda c, h, r: (
        "POST", "/api/v1/clients/spare/revoke-tokens", {})),
    ("GET", "/api/v1/audit"): (READ_ALL, lambda c, h, r: ("GET", "/api/v1/audit", {})),
    ("GET", "/api/v1/regions"): (ANY, lambda c, h, r: ("GET", "/api/v1/regions", {})),
    ("GET", "/api/v1/regions/status"): (ANY, lambda c, h, r: (
        "GET", "/api/v1/regions/status", {})),
    ("POST", "/api/v1/sites"): (WRITE, lambda c, h, r: ("POST", "/api/v1/sites", {"json": {
        "site_id": f"new-{r}", "name": "n", "site_type": "ai_training", "region_id": "SINDH",
        "contracted_mw": 5, "interruptible_share": 1, "tariff_pkr_per_kwh": 23,
        "owner_client_id": "op-b"}})),
    ("GET", "/api/v1/sites"): (ANY, lambda c, h, r: ("GET", "/api/v1/sites", {})),
    ("GET", "/api/v1/sites/{site_id}"): (READ_ALL | {"owner"}, lambda c, h, r: (
        "GET", "/api/v1/sites/s-a", {})),
    ("PATCH", "/api/v1/sites/{site_id}"): (WRITE, lambda c, h, r: (
        "PATCH", "/api/v1/sites/s-a", {"json": {"priority": 3}})),
    ("GET", "/api/v1/sites/{site_id}/setpoint"): (READ_ALL | {"owner"}, lambda c, h, r: (
        "GET", "/api/v1/sites/s-a/setpoint", {})),
    ("PUT", "/api/v1/sites/{site_id}/setpoint"): (WRITE, lambda c, h, r: (
        "PUT", "/api/v1/sites/s-a/setpoint", {"json": {"setpoint_mw": 1.5}})),
    ("GET", "/api/v1/sites/{site_id}/setpoints"): (READ_ALL | {"owner"}, lambda c, h, r: (
        "GET", "/api/v1/sites/s-a/setpoints", {})),
    ("GET", "/api/v1/sites/{site_id}/meter-readings"): (READ_ALL | {"owner"}, lambda c, h, r: (
        "GET", "/api/v1/sites/s-a/meter-readings", {})),
    ("POST", "/api/v1/sites/{site_id}/events"): (WRITE | {"owner"}, lambda c, h, r: (
        "POST", "/api/v1/sites/s-a/events", {"json": {
            "event_id": uuid.uuid4().hex, "kind": "failsafe_enter", "at": NOW.isoformat()}})),
    ("GET", "/api/v1/sites/{site_id}/events"): (READ_ALL | {"owner"}, lambda c, h, r: (
        "GET", "/api/v1/sites/s-a/events", {})),
    ("POST", "/api/v1/surplus-signals"): (WRITE, lambda c, h, r: (
        "POST", "/api/v1/surplus-signals", {"json": {"signals": [{
            "region_id": "KP", "interval_start": NOW.isoformat(),
            "interval_end": (NOW + timedelta(hours=1)).isoformat(), "available_mw": 3}]}})),
    ("GET", "/api/v1/surplus-signals"): (ANY, lambda c, h, r: (
        "GET", "/api/v1/surplus-signals", {})),
    ("POST", "/api/v1/allocations"): (WRITE, lambda c, h, r: (
        "POST", "/api/v1/allocations", {"json": {"dry_run": True}})),
    ("POST", "/api/v1/emergency-curtailments"): (WRITE, lambda c, h, r: (
        "POST", "/api/v1/emergency-curtailments", {"json": {"region_id": "SINDH",
                                                            "reason": "drill"}})),
    ("GET", "/api/v1/emergency-curtailments"): (ANY, lambda c, h, r: (
        "GET", "/api/v1/emergency-curtailments", {})),
    ("POST", "/api/v1/emergency-curtailments/{curtailment_id}/release"): (
        WRITE, lambda c, h, r: (
            "POST", f"/api/v1/emergency-curtailments/{_curtailment(c, h)}/release", {})),
    ("POST", "/api/v1/meter-readings"): (WRITE | {"owner"}, lambda c, h, r: (
        "POST", "/api/v1/meter-readings", {"json": _reading()})),
    ("GET", "/api/v1/ledger"): (ANY, lambda c, h, r: ("GET", "/api/v1/ledger", {})),
    ("GET", "/api/v1/ledger/balance"): (ANY, lambda c, h, r: (
        "GET", "/api/v1/ledger/balance", {})),
    ("POST", "/api/v1/invoices"): (WRITE, lambda c, h, r: (
        "POST", "/api/v1/invoices", {"json": {"period": "2025-06"}})),
    ("GET", "/api/v1/invoices"): (ANY, lambda c, h, r: ("GET", "/api/v1/invoices", {})),
    ("GET", "/api/v1/invoices/{invoice_id}"): (READ_ALL | {"owner"}, lambda c, h, r: (
        "GET", f"/api/v1/invoices/{h['invoice_id']}", {})),
    ("POST", "/api/v1/prices"): (WRITE, lambda c, h, r: (
        "POST", "/api/v1/prices", {"json": _price()})),
    ("GET", "/api/v1/prices"): (ANY, lambda c, h, r: ("GET", "/api/v1/prices", {})),
    ("PUT", "/api/v1/admin/sim-clock"): ({"admin"}, lambda c, h, r: (
        "PUT", "/api/v1/admin/sim-clock", {"json": CLOCK})),
    # a clock is set before each try, so an allowed GET finds one (200) and DELETE has one
    ("GET", "/api/v1/admin/sim-clock"): (READ_ALL, lambda c, h, r: (
        _clock_set(c, h), ("GET", "/api/v1/admin/sim-clock", {}))[1]),
    ("DELETE", "/api/v1/admin/sim-clock"): ({"admin"}, lambda c, h, r: (
        _clock_set(c, h), ("DELETE", "/api/v1/admin/sim-clock", {}))[1]),
}
CLOCK_ROUTES = [k for k in MATRIX if k[1] == "/api/v1/admin/sim-clock"]


@pytest.fixture(scope="module")
def app(sandbox_clock_app):  # type: ignore[no-untyped-def]
    """The service with the sandbox clock enabled (same database as the other modules)."""
    return sandbox_clock_app


def _core_routes(app) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Every HTTP route of the core routers (OpenADR/dashboard routes test themselves)."""
    from offtake.service.routes import admin, auth, billing, operations, prices, sites

    out = {("GET", "/healthz")}
    for module in (admin, auth, billing, operations, prices, sites):
        for route in module.router.routes:
            if isinstance(route, APIRoute):
                out |= {(m, route.path) for m in route.methods if m != "HEAD"}
    paths = app.openapi()["paths"]
    assert all(m.lower() in paths[p] for m, p in out), "a core route is not mounted"
    return out


def test_matrix_covers_every_core_route(app) -> None:  # type: ignore[no-untyped-def]
    assert _core_routes(app) == set(MATRIX)


@pytest.fixture
def setup(client, world, actors, make_site):  # type: ignore[no-untyped-def]
    make_site("s-a", owner="op-a")
    make_site("s-b", owner="op-b", region_id="SINDH")
    actors.make_client("spare", Role.REGULATOR)  # a client whose tokens may be revoked
    # one June 2025 reading and its invoice, for the invoice routes
    june = datetime(2025, 6, 10, tzinfo=UTC)
    r = client.post("/api/v1/meter-readings", headers=world["grid"], json={"readings": [{
        "reading_id": "june-1", "site_id": "s-a", "interval_start": june.isoformat(),
        "interval_end": (june + timedelta(hours=1)).isoformat(), "energy_mwh": 1.0,
        "mean_mw": 1.0, "max_mw": 1.0}]})
    assert r.status_code == 200, r.text
    r = client.post("/api/v1/invoices", headers=world["grid"], json={"period": "2025-06"})
    invoice_id = next(i["invoice_id"] for i in r.json() if i["site_id"] == "s-a")
    with app_sessions(actors) as s:
        from offtake.service.models import Client
        from offtake.service.security import hash_secret
        s.get(Client, "op-a").secret_hash = hash_secret("op-a-secret")
        s.commit()
    heads = {"admin": world["admin"], "grid": world["grid"], "regulator": world["regulator"],
             "owner": world["op_a"], "other_op": world["op_b"], "anonymous": {}}
    return heads, {"grid": world["grid"], "admin": world["admin"], "secret": "op-a-secret",
                   "invoice_id": invoice_id}


def app_sessions(actors):  # type: ignore[no-untyped-def]
    return actors.app.state.offtake.sessions()


@pytest.mark.parametrize("route", sorted(MATRIX), ids=lambda r: f"{r[0]} {r[1]}")
def test_role_route_matrix(client, setup, route) -> None:  # type: ignore[no-untyped-def]
    heads, ctx = setup
    allowed, build = MATRIX[route]
    for role in ROLES:
        method, url, kwargs = build(client, ctx, role)
        r = client.request(method, url, headers=heads[role], **kwargs)
        if role in allowed:
            assert 200 <= r.status_code < 300, (role, route, r.status_code, r.text)
        elif role == "anonymous":
            assert r.status_code == 401, (role, route, r.status_code, r.text)
            assert r.headers["content-type"] == "application/problem+json"
        else:
            assert r.status_code == 403, (role, route, r.status_code, r.text)
            body = r.json()
            assert body["status"] == 403 and body["title"] and body["detail"]


def test_site_operator_sees_only_own(client, setup) -> None:  # type: ignore[no-untyped-def]
    heads, _ = setup
    ids = [s["site_id"] for s in client.get("/api/v1/sites", headers=heads["owner"]).json()]
    assert ids == ["s-a"]
    ledger = client.get("/api/v1/ledger", headers=heads["other_op"]).json()
    assert all(e["site_id"] == "s-b" for e in ledger)
    assert client.get("/api/v1/invoices", headers=heads["other_op"]).json() == [] or all(
        i["site_id"] == "s-b" for i in client.get("/api/v1/invoices",
                                                  headers=heads["other_op"]).json())
    # another operator's site: no reading, no event, no setpoint read, no readings read
    r = client.post("/api/v1/meter-readings", headers=heads["other_op"], json=_reading("s-a"))
    assert r.status_code == 403
    assert client.get("/api/v1/sites/s-a/meter-readings", headers=heads["other_op"]).status_code == 403
    assert client.get("/api/v1/ledger?site_id=s-a", headers=heads["other_op"]).status_code == 403
    # a mixed batch (own + foreign site) is refused whole
    mixed = _reading("s-b")
    mixed["readings"] += _reading("s-a")["readings"]
    assert client.post("/api/v1/meter-readings", headers=heads["other_op"],
                       json=mixed).status_code == 403
    readings = client.get("/api/v1/sites/s-b/meter-readings", headers=heads["other_op"]).json()
    assert readings == []


def test_site_operator_cannot_post_prices_or_touch_the_clock(client, setup) -> None:  # type: ignore[no-untyped-def]
    heads, ctx = setup
    # not even for the region of its own site (s-a is in KP): refused, nothing stored
    for who in ("owner", "other_op"):
        r = client.post("/api/v1/prices", headers=heads[who], json=_price("KP", 0.01))
        assert r.status_code == 403, r.text
    assert client.get("/api/v1/prices", headers=heads["grid"]).json() == []
    _clock_set(client, ctx)
    before = client.get("/api/v1/admin/sim-clock", headers=heads["admin"]).json()
    mine = {"wall_origin": NOW.isoformat(), "sim_origin": "2025-01-01T00:00:00+00:00",
            "speed": 3600}
    for who in ("owner", "other_op"):
        assert client.put("/api/v1/admin/sim-clock", headers=heads[who],
                          json=mine).status_code == 403
        assert client.delete("/api/v1/admin/sim-clock", headers=heads[who]).status_code == 403
        assert client.get("/api/v1/admin/sim-clock", headers=heads[who]).status_code == 403
    after = client.get("/api/v1/admin/sim-clock", headers=heads["admin"]).json()
    assert {k: after[k] for k in CLOCK} == {k: before[k] for k in CLOCK}
    assert after["set_at"] == before["set_at"] and after["set_by"] == "admin-1"


def test_prices_and_clock_carry_no_operator_data(client, setup) -> None:  # type: ignore[no-untyped-def]
    """Prices are region data every client may read (docs/service.md); what each role gets
    back from the price and clock routes names no site and no site operator."""
    heads, ctx = setup
    for region in ("KP", "SINDH"):
        r = client.post("/api/v1/prices", headers=heads["grid"], json=_price(region))
        assert r.status_code == 201, r.text
    _clock_set(client, ctx)
    fields = {"price_id", "region_id", "interval_start", "interval_end", "price_pkr_per_kwh",
              "kind", "posted_by", "posted_at"}
    private = ("s-a", "s-b", "op-a", "op-b")
    for role in sorted(ANY):
        r = client.get("/api/v1/prices", headers=heads[role])
        assert r.status_code == 200, r.text
        rows = r.json()
        assert sorted(p["region_id"] for p in rows) == ["KP", "SINDH"], role
        assert all(set(p) == fields and p["posted_by"] == "grid-1" for p in rows), rows
        assert not any(word in r.text for word in private), (role, r.text)
        r = client.get("/api/v1/admin/sim-clock", headers=heads[role])
        if role in READ_ALL:
            assert r.status_code == 200 and not any(word in r.text for word in private), r.text
        else:
            assert r.status_code == 403, (role, r.text)


def test_sim_clock_routes_404_without_the_setting(client, setup, backend) -> None:  # type: ignore[no-untyped-def]
    """A service started without OFFTAKE_SANDBOX_CLOCK: the roles allowed get 404 with the
    reason, the others the same 401/403 as with the setting (roles are checked first)."""
    heads, _ = setup
    plain = create_app(Settings(database_url=backend, secret_key=SECRET, allocation_tick_s=0,
                                migrate_on_start=False,
                                pubsub_channel=f"offtake_test_{uuid.uuid4().hex[:8]}"))
    try:
        with TestClient(plain) as c:
            for route in CLOCK_ROUTES:
                allowed, _build = MATRIX[route]
                for role in ROLES:
                    kwargs = {"json": CLOCK} if route[0] == "PUT" else {}
                    r = c.request(route[0], route[1], headers=heads[role], **kwargs)
                    want = 404 if role in allowed else 401 if role == "anonymous" else 403
                    assert r.status_code == want, (role, route, r.status_code, r.text)
                    if want == 404:
                        assert "OFFTAKE_SANDBOX_CLOCK=1" in r.json()["detail"], r.text
    finally:
        plain.state.offtake.engine.dispose()


def _claims(**over: Any) -> dict[str, Any]:
    now = int(datetime.now(UTC).timestamp())
    return {"sub": "grid-1", "roles": ["grid_operator"], "iss": "offtake", "iat": now,
            "exp": now + 600} | over


@pytest.mark.parametrize("case", ["expired", "forged", "none_alg", "bad_role", "no_exp",
                                  "wrong_issuer", "garbage", "basic_scheme"])
def test_bad_tokens_refused(client, app, case) -> None:  # type: ignore[no-untyped-def]
    key = app.state.offtake.signing_key
    now = int(datetime.now(UTC).timestamp())
    token = {
        "expired": lambda: jwt.encode(_claims(iat=now - 7200, exp=now - 3600), key, "HS256"),
        "forged": lambda: jwt.encode(_claims(), "another-key-that-is-also-long-enough!!", "HS256"),
        "none_alg": lambda: jwt.encode(_claims(), None, algorithm="none"),  # type: ignore[arg-type]
        "bad_role": lambda: jwt.encode(_claims(roles=["superuser"]), key, "HS256"),
        "no_exp": lambda: jwt.encode({k: v for k, v in _claims().items() if k != "exp"}, key,
                                     "HS256"),
        "wrong_issuer": lambda: jwt.encode(_claims(iss="elsewhere"), key, "HS256"),
        "garbage": lambda: "not.a.jwt",
        "basic_scheme": lambda: None,
    }[case]()
    header = "Basic Zm9vOmJhcg==" if token is None else f"Bearer {token}"
    r = client.get("/api/v1/sites", headers={"Authorization": header})
    assert r.status_code == 401, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"].startswith("Bearer")
    if case == "expired":
        assert "expired" in r.json()["detail"]


def test_token_endpoint(client, actors) -> None:  # type: ignore[no-untyped-def]
    _h, secret = actors.make_client("op-x", Role.SITE_OPERATOR)
    form = {"grant_type": "client_credentials", "client_id": "op-x", "client_secret": secret}
    r = client.post("/auth/token", data=form)
    assert r.status_code == 200 and r.json()["token_type"] == "bearer"
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"})
    assert me.json() == {"client_id": "op-x", "roles": ["site_operator"]}
    # HTTP Basic client authentication works too
    r = client.post("/auth/token", data={"grant_type": "client_credentials"},
                    auth=("op-x", secret))
    assert r.status_code == 200
    for bad in ({"client_secret": "wrong"}, {"client_id": "nobody"},
                {"grant_type": "password"}):
        r = client.post("/auth/token", data=form | bad)
        assert r.status_code in (400, 401), r.text
        assert r.headers["content-type"] == "application/problem+json"
    # a disabled client gets no token
    admin = actors.headers("admin-1", Role.ADMIN)
    assert client.patch("/api/v1/clients/op-x", headers=admin,
                        json={"active": False}).status_code == 200
    assert client.post("/auth/token", data=form).status_code == 401
