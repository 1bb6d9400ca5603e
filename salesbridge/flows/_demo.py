"""What every ``salesbridge demo --flow NAME`` starts with: a fresh sandbox org and SQLite app database in the
work directory, the flow's recipe written into ``salesbridge.yaml`` there, and a Hub over both."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

from salesbridge.demo import DEMO_PORT, _free_port, demo_schema_file
from salesbridge.sandbox.server import start_in_thread
from salesbridge.sync.config import parse_config
from salesbridge.sync.runs import Hub

Recipe = Callable[[dict[str, Any]], dict[str, Any]]


@contextmanager
def flow_demo_hub(workdir: Path, console: Console, *, title: str, schema_file: str, add_recipe: Recipe,
                  note: str = "") -> Iterator[Hub]:
    """The hub of one flow's demo in ``workdir`` (its previous files are replaced); ``add_recipe`` adds the
    flow to the demo's connections. The org and the database are stopped when the story is over."""
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    for name in ("sandbox.db", "sandbox.db-wal", "sandbox.db-shm", "app.db"):
        (workdir / name).unlink(missing_ok=True)
    console.rule(f"[bold]salesbridge demo --flow {title}")
    sandbox = start_in_thread(data=str(workdir / "sandbox.db"), schema_files=(demo_schema_file(), schema_file),
                              port=_free_port(DEMO_PORT))
    try:
        config_data = add_recipe({"connections": {
            "salesforce": {"login_url": sandbox.url, "flow": "password", "client_id": "salesbridge",
                           "client_secret": "${SALESBRIDGE_DEMO_SECRET:-salesbridge-secret}",
                           "username": "admin@sandbox.example", "password": "sandbox-pass",
                           "verify": str(sandbox.ca_path)},
            "app": {"url": f"sqlite:///{workdir / 'app.db'}"}}})
        config_path = workdir / "salesbridge.yaml"
        config_path.write_text(yaml.safe_dump(config_data, sort_keys=False))
        console.print(f"Sandbox org at [cyan]{sandbox.url}[/cyan]; config [cyan]{config_path}[/cyan]"
                      + (f" ({note})" if note else ""))
        hub = Hub(parse_config(config_data, config_path))
        try:
            yield hub
        finally:
            hub.engine.dispose()
    finally:
        sandbox.stop()
