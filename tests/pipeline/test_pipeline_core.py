"""The sync-core pieces the pipeline added, tested on their own: value events and app-side owner changes
(lifecycle), the config checks of ``events`` and ``conversion.when``, values added to standard picklists in a
sandbox schema file, and a conversion Salesforce refuses (a record error, retried)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from salesbridge.demo import demo_schema_file
from salesbridge.flows.pipeline import registry
from salesbridge.flows.pipeline.recipe import FLOW_LEADS, pipeline_recipe, sandbox_schema_file, with_pipeline
from salesbridge.sandbox.schema.loader import SchemaFileError, load_schema_file
from salesbridge.sandbox.schema.standard import standard_schema
from salesbridge.sandbox.server import RunningSandbox, start_in_thread
from salesbridge.store import repository as repo
from salesbridge.sync import lifecycle
from salesbridge.sync.config import ConfigError, parse_config
from salesbridge.sync.mapping import Mapper
from salesbridge.sync.runs import Hub

CONNECTIONS = {"salesforce": {"login_url": "https://login.example", "client_id": "c", "client_secret": "s",
                              "username": "u", "password": "p"}, "app": {"url": "sqlite://"}}


def leads_flow(**changes: Any) -> dict[str, Any]:
    flow = next(f for f in pipeline_recipe()["flows"] if f["name"] == FLOW_LEADS)
    return {**flow, **changes}


def config_with(*flows: dict[str, Any]) -> dict[str, Any]:
    recipe = pipeline_recipe()
    others = [f for f in recipe["flows"] if f["name"] != FLOW_LEADS]
    return {"connections": CONNECTIONS, "flows": [*others, *flows], "value_maps": recipe["value_maps"]}


def test_value_events_are_recorded_when_a_record_enters_the_values() -> None:
    events = {"won": {"stage": "Won"}, "lost": {"stage": "Lost"}}
    assert lifecycle.value_events(events, None, {"stage": "Lost"}, "app") == [
        ("lost", {"origin": "app", "stage": "Lost"})]
    assert lifecycle.value_events(events, {"stage": "Proposal"}, {"stage": "Won"}, "salesforce") == [
        ("won", {"origin": "salesforce", "stage": "Won"})]
    assert lifecycle.value_events(events, {"stage": "Won", "phone": "1"}, {"stage": "Won", "phone": "2"},
                                  "app") == [], "an unrelated edit of a won record is no second win"
    assert lifecycle.value_events(events, {}, {"stage": "Won"}, "app")[0][0] == "won", "unknown before: entered"


def test_app_side_owner_changes_and_value_events_come_from_the_values_before() -> None:
    config = parse_config(config_with(leads_flow()))
    mapper = Mapper(config.flow(FLOW_LEADS), config.value_maps)
    before = {"owner_email": "a@x.example", "stage": "Qualified"}
    after = {"owner_email": "b@x.example", "stage": "Lost"}
    found = lifecycle.from_app("Lead", {"Status": "Closed - Not Converted"}, mapper, before, after)
    assert found == [("owner_changed", {"origin": "app", "from": "a@x.example", "to": "b@x.example"}),
                     ("lost", {"origin": "app", "stage": "Lost"})]
    assert lifecycle.from_app("Lead", {}, mapper, None, after) == [("lost", {"origin": "app", "stage": "Lost"})], \
        "a new record has no owner change"
    assert lifecycle.from_app("Opportunity", {"StageName": "Closed Won"}) == [
        ("won", {"origin": "app", "stage": "Closed Won"})], "the old form still works"


@pytest.mark.parametrize(("flow", "key", "expected"), [
    (leads_flow(events={"won": {"stage_name": "Won"}}), "flows[2]", "events.won: column 'stage_name' is not mapped"),
    (leads_flow(events={"won": {}}), "flows[2]", "events.won: give at least one"),
    (leads_flow(conversion={"to": "Contact", "fields": {"LastName": "last_name"}, "when": {"phase": "Won"}}),
     "flows[2]", "conversion.when: column 'phase' is not mapped"),
    (leads_flow(conversion={"to": "Opportunity", "fields": {"Name": "company"}, "when": {"stage": "Won"},
                            "opportunity": False}), "flows[2]", "conversion.opportunity"),
    ({**leads_flow(), "name": "accounts_x", "salesforce": "Account",
      "conversion": {"to": "Contact", "fields": {"LastName": "last_name"}, "when": {"stage": "Won"}}},
     "flows[2]", "only a flow of Lead converts"),
])
def test_events_and_conversion_when_are_checked(flow: dict[str, Any], key: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(config_with(flow))
    assert caught.value.key == key and expected in caught.value.expected


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "schema.yaml"
    path.write_text(text)
    return path


def test_schema_files_add_values_to_standard_picklists(tmp_path: Path) -> None:
    schema = standard_schema()
    load_schema_file(write(tmp_path, "objects:\n  Lead:\n    picklist_values:\n"
                                     "      Status: [Qualified, qualified, Open - Not Contacted, Nurturing]\n"), schema)
    status = schema.get("Lead").field("Status")
    assert status.picklist_values[-2:] == ["Qualified", "Nurturing"] and status.restricted_picklist
    assert status.picklist_values.count("Open - Not Contacted") == 1
    assert "Qualified" not in standard_schema().get("Lead").field("Status").picklist_values, "no shared state"


@pytest.mark.parametrize(("text", "key", "expected"), [
    ("objects:\n  Lead:\n    picklist_values:\n      Company: [A]\n", "objects.Lead.picklist_values.Company",
     "no picklist field named Company"),
    ("objects:\n  Lead:\n    picklist_values:\n      Status: Qualified\n", "objects.Lead.picklist_values.Status",
     "a list of picklist values"),
    ("objects:\n  Lead:\n    picklist_values: [Status]\n", "objects.Lead.picklist_values", "expected a mapping"),
])
def test_picklist_value_errors_name_the_key(tmp_path: Path, text: str, key: str, expected: str) -> None:
    with pytest.raises(SchemaFileError) as caught:
        load_schema_file(write(tmp_path, text), standard_schema())
    assert caught.value.key == key and expected in caught.value.expected


@pytest.fixture
def pipeline_org() -> Iterator[RunningSandbox]:
    running = start_in_thread(schema_files=(demo_schema_file(), sandbox_schema_file()))
    try:
        yield running
    finally:
        running.stop()


def test_a_refused_conversion_is_a_record_error_that_a_retry_clears(pipeline_org: RunningSandbox,
                                                                     tmp_path: Path) -> None:
    def hub_converting_with(status: str) -> Hub:
        config = with_pipeline({"connections": {
            "salesforce": {"login_url": pipeline_org.url, "client_id": "salesbridge",
                           "client_secret": "salesbridge-secret", "username": "admin@sandbox.example",
                           "password": "sandbox-pass", "verify": str(pipeline_org.ca_path)},
            "app": {"url": f"sqlite:///{tmp_path / 'app.db'}"}}})
        config["flows"][2]["conversion"]["status"] = status
        return Hub(parse_config(config, "pipeline.yaml"))

    wrong = hub_converting_with("Working - Contacted")  # not a converted status: Salesforce refuses it
    lead = registry.create(wrong.engine, "leads", {"last_name": "Won", "company": "Won Co", "stage": "Won"})
    report = wrong.sync()
    assert report.failed == 1
    (error,) = registry.open_errors(wrong.engine)
    assert (error["error_code"], error["operation"], error["record_id"]) == ("INVALID_STATUS", "convert",
                                                                             str(lead["id"]))
    assert registry.get(wrong.engine, "leads", lead["id"])["sf_object"] == "Lead", "the Lead was created"
    wrong.engine.dispose()

    fixed = hub_converting_with("Closed - Converted")
    retried = fixed.retry()
    assert retried.status == "succeeded", retried.errors
    assert registry.get(fixed.engine, "leads", lead["id"])["sf_object"] == "Contact"
    assert registry.open_errors(fixed.engine) == []
    with Session(fixed.engine) as session:
        kinds = [e.kind for e in repo.list_events_after(session, flow=FLOW_LEADS)]
    assert kinds.count("converted") == 1 and kinds.count("won") == 1
    fixed.engine.dispose()


def test_convert_leads_converts_a_batch_per_call_and_fails_leads_alone(sf_client) -> None:  # noqa: ANN001
    leads = [r.id for r in sf_client.create("Lead", [{"LastName": f"L{n}", "Company": f"C{n}"} for n in range(103)])]
    sf_client.convert_lead(leads[1], "Closed - Converted")
    sf_client.reset_counter()

    answers = sf_client.convert_leads([{"lead_id": lead, "converted_status": "Closed - Converted",
                                        "do_not_create_opportunity": n % 2 == 0} for n, lead in enumerate(leads)])

    assert sf_client.api_calls == 2, "100 leads per convertLead call"
    assert [a["leadId"] for a in answers] == leads
    assert answers[1]["error"].error_code == "CANNOT_UPDATE_CONVERTED_LEAD" and answers[1]["contactId"] is None
    assert all(a["error"] is None and a["contactId"] for n, a in enumerate(answers) if n != 1)
    assert answers[0]["opportunityId"] is None and answers[3]["opportunityId"]
    converted = sf_client.query_all("SELECT Id FROM Lead WHERE IsConverted = true")
    assert len(converted) == 103
