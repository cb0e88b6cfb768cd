"""`offtake serve` on SQLite: first start prints an admin credential once, and it works."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(db: str, port: int) -> tuple[subprocess.Popen, list[str]]:  # type: ignore[type-arg]
    env = {**os.environ, "OFFTAKE_ALLOCATION_TICK_S": "0", "COLUMNS": "200"}
    env.pop("OFFTAKE_DATABASE_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "offtake.cli", "serve", "--port", str(port),
                             "--database-url", f"sqlite:///{db}", "--log-level", "warning"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("database:"):
            break
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return proc, lines
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("".join(lines))


def test_first_start_prints_admin_once(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "serve.db"
    port = _port()
    proc, lines = _serve(str(db), port)
    try:
        text = "".join(lines)
        assert "client_id:     admin" in text and "/auth/token" in text
        secret = next(ln.split(":", 1)[1].strip() for ln in lines if "client_secret:" in ln)
        r = httpx.post(f"http://127.0.0.1:{port}/auth/token", data={
            "grant_type": "client_credentials", "client_id": "admin", "client_secret": secret})
        assert r.status_code == 200
        token = r.json()["access_token"]
        me = httpx.get(f"http://127.0.0.1:{port}/api/v1/me",
                       headers={"Authorization": f"Bearer {token}"})
        assert me.json()["roles"] == ["admin"]
        assert httpx.get(f"http://127.0.0.1:{port}/docs").status_code == 200
    finally:
        proc.terminate()
        proc.wait(10)
    proc, lines = _serve(str(db), port)
    try:
        assert "client_secret" not in "".join(lines)  # shown only on the first start
        # the signing key survived the restart: the old token still works
        me = httpx.get(f"http://127.0.0.1:{port}/api/v1/me",
                       headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200
    finally:
        proc.terminate()
        proc.wait(10)


def test_several_workers_need_postgres(tmp_path) -> None:  # type: ignore[no-untyped-def]
    r = subprocess.run([sys.executable, "-m", "offtake.cli", "serve", "--workers", "2",
                        "--database-url", f"sqlite:///{tmp_path / 'x.db'}"],
                       capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 2
    assert "PostgreSQL" in r.stderr and "Traceback" not in r.stderr


def test_bad_database_and_settings_give_clear_errors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    cases = [
        ({}, ["--database-url", "postgresql+psycopg://u:pw@127.0.0.1:1/x"], "cannot use the database"),
        ({"OFFTAKE_SECRET_KEY": "short-secret"}, [], "OFFTAKE_SECRET_KEY"),
    ]
    for extra_env, args, expected in cases:
        env = {**os.environ, **extra_env,
               "OFFTAKE_DATABASE_URL": f"sqlite:///{tmp_path / 'y.db'}"}
        r = subprocess.run([sys.executable, "-m", "offtake.cli", "serve", *args], env=env,
                           capture_output=True, text=True, timeout=60, check=False)
        assert r.returncode == 2, r.stderr
        assert expected in r.stderr and "Traceback" not in r.stderr
        assert "short-secret" not in r.stderr and ":pw@" not in r.stderr
