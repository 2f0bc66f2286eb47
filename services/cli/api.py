"""`tickwork api` serves the REST API; `tickwork tokens ...` manages its bearer tokens."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from services.cli.database import in_transaction
from services.cli.output import emit, emit_one
from services.cli.settings import Failure, settings_or_exit

if TYPE_CHECKING:
    from sqlmodel import Session


@click.command()
@click.option("--host", default=None, help="Default TICKWORK_API_HOST (127.0.0.1).")
@click.option("--port", type=int, default=None, help="Default TICKWORK_API_PORT (8000).")
def api(host: str | None, port: int | None) -> None:
    """Serve the REST API (OpenAPI at /docs)."""
    from services.api.app import serve
    from services.storage.migrate import is_current

    settings = settings_or_exit()
    if not is_current(settings.database_url):
        raise Failure("the database is not migrated: run `tickwork db upgrade` first")
    serve(settings, host=host, port=port)


@click.group()
def tokens() -> None:
    """API bearer tokens: create (the secret is shown once), list, revoke."""


@tokens.command("create")
@click.argument("name")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(["read", "create", "cancel", "notify", "admin"]),
    help="Repeatable; admin allows everything.",
)
@click.option("--json", "as_json", is_flag=True)
@click.option(
    "--secret-file",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the token alone to this file (mode 0600), for a program that reads it (Alertmanager's "
    "credentials_file), instead of printing it.",
)
def create(name: str, scopes: tuple[str, ...], as_json: bool, secret_file: Path | None) -> None:
    """Create a token called NAME."""
    from services.api.tokens import create_token

    def create(session: Session) -> dict[str, Any]:
        row, token = create_token(session=session, name=name, scopes=scopes)
        return {"id": row.id, "name": row.name, "scopes": row.scopes, "token": token}

    created = in_transaction(create)
    if secret_file is not None:
        secret_file.touch(mode=0o600)
        secret_file.chmod(0o600)  # touch keeps an existing file's mode
        secret_file.write_text(created.pop("token") + "\n")
        created["secret_file"] = str(secret_file)
    emit_one(created, as_json=as_json)
    if not as_json and secret_file is None:
        click.echo("store the token now: only its hash is kept", err=True)


@tokens.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_(as_json: bool) -> None:
    """Every token (never its secret)."""
    from services.api.tokens import list_tokens

    rows = in_transaction(
        lambda session: [t.model_dump(exclude={"secret_sha256"}) for t in list_tokens(session=session)]
    )
    emit(rows, ("id", "name", "scopes", "created_at", "last_used_at", "revoked_at"), as_json=as_json)


@tokens.command("revoke")
@click.argument("token_id")
def revoke(token_id: str) -> None:
    """Revoke a token by its id; calls with it get 401 from then on."""
    from services.api.tokens import revoke_token

    in_transaction(lambda session: revoke_token(session=session, token_id=token_id))
    click.echo(f"token {token_id} revoked")
