"""``salesbridge pipeline``: the recipe printed, records listed, events shown, a sync run now."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from salesbridge.cli import app
from salesbridge.demo import demo_schema_file
from salesbridge.flows.pipeline import registry
from salesbridge.flows.pipeline.recipe import pipeline_recipe, sandbox_schema_file, with_pipeline
from salesbridge.sandbox.server import RunningSandbox, start_in_thread
from salesbridge.sync.config import parse_config
from salesbridge.sync.runs import Hub


@pytest.fixture
def pipeline_org() -> Iterator[RunningSandbox]:
    running = start_in_thread(schema_files=(demo_schema_file(), sandbox_schema_file()))
    try:
        yield running
    finally:
        running.stop()


def test_recipe_prints_the_flows_for_the_chosen_owner_and_schedule() -> None:
    result = CliRunner().invoke(app, ["pipeline", "recipe", "--owner", "boss@example.com", "--every", "1h"])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(result.output) == pipeline_recipe("boss@example.com", every="1h")


def test_list_events_and_sync(pipeline_org: RunningSandbox, tmp_path: Path) -> None:
    config = with_pipeline({"connections": {
        "salesforce": {"login_url": pipeline_org.url, "client_id": "salesbridge",
                       "client_secret": "salesbridge-secret", "username": "admin@sandbox.example",
                       "password": "sandbox-pass", "verify": str(pipeline_org.ca_path)},
        "app": {"url": f"sqlite:///{tmp_path / 'app.db'}"}}})
    path = tmp_path / "salesbridge.yaml"
    path.write_text(yaml.safe_dump(config))
    hub = Hub(parse_config(config, path))
    registry.create(hub.engine, "leads", {"first_name": "Lee", "last_name": "Park", "company": "Park Labs",
                                          "stage": "Won"})
    hub.engine.dispose()
    runner = CliRunner()
    checked = runner.invoke(app, ["check", "-c", str(path)], env={"COLUMNS": "200"})
    assert checked.exit_code == 0 and "pipeline_leads): Lead <-> sb_pipeline_leads" in checked.output, \
        checked.output

    synced = runner.invoke(app, ["pipeline", "sync", "-c", str(path)], env={"COLUMNS": "200"})
    assert synced.exit_code == 0, synced.output
    listed = runner.invoke(app, ["pipeline", "list", "leads", "-c", str(path)], env={"COLUMNS": "200"})
    assert listed.exit_code == 0 and "Park Labs" in listed.output and "Contact 003" in listed.output
    events = runner.invoke(app, ["pipeline", "events", "-c", str(path)], env={"COLUMNS": "200"})
    assert "converted" in events.output and "won" in events.output and "the tool" in events.output
    assert runner.invoke(app, ["pipeline", "list", "widgets", "-c", str(path)]).exit_code == 2
