"""The committed Grafana dashboards are what ops/grafana/dashboards_src generates."""

from __future__ import annotations

import json

from ops.grafana import dashboards_src

REGENERATE = "regenerate with `.venv/bin/python -m ops.grafana.dashboards_src` and commit the JSON"


def test_committed_dashboards_equal_the_generated_ones():
    # Given the dashboards the code generates
    generated = {name: json.loads(text) for name, text in dashboards_src.render().items()}

    # Then the folder Grafana provisions holds exactly those files, with the same content
    committed_names = {path.name for path in dashboards_src.OUTPUT.glob("*.json")}
    assert committed_names == set(generated), f"ops/grafana/dashboards differs in its files: {REGENERATE}"
    for name, dashboard in generated.items():
        committed = json.loads((dashboards_src.OUTPUT / name).read_text())
        assert committed == dashboard, f"ops/grafana/dashboards/{name} is not what the code generates: {REGENERATE}"


def test_the_queue_variable_is_on_every_dashboard_whose_queries_use_it():
    for dashboard in map(json.loads, dashboards_src.render().values()):
        uses_queue = any("$queue" in t["expr"] for p in dashboard["panels"] for t in p.get("targets", []))
        variables = {v["name"] for v in dashboard["templating"].get("list", [])}
        assert uses_queue == ("queue" in variables), dashboard["uid"]
