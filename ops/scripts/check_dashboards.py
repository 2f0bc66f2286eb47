#!/usr/bin/env python3
"""Check that Grafana dashboards and Prometheus rules query only metrics that exist.

Every metric name found in a dashboard `expr` (and in query-variable definitions) or a rule `expr`
must be listed in ops/known_metrics.txt; a panel on a metric that does not exist yet shows
"No data" forever and an alert on it never fires, and neither says so.

    python ops/scripts/check_dashboards.py              # the repository's dashboards and rules
    python ops/scripts/check_dashboards.py FILE|DIR ...  # these (.json dashboards, .yml/.yaml rules)

Exit status 0 when every name is known, 1 otherwise (one line per problem). Standard library only;
PyYAML is used for rule files when installed, otherwise their `expr:` values are read line by line.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

OPS = Path(__file__).resolve().parents[1]
DEFAULT_ALLOWLIST = OPS / "known_metrics.txt"
DEFAULT_PATHS = (OPS / "grafana" / "dashboards", OPS / "prometheus")

HISTOGRAM_SERIES = ("_bucket", "_sum", "_count")
# Words of PromQL that look like metric names but are not (functions are recognised by their "(").
KEYWORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset"}
    | {"inf", "nan"}
)

_GRAFANA_VARIABLE = re.compile(r"\$\{[^}]*\}|\$\w+")
_STRING = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`')
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_LABEL_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_IDENTIFIER = re.compile(r"(?<![\w:.])[A-Za-z_:][\w:]*")
_LABEL_VALUES = re.compile(r"^\s*label_values\((.*),\s*\w+\s*\)\s*$", re.S)
_QUERY_RESULT = re.compile(r"^\s*query_result\((.*)\)\s*$", re.S)


def load_allowlist(path: Path = DEFAULT_ALLOWLIST) -> set[str]:
    """The known series names, histograms expanded to their _bucket, _sum and _count series."""
    names: set[str] = set()
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].split()
        if not line:
            continue
        name, *kind = line
        if kind == ["histogram"]:
            names.update(name + suffix for suffix in HISTOGRAM_SERIES)
        elif not kind:
            names.add(name)
        else:
            raise ValueError(f"{path}: unknown metric kind in line {raw!r}")
    return names


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression (possibly with Grafana variables) selects."""
    text = _GRAFANA_VARIABLE.sub("", expr)
    text = _STRING.sub('""', text)
    text = _GROUPING.sub(" ", text)
    text = _LABEL_MATCHERS.sub(" ", text)
    text = _RANGE.sub(" ", text)
    names = set()
    for match in _IDENTIFIER.finditer(text):
        rest = text[match.end() :].lstrip()
        if rest.startswith("("):  # a function or an aggregation
            continue
        if match.group().lower() in KEYWORDS:
            continue
        names.add(match.group())
    return names


def _dashboard_queries(dashboard: dict) -> Iterator[tuple[str, str]]:
    def panels(items: list) -> Iterator[dict]:
        for panel in items:
            yield panel
            yield from panels(panel.get("panels", []))  # panels inside collapsed rows

    for panel in panels(dashboard.get("panels", [])):
        for target in panel.get("targets", []):
            if "expr" in target:
                yield f"panel {panel.get('title', panel.get('id'))!r} target {target.get('refId', '?')}", target["expr"]
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") != "query":
            continue
        query = variable.get("query")
        query = query.get("query", "") if isinstance(query, dict) else query or ""
        inner = _LABEL_VALUES.match(query) or _QUERY_RESULT.match(query)
        if inner:
            yield f"variable {variable.get('name')!r}", inner.group(1)


def _rule_exprs_yaml(text: str) -> tuple[list[tuple[str, str]], set[str]]:
    import yaml

    document = yaml.safe_load(text) or {}
    exprs, recorded = [], set()
    for group in document.get("groups", []) if isinstance(document, dict) else []:
        for rule in group.get("rules", []):
            name = rule.get("alert") or rule.get("record")
            if rule.get("record"):
                recorded.add(rule["record"])
            exprs.append((f"group {group.get('name')!r} rule {name!r}", str(rule.get("expr", ""))))
    return exprs, recorded


def _rule_exprs_lines(text: str) -> tuple[list[tuple[str, str]], set[str]]:
    """Without PyYAML: `expr:` as a one-line scalar or a block scalar (| or >), as rule files are written."""
    exprs, recorded, name = [], set(), "?"
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        stripped = lines[i].strip().removeprefix("- ")
        key, _, value = stripped.partition(":")
        value = value.split(" #", 1)[0].strip()
        if key in ("alert", "record"):
            name = value.strip("'\"")
            if key == "record":
                recorded.add(name)
        elif key == "expr":
            if value[:1] in ("|", ">"):
                indent = len(lines[i]) - len(lines[i].lstrip())
                block = []
                while i + 1 < len(lines) and (
                    not lines[i + 1].strip() or len(lines[i + 1]) - len(lines[i + 1].lstrip()) > indent
                ):
                    i += 1
                    block.append(lines[i])
                value = "\n".join(block)
            exprs.append((f"rule {name!r}", value.strip("'\"")))
        i += 1
    return exprs, recorded


def _rule_exprs(text: str) -> tuple[list[tuple[str, str]], set[str]]:
    try:
        return _rule_exprs_yaml(text)
    except ImportError:
        return _rule_exprs_lines(text)


def _files(paths: Iterable[str | Path]) -> Iterator[Path]:
    for path in map(Path, paths):
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in (".json", ".yml", ".yaml"))
        else:
            yield path


def known_metric_problems(
    paths: Iterable[str | Path] = DEFAULT_PATHS, allowlist: Path = DEFAULT_ALLOWLIST
) -> list[str]:
    """One line per unknown metric name (or unreadable file) in the given dashboards and rule files.

    Directories are searched for .json dashboards and .yml/.yaml rule files; YAML files without
    rules (scrape configs, Grafana provisioning) contribute nothing.
    """
    known = load_allowlist(allowlist)
    queries: list[tuple[Path, str, str]] = []
    problems = []
    for path in _files(paths):
        try:
            text = path.read_text()
            if path.suffix == ".json":
                queries += [(path, where, expr) for where, expr in _dashboard_queries(json.loads(text))]
            else:
                exprs, recorded = _rule_exprs(text)
                known |= recorded  # a recording rule's name is a metric the other rules may use
                queries += [(path, where, expr) for where, expr in exprs]
        except Exception as error:  # unreadable, or invalid JSON or YAML
            problems.append(f"{path}: cannot read: {type(error).__name__}: {error}")
    for path, where, expr in queries:
        if not expr.strip():
            problems.append(f"{path}: {where}: empty expression")
        for name in sorted(metric_names(expr) - known):
            problems.append(f"{path}: {where}: unknown metric {name!r} (not in {allowlist.name})")
    return problems


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    problems = known_metric_problems(args or DEFAULT_PATHS)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print(f"check_dashboards: every query in {', '.join(map(str, args or DEFAULT_PATHS))} uses known metrics")
    return 0


if __name__ == "__main__":
    sys.exit(main())
