"""`offtake sandbox certify`: Offtake's own agent (simulated LuxOS fleet) passes every test; the
same agent with setpoints ignored (tests/sandbox/faulty_agent.py) fails the setpoint steps and
the emergency curtailment; bad input exits 2 with no certificate; the HTML renders in Chromium."""

from __future__ import annotations

import hashlib
import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from offtake.sandbox.certify import above, first_at_or_below, settle

FAULTY = Path(__file__).with_name("faulty_agent.py")
MINI_VEN = Path(__file__).with_name("mini_ven.py")
linux_only = pytest.mark.skipif(sys.platform != "linux", reason="simulated fleets use Linux loopback")


def site_yaml(tmp_path: Path, **over: dict) -> Path:
    # the operator's file: its service URL and credentials are placeholders the certifier replaces
    cfg = {"site_id": "cert-mine-01", "kind": "bitcoin_mining",
           "service": {"url": "https://ops.example.invalid", "client_id": "op-x", "client_secret_env": "NOPE",
                       "poll_interval_s": 0.5},
           "failsafe": {"link_timeout_s": 2.0, "underfrequency_hz": 49.7, "trip_hold_s": 1.0},
           "control": {"interval_s": 0.3, "ramp_up_mw_per_min": 60.0, "tolerance_mw": 0.001},
           "telemetry": {"interval_s": 0.5, "sample_s": 0.1},
           "miners": {"simulate": {"count": 10, "time_scale": 0.002}}, **over}
    p = tmp_path / "site.yaml"
    p.write_text(json.dumps(cfg))
    return p


def certify(*args: str, timeout: int = 400) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "offtake.cli", "sandbox", "certify", *args], check=False,
                          capture_output=True, text=True, timeout=timeout)


@linux_only
def test_offtake_agent_passes_and_certificate_renders(tmp_path, require_component):
    cfg = site_yaml(tmp_path)
    out = tmp_path / "cert"
    p = certify("--agent-config", str(cfg), "--out", str(out))
    assert p.returncode == 0, p.stdout + p.stderr
    c = json.loads((out / "certificate.json").read_text())
    assert c["passed"] and c["verdict"] == "PASSED" and c["failed_tests"] == []
    t = {x["id"]: x for x in c["tests"]}
    assert list(t) == ["commissioning", "setpoint_steps", "emergency_curtailment", "link_loss",
                       "under_frequency", "report_cadence", "exactly_once"]
    # identity: the operator's file exactly as given, and the Offtake version
    assert c["agent"]["config_sha256"] == hashlib.sha256(cfg.read_bytes()).hexdigest()
    assert c["agent"]["offtake_version"] and c["agent"]["agent"] == "Offtake's own agent"
    # the site is sized from the fleet: 10 simulated miners cycling four models, 33,882 W nameplate
    assert c["site"]["contracted_mw"] == pytest.approx(0.033882)
    steps = t["setpoint_steps"]["figures"]["steps"]
    assert [s["share"] for s in steps] == [1.0, 0.5, 0.0, 1.0]
    # every step settled on stored readings (a loaded machine may give a short step one reading)
    assert all(s["settle_s"] is not None and s["readings"] >= 1 for s in steps)
    assert steps[1]["final_mean_mw"] == pytest.approx(0.033882 / 2, abs=0.0034)   # within the band below
    # a real link loss: the agent cannot have reached safe draw before its declared timeout
    # (readings are stamped to within the 1 s clock tolerance)
    link = t["link_loss"]["figures"]
    assert link["to_safe_draw_s"] >= 2.0 - 1.0 and link["readings_above_safe_while_down"] == 0
    assert t["under_frequency"]["figures"]["readings_above_safe_before_hold_ended"] == 0
    once = t["exactly_once"]["figures"]
    assert once["sent"] == once["stored"] >= 20 and once["duplicates"] == once["missing"] == 0
    # the certifier's copy kept the hardware section and replaced service, state and meter
    copy = json.loads((out / "run" / "agent" / "site.yaml").read_text())
    assert copy["miners"] == {"simulate": {"count": 10, "time_scale": 0.002}}
    assert copy["service"]["url"].startswith("http://127.0.0.1:") and "client_secret_env" not in copy["service"]
    assert copy["meter"]["feed"] == "udp"

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    require_component("Chromium", chromium is not None, "not installed (bash scripts/setup.sh dev installs it)")
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
            page.goto((out / "certificate.html").as_uri())
            heading = page.locator("#verdict").inner_text()
            rows = page.locator("#tests tr.pass").count()
        finally:
            browser.close()
    assert errors == []
    assert "PASSED" in heading and rows == 7


