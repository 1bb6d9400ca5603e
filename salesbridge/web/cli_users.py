"""``salesbridge users ...``: accounts of the web admin from the command line (the first admin, scripts, a
lost password). Works on the web database directly, whether the server runs or not; needs no keys."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from salesbridge.store.web_models import User

users_app = typer.Typer(help="Accounts of the web admin: add, list, roles, passwords, API tokens.",
                        no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)

ConfigOption = Annotated[Path | None, typer.Option(
    "--config", "-c", help="YAML config; the web database is beside it (default: $SALESBRIDGE_CONFIG or "
    "./salesbridge.yaml)")]
DatabaseOption = Annotated[str | None, typer.Option(
    "--database",
    help="web database URL (default: $SALESBRIDGE_WEB_DATABASE or salesbridge-web.db beside the config)")]
RoleArgument = Annotated[str, typer.Argument(help="admin, operator or viewer")]


@contextmanager
def _session(config: Path | None, database: str | None) -> Iterator[Session]:
    from sqlalchemy.orm import Session

    from salesbridge.store.db import migrate, open_store
    from salesbridge.web.accounts import AccountError
    from salesbridge.web.settings import config_path_from, database_url_for

    url = database_url_for(config_path_from(config), database)
    engine = open_store(url)
    try:
        migrate(engine)
        with Session(engine, expire_on_commit=False) as session, session.begin():
            try:
                yield session
            except AccountError as error:
                err_console.print(f"[red]{error}[/red]")
                raise typer.Exit(1) from None
    finally:
        engine.dispose()


def _role(text: str) -> str:
    from salesbridge.store.web_models import Role

    try:
        return Role(text.lower()).value
    except ValueError:
        err_console.print(f"[red]unknown role '{text}'[/red] (admin, operator, viewer)")
        raise typer.Exit(2) from None


def _user(session: Session, username: str) -> User:
    from salesbridge.web.accounts import get_user_by_name

    user = get_user_by_name(session, username)
    if user is None:
        err_console.print(f"[red]no user '{username}'[/red]")
        raise typer.Exit(1)
    return user


def _new_password() -> str:
    return typer.prompt("password", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def add(username: str, role: Annotated[str, typer.Option(help="admin, operator or viewer")] = "viewer",
        config: ConfigOption = None, database: DatabaseOption = None) -> None:
    """Add an account (the password is asked for, twice)."""
    from salesbridge.web.accounts import create_user

    role_value = _role(role)
    password = _new_password()
    with _session(config, database) as session:
        create_user(session, username, password, role_value)
    console.print(f"added {username} ({role_value})")


@users_app.command("list")
def list_users(config: ConfigOption = None, database: DatabaseOption = None) -> None:
    """List the accounts."""
    from salesbridge.web.accounts import list_users as all_users

    table = Table(title="users")
    for column in ("id", "username", "role", "active", "last login"):
        table.add_column(column)
    with _session(config, database) as session:
        for user in all_users(session):
            table.add_row(str(user.id), user.username, user.role, "yes" if user.active else "no",
                          user.last_login_at.strftime("%Y-%m-%d %H:%M") if user.last_login_at else "never")
    console.print(table)


@users_app.command("set-role")
def set_role(username: str, role: RoleArgument, config: ConfigOption = None,
             database: DatabaseOption = None) -> None:
    """Change an account's role."""
    from salesbridge.web.accounts import update_user

    role_value = _role(role)
    with _session(config, database) as session:
        update_user(session, _user(session, username), role=role_value)
    console.print(f"{username} is now {role_value}")


@users_app.command("set-password")
def set_password(username: str, config: ConfigOption = None, database: DatabaseOption = None) -> None:
    """Set a new password (ends the account's browser sessions)."""
    from salesbridge.web.accounts import update_user

    password = _new_password()
    with _session(config, database) as session:
        update_user(session, _user(session, username), password=password)
    console.print(f"password of {username} changed")


@users_app.command("disable")
def disable(username: str, config: ConfigOption = None, database: DatabaseOption = None) -> None:
    """Disable an account: its sessions end and its API tokens are revoked."""
    from salesbridge.web.accounts import update_user

    with _session(config, database) as session:
        update_user(session, _user(session, username), active=False)
    console.print(f"{username} disabled")


@users_app.command("enable")
def enable(username: str, config: ConfigOption = None, database: DatabaseOption = None) -> None:
    """Enable a disabled account again."""
    from salesbridge.web.accounts import update_user

    with _session(config, database) as session:
        update_user(session, _user(session, username), active=True)
    console.print(f"{username} enabled")


@users_app.command("delete")
def delete(username: str, config: ConfigOption = None, database: DatabaseOption = None) -> None:
    """Delete an account (and its tokens and sessions)."""
    from salesbridge.web.accounts import delete_user

    with _session(config, database) as session:
        delete_user(session, _user(session, username))
    console.print(f"{username} deleted")


@users_app.command("token")
def token(username: str, name: Annotated[str, typer.Option(help="what the token is for")] = "cli",
          expires_days: Annotated[int | None, typer.Option(help="days until it expires (default: never)")]
          = None,
          config: ConfigOption = None, database: DatabaseOption = None) -> None:
    """Create an API token for an account and print it (shown this once)."""
    from salesbridge.web.accounts import create_token

    with _session(config, database) as session:
        issued = create_token(session, _user(session, username), name,
                              timedelta(days=expires_days) if expires_days else None)
    console.print(issued.text, soft_wrap=True, highlight=False)
