"""The integration rules as pure functions: defaults (owners), match decisions, the sync flag."""

from __future__ import annotations

import pytest

from salesbridge.sync.config import DefaultValue, MatchConfig
from salesbridge.sync.mapping import MappingError
from salesbridge.sync.rules import (
    app_match_key,
    apply_defaults,
    candidate_queries,
    choose_default,
    decide_match,
    default_users,
    flag_condition,
    group_candidates,
    salesforce_match_key,
)

USERS = {"sales.manager@sandbox.example": "0058d0000000002AAA", "emea@example.com": "0058d0000000003AAA"}
OWNER = DefaultValue.model_validate({
    "user": "sales.manager@sandbox.example",
    "rules": [{"when": {"region": "EMEA"}, "user": "emea@example.com"},
              {"when": {"region": "APAC", "tier": 1}, "value": "0058d0000000009AAA"}],
})


def test_owner_rule_picks_first_matching_rule_else_the_default_user():
    assert choose_default(OWNER, {"region": "emea"}) == ("user", "emea@example.com")
    assert choose_default(OWNER, {"region": "APAC", "tier": "1"}) == ("value", "0058d0000000009AAA")
    assert choose_default(OWNER, {"region": "APAC", "tier": 2}) == ("user", "sales.manager@sandbox.example")
    assert default_users({"OwnerId": OWNER}) == {"sales.manager@sandbox.example", "emea@example.com"}


def test_defaults_fill_only_empty_fields_and_resolve_users():
    defaults = {"OwnerId": OWNER, "LeadSource": DefaultValue.model_validate("Partner")}
    values = apply_defaults(defaults, {"region": "EMEA"}, {"LastName": "X", "LeadSource": None}, USERS.get)
    assert values == {"LastName": "X", "OwnerId": "0058d0000000003AAA", "LeadSource": "Partner"}
    kept = apply_defaults(defaults, {}, {"OwnerId": "0058d000000000AAAA", "LeadSource": "Web"}, USERS.get)
    assert kept == {"OwnerId": "0058d000000000AAAA", "LeadSource": "Web"}


def test_unknown_default_user_is_a_record_error_naming_the_user():
    defaults = {"OwnerId": DefaultValue.model_validate({"user": "nobody@example.com"})}
    with pytest.raises(MappingError) as caught:
        apply_defaults(defaults, {}, {}, USERS.get)
    assert caught.value.error_code == "DEFAULT_USER_NOT_FOUND"
    assert "'nobody@example.com'" in caught.value.message and caught.value.fields == ["OwnerId"]


MATCH = MatchConfig(fields={"Email": "email"})


def test_match_keys_are_normalised_and_empty_values_do_not_match():
    assert app_match_key(MATCH, {"email": " Ada@Example.COM "}) == ("ada@example.com",)
    assert app_match_key(MATCH, {"email": ""}) is None
    assert salesforce_match_key(MATCH, {"email": "ADA@example.com"}) == ("ada@example.com",)


def records(*pairs):
    return [{"Id": sf_id, "Email": email, "LastModifiedDate": stamp} for sf_id, email, stamp in pairs]


def test_exactly_one_links_none_creates_many_follows_on_many():
    one = records(("003A", "a@x.com", "2026-01-01"))
    many = records(("003A", "a@x.com", "2026-01-01"), ("003B", "a@x.com", "2026-03-01"))
    assert decide_match(one, "skip", "Contact Email = 'a@x.com'").sf_id == "003A"
    assert decide_match([], "skip", "").action == "create"
    refused = decide_match(many, "skip", "Contact Email = 'a@x.com'")
    assert refused.action == "error" and "2 records match Contact Email = 'a@x.com': 003A, 003B" in refused.message
    assert decide_match(many, "create", "").action == "create"
    assert decide_match(many, "most_recent", "").sf_id == "003B"


def test_candidates_already_linked_elsewhere_are_left_out():
    grouped = group_candidates(MATCH, records(("003A", "a@x.com", ""), ("003B", "A@x.com", "")), taken={"003A"})
    assert [c["Id"] for c in grouped[("a@x.com",)]] == ["003B"]


def test_candidate_queries_batch_many_keys_into_few_queries():
    keys = [(f"user{i}@x.com",) for i in range(250)]
    queries = candidate_queries("Contact", MATCH, keys, condition="IsDeleted = false")
    assert len(queries) == 3
    assert queries[0].startswith("SELECT Id, LastModifiedDate, Email FROM Contact WHERE Email IN ('user0@x.com'")
    assert queries[0].endswith("AND (IsDeleted = false)")
    assert "'o\\'brien@x.com'" in candidate_queries("Contact", MATCH, [("o'brien@x.com",)])[0]


def test_sync_flag_is_required_on_reads():
    assert flag_condition("Sync_with_Hub__c", None) == "Sync_with_Hub__c = true"
    assert flag_condition("Sync_with_Hub__c", "Rating = 'Hot'") == "Sync_with_Hub__c = true AND (Rating = 'Hot')"
    assert flag_condition(None, "Rating = 'Hot'") == "Rating = 'Hot'"
