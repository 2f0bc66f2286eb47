"""docs/scheduling.md describes the timetable that actors/timetable.py holds."""

from __future__ import annotations

from actors.timetable import TIMETABLE
from tests.support.workers import ROOT


def test_every_job_of_the_timetable_is_in_the_docs_table_with_its_actor():
    rows = [line for line in (ROOT / "docs" / "scheduling.md").read_text().splitlines() if line.startswith("| `")]
    documented = {row.split("`")[1]: row for row in rows}
    assert set(documented) == {job.name for job in TIMETABLE}
    for job in TIMETABLE:
        assert f"`{job.actor}" in documented[job.name], job.name