@linux_only
def test_agent_ignoring_setpoints_fails(tmp_path):
    cfg = site_yaml(tmp_path)
    th = tmp_path / "th.yaml"    # shorter waits for what this agent will fail anyway
    th.write_text("commissioning_s: 15\nstep_down_s: 5\nemergency_safe_s: 5\n")
    out = tmp_path / "cert"
    cmd = f"{shlex.quote(sys.executable)} {shlex.quote(str(FAULTY))} --config {{config}}"
    p = certify("--agent-config", str(cfg), "--out", str(out), "--agent-command", cmd, "--thresholds", str(th))
    assert p.returncode == 1, p.stdout + p.stderr
    c = json.loads((out / "certificate.json").read_text())
    assert not c["passed"] and c["verdict"] == "FAILED"
    assert {"setpoint_steps", "emergency_curtailment"} <= set(c["failed_tests"])
    assert set(c["failed_tests"]) <= {"commissioning", "setpoint_steps", "emergency_curtailment"}
    t = {x["id"]: x for x in c["tests"]}
    steps = t["setpoint_steps"]["figures"]["steps"]
    # it never came down: the down steps never settled, at full power throughout
    assert [s["passed"] for s in steps] == [True, False, False, True]
    assert all(s["settle_s"] is None and s["final_mean_mw"] == pytest.approx(0.033882) for s in steps[1:3])
    assert t["emergency_curtailment"]["figures"]["to_safe_draw_s"] is None
    assert c["agent"]["agent"] == "third-party (--agent-command)" and str(FAULTY) in " ".join(c["agent"]["command"])
    assert c["thresholds"]["step_down_s"] == 5 and c["thresholds"]["source"] == str(th)
    assert "FAILED" in (out / "certificate.html").read_text()


@pytest.mark.parametrize(("case", "message"), [
    ("missing config", "no such file"),
    ("invalid config", "failsafe.link_timeout_s"),
    ("unknown threshold", "step_dwn_s"),
    ("negative threshold", "step_down_s"),
    ("thresholds not a mapping", "mapping"),
    ("command without {config}", "{config}"),
    ("command not found", "not an executable"),
    ("real miners, no size", "--contracted-mw"),
    ("both modes", "exactly one of"),
    ("VEN declaration incomplete", "link_timeout_s"),
    ("VEN command without {url}", "{url}"),
])
def test_bad_input_exits_2_without_certificate(tmp_path, case, message):
    cfg = site_yaml(tmp_path)
    args = ["--agent-config", str(cfg)]
    th = tmp_path / "th.yaml"
    if case == "missing config":
        args = ["--agent-config", str(tmp_path / "nope.yaml")]
    elif case == "invalid config":
        site_yaml(tmp_path, failsafe={"link_timeout_s": -1})
    elif case == "unknown threshold":
        th.write_text("step_dwn_s: 5\n")
        args += ["--thresholds", str(th)]
    elif case == "negative threshold":
        th.write_text('{"step_down_s": -3}')
        args += ["--thresholds", str(th)]
    elif case == "thresholds not a mapping":
        th.write_text("- 1\n- 2\n")
        args += ["--thresholds", str(th)]
    elif case == "command without {config}":
        args += ["--agent-command", "my-agent --config site.yaml"]
    elif case == "command not found":
        args += ["--agent-command", "/nonexistent/agent --config {config}"]
    elif case == "real miners, no size":
        site_yaml(tmp_path, miners={"addresses": ["10.0.0.5"]})
    elif case == "both modes":
        args += ["--ven", str(ven_yaml(tmp_path))]
    elif case == "VEN declaration incomplete":
        d = ven_yaml(tmp_path)
        d.write_text(d.read_text().replace("link_timeout_s: 2.0\n", ""))
        args = ["--ven", str(d)]
    elif case == "VEN command without {url}":
        args = ["--ven", str(ven_yaml(tmp_path)), "--agent-command", "my-ven --secret {client_secret}"]
    out = tmp_path / "cert"
    p = certify(*args, "--out", str(out), timeout=60)
    assert p.returncode == 2, p.stdout + p.stderr
    assert "Traceback" not in p.stderr and message in p.stdout + p.stderr
    assert not out.exists()


def ven_yaml(tmp_path: Path) -> Path:
    p = tmp_path / "ven.yaml"
    p.write_text("site_id: cert-ven-01\ncontracted_mw: 0.05\nlink_timeout_s: 2.0\nreport_interval_s: 1.0\n"
                 "poll_interval_s: 0.2\n")
    return p


