"""python -m ops.grafana.dashboards_src: regenerate ops/grafana/dashboards/*.json."""

from . import write

for path in write():
    print(f"wrote {path}")
