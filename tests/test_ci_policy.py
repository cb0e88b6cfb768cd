"""The CI policy of tests/conftest.py: under CI=true a missing required component fails."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROBE = '''
import pytest

def test_needs_chromium(require_component):
    require_component("Chromium", False, "apt-get install -y chromium")

def test_plain_skip_naming_postgres():
    pytest.skip("PostgreSQL not reachable")

def test_other_skip():
    pytest.skip("not relevant on this platform")
'''


def _run(tmp_path: Path, ci: str) -> str:
    (tmp_path / "test_probe.py").write_text(PROBE)
    (tmp_path / "conftest.py").write_text(
        (Path(__file__).parent / "conftest.py").read_text())
    env = {"PATH": "/usr/bin:/bin", "CI": ci}
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "-rA", str(tmp_path)], capture_output=True, text=True, env=env,
                         cwd=tmp_path, timeout=120, check=False)
    return res.stdout.strip().splitlines()[-1]


def test_missing_components_fail_under_ci_and_skip_locally(tmp_path: Path) -> None:
    assert _run(tmp_path, "true").startswith("2 failed, 1 skipped")
    assert _run(tmp_path, "").startswith("3 skipped")


REPO = Path(__file__).resolve().parents[1]
FAKE_APT = '''#!/bin/sh
echo "DEBIAN_FRONTEND=$DEBIAN_FRONTEND $*" >> "$APT_LOG"
if [ "$1" = install ] || [ "$2" = install ] || [ "$3" = install ]; then
  [ -n "$APT_FAIL" ] && exit 100
  printf '#!/bin/sh\\necho fake chromium\\n' > "$FAKE_BIN/chromium"; chmod +x "$FAKE_BIN/chromium"
fi
'''


def _install_chromium(tmp_path: Path, fail: bool) -> tuple[int, str]:
    import os
    import shutil

    fake = tmp_path / "bin"
    fake.mkdir(exist_ok=True)
    for tool in ("env", "id", "sh", "chmod", "printf"):  # only these: no real chromium on PATH
        found = shutil.which(tool)
        if found and not (fake / tool).exists():
            os.symlink(found, fake / tool)
    (fake / "apt-get").write_text(FAKE_APT)
    (fake / "apt-get").chmod(0o755)
    log = tmp_path / "apt.log"
    env = {"PATH": str(fake), "APT_LOG": str(log), "FAKE_BIN": str(fake)}
    if fail:
        env["APT_FAIL"] = "1"
    res = subprocess.run([shutil.which("bash") or "/bin/bash",
                          str(REPO / "scripts" / "install_chromium.sh")],
                         env=env, capture_output=True, text=True, timeout=60, check=False)
    return res.returncode, log.read_text() if log.exists() else ""


def test_setup_installs_chromium_noninteractively(tmp_path: Path) -> None:
    """The old `$SUDO DEBIAN_FRONTEND=... apt-get` with an empty $SUDO (root) ran a command
    named DEBIAN_FRONTEND=noninteractive, so apt-get install never ran."""
    import os

    if os.geteuid() != 0:  # as a user the script calls sudo; the fake has none
        (tmp_path / "bin").mkdir()
        (tmp_path / "bin" / "sudo").write_text('#!/bin/sh\nexec "$@"\n')
        (tmp_path / "bin" / "sudo").chmod(0o755)
    rc, log = _install_chromium(tmp_path, fail=False)
    assert rc == 0, log
    assert log.splitlines() == ["DEBIAN_FRONTEND=noninteractive update -qq",
                                "DEBIAN_FRONTEND=noninteractive install -y -qq chromium"]
    (tmp_path / "bin" / "chromium").unlink()
    (tmp_path / "apt.log").unlink()
    rc, log = _install_chromium(tmp_path, fail=True)
    assert rc == 1 and "install -y -qq chromium" in log
