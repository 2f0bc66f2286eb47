"""Docs that follow the code and the benchmark: the API reference lists every route, and the README
quotes only figures of the latest generated benchmark results."""

from __future__ import annotations

import re

from services.api.app import create_app
from services.settings import Settings
from tests.support.workers import ROOT

# A figure: a number (1,234 or 0.85) followed by a unit the benchmark reports in.
FIGURE = re.compile(r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s?(msg/s|ms|x|s)(?![\w/])")


def section(markdown: str, heading: str) -> str:
    """The text under `## heading`, up to the next heading of the same level."""
    found = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", markdown, re.MULTILINE | re.DOTALL)
    assert found, f"no section '## {heading}'"
    return found.group(1)


def figures(text: str) -> set[tuple[str, str]]:
    return {(number, unit) for number, unit in FIGURE.findall(" ".join(text.split()))}


def generated_results() -> str:
    text = (ROOT / "docs" / "benchmarks.md").read_text()
    found = re.search(r"<!-- bench:results:start.*?-->(.*?)<!-- bench:results:end -->", text, re.DOTALL)
    assert found, "docs/benchmarks.md has no generated results block"
    return found.group(1)


def test_every_route_of_the_openapi_document_is_in_docs_api_md():
    # Given every operation of the app's OpenAPI document
    paths = create_app(Settings()).openapi()["paths"]
    operations = [f"{method.upper()} {path}" for path, methods in paths.items() for method in methods]
    assert len(operations) > 30

    # Then docs/api.md names each as `METHOD /path`
    documented = (ROOT / "docs" / "api.md").read_text()
    missing = [operation for operation in operations if operation not in documented]
    assert not missing, f"docs/api.md does not list: {missing}"


def test_every_figure_the_readme_quotes_is_in_the_generated_benchmark_results():
    # Given the figures of the README's Benchmarks section (numbers followed by x, msg/s, ms or s)
    quoted = figures(section((ROOT / "README.md").read_text(), "Benchmarks"))
    assert len(quoted) >= 5, quoted  # the section still quotes the run (a regex gone blind would pass)

    # Then each is a figure of docs/benchmarks.md's generated results block, as written there
    stale = sorted(quoted - figures(generated_results()))
    assert not stale, f"README quotes figures that the latest benchmark results do not hold: {stale}"


def test_figures_are_recognised_as_written():
    assert figures("0.85x bare, 4,682 msg/s, p99 17.1 ms, 8.8 min, within 5 s") == {
        ("0.85", "x"),
        ("4,682", "msg/s"),
        ("17.1", "ms"),
        ("5", "s"),
    }
