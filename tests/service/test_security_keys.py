"""Attacks on the signing key (#13 item 1): another user on the machine must not be able
to read it, and the service must refuse to start when it could.

Before the fix the default SQLite file was created 0644 and held the key: read as
another user, it minted an admin token the service accepted.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from svc_support import TestClient
from typer.testing import CliRunner

from offtake.errors import InputError
from offtake.service.app import build_state, create_app
from offtake.service.domain.clients import create_client
from offtake.service.security import Role, issue_token
from offtake.service.settings import Settings

NOBODY = 65534


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _settings(db: Path, **kw) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(database_url=f"sqlite:///{db}", allocation_tick_s=0, **kw)


def _read_as_other_user(path: Path) -> str:
    """Try to read ``path`` as uid 65534 in a forked child: 'denied' or 'read'."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: drop to another user, try to read, report, exit
        os.close(r)
        try:
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            try:
                path.read_bytes()
                os.write(w, b"read")
            except PermissionError:
                os.write(w, b"denied")
        finally:
            os._exit(0)
    os.close(w)
    os.waitpid(pid, 0)
    out = os.read(r, 16).decode()
    os.close(r)
    return out


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A folder every user may traverse (pytest's tmp_path lies under a 0700 folder, which
    would hide any file from another user and prove nothing)."""
    d = Path(tempfile.mkdtemp(prefix="offtake-keys-", dir="/tmp"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_fresh_database_and_folder_are_private(open_dir: Path) -> None:
    folder = open_dir / "data" / "offtake"
    db = folder / "offtake.db"
    state = build_state(_settings(db))
    with state.sessions() as s:  # write something so the -wal/-shm files exist
        create_client(s, actor=None, name="x", roles=[Role.ADMIN], client_id="x")
    try:
        assert _mode(db) == 0o600
        assert _mode(folder) == 0o700
        for extra in (Path(f"{db}-wal"), Path(f"{db}-shm")):
            if extra.exists():
                assert _mode(extra) & 0o077 == 0, (extra, oct(_mode(extra)))
        # the attack: another user reads the file to get the key; open the folders so
        # only the file's own mode stands in the way
        (open_dir / "data").chmod(0o755)
        folder.chmod(0o755)
        if os.geteuid() == 0:
            assert _read_as_other_user(db) == "denied"
            db.chmod(0o644)  # control: the mode the file had before the fix
            assert _read_as_other_user(db) == "read"
        else:  # not root: no second uid to switch to; the mode bits decide
            assert _mode(db) & 0o044 == 0
    finally:
        state.engine.dispose()


def test_refuses_to_start_when_the_key_file_is_readable_by_others(tmp_path: Path) -> None:
    db = tmp_path / "offtake.db"
    build_state(_settings(db)).engine.dispose()  # creates it, key inside
    db.chmod(0o644)
    with pytest.raises(InputError) as exc:
        build_state(_settings(db))
    msg = exc.value.message
    assert "readable by other users" in msg and "0644" in msg
    assert f"chmod 600 {db}" in msg and "OFFTAKE_SECRET_KEY_FILE" in msg
    # `offtake serve` says the same and exits 2, no traceback
    from offtake.cli import app as cli

    res = CliRunner().invoke(cli, ["serve", "--database-url", f"sqlite:///{db}"],
                             env={"OFFTAKE_SECRET_KEY": None, "OFFTAKE_SECRET_KEY_FILE": None,
                                  "OFFTAKE_DATABASE_URL": None})
    assert res.exit_code == 2, res.output
    assert "chmod 600" in res.output and "Traceback" not in res.output
    # fixed as told: starts
    db.chmod(0o600)
    build_state(_settings(db)).engine.dispose()


def test_key_file_must_be_private_and_is_used(tmp_path: Path) -> None:
    key_file = tmp_path / "signing.key"
    key = "k" * 40
    key_file.write_text(key + "\n")
    key_file.chmod(0o644)
    db = tmp_path / "svc.db"
    with pytest.raises(InputError, match="OFFTAKE_SECRET_KEY_FILE .* readable by other users"):
        build_state(_settings(db, secret_key_file=key_file))
    key_file.chmod(0o600)
    state = build_state(_settings(db, secret_key_file=key_file))
    try:
        assert state.signing_key == key
    finally:
        state.engine.dispose()
    # with the key outside the database, a readable database file is no key leak
    db.chmod(0o644)
    build_state(_settings(db, secret_key_file=key_file)).engine.dispose()
    short = tmp_path / "short.key"
    short.write_text("too-short")
    short.chmod(0o600)
    with pytest.raises(InputError, match="at least 32"):
        build_state(_settings(tmp_path / "o.db", secret_key_file=short))


def test_token_minted_with_a_wrong_key_is_refused(tmp_path: Path) -> None:
    app = create_app(_settings(tmp_path / "svc.db"))
    state = app.state.offtake
    with state.sessions() as s:
        create_client(s, actor=None, name="root", roles=[Role.ADMIN], client_id="root")
    try:
        with TestClient(app) as c:
            real = state.signing_key
            off_by_one = real[:-1] + ("y" if real[-1] == "x" else "x")  # differs in one char
            for key in ("a-guess-at-the-key-that-is-long-enough!", off_by_one):
                forged = issue_token(client_id="root", roles={Role.ADMIN}, key=key, ttl_s=600)
                r = c.post("/api/v1/clients", headers={"Authorization": f"Bearer {forged}"},
                           json={"name": "evil", "roles": ["admin"]})
                assert r.status_code == 401, r.text
            good = issue_token(client_id="root", roles={Role.ADMIN}, key=state.signing_key,
                               ttl_s=600)
            assert jwt.decode(good, state.signing_key, algorithms=["HS256"])["sub"] == "root"
            assert c.get("/api/v1/me", headers={"Authorization": f"Bearer {good}"}
                         ).status_code == 200
    finally:
        state.engine.dispose()
