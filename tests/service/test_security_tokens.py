"""Attacks on token lifetime: a token must die with its client (#13 item 2).

Each case was accepted before tokens were checked against the clients table: a disabled
grid operator still curtailed a region, tokens for clients that do not exist and with a
10-year ``exp`` (signed with the right key) passed.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import jwt
import pytest
from starlette.websockets import WebSocketDisconnect

from offtake.service.access import ClientCache, ClientInfo, check_client
from offtake.service.security import AuthError, Principal, Role, issue_token

CURTAIL = {"region_id": "KP", "reason": "test"}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _login(client, client_id: str, secret: str) -> str:  # type: ignore[no-untyped-def]
    r = client.post("/auth/token", data={"grant_type": "client_credentials",
                                         "client_id": client_id, "client_secret": secret})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def test_disabled_grid_operator_can_no_longer_curtail(client, actors) -> None:  # type: ignore[no-untyped-def]
    _h, secret = actors.make_client("dispatch", Role.GRID_OPERATOR)
    token = _login(client, "dispatch", secret)
    admin = actors.headers("admin-1", Role.ADMIN)
    # the token works while the client is active (curtail, then release)
    r = client.post("/api/v1/emergency-curtailments", headers=_bearer(token), json=CURTAIL)
    assert r.status_code == 201, r.text
    assert client.post(f"/api/v1/emergency-curtailments/{r.json()['curtailment_id']}/release",
                       headers=_bearer(token)).status_code == 200
    assert client.patch("/api/v1/clients/dispatch", headers=admin,
                        json={"active": False}).status_code == 200
    r = client.post("/api/v1/emergency-curtailments", headers=_bearer(token), json=CURTAIL)
    assert r.status_code == 401, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert "disabled" in r.json()["detail"] or "revoked" in r.json()["detail"]
    listed = client.get("/api/v1/emergency-curtailments", headers=admin).json()
    assert len(listed) == 1  # only the curtailment made while active
    # re-activating does not bring the old token back (deactivation bumped the generation)
    assert client.patch("/api/v1/clients/dispatch", headers=admin,
                        json={"active": True}).status_code == 200
    assert client.get("/api/v1/me", headers=_bearer(token)).status_code == 401
    assert client.get("/api/v1/me", headers=_bearer(_login(client, "dispatch", secret))
                      ).status_code == 200


def test_token_of_a_client_that_does_not_exist_is_refused(client, app) -> None:  # type: ignore[no-untyped-def]
    key = app.state.offtake.signing_key
    token = issue_token(client_id="nobody", roles={Role.ADMIN}, key=key, ttl_s=600)
    r = client.post("/api/v1/clients", headers=_bearer(token),
                    json={"name": "evil", "roles": ["admin"]})
    assert r.status_code == 401, r.text
    assert "unknown client" in r.json()["detail"]


def test_ten_year_token_signed_with_the_right_key_is_refused(client, actors, app) -> None:  # type: ignore[no-untyped-def]
    actors.make_client("grid-long", Role.GRID_OPERATOR)
    key = app.state.offtake.signing_key
    now = int(datetime.now(UTC).timestamp())
    for claims in ({"iat": now, "exp": now + 10 * 365 * 86400},          # long lifetime
                   {"iat": now + 10 * 365 * 86400 - 600,                  # iat in the future
                    "exp": now + 10 * 365 * 86400}):
        token = jwt.encode({"sub": "grid-long", "roles": ["grid_operator"], "iss": "offtake",
                            "gen": 0, **claims}, key, "HS256")
        r = client.post("/api/v1/emergency-curtailments", headers=_bearer(token), json=CURTAIL)
        assert r.status_code == 401, r.text
    # the same client with a token of the configured lifetime is accepted
    ok = issue_token(client_id="grid-long", roles={Role.GRID_OPERATOR}, key=key,
                     ttl_s=app.state.offtake.settings.token_ttl_s)
    assert client.get("/api/v1/me", headers=_bearer(ok)).status_code == 200


def test_revoked_tokens_are_refused_and_new_ones_work(client, actors) -> None:  # type: ignore[no-untyped-def]
    _h, secret = actors.make_client("op-r", Role.SITE_OPERATOR)
    old = [_login(client, "op-r", secret) for _ in range(2)]
    admin = actors.headers("admin-1", Role.ADMIN)
    assert all(client.get("/api/v1/me", headers=_bearer(t)).status_code == 200 for t in old)
    r = client.post("/api/v1/clients/op-r/revoke-tokens", headers=admin)
    assert r.status_code == 200, r.text
    for t in old:
        r = client.get("/api/v1/me", headers=_bearer(t))
        assert r.status_code == 401 and "revoked" in r.json()["detail"], r.text
    fresh = _login(client, "op-r", secret)
    assert client.get("/api/v1/me", headers=_bearer(fresh)).status_code == 200
    audit = client.get("/api/v1/audit?action=client.revoke_tokens", headers=admin).json()
    assert [a["target_id"] for a in audit] == ["op-r"]
    assert client.post("/api/v1/clients/ghost/revoke-tokens", headers=admin).status_code == 404
    # only an admin may revoke
    grid = actors.headers("grid-1", Role.GRID_OPERATOR)
    assert client.post("/api/v1/clients/op-r/revoke-tokens", headers=grid).status_code == 403


def test_a_removed_role_is_not_kept_by_old_tokens(client, actors) -> None:  # type: ignore[no-untyped-def]
    _h, secret = actors.make_client("both", Role.GRID_OPERATOR, Role.REGULATOR)
    token = _login(client, "both", secret)
    admin = actors.headers("admin-1", Role.ADMIN)
    assert client.patch("/api/v1/clients/both", headers=admin,
                        json={"roles": ["regulator"]}).status_code == 200
    r = client.post("/api/v1/emergency-curtailments", headers=_bearer(token), json=CURTAIL)
    assert r.status_code == 401, r.text
    me = client.get("/api/v1/me", headers=_bearer(_login(client, "both", secret))).json()
    assert me["roles"] == ["regulator"]


def test_push_socket_closes_when_its_client_is_disabled(client, actors, make_site) -> None:  # type: ignore[no-untyped-def]
    make_site("ws-a", owner="op-a")
    token = actors.token("op-a", Role.SITE_OPERATOR)
    admin = actors.headers("admin-1", Role.ADMIN)
    with client.websocket_connect("/api/v1/sites/ws-a/setpoints/ws",
                                  subprotocols=["offtake.bearer", token]) as ws:
        assert ws.accepted_subprotocol == "offtake.bearer"
        assert ws.receive_json()["site_id"] == "ws-a"
        assert client.patch("/api/v1/clients/op-a", headers=admin,
                            json={"active": False}).status_code == 200
        t0 = time.monotonic()
        with pytest.raises(WebSocketDisconnect) as exc:
            ws.receive_json()
        assert exc.value.code == 4401
        assert time.monotonic() - t0 < 30


def test_client_cache_expires_and_is_bounded() -> None:
    """A change made outside this process (another worker) is seen after ``ttl_s``."""
    t = [0.0]
    cache = ClientCache(ttl_s=5.0, max_entries=3, clock=lambda: t[0])
    rows = {"a": ClientInfo(True, frozenset({Role.ADMIN}), 0)}

    class _S:  # the smallest session factory ClientCache.load needs
        def __enter__(self):  # type: ignore[no-untyped-def]
            return self

        def __exit__(self, *exc) -> None:  # type: ignore[no-untyped-def]
            return None

        def get(self, _model, cid):  # type: ignore[no-untyped-def]
            info = rows.get(cid)
            if info is None:
                return None
            return type("Row", (), {"active": info.active, "roles": "admin",
                                    "token_gen": info.token_gen})()

    p = Principal("a", frozenset({Role.ADMIN}))
    check_client(p, cache.load(_S, "a"))
    rows["a"] = ClientInfo(False, frozenset({Role.ADMIN}), 1)  # disabled elsewhere
    t[0] = 4.9
    assert cache.cached("a") is not None  # still trusted inside the window
    t[0] = 5.1
    assert cache.cached("a") is None  # expired: the next request reloads
    with pytest.raises(AuthError):
        check_client(p, cache.load(_S, "a"))
    for cid in ("b", "c", "d", "e"):
        cache.load(_S, cid)
    assert len(cache) == 3 and cache.loads == 6
