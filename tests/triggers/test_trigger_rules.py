"""Event rules, chains and the loop guard as pure functions, and their configuration errors (no servers)."""

from __future__ import annotations

import pytest

from salesbridge.sync.config import ConfigError, parse_config
from salesbridge.triggers.rules import (
    MAX_CHAIN_LENGTH,
    EventFacts,
    chain_path,
    changed_columns,
    compile_rules,
    match_events,
    refusal,
    rule_matches,
    same_value,
)

BASE = {
    "connections": {"salesforce": {"login_url": "https://127.0.0.1:8787", "client_id": "c", "client_secret": "s",
                                   "username": "u@example.com", "password": "p"},
                    "app": {"url": "sqlite:///app.db"}},
    "flows": [
        {"name": "leads", "salesforce": "Lead", "table": "leads",
         "fields": {"LastName": "last_name", "Status": {"app": "stage", "values": "stages"},
                    "Sync_with_Hub__c": "in_hub"}},
        {"name": "lead_requests", "salesforce": "Contract", "table": "leads", "direction": "to_salesforce",
         "fields": {"Description": "last_name"}},
        {"name": "accounts", "salesforce": "Account", "table": "accounts", "fields": {"Name": "name"}},
    ],
    "value_maps": {"stages": {"New": "Open - Not Contacted", "Approved": "Closed - Converted"}},
}


def config_with(triggers=(), **flow_extras):
    flows = [{**flow, **flow_extras.get(flow["name"], {})} for flow in BASE["flows"]]
    return parse_config({**BASE, "flows": flows, "triggers": list(triggers)}, "hub.yaml")


def rule(name="r", run=("accounts",), **on):
    return {"name": name, "on": {"flow": "leads", **on}, "run": list(run)}


def compiled(**on):
    [only] = compile_rules(config_with([rule(**on)]))
    return only


def event(kind="updated", origin="app", values=None, old=None, flow="leads", key="7", event_id=1):
    return EventFacts(event_id, flow, kind, key, origin, values, old)


# -- matching -------------------------------------------------------------------------------------------


def test_status_rule_fires_when_the_value_is_reached_not_while_it_stays():
    approved = compiled(event="status", field="stage", becomes="Approved")
    assert rule_matches(approved, event(values={"stage": "Approved"}, old={"stage": "New"}))
    assert not rule_matches(approved, event(values={"stage": "Approved"}, old={"stage": "Approved"}))
    assert not rule_matches(approved, event(values={"stage": "New"}, old={"stage": "Approved"}))
    assert rule_matches(approved, event("created", values={"stage": "Approved"})), "created with the value"
    assert not rule_matches(approved, event("created", values={"stage": "New"}))
    assert not rule_matches(approved, event("deleted"))


def test_unknown_previous_values_count_as_a_change():
    approved = compiled(event="status", field="stage", becomes="Approved")
    assert rule_matches(approved, event(values={"stage": "Approved"}, old=None))
    assert rule_matches(approved, event(values={"stage": "Approved"}, old={"last_name": "Hopper"}))
    assert not rule_matches(approved, event(values=None)), "an event without values cannot be compared"


def test_a_salesforce_field_name_takes_a_salesforce_value_translated_through_the_value_map():
    approved = compiled(event="status", field="Status", becomes="Closed - Converted")
    assert (approved.column, approved.becomes) == ("stage", "Approved")
    assert rule_matches(approved, event(values={"stage": "Approved"}, old={"stage": "New"}))


def test_side_limits_a_rule_to_changes_made_on_that_side():
    from_salesforce = compiled(event="updated", side="salesforce")
    assert rule_matches(from_salesforce, event(origin="salesforce", values={}))
    assert not rule_matches(from_salesforce, event(origin="app", values={}))
    anywhere = compiled(event="updated")
    assert rule_matches(anywhere, event(origin="app")) and rule_matches(anywhere, event(origin="salesforce"))


def test_field_rules_fire_only_when_that_field_changed():
    renamed = compiled(event="updated", field="LastName")
    assert renamed.column == "last_name"
    assert rule_matches(renamed, event(values={"last_name": "Hopper", "stage": "New"},
                                       old={"last_name": "Murray", "stage": "New"}))
    assert not rule_matches(renamed, event(values={"last_name": "Hopper", "stage": "Approved"},
                                           old={"last_name": "Hopper", "stage": "New"}))


def test_created_and_deleted_rules_and_flow_names():
    created = compiled(event="created")
    deleted = compiled(event="deleted")
    assert rule_matches(created, event("created")) and not rule_matches(created, event("updated"))
    assert rule_matches(deleted, event("deleted")) and not rule_matches(deleted, event("created"))
    assert not rule_matches(created, event("created", flow="accounts"))


def test_lifecycle_events_the_engine_records_can_start_rules():
    won = compiled(event="won", side="salesforce")
    assert rule_matches(won, event("won", origin="salesforce"))
    assert not rule_matches(won, event("lost", origin="salesforce"))
    assert not rule_matches(won, event("updated", origin="salesforce", values={"stage": "Closed Won"}))
    assert rule_matches(compiled(event="converted"), event("converted", origin="salesforce"))


