"""`tickwork`: run the engine and its scheduler, send work, control jobs, export the contract, migrate."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from services.cli.api import api, tokens
from services.cli.bots import bots
from services.cli.database import sessions
from services.cli.dlq import dlq
from services.cli.instruments import instruments
from services.cli.jobs import jobs, scheduler
from services.cli.maintenance import backups, cleanup, restore_archive
from services.cli.notifications import notify
from services.cli.orders import orders, risk
from services.cli.portfolio import seed_demo
from services.cli.reports import reports
from services.cli.sandbox import sandbox
from services.cli.settings import Failure, settings_or_exit
from services.cli.shortcuts import register as register_shortcuts
from services.cli.tasks import tasks, workers
from services.errors import MessageRejected, TickworkError

if TYPE_CHECKING:
    from services.engine.client import Send


@click.group()
def main() -> None:
    """Tickwork: the background-job engine of the trading platform."""


@main.command()
@click.option("--metrics-port", type=int, default=None, help="First group's metrics port (default METRICS_PORT).")
def run(metrics_port: int | None) -> None:
    """The main job: migrate the database and run every worker group until Ctrl-C."""
    from services.cli.supervisor import run_worker_groups

    settings = settings_or_exit()
    sys.exit(run_worker_groups(settings, first_metrics_port=metrics_port or settings.metrics_port))


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("dramatiq_args", nargs=-1, type=click.UNPROCESSED)
def worker(dramatiq_args: tuple[str, ...]) -> None:
    """Run one worker group: `tickwork worker -Q orders -p 1 -t 4` is `dramatiq actors -Q orders ...`."""
    settings_or_exit()
    dramatiq = shutil.which("dramatiq") or str(Path(sys.executable).with_name("dramatiq"))
    os.execv(dramatiq, [dramatiq, "actors", *dramatiq_args])


@main.command()
@click.argument("actor")
@click.option(
    "-k",
    "--kwarg",
    "kwargs",
    multiple=True,
    metavar="NAME=VALUE",
    help="An argument; VALUE is read as JSON when it parses, else as text. Repeatable.",
)
@click.option("--json", "json_kwargs", metavar="OBJECT", help="All arguments as one JSON object.")
@click.option("--priority", type=click.Choice(["critical", "high", "normal", "low"]), default=None)
@click.option("--delay", type=float, default=None, help="Seconds to wait before the task may run.")
def send(
    actor: str, kwargs: tuple[str, ...], json_kwargs: str | None, priority: str | None, delay: float | None
) -> None:
    """Send one message to ACTOR through the client, as another service would."""
    from services.engine.client import TickworkClient

    arguments = parse_kwargs(kwargs, json_kwargs)
    settings = settings_or_exit()
    with TickworkClient(settings=settings, ledger=sessions()) as client:
        try:
            sent = client.send(actor, arguments, priority=priority, delay_s=delay)
        except TickworkError as error:
            raise Failure(str(error)) from None
    click.echo(
        json.dumps(
            {"message_id": sent.message_id, "actor": sent.actor, "queue": sent.queue, "priority": sent.priority.value}
        )
    )


@main.command("send-many")
@click.argument("source", type=click.File("r"), default="-")
def send_many(source: Any) -> None:
    """Send the messages of SOURCE (a file, or - for stdin), one JSON object a line:
    `{"actor": ..., "parameters": {...}, "priority": ..., "delay_s": ...}`, all or none: every line is
    checked against the contract first. Prints each sent message as a JSON line, in the file's order."""
    from services.engine.client import TickworkClient

    numbered = [(number, _message(number, line)) for number, line in enumerate(source, start=1) if line.strip()]
    settings = settings_or_exit()
    with TickworkClient(settings=settings, ledger=sessions()) as client:
        try:
            sent = client.send_many([request for _, request in numbered])
        except MessageRejected as error:
            where = f"line {numbered[error.index][0]}: " if error.index is not None else ""
            raise Failure(f"{where}{error} (nothing sent)") from None
        except TickworkError as error:
            raise Failure(str(error)) from None
    for message in sent:
        shown = {"message_id": message.message_id, "actor": message.actor, "queue": message.queue}
        click.echo(json.dumps({**shown, "priority": message.priority.value}))


