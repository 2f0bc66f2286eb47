"""Dashboards and alert rules query only metrics that exist."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_checker():
    spec = importlib.util.spec_from_file_location("check_dashboards", ROOT / "ops" / "scripts" / "check_dashboards.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_dashboard_query_and_alert_rule_names_a_known_metric():
    checker = load_checker()
    paths = [ROOT / "ops" / "grafana" / "dashboards", ROOT / "ops" / "prometheus"]
    assert checker.known_metric_problems(paths) == []


def test_the_checker_refuses_an_unknown_metric(tmp_path):
    checker = load_checker()
    rules = tmp_path / "rules.yml"
    rules.write_text("groups:\n- name: x\n  rules:\n  - alert: Y\n    expr: tickwork_no_such_metric > 0\n")
    assert any("tickwork_no_such_metric" in problem for problem in checker.known_metric_problems([rules]))
