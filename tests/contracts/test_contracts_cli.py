"""``salesbridge contracts``: the recipe, a round, the queue, decisions and the signature from the command line."""

from __future__ import annotations

from pathlib import Path

import yaml
from contracts_support import hub_config, make_hub, opportunity, submit
from typer.testing import CliRunner

from salesbridge.cli import app
from salesbridge.flows.contracts.recipe import shipped_recipe
from salesbridge.sandbox.server import RunningSandbox


def test_recipe_prints_the_shipped_recipe() -> None:
    result = CliRunner().invoke(app, ["contracts", "recipe"])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(result.output) == shipped_recipe()
    hooked = yaml.safe_load(CliRunner().invoke(app, ["contracts", "recipe", "--webhook", "https://e.example/h"]).output)
    assert hooked["contracts"]["signature_webhook"] == "https://e.example/h"


def test_run_list_approve_and_sign(contracts_org: RunningSandbox, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    config = tmp_path / "salesbridge.yaml"
    config.write_text(yaml.safe_dump(hub_config(contracts_org, url), sort_keys=False))
    hub = make_hub(contracts_org, url)
    try:
        (acme,) = hub.client.create("Account", [{"Name": "Acme Corp"}])
        request = submit(hub.client, opportunity(hub.client, "Acme", acme.id), file=("acme.pdf", b"%PDF acme"))
        submit(hub.client, opportunity(hub.client, "Bare", acme.id))
    finally:
        hub.engine.dispose()
    runner = CliRunner()
    env = {"COLUMNS": "200"}

    ran = runner.invoke(app, ["contracts", "run", "-c", str(config)], env=env)
    assert ran.exit_code == 1, "a request without its file makes the round partial"
    assert "1 picked up" in ran.output and "MISSING_DOCUMENT" in ran.output
    listed = runner.invoke(app, ["contracts", "list", "-c", str(config), "--status", "In Review"], env=env)
    assert "acme.pdf (submitted)" in listed.output and "Acme Corp" in listed.output
    refused = runner.invoke(app, ["contracts", "approve", "2", "-c", str(config)], env=env)
    assert refused.exit_code == 1 and "INVALID_STATUS" in refused.output
    approved = runner.invoke(app, ["contracts", "approve", "1", "--comment", "ok", "--reviewer", "olivia",
                                   "-c", str(config)], env=env)
    assert approved.exit_code == 0 and "new company profile" in approved.output
    out = runner.invoke(app, ["contracts", "send-for-signature", "1", "-c", str(config)], env=env)
    assert out.exit_code == 0 and "Out for Signature; webhook none" in out.output
    signed_file = tmp_path / "acme-signed.pdf"
    signed_file.write_bytes(b"%PDF signed")
    assert runner.invoke(app, ["contracts", "signed", "1", "--file", str(signed_file), "-c", str(config)],
                         env=env).exit_code == 0
    runner.invoke(app, ["contracts", "run", "-c", str(config)], env=env)
    hub = make_hub(contracts_org, url)
    try:
        assert hub.client.get("Contract_Request__c", request)["Status__c"] == "Signed"
        names = {v["PathOnClient"] for v in hub.client.query_all("SELECT PathOnClient FROM ContentVersion")}
        assert "acme-signed.pdf" in names
    finally:
        hub.engine.dispose()
