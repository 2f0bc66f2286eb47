"""`tickwork scheduler` runs the periodic jobs; `tickwork jobs ...` lists and controls them."""

from __future__ import annotations

import getpass
import importlib
import logging
from collections.abc import Callable
from dataclasses import asdict

import click

from services.cli.database import sessions
from services.cli.output import emit, emit_one
from services.cli.settings import Failure, settings_or_exit
from services.errors import TickworkError
from services.storage.db import SessionFactory


@click.command()
def scheduler() -> None:
    """Run the scheduler (the same as `periodiq actors`); safe to run two for failover."""
    settings = settings_or_exit()
    logging.basicConfig(level=settings.tickwork_log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # The one place the CLI loads the message side (DESIGN.md allows it for the scheduler command).
    scheduling = importlib.import_module("actors.scheduling")
    try:
        scheduling.run_scheduler(settings)
    except TickworkError as error:
        raise Failure(str(error)) from None


@click.group()
def jobs() -> None:
    """Scheduled jobs: list, pause, resume, trigger."""


@jobs.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def jobs_list(as_json: bool) -> None:
    """Every job with its schedule, state, next run, last run and last success."""
    from services.scheduling.control import list_job_statuses

    rows = [asdict(status) for status in list_job_statuses(session_factory=sessions())]
    if not rows and not as_json:
        click.echo("(no jobs yet: they are recorded when the scheduler first starts)")
        return
    columns = ["name", "state", "schedule", "next_run_at", "last_run_at", "last_run_state", "last_success_at"]
    emit(rows, columns, as_json=as_json)


@jobs.command("pause")
@click.argument("name")
def jobs_pause(name: str) -> None:
    """Stop sending NAME's runs (from the next tick, on every scheduler)."""
    from services.scheduling.control import toggle_job

    _control(
        lambda factory: toggle_job(name, session_factory=factory, by=_operator(), paused=True), f"job {name} paused"
    )


@jobs.command("resume")
@click.argument("name")
def jobs_resume(name: str) -> None:
    """Send NAME's runs again, from its next tick."""
    from services.scheduling.control import toggle_job

    _control(
        lambda factory: toggle_job(name, session_factory=factory, by=_operator(), paused=False), f"job {name} resumed"
    )


@jobs.command("trigger")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def jobs_trigger(name: str, as_json: bool) -> None:
    """Send one run of NAME now, whatever its schedule (and even while paused)."""
    from services.engine.client import TickworkClient
    from services.scheduling.control import trigger_job

    settings = settings_or_exit()
    factory = sessions()
    with TickworkClient(settings=settings, ledger=factory) as client:
        try:
            sent = trigger_job(name, session_factory=factory, client=client, by=_operator())
        except TickworkError as error:
            raise Failure(str(error)) from None
    emit_one({"job": name, "message_id": sent.message_id, "actor": sent.actor, "queue": sent.queue}, as_json=as_json)


def _control(action: Callable[[SessionFactory], object], done: str) -> None:
    factory = sessions()
    try:
        action(factory)
    except TickworkError as error:
        raise Failure(str(error)) from None
    click.echo(done)


def _operator() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except OSError:
        return "cli"
