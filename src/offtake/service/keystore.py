"""Where the token signing key lives, and refusing to start when others can read it.

Anyone who can read the signing key can mint an admin token, so the key must be
private to the service's user.  In order of precedence:

1. ``OFFTAKE_SECRET_KEY`` (the environment of the service process);
2. ``OFFTAKE_SECRET_KEY_FILE``: a file whose first line is the key; the service refuses to
   start when that file is readable or writable by group or others;
3. otherwise the key is generated once and kept in the database.  For SQLite that means
   the database file: the service creates it (and a data folder it creates) private
   (0600 / 0700), and refuses to start when the file, or its ``-wal``/``-shm``
   companions, are readable by group or others.  For PostgreSQL the database's own
   access control protects it (any role that can read ``service_config`` can mint tokens).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy.engine import make_url

from offtake.errors import InputError

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or None (not SQLite, or in memory)."""
    if not url.startswith("sqlite"):
        return None
    db = make_url(url).database
    if not db or db == ":memory:" or db.startswith("file:"):
        return None
    return Path(db)


def prepare_sqlite_file(url: str) -> Path | None:
    """Create the SQLite file (and a missing parent folder) private before SQLite does."""
    path = sqlite_path(url)
    if path is None:
        return None
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE)
    except FileExistsError:
        return path
    except OSError:
        return path  # unwritable folder: SQLAlchemy reports that with a clearer message
    os.close(fd)
    return path


def exposed(path: Path) -> int | None:
    """The mode of ``path`` when group or others may read or write it, else None."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return None
    return mode if mode & 0o066 else None


def require_private(path: Path, what: str, fix: str) -> None:
    mode = exposed(path)
    if mode is not None:
        raise InputError(f"{what} {path} is readable by other users (mode {mode:04o}); anyone "
                         f"who can read it can sign admin tokens. Fix: {fix}")


def check_database_key(url: str) -> None:
    """The signing key is kept in this database: refuse a SQLite file others can read."""
    path = sqlite_path(url)
    if path is None:
        return
    files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
    existing = " ".join(str(f) for f in files if f.exists())
    fix = (f"chmod 600 {existing}; chmod 700 {path.parent}; or keep the key out of the "
           "database: OFFTAKE_SECRET_KEY_FILE=<file with mode 0600> or OFFTAKE_SECRET_KEY")
    for f in files:
        require_private(f, "the database file holding the token signing key,", fix)


def read_key_file(path: Path) -> str:
    """The key in ``path`` (first line); the file must be private and the key >= 32 chars."""
    if not path.is_file():
        raise InputError(f"OFFTAKE_SECRET_KEY_FILE {path}: no such file")
    require_private(path, "OFFTAKE_SECRET_KEY_FILE", f"chmod 600 {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"OFFTAKE_SECRET_KEY_FILE {path}: cannot read it ({exc})") from None
    key = text.strip().splitlines()[0].strip() if text.strip() else ""
    if len(key) < 32:
        raise InputError(f"OFFTAKE_SECRET_KEY_FILE {path}: the key must be at least 32 "
                         "characters (e.g. `python -c 'import secrets; "
                         "print(secrets.token_urlsafe(48))'`)")
    return key
