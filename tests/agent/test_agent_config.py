"""site.yaml validation names the field that is wrong."""

from __future__ import annotations

import pytest

from offtake.agent.config import load_config, parse_config
from offtake.errors import InputError

GOOD = {"site_id": "s1", "kind": "mining",
        "service": {"url": "http://127.0.0.1:8000", "client_id": "c", "client_secret": "x"},
        "miners": {"addresses": ["10.0.0.5", "10.0.0.6:4028"]}}


def test_good_config_has_defaults():
    cfg = parse_config(GOOD)
    assert cfg.failsafe.link_timeout_s == 30.0
    assert cfg.failsafe.underfrequency_hz == 49.7
    assert cfg.telemetry.interval_s == 5.0


@pytest.mark.parametrize(("patch", "field"), [
    ({"kind": "bitcoin"}, "kind"),
    ({"miners": None}, "a mining site needs a 'miners' section"),
    ({"failsafe": {"link_timeout_s": -1}}, "failsafe.link_timeout_s"),
    ({"control": {"ramp": 3}}, "control.ramp"),
    ({"service": {"url": "ftp://x", "client_id": "c", "client_secret": "x"}}, "url must start"),
    ({"service": {"url": "http://x", "client_id": "c"}}, "client_secret"),
])
def test_bad_field_is_named(patch, field):
    with pytest.raises(InputError) as exc:
        parse_config({**GOOD, **patch}, "site.yaml")
    assert field in str(exc.value)
    assert exc.value.exit_code == 2


def test_ai_site_rejects_a_gpu_in_two_jobs():
    data = {**GOOD, "kind": "ai", "miners": None, "gpus": {
        "pause_command": "true {job}", "resume_command": "true {job}",
        "jobs": [{"name": "a", "kind": "training", "gpus": [0, 1]},
                 {"name": "b", "kind": "inference", "gpus": [1]}]}}
    with pytest.raises(InputError, match="GPU 1 is in both job 'a' and 'b'"):
        parse_config(data)


def test_load_config_reports_yaml_and_missing_file(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "site.yaml"
    bad.write_text("site_id: [unclosed\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_config(bad)
    bad.write_text("- a list\n")
    with pytest.raises(InputError, match="mapping"):
        load_config(bad)
