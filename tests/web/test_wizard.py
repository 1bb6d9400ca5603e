"""The wizard's pure logic: suggestions from describe results, answers to config and back, saved state."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from salesbridge.demo import demo_schema_file
from salesbridge.sandbox.describe import describe_object
from salesbridge.sandbox.server import build_org
from salesbridge.sync.config import ConfigError, parse_config
from salesbridge.web import wizard
from salesbridge.web.wizard import FlowAnswers, WizardError, WizardState


@pytest.fixture(scope="module")
def describes() -> dict[str, dict[str, Any]]:
    """Real describe answers of the sandbox org (with the example schema's Hub_Id__c external ids)."""
    org = build_org(schema_files=(demo_schema_file(),))
    return {name: describe_object(org, org.schema.get(name)) for name in ("Lead", "Account", "User")}


HAND_WRITTEN = {
    "connections": {
        "salesforce": {"login_url": "https://127.0.0.1:8787", "client_id": "salesbridge",
                       "client_secret": "${SF_SECRET}", "username": "admin@sandbox.example",
                       "password": "${SF_PASSWORD}", "verify": "/etc/ca.pem"},
        "app": {"url": "sqlite:///app.db"},
    },
    "settings": {"bulk_threshold": 500},
    "flows": [
        {"name": "leads", "salesforce": "Lead", "table": "leads", "direction": "both",
         "key": {"salesforce_id_column": "sf_id", "external_id": "Hub_Id__c"},
         "fields": {"LastName": "last_name", "Email": {"app": "email", "transform": "lower"},
                    "Status": {"app": "stage", "values": "pipeline"}},
         "filter": {"salesforce": "Sync_with_Hub__c = true"}, "conflict": "salesforce_wins",
         "schedule": {"every": "15m", "starting": "2026-12-01T08:00", "timezone": "Europe/Berlin"}},
        {"name": "accounts", "salesforce": "Account", "table": "accounts", "direction": "from_salesforce",
         "fields": [{"salesforce": "Name", "app": "name"}], "enabled": False},
    ],
    "value_maps": {"pipeline": {"to_salesforce": {"New": "Open - Not Contacted", "Won": "Closed - Converted"},
                                "from_salesforce": {"Open - Not Contacted": "New",
                                                    "Working - Contacted": "New",
                                                    "Closed - Converted": "Won"}}},
}
ENV = {"SF_SECRET": "s", "SF_PASSWORD": "p"}


def test_import_then_export_keeps_a_hand_written_file():
    state = wizard.import_config(HAND_WRITTEN, environ=ENV)
    assert state.finished
    assert [f.name for f in state.flows] == ["leads", "accounts"]
    assert state.flows[0].schedule == {"every": "15m", "starting": "2026-12-01T08:00",
                                       "timezone": "Europe/Berlin"}
    rebuilt = wizard.build_config(state)
    assert rebuilt["connections"] == HAND_WRITTEN["connections"]
    assert rebuilt["settings"] == {"bulk_threshold": 500}
    assert rebuilt["value_maps"] == HAND_WRITTEN["value_maps"]
    leads = rebuilt["flows"][0]
    assert leads["filter"] == {"salesforce": "Sync_with_Hub__c = true"}
    assert leads["conflict"] == "salesforce_wins"
    assert leads["fields"] == {"LastName": "last_name", "Email": {"app": "email", "transform": "lower"},
                               "Status": {"app": "stage", "values": "pipeline"}}
    assert rebuilt["flows"][1]["enabled"] is False
    # Both parse to the same configuration.
    assert parse_config(rebuilt, environ=ENV) == parse_config(HAND_WRITTEN, environ=ENV)


def test_import_refuses_an_invalid_file_naming_the_key():
    broken = {**HAND_WRITTEN, "flows": [{**HAND_WRITTEN["flows"][0], "direction": "sideways"}]}
    with pytest.raises(ConfigError, match=r"flows\[0\]\.direction"):
        wizard.import_config(broken, environ=ENV)


def test_yaml_datetimes_are_kept_as_text():
    text = wizard.config_yaml(HAND_WRITTEN).replace("'2026-12-01T08:00'", "2026-12-01 08:00:00")
    state = wizard.import_config(yaml.safe_load(text), environ=ENV)
    assert state.flows[0].schedule["starting"] == "2026-12-01T08:00"
    state.model_dump_json()  # JSON-safe


def test_owner_written_as_defaults_when_the_config_knows_them():
    state = wizard.import_config(HAND_WRITTEN, environ=ENV)
    state.flows[0].owner = "sales.manager@sandbox.example"
    state.flows[1].owner = "ignored@example.com"  # from_salesforce: never creates records in Salesforce
    built = wizard.build_config(state)
    if wizard.supports("defaults"):
        assert built["flows"][0]["defaults"] == {"OwnerId": {"user": "sales.manager@sandbox.example"}}
        assert wizard.import_config(built, environ=ENV).flows[0].owner == "sales.manager@sandbox.example"
    else:
        assert "defaults" not in built["flows"][0]
    assert "defaults" not in built["flows"][1]


def test_owner_rules_from_the_file_are_kept_until_a_user_is_chosen():
    rules = {"rules": [{"when": {"region": "EU"}, "user": "eu@sandbox.example"}],
             "user": "admin@sandbox.example"}
    data = {**HAND_WRITTEN, "flows": [{**HAND_WRITTEN["flows"][0], "defaults": {"OwnerId": rules,
                                                                              "LeadSource": "Web"}}]}
    try:
        state = wizard.import_config(data, environ=ENV)
    except ConfigError as error:  # the rules' shape is the config module's; only their survival is tested
        pytest.fail(f"the test's rules do not validate: {error}")
    flow = state.flows[0]
    assert flow.owner is None and flow.owner_from_file == rules
    assert wizard.build_config(state)["flows"][0]["defaults"] == {"OwnerId": rules, "LeadSource": "Web"}
    flow.owner = "sales.manager@sandbox.example"
    assert wizard.build_config(state)["flows"][0]["defaults"] == {
        "OwnerId": {"user": "sales.manager@sandbox.example"}, "LeadSource": "Web"}


def test_save_and_resume(tmp_path: Path):
    config_path = tmp_path / "hub.yaml"
    state, problem = wizard.load_state(config_path)
    assert state == WizardState() and problem is None and state.next_step().number == 1
    assert state.available(1) and not state.available(2)
    state.salesforce = {"login_url": "https://127.0.0.1:1", "client_id": "x"}
    state.complete(1)
    saved = wizard.save_state(config_path, state)
    assert saved == tmp_path / "hub.wizard.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    resumed, _ = wizard.load_state(config_path)
    assert resumed == state
    assert resumed.next_step().slug == "objects" and resumed.available(2) and not resumed.available(3)
    resumed.complete(2)
    resumed.complete(3)
    resumed.uncomplete_from(2)
    assert resumed.completed == [1]


def test_resume_starts_from_an_existing_config_file(tmp_path: Path):
    config_path = tmp_path / "salesbridge.yaml"
    config_path.write_text(wizard.config_yaml(parse_free(HAND_WRITTEN)))
    state, problem = wizard.load_state(config_path)
    assert problem is None and state.finished and state.flows[0].name == "leads"


def test_a_newer_file_wins_over_saved_answers_and_a_broken_one_is_reported(tmp_path: Path):
    config_path = tmp_path / "salesbridge.yaml"
    half_done = WizardState(salesforce={"login_url": "https://x"}, completed=[1])
    wizard.save_state(config_path, half_done)
    assert wizard.load_state(config_path) == (half_done, None)
    config_path.write_text(wizard.config_yaml(parse_free(HAND_WRITTEN)))
    os.utime(config_path, ns=(time.time_ns() + 10**9,) * 2)
    state, problem = wizard.load_state(config_path)
    assert problem is None and state.finished and [f.name for f in state.flows] == ["leads", "accounts"]
    config_path.write_text("flows: [\n")
    os.utime(config_path, ns=(time.time_ns() + 2 * 10**9,) * 2)
    state, problem = wizard.load_state(config_path)
    assert state == half_done and problem is not None and "not valid YAML" in problem
    config_path.write_text(wizard.config_yaml({**parse_free(HAND_WRITTEN), "flows": "none"}))
    os.utime(config_path, ns=(time.time_ns() + 3 * 10**9,) * 2)
    state, problem = wizard.load_state(config_path)
    assert state == half_done and "flows" in problem and "Finishing the wizard replaces it" in problem


def parse_free(data: dict[str, Any]) -> dict[str, Any]:
    """The hand-written config without environment references (load_state validates with os.environ)."""
    salesforce = {**data["connections"]["salesforce"], "client_secret": "s", "password": "p"}
    return {**data, "connections": {**data["connections"], "salesforce": salesforce}}


def test_connection_answers_keep_saved_secrets_unless_cleared():
    previous = {"login_url": "https://old", "client_secret": "${SB_SECRET_X}", "password": "${SB_SECRET_Y}"}
    form = {"login_url": " https://127.0.0.1:8787 ", "flow": "password", "client_id": "salesbridge",
            "username": "admin@sandbox.example", "client_secret": "", "password": "new", "verify": "false",
            "clear_security_token": "1"}
    answers = wizard.connection_answers(form, previous)
    assert answers == {"login_url": "https://127.0.0.1:8787", "flow": "password", "client_id": "salesbridge",
                       "username": "admin@sandbox.example", "client_secret": "${SB_SECRET_X}",
                       "password": "new", "verify": False}
    assert wizard.connection_answers({**form, "verify": "/ca.pem"}, {})["verify"] == "/ca.pem"
    assert "client_secret" not in wizard.connection_answers({**form, "clear_client_secret": "1"}, previous)
    with pytest.raises(WizardError, match="login URL"):
        wizard.connection_answers({**form, "login_url": ""}, previous)


@pytest.mark.parametrize(("table", "expected"), [
    ("leads", "Lead"), ("Lead", "Lead"), ("opportunities", "Opportunity"), ("contract_requests",
                                                                            "Contract_Request__c"),
    ("addresses", None), ("accounts", "Account"),
])
def test_suggest_object(table: str, expected: str | None):
    objects = ["Account", "Lead", "Opportunity", "Contract_Request__c", "Address__x"]
    assert wizard.suggest_object(table, objects) == expected


def test_flow_names_are_valid_and_unique():
    assert wizard.flow_name("leads", []) == "leads"
    assert wizard.flow_name("leads", ["leads", "leads_2"]) == "leads_3"
    assert wizard.flow_name("2024 orders", []) == "flow_2024_orders"


def test_new_flow_suggests_key_and_fields(describes: dict[str, dict[str, Any]]):
    columns = ["id", "first_name", "last_name", "company", "email", "stage", "sf_id", "is_deleted"]
    flow = wizard.new_flow("leads", columns, "id", "Lead", describes["Lead"], "both", taken=[])
    assert flow.name == "leads" and flow.salesforce == "Lead" and flow.direction == "both"
    assert flow.key == {"salesforce_id_column": "sf_id", "external_id": "Hub_Id__c"}
    assert flow.fields == [{"salesforce": "FirstName", "app": "first_name"},
                           {"salesforce": "LastName", "app": "last_name"},
                           {"salesforce": "Company", "app": "company"},
                           {"salesforce": "Email", "app": "email"}]


def test_read_only_fields_are_suggested_one_way(describes: dict[str, dict[str, Any]]):
    fields = wizard.suggest_fields(["name", "is_converted"], describes["Lead"])
    assert {"salesforce": "IsConverted", "app": "is_converted", "direction": "from_salesforce"} in fields


def test_field_answers_from_the_mapping_form(describes: dict[str, dict[str, Any]]):
    previous = [{"salesforce": "Email", "app": "email", "transform": "lower"},
                {"salesforce": "Status", "app": "stage", "values": "pipeline"}]
    form = {"sf__email": "email", "sf__stage": "Status", "dir__stage": "to_salesforce",
            "sf__last_name": "LastName", "sf__notes": ""}
    fields = wizard.field_answers(form, ["last_name", "email", "stage", "notes"], describes["Lead"], previous)
    assert fields == [{"salesforce": "LastName", "app": "last_name"},
                      {"salesforce": "Email", "app": "email", "transform": "lower"},
                      {"salesforce": "Status", "app": "stage", "values": "pipeline",
                       "direction": "to_salesforce"}]


@pytest.mark.parametrize(("form", "message"), [
    ({"sf__a": "NoSuchField__c"}, "not a field"),
    ({"sf__a": "LastName", "sf__b": "lastname"}, "mapped to both 'a' and 'b'"),
    ({"sf__a": "IsConverted"}, "read-only"),
    ({"sf__a": "LastName", "dir__a": "sideways"}, "unknown direction"),
    ({}, "at least one"),
])
def test_field_answers_refuse(describes: dict[str, dict[str, Any]], form: dict[str, str], message: str):
    with pytest.raises(WizardError, match=message):
        wizard.field_answers(form, ["a", "b"], describes["Lead"], [])


def test_status_fields_and_picklist_values(describes: dict[str, dict[str, Any]]):
    flow = FlowAnswers(name="leads", salesforce="Lead", table="leads",
                       fields=[{"salesforce": "LastName", "app": "last_name"},
                               {"salesforce": "status", "app": "stage"}])
    found = wizard.status_fields(flow, describes["Lead"])
    assert [(f["app"], d["name"]) for f, d in found] == [("stage", "Status")]
    values = wizard.picklist_values(found[0][1])
    assert "Open - Not Contacted" in values and "Closed - Converted" in values
    assert wizard.map_name(flow, found[0][0], taken=["leads_status"]) == "leads_status_2"
    assert wizard.map_name(flow, {"salesforce": "Status", "values": "pipeline"}, taken=[]) == "pipeline"


def test_pipeline_values_keep_the_map_order_then_add_column_values():
    existing = {"to_salesforce": {"Won": "Closed - Converted", "New": "Open - Not Contacted"}}
    assert wizard.pipeline_values(existing, ["Lost", "New", None, "", "Qualified"]) == [
        "Won", "New", "Lost", "Qualified"]
    assert wizard.pipeline_values({"New": "Open"}, []) == ["New"]


def test_value_map_from_rows():
    one_to_one = [("New", "Open - Not Contacted"), ("Won", "Closed - Converted"), ("Lost", "")]
    assert wizard.value_map_from_rows(one_to_one, None) == {"New": "Open - Not Contacted",
                                                            "Won": "Closed - Converted"}
    assert wizard.value_map_from_rows([("New", "")], None) is None
    many = [("New", "Open - Not Contacted"), ("Fresh", "Open - Not Contacted")]
    assert wizard.value_map_from_rows(many, "New") == {
        "to_salesforce": {"New": "Open - Not Contacted", "Fresh": "Open - Not Contacted"},
        "from_salesforce": {"Open - Not Contacted": "New"}, "default_from_salesforce": "New"}
    for rows, default in ((one_to_one, None), (many, "New")):
        built = wizard.value_map_from_rows(rows, default)
        parse_config({**parse_free(HAND_WRITTEN), "value_maps": {"pipeline": built}})


def test_unchanged_value_map_is_kept_as_written():
    existing = HAND_WRITTEN["value_maps"]["pipeline"]
    rows = [("New", "Open - Not Contacted"), ("Won", "Closed - Converted")]
    assert wizard.value_map_from_rows(rows, None, existing) is existing
    assert wizard.value_map_from_rows(rows + [("Lost", "Closed - Not Converted")], None, existing) != existing


def test_check_picklist():
    wizard.check_picklist({"New": "Open"}, ["Open", "Closed"])
    with pytest.raises(WizardError, match="Opn"):
        wizard.check_picklist({"New": "Opn"}, ["Open", "Closed"])


def test_owner_applies_only_to_flows_that_create_in_salesforce(describes: dict[str, dict[str, Any]]):
    both = FlowAnswers(name="leads", salesforce="Lead", table="leads", direction="both")
    inbound = FlowAnswers(name="leads", salesforce="Lead", table="leads", direction="from_salesforce")
    assert wizard.owner_applies(both, describes["Lead"])
    assert not wizard.owner_applies(inbound, describes["Lead"])
    assert not wizard.owner_applies(both, describes["User"])


def test_schedule_answers():
    assert wizard.schedule_answers("15m", "2026-12-01", "08:00", "Europe/Berlin", None) == {
        "every": "15m", "timezone": "Europe/Berlin", "starting": "2026-12-01T08:00"}
    assert wizard.schedule_answers("1d", "", "", "", None) == {"every": "1d", "timezone": "UTC"}
    assert wizard.schedule_answers("", "", "", "UTC", {"every": "1h"}) is None
    assert wizard.schedule_answers("", "", "", "UTC", {"cron": "0 8 * * 1"}) == {"cron": "0 8 * * 1"}
    with pytest.raises(WizardError, match="start date"):
        wizard.schedule_answers("1h", "", "09:00", "UTC", None)


def test_schedules_reach_the_config_and_are_validated():
    state = wizard.import_config(HAND_WRITTEN, environ=ENV)
    assert wizard.supports("schedule")
    state.flows[1].schedule = {"every": "1d", "starting": "2026-12-01T06:30", "timezone": "Europe/Berlin"}
    config = wizard.validate(state, ENV)
    assert config.flows[1].schedule.every == "1d"
    state.flows[1].schedule = {"every": "fortnightly", "timezone": "UTC"}
    with pytest.raises(ConfigError, match=r"flows\[1\]\.schedule"):
        wizard.validate(state, ENV)


def test_value_maps_no_field_uses_are_dropped():
    state = wizard.import_config(HAND_WRITTEN, environ=ENV)
    state.flows[0].fields = [f for f in state.flows[0].fields if f["salesforce"] != "Status"]
    assert "value_maps" not in wizard.build_config(state)
