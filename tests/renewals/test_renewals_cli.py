"""``salesbridge renewals``: the recipe printed, a subscription renewed (twice: refused), the chain run, the rows
listed with their Salesforce Ids."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import yaml
from renewals_support import renewals_config
from typer.testing import CliRunner

from salesbridge.cli import app
from salesbridge.flows.renewals import registry
from salesbridge.flows.renewals.recipe import renewals_recipe
from salesbridge.flows.renewals.registry import NewSubscription
from salesbridge.sandbox.server import RunningSandbox
from salesbridge.sync.config import parse_config
from salesbridge.sync.runs import Hub


def test_recipe_prints_the_flows_with_the_chosen_schedule() -> None:
    result = CliRunner().invoke(app, ["renewals", "recipe", "--every", "1h"])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(result.output) == renewals_recipe(every="1h")


def test_renew_sync_and_list(renewals_org: RunningSandbox, tmp_path: Path) -> None:
    config = renewals_config(renewals_org, f"sqlite:///{tmp_path / 'app.db'}")
    path = tmp_path / "salesbridge.yaml"
    path.write_text(yaml.safe_dump(config))
    hub = Hub(parse_config(config, path))
    (account,) = hub.client.create("Account", [{"Name": "Globex"}])
    registry.create_subscription(hub.engine, NewSubscription(name="Globex Pro", account_id=account.id, plan="Pro",
                                                             quantity=3, unit_price=100, start_date=date(2026, 1, 1)))
    runner = CliRunner(env={"COLUMNS": "200"})

    renewed = runner.invoke(app, ["renewals", "renew", "1", "--quantity", "4", "-c", str(path)])
    assert renewed.exit_code == 0, renewed.output
    assert "change order 1: renewal subscription 2, sales order 1" in renewed.output
    again = runner.invoke(app, ["renewals", "renew", "1", "-c", str(path)])
    assert again.exit_code == 1 and "RENEWAL_EXISTS" in again.output
    synced = runner.invoke(app, ["renewals", "sync", "-c", str(path)])
    assert synced.exit_code == 0, synced.output
    listed = runner.invoke(app, ["renewals", "list", "-c", str(path)])
    assert listed.output.count(" a5S") == 2 and listed.output.count(" a5C") == 1
    assert "sales order 1" in listed.output and " 006" in listed.output
    assert [o["Amount"] for o in hub.client.query_all("SELECT Amount FROM Opportunity")] == [400]
    checked = runner.invoke(app, ["check", "-c", str(path)])
    assert checked.exit_code == 0 and "configuration and connections are fine" in checked.output, checked.output
    hub.engine.dispose()
