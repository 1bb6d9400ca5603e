"""``salesbridge deals``: the recipe printed, deals listed, one synced now, Opportunities imported."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from salesbridge.cli import app
from salesbridge.demo import demo_schema_file
from salesbridge.flows.deals import registry
from salesbridge.flows.deals.recipe import deals_recipe, sandbox_schema_file, with_deals
from salesbridge.flows.deals.registry import NewDeal
from salesbridge.sandbox.server import RunningSandbox, start_in_thread
from salesbridge.sync.config import parse_config
from salesbridge.sync.runs import Hub


@pytest.fixture
def org() -> Iterator[RunningSandbox]:
    running = start_in_thread(schema_files=(demo_schema_file(), sandbox_schema_file()))
    try:
        yield running
    finally:
        running.stop()


def test_recipe_prints_the_flow_for_the_chosen_sync_on() -> None:
    result = CliRunner().invoke(app, ["deals", "recipe", "--sync-on", "pre_approved"])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(result.output) == deals_recipe("pre_approved")
    assert CliRunner().invoke(app, ["deals", "recipe", "--sync-on", "sometimes"]).exit_code == 2


def test_list_sync_and_import(org: RunningSandbox, tmp_path: Path) -> None:
    config = with_deals({"connections": {
        "salesforce": {"login_url": org.url, "client_id": "salesbridge", "client_secret": "salesbridge-secret",
                       "username": "admin@sandbox.example", "password": "sandbox-pass", "verify": str(org.ca_path)},
        "app": {"url": f"sqlite:///{tmp_path / 'app.db'}"}}}, "manual")
    path = tmp_path / "salesbridge.yaml"
    path.write_text(yaml.safe_dump(config))
    hub = Hub(parse_config(config, path))
    deal = registry.register(hub.engine, NewDeal(partner="Acme", partner_deal_id="A-1", company="Alpha",
                                                 end_user_last_name="Ames", title="Alpha deal",
                                                 close_date=date(2026, 12, 1)))
    runner = CliRunner(env={"COLUMNS": "200"})

    synced = runner.invoke(app, ["deals", "sync", str(deal["id"]), "-c", str(path)])
    assert synced.exit_code == 0, synced.output
    listed = runner.invoke(app, ["deals", "list", "-c", str(path)])
    assert "Alpha" in listed.output and "Lead 00Q" in listed.output
    (account,) = hub.client.create("Account", [{"Name": "Globex"}])
    (opportunity,) = hub.client.create("Opportunity", [{"Name": "Globex renewal", "StageName": "Prospecting",
                                                        "CloseDate": "2026-11-30", "AccountId": account.id}])
    imported = runner.invoke(app, ["deals", "import", "--partner", "Acme", "--where",
                                   f"AccountId = '{account.id}'", "-c", str(path)])
    assert imported.exit_code == 0, imported.output
    assert f"imported {opportunity.id} as deal 2" in imported.output
    hub.engine.dispose()
