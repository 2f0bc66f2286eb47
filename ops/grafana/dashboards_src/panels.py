"""The few shapes every Tickwork panel is made of: PromQL builders, a line graph, a stat, a dashboard.

The PromQL helpers write the text an operator would type into Prometheus (`sum by (queue) (rate(...))`),
so a generated query reads the same as a hand-written one and can be copied from the panel.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import count

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard, prometheus, stat, timeseries
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.variants import Dataquery
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DashboardLinkType,
    DataSourceRef,
    DynamicConfigValue,
    Threshold,
    ThresholdsMode,
    ValueMap,
    ValueMappingResult,
    VariableModel,
)

# The uid provisioned in ops/grafana/provisioning/datasources/prometheus.yml.
PROMETHEUS = DataSourceRef(type_val="prometheus", uid="prometheus")
RATE_INTERVAL = "$__rate_interval"

Target = tuple[str, str]  # (PromQL, legend)
PanelBuilder = timeseries.Panel | stat.Panel
VariableBuilder = Builder[VariableModel]


def _select(metric: str, where: str) -> str:
    return f"{metric}{{{where}}}" if where else metric


def _aggregate(operator: str, by: str, inner: str) -> str:
    return f"{operator} by ({by}) ({inner})" if by else f"{operator}({inner})"


def rate(metric: str, *, by: str = "", where: str = "", window: str = RATE_INTERVAL) -> str:
    """Per-second rate of a counter, summed by the given labels."""
    return _aggregate("sum", by, f"rate({_select(metric, where)}[{window}])")


def increase(metric: str, *, by: str = "", where: str = "", window: str = RATE_INTERVAL) -> str:
    """Increase of a counter over the window, summed by the given labels."""
    return _aggregate("sum", by, f"increase({_select(metric, where)}[{window}])")


def quantile(q: float, histogram: str, *, by: str = "", where: str = "", window: str = RATE_INTERVAL) -> str:
    """The q-quantile of a histogram's observations over the window, per the given labels."""
    buckets = rate(f"{histogram}_bucket", by=f"{by}, le" if by else "le", where=where, window=window)
    return f"histogram_quantile({q}, {buckets})"


def total(metric: str, *, by: str = "", where: str = "") -> str:
    """A gauge summed over the processes (and queues) that serve it."""
    return _aggregate("sum", by, _select(metric, where))


def highest(metric: str, *, by: str) -> str:
    """A gauge that several processes serve alike (both schedulers, every worker process): the highest value."""
    return _aggregate("max", by, metric)


def _queries(targets: tuple[Target, ...]) -> list[Builder[Dataquery]]:
    return [
        prometheus.Dataquery().ref_id(chr(ord("A") + i)).datasource(PROMETHEUS).expr(expr).legend_format(legend).range()
        for i, (expr, legend) in enumerate(targets)
    ]


def graph(
    title: str, description: str, *targets: Target, unit: str = "", no_value: str | None = "0"
) -> timeseries.Panel:
    """A half-width line graph; no_value=None leaves an empty graph empty (a latency of 0 would be a lie)."""
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(PROMETHEUS)
        .targets(_queries(targets))
        .span(12)
        .height(8)
        .draw_style(common.GraphDrawStyle.LINE)
        .line_width(1)
        .fill_opacity(10)
        .show_points(common.VisibilityMode.NEVER)
        .legend(
            common_builders.VizLegendOptions()
            .display_mode(common.LegendDisplayMode.LIST)
            .placement(common.LegendPlacement.BOTTOM)
            .show_legend(True)
        )
        .tooltip(
            common_builders.VizTooltipOptions().mode(common.TooltipDisplayMode.MULTI).sort(common.SortOrder.DESCENDING)
        )
    )
    if unit:
        panel.unit(unit)
    if no_value is not None:
        panel.no_value(no_value)
    return panel


def bars(title: str, description: str, *targets: Target) -> timeseries.Panel:
    """Counts per interval, drawn as bars so that a single event stands out."""
    return graph(title, description, *targets).draw_style(common.GraphDrawStyle.BARS).fill_opacity(80)


def right_axis_unit(panel: timeseries.Panel, ref_id: str, unit: str) -> timeseries.Panel:
    """Give one query of a graph its own unit, on a right-hand axis."""
    return panel.override_by_query(
        ref_id,
        [
            DynamicConfigValue(id_val="unit", value=unit),
            DynamicConfigValue(id_val="custom.axisPlacement", value="right"),
        ],
    )


def big_number(
    title: str,
    description: str,
    target: Target,
    *,
    width: int,
    steps: list[Threshold],
    unit: str = "",
    no_value: str | None = "0",
) -> stat.Panel:
    """A stat tile, coloured by its thresholds, showing the last value."""
    panel = (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(PROMETHEUS)
        .targets(_queries((target,)))
        .span(width)
        .height(4)
        .thresholds(dashboard.ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps(steps))
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]).fields("").values(False))
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .graph_mode(common.BigValueGraphMode.NONE)
        .text_mode(common.BigValueTextMode.VALUE_AND_NAME)
        .justify_mode(common.BigValueJustifyMode.AUTO)
        .orientation(common.VizOrientation.AUTO)
    )
    if unit:
        panel.unit(unit)
    if no_value is not None:
        panel.no_value(no_value)
    return panel


def up_or_down(title: str, description: str, target: Target, *, width: int) -> stat.Panel:
    """A stat tile per series of `up`: green UP or red DOWN."""
    mapping = ValueMap(
        {
            "0": ValueMappingResult(text="DOWN", color="red", index=0),
            "1": ValueMappingResult(text="UP", color="green", index=1),
        }
    )
    steps = [Threshold(None, "red"), Threshold(1, "green")]
    return big_number(title, description, target, width=width, steps=steps, no_value=None).mappings([mapping])


def tickwork_dashboard(
    uid: str,
    title: str,
    description: str,
    rows: dict[str, list[PanelBuilder]],
    *,
    variables: Sequence[VariableBuilder] = (),
) -> dashboard.Dashboard:
    """A dashboard of the Tickwork folder, its rows laid out in order, linked to its siblings by their shared tag."""
    siblings = dashboard.DashboardLink("Tickwork").type(DashboardLinkType.DASHBOARDS).tags(["tickwork"]).keep_time(True)
    board = (
        dashboard.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["tickwork"])
        .link(siblings)
        .timezone("utc")
        .editable()
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .refresh("30s")
        .time("now-3h", "now")
        .variables(list(variables))
    )
    # Grafana keys a panel's links and editor state by its id: number them in order, stable across runs.
    ids = count(1)
    for row_title, panels in rows.items():
        board.with_row(dashboard.Row(row_title).id(next(ids)))
        for panel in panels:
            board.with_panel(panel.id(next(ids)))
    return board