def test_match_events_pairs_every_matching_rule_with_every_event_in_order():
    config = config_with([rule("any-create", event="created"), rule("approved", event="status", field="stage",
                                                                    becomes="Approved")])
    rules = compile_rules(config)
    events = [event("created", values={"stage": "Approved"}, event_id=1),
              event("updated", values={"stage": "New"}, old={"stage": "Approved"}, event_id=2),
              event("created", values={"stage": "New"}, event_id=3)]
    assert [(r.name, e.id) for r, e in match_events(rules, events)] == [
        ("any-create", 1), ("approved", 1), ("any-create", 3)]


def test_disabled_rules_are_left_out():
    config = config_with([{**rule(event="created"), "enabled": False}])
    assert compile_rules(config) == []


def test_values_compare_as_data():
    assert same_value(100, "100.00") and same_value("Approved", "Approved")
    assert same_value(1, True) and same_value("false", False) and not same_value(None, False)
    assert changed_columns({"a": 1, "b": "x"}, {"a": "1", "b": "y"}) == ["b"]
    assert changed_columns({"a": 1}, None) is None


# -- the loop guard -------------------------------------------------------------------------------------


def test_chain_paths_grow_from_the_cause_and_never_reenter_a_flow():
    assert chain_path(None, "accounts") == ["accounts"]
    assert chain_path({"path": ["leads", "accounts"]}, "accounts") == ["leads", "accounts"]
    assert chain_path({"path": ["leads"]}, "accounts") == ["leads", "accounts"]
    assert refusal(["accounts"], "contacts") is None
    assert "already in the chain accounts -> contacts" in refusal(["accounts", "contacts"], "accounts")
    long_path = [f"flow{i}" for i in range(MAX_CHAIN_LENGTH)]
    assert "at its limit of 5 flows" in refusal(long_path, "another")


# -- configuration --------------------------------------------------------------------------------------


def test_chains_and_rules_parse_with_shorthands():
    config = config_with(
        [rule(run=["accounts", {"flow": "lead_requests", "for": "record"}], event="created")],
        accounts={"chain": {"events": ["created"], "then": [{"flow": "leads", "for": "related", "via": "account_id"}]}},
    )
    [target] = config.flow("accounts").chain.then
    assert (target.flow, target.for_, target.via) == ("leads", "related", "account_id")
    assert [(t.flow, t.for_) for t in config.triggers[0].run] == [("accounts", "all"), ("lead_requests", "record")]
    assert config_with(accounts={"chain": {"then": ["leads"]}}).flow("accounts").chain.events == [
        "created", "updated", "deleted"]


@pytest.mark.parametrize(("triggers", "extras", "key", "message"), [
    ([rule(run=["nowhere"], event="created")], {}, "triggers[0].run[0].flow", "no flow named 'nowhere'"),
    ([{**rule(event="created"), "on": {"flow": "ghosts", "event": "created"}}], {}, "triggers[0].on.flow",
     "no flow named 'ghosts' (known: leads, lead_requests, accounts)"),
    ([rule(event="status", field="colour", becomes="red")], {}, "triggers[0].on.field",
     "'colour' is not a mapped field of flow 'leads'"),
    ([rule(event="status", field="Status", becomes="Approved")], {}, "triggers[0].on.field",
     "'Approved' is not a Salesforce value of value map 'stages'"),
    ([rule(event="status", field="stage")], {}, "triggers[0].on", "event 'status' needs 'field' and 'becomes'"),
    ([rule(event="deleted", field="stage")], {}, "triggers[0].on", "event 'deleted' takes no 'field'"),
    ([rule(event="changed")], {}, "triggers[0].on.event", "Input should be 'created', 'updated'"),
    ([rule(event="won", field="stage")], {}, "triggers[0].on", "event 'won' takes no 'field'"),
    ([rule(run=[{"flow": "accounts", "for": "related"}], event="created")], {}, "triggers[0].run[0]",
     "'for: related' needs 'via'"),
    ([rule(run=[{"flow": "accounts", "for": "record"}], event="created")], {}, "triggers[0].run[0].for",
     "'for: record' needs a flow on the same table"),
    ([rule(run=["leads"], event="created")], {}, "triggers[0].run[0].flow", "flow 'leads' cannot run itself"),
    ([rule("twice", event="created"), rule("twice", event="deleted")], {}, "triggers[1].name", "used twice"),
    ([], {"accounts": {"chain": {"then": [{"flow": "contacts"}]}}}, "flows[2].chain.then[0].flow",
     "no flow named 'contacts'"),
    ([], {"accounts": {"chain": {"then": []}}}, "flows[2].chain.then", "at least 1 item"),
    ([], {"accounts": {"chain": {"then": ["leads"], "events": ["won"]}}}, "flows[2].chain.events[0]",
     "Input should be 'created', 'updated' or 'deleted'"),
])
def test_rule_and_chain_mistakes_name_the_key(triggers, extras, key, message):
    with pytest.raises(ConfigError) as caught:
        config_with(triggers, **extras)
    assert caught.value.key == key, caught.value
    assert message in caught.value.expected
