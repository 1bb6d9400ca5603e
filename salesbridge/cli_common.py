"""What every ``salesbridge`` command group shares: the consoles, the ``--config`` option, and loading the
config or the Hub with errors printed for people rather than as tracebacks.

Kept apart from ``salesbridge.cli`` so that the flows' command groups, which ``cli`` imports, can use it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from salesbridge.sync.config import HubConfig
    from salesbridge.sync.runs import Hub

console = Console()
err_console = Console(stderr=True)

ConfigOption = Annotated[Path | None, typer.Option("--config", "-c", help="YAML config (default: "
                                                   "$SALESBRIDGE_CONFIG or ./salesbridge.yaml)")]


def load_hub_config(config: Path | None) -> HubConfig:
    """The config (with the web's stored secrets); a mistake is printed with its location and exits 2."""
    from salesbridge.sync.config import ConfigError, load_config
    from salesbridge.web.vault import secret_environ

    try:
        return load_config(config, environ=secret_environ(config))
    except ConfigError as error:
        err_console.print(f"[red]configuration error[/red] {error}")
        raise typer.Exit(2) from None


def open_hub(config: Path | None) -> Hub:
    """The Hub of the config; a refused Salesforce login is printed and exits 1."""
    from salesbridge.salesforce import AuthenticationError
    from salesbridge.sync.runs import Hub

    try:
        return Hub(load_hub_config(config))
    except AuthenticationError as error:
        err_console.print(f"[red]cannot log in to Salesforce[/red]: {error}")
        raise typer.Exit(1) from None
