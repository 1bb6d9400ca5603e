"""The command line over a real sandbox: check, sync, status, errors, retry; and the demo end to end."""

from __future__ import annotations

import yaml
from sqlalchemy import create_engine, text
from sync_helpers import create_leads_table, lead_flow
from typer.testing import CliRunner

from salesbridge.cli import app

runner = CliRunner()


def write_config(tmp_path, org, flows=None):
    app_url = f"sqlite:///{tmp_path / 'app.db'}"
    engine = create_engine(app_url)
    create_leads_table(engine)
    engine.dispose()
    config = {
        "connections": {
            "salesforce": {"login_url": org.url, "client_id": "salesbridge", "client_secret": "${SB_SECRET}",
                           "username": "admin@sandbox.example", "password": "sandbox-pass",
                           "verify": str(org.ca_path)},
            "app": {"url": app_url},
        },
        "flows": flows or [lead_flow()],
        "value_maps": {"pipeline": {"New": "Open - Not Contacted", "Qualified": "Working - Contacted"}},
    }
    path = tmp_path / "salesbridge.yaml"
    path.write_text(yaml.safe_dump(config))
    return path, app_url


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], env={"SB_SECRET": "salesbridge-secret", "COLUMNS": "200"})


def test_check_passes_on_a_good_config(tmp_path, org):
    path, _ = write_config(tmp_path, org)
    result = invoke("check", "-c", path)
    assert result.exit_code == 0, result.output
    assert "logged in to Salesforce" in result.output
    assert "configuration and connections are fine" in result.output


def test_check_names_every_problem(tmp_path, org):
    flow = lead_flow(table="leads")
    flow["fields"]["Colour__c"] = "colour"
    flow["fields"]["IsConverted"] = "converted"
    flow["key"]["external_id"] = "Company"
    path, _ = write_config(tmp_path, org, [flow, {**lead_flow(name="gone"), "table": "missing_table"}])
    result = invoke("check", "-c", path)
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert "flows[0] (leads).fields.Colour__c: Lead has no field 'Colour__c'" in output
    assert "flows[0] (leads).fields.IsConverted: Lead.IsConverted is read-only" in output
    assert "flows[0] (leads).fields.Colour__c: table 'leads' has no column 'colour'" in output
    assert "flows[0] (leads).key.external_id: Lead.Company is not an external id field" in output
    assert "flows[1] (gone).table: the app database has no table 'missing_table'" in output


def test_check_reports_a_failed_login(tmp_path, org):
    path, _ = write_config(tmp_path, org)
    result = runner.invoke(app, ["check", "-c", str(path)], env={"SB_SECRET": "wrong"})
    assert result.exit_code == 1
    assert "cannot log in" in result.output


def test_config_errors_exit_2_with_the_location(tmp_path, org):
    path, _ = write_config(tmp_path, org)
    result = runner.invoke(app, ["check", "-c", str(path)], env={})
    assert result.exit_code == 2
    assert "connections.salesforce.client_secret: environment variable SB_SECRET is not set" in result.output


def test_sync_status_errors_and_retry(tmp_path, org):
    path, app_url = write_config(tmp_path, org)
    engine = create_engine(app_url)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO leads (last_name, company, email, stage) VALUES "
                                "('Hopper', 'Navy', 'grace@navy.example', 'New'), "
                                "('Turing', 'Bletchley', 'bad-email', 'New')"))
    result = invoke("sync", "-c", path)
    assert result.exit_code == 0, result.output
    assert "run 1: partial" in result.output

    result = invoke("errors", "-c", path)
    assert result.exit_code == 0, result.output
    assert "INVALID_EMAIL_ADDRESS" in result.output and "open" in result.output

    with engine.begin() as connection:
        connection.execute(text("UPDATE leads SET email = 'alan@bletchley.example' WHERE last_name = 'Turing'"))
    result = invoke("retry", "-c", path)
    assert result.exit_code == 0, result.output
    assert "succeeded" in result.output

    result = invoke("status", "-c", path)
    assert result.exit_code == 0, result.output
    assert "partial" in result.output and "retry" in result.output
    assert "open record errors: 0" in result.output
    assert "calls left today" in result.output

    row_id = engine.connect().execute(text("SELECT id FROM leads WHERE last_name = 'Hopper'")).scalar()
    with engine.begin() as connection:
        connection.execute(text("UPDATE leads SET company = 'US Navy' WHERE last_name = 'Hopper'"))
    result = invoke("sync", "leads", "--app-key", row_id, "-c", path)
    assert result.exit_code == 0, result.output
    engine.dispose()


def test_demo_runs_end_to_end(tmp_path):
    result = invoke("demo", "--workdir", tmp_path / "demo")
    assert result.exit_code == 0, result.output
    assert "run 1: succeeded" in result.output and "run 3: succeeded" in result.output
    assert (tmp_path / "demo" / "salesbridge.yaml").exists()


def test_prune_deletes_old_events_and_keeps_the_last_values(tmp_path, org):
    path, app_url = write_config(tmp_path, org)
    engine = create_engine(app_url)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO leads (last_name, company) VALUES ('Hopper', 'Navy')"))
    engine.dispose()
    assert invoke("sync", "-c", path).exit_code == 0
    engine = create_engine(app_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE sb_runs SET events_handled_at = finished_at"))
        connection.execute(text("INSERT INTO sb_events (flow, kind, app_key, details, created_at) "
                                "VALUES ('leads', 'won', '1', '{}', '2020-01-01 00:00:00+00:00')"))
    result = invoke("prune", "-c", path, "--days", 30)
    assert result.exit_code == 0, result.output
    assert "pruned 1 event(s)" in result.output
    with engine.connect() as connection:
        kinds = connection.execute(text("SELECT kind FROM sb_events")).scalars().all()
    engine.dispose()
    assert "won" not in kinds and "created" in kinds
