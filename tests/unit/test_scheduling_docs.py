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


def test_the_docs_name_exactly_the_jobs_still_waiting_for_their_actor():
    import re

    from actors.scheduling import split_timetable

    # Given the sentence of docs/scheduling.md that says which jobs are not active yet
    text = " ".join((ROOT / "docs" / "scheduling.md").read_text().split())
    sentence = re.search(r"Today every job is active(?: except (.*?))?\.", text)
    assert sentence, "docs/scheduling.md no longer says which jobs are inactive"

    # Then its jobs are those whose actor this deployment does not implement
    _, waiting = split_timetable()
    named = {n for n in re.findall(r"`([a-z-]+)`", sentence.group(1) or "") if "-" in n}
    assert named == {job.name for job in waiting}