def ven_command(*extra: str) -> str:
    return (f"{shlex.quote(sys.executable)} {shlex.quote(str(MINI_VEN))} {{url}} {{client_id}} {{client_secret}} "
            f"{{site_id}} --contracted-kw 50 " + " ".join(extra))


@linux_only
@pytest.mark.parametrize("faulty", [False, True], ids=["ven", "ven-without-failsafe"])
def test_openadr_ven_is_certified_on_its_reports(tmp_path, faulty):
    out = tmp_path / "cert"
    p = certify("--ven", str(ven_yaml(tmp_path)), "--out", str(out),
                "--agent-command", ven_command(*(["--no-failsafe"] if faulty else [])))
    c = json.loads((out / "certificate.json").read_text())
    t = {x["id"]: x for x in c["tests"]}
    # a VEN has no meter feed and no outbox the certifier can read: said, not counted as passed
    assert c["not_applicable"] == ["under_frequency", "exactly_once"] and "5 of 7" in c["scope"]
    assert t["exactly_once"]["figures"]["duplicates"] == t["exactly_once"]["figures"]["overlapping_intervals"] == 0
    assert "client_secret" not in json.dumps(c["agent"]["command"]).replace("{client_secret}", "")
    if not faulty:
        assert p.returncode == 0, p.stdout + p.stderr
        assert c["passed"] and c["failed_tests"] == []
        assert "vtn_url: http://127.0.0.1:" in p.stdout and "/openadr3/3.1.0" in p.stdout
        steps = t["setpoint_steps"]["figures"]["steps"]
        assert [s["final_mean_mw"] for s in steps] == pytest.approx([0.05, 0.025, 0.0, 0.05], abs=0.005)
        assert t["link_loss"]["figures"]["to_safe_draw_s"] >= 2.0 - 1.0
    else:   # the same VEN keeping its limit when the VTN is gone fails the link-loss test only
        assert p.returncode == 1, p.stdout + p.stderr
        assert c["failed_tests"] == ["link_loss"]
        assert t["link_loss"]["figures"]["to_safe_draw_s"] is None


def test_ven_that_never_reports_fails_with_the_reason(tmp_path):
    out = tmp_path / "cert"
    p = certify("--ven", str(ven_yaml(tmp_path)), "--out", str(out), "--wait-s", "2", timeout=120)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "client_secret:" in p.stdout                       # what to give the VEN was printed
    c = json.loads((out / "certificate.json").read_text())
    assert not c["passed"] and "no report from the VEN within 2 s" in c["error"]
    assert json.loads((out / "run" / "agent" / "ven.json").read_text())["site_id"] == "cert-ven-01"


def _r(start: float, end: float, mean: float, peak: float | None = None) -> dict:
    return {"start": start, "end": end, "mean": mean, "max": mean if peak is None else peak,
            "allowed": 0.0, "id": f"{start}", "reconstructed": False}


def test_step_response_measures():
    # a step from 10 to 5 MW at t=0 (band -1/+0.5 MW); readings of 1 s
    rs = [_r(-1, 0, 10), _r(0, 1, 9), _r(1, 2, 6), _r(2, 3, 5.2), _r(3, 4, 4.8), _r(4, 5, 5.0, 5.6)]
    s = settle(rs, 0, 5, 5.0, 1.0, 0.5, prev=10)
    assert s["settle_s"] == 2 and s["readings"] == 5          # last outside: [1, 2] at 6 MW, ends at 2
    assert s["overshoot_mw"] == 0                              # nothing above the old 10 MW
    up = settle(rs[3:], 2, 5, 4.0, 0.1, 0.5, prev=0)           # never within [3.9, 4.5]
    assert up["settle_s"] is None and up["overshoot_mw"] == pytest.approx(1.6)
    assert settle(rs, 10, 20, 5, 1, 1)["settle_s"] is None     # no readings in the window
    # time to safe draw (<= 0.1 MW) and readings above it
    safe = [_r(0, 1, 3), _r(1, 2, 0.05, 0.2), _r(2, 3, 0.05), _r(3, 4, 0.5)]
    assert first_at_or_below(safe, 0, 0.1) == 3                # the max counts, not the mean
    assert first_at_or_below(safe, 0, 0.1, 2.5) is None        # not within the window
    assert [r["start"] for r in above(safe, 2, 4, 0.1)] == [3]