def _message(number: int, line: str) -> Send:
    from services.engine.client import Send
    from services.engine.priority import Priority

    try:
        fields = json.loads(line)
        if not isinstance(fields, dict) or not isinstance(fields.get("actor"), str):
            raise ValueError('not a JSON object with an "actor"')
        unknown = set(fields) - {"actor", "parameters", "priority", "delay_s"}
        if unknown:
            raise ValueError(f"unknown field(s) {sorted(unknown)}")
        priority = Priority(fields["priority"]) if fields.get("priority") is not None else None
        delay_s = fields.get("delay_s")
        if delay_s is not None and (isinstance(delay_s, bool) or not isinstance(delay_s, int | float)):
            raise ValueError("delay_s must be a number of seconds")
        return Send(fields["actor"], fields.get("parameters") or {}, priority, delay_s)
    except ValueError as error:  # a JSONDecodeError too
        raise Failure(f"line {number}: {error} (nothing sent)") from None


def parse_kwargs(pairs: tuple[str, ...], json_object: str | None) -> dict[str, Any]:
    arguments: dict[str, Any] = {}
    if json_object:
        try:
            arguments = json.loads(json_object)
        except json.JSONDecodeError as error:
            raise click.BadParameter(f"not JSON: {error}", param_hint="--json") from None
        if not isinstance(arguments, dict):
            raise click.BadParameter("must be a JSON object", param_hint="--json")
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{pair!r} is not NAME=VALUE", param_hint="-k")
        try:
            arguments[name] = json.loads(value)
        except json.JSONDecodeError:
            arguments[name] = value
    return arguments


@main.group()
def contract() -> None:
    """The message contract other services send against."""


@contract.command("export")
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("docs/schemas"), show_default=True
)
def contract_export(out: Path) -> None:
    """Write one JSON Schema per actor, plus contract.json (the index) and envelope.json."""
    from services.contract.export import export_schemas

    for path in export_schemas(out):
        click.echo(str(path))


@contract.command("show")
@click.argument("actor", required=False)
def contract_show(actor: str | None) -> None:
    """List every actor (queue, priority, class), or print one actor's schema."""
    from services.contract import CONTRACT

    if actor:
        try:
            click.echo(json.dumps(CONTRACT.get(actor).json_schema(), indent=2))
        except TickworkError as error:
            raise Failure(str(error)) from None
        return
    for spec in CONTRACT:
        click.echo(
            f"{spec.name:28} {spec.queue:14} {spec.priority.value:9} {spec.task_class.name:12} {spec.time_limit:>6.0f}s"
        )


@main.group()
def db() -> None:
    """The database schema (Alembic migrations)."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate DATABASE_URL to REVISION (default: the newest)."""
    from services.storage.migrate import current, upgrade

    url = settings_or_exit().database_url
    upgrade(url, revision)
    click.echo(f"database at revision {current(url) or '(none)'}")


main.add_command(tasks)
main.add_command(workers)
main.add_command(dlq)
main.add_command(instruments)
main.add_command(jobs)
main.add_command(scheduler)
main.add_command(api)
main.add_command(tokens)
main.add_command(backups)
main.add_command(cleanup)
main.add_command(restore_archive)
main.add_command(reports)
main.add_command(seed_demo)
main.add_command(bots)
main.add_command(sandbox)
main.add_command(notify)
main.add_command(orders)
main.add_command(risk)
register_shortcuts(main)


@main.command()
def check() -> None:
    """Validate the settings and reach RabbitMQ and the database; exit 1 if one is not ready."""
    from services.engine.health import check_broker, check_database

    settings = settings_or_exit()
    results = {"broker": check_broker(settings.rabbitmq_url), "database": check_database(settings.database_url)}
    for name, result in results.items():
        click.echo(f"{name}: {result}")
    if any(result != "ok" for result in results.values()):
        sys.exit(1)
