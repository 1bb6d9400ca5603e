"""SOQL features checked on whole answers: output shapes, aggregates, queryAll, errors, AST and columns."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from soql_fixtures import IDS, NOW, attrs, make_schema, make_store, url

from salesbridge.sandbox.errors import SandboxApiError
from salesbridge.sandbox.ids import make_id
from salesbridge.sandbox.schema import Schema
from salesbridge.sandbox.schema.standard import standard_schema
from salesbridge.sandbox.soql import ast, compile_query, execute, flat_row, parse
from salesbridge.sandbox.store import Store


@pytest.fixture(scope="module")
def schema() -> Schema:
    return make_schema()


@pytest.fixture(scope="module")
def store() -> Store:
    return make_store()


def run(query: str, schema: Schema, store: Store, **kw: Any) -> list[dict[str, Any]]:
    return execute(query, schema, store, now=NOW, **kw).records


def error_of(query: str, schema: Schema, store: Store) -> SandboxApiError:
    with pytest.raises(SandboxApiError) as caught:
        execute(query, schema, store, now=NOW)
    return caught.value


# -- output shapes ---------------------------------------------------------------------------------------
def test_fields_come_back_in_canonical_spelling_after_attributes(schema: Schema, store: Store) -> None:
    result = execute("select id, NAME, annualrevenue from ACCOUNT where name = 'acme'", schema, store, now=NOW)
    assert result.object_name == "Account"
    assert result.records == [{"attributes": attrs("Account", "A1"), "Id": IDS["A1"], "Name": "Acme",
                               "AnnualRevenue": 5000000.0}]
    assert list(result.records[0]) == ["attributes", "Id", "Name", "AnnualRevenue"]


def test_parent_fields_nest_under_the_relationship_in_select_order(schema: Schema, store: Store) -> None:
    records = run("SELECT Name, Parent.Name, Id, parent.owner.alias, Owner.Email FROM Account "
                  "WHERE Name IN ('Acme', 'Globex') ORDER BY Name", schema, store)
    assert records == [
        {"attributes": attrs("Account", "A1"), "Name": "Acme", "Parent": None, "Id": IDS["A1"],
         "Owner": {"attributes": attrs("User", "U1"), "Email": "ada@example.com"}},
        {"attributes": attrs("Account", "A2"), "Name": "Globex",
         "Parent": {"attributes": attrs("Account", "A1"), "Name": "Acme",
                    "Owner": {"attributes": attrs("User", "U1"), "Alias": "ada"}},
         "Id": IDS["A2"],
         "Owner": {"attributes": attrs("User", "U2"), "Email": "sam@example.com"}},
    ]
    assert list(records[1]) == ["attributes", "Name", "Parent", "Id", "Owner"]


def test_polymorphic_lookups_answer_the_name_type_with_the_real_objects_url(schema: Schema, store: Store) -> None:
    records = run("SELECT Subject, Who.Name, Who.Type, What.Name FROM Task ORDER BY Subject", schema, store)
    assert records == [
        {"attributes": attrs("Task", "T1"), "Subject": "Call",
         "Who": {"attributes": {"type": "Name", "url": url("Contact", "C1")}, "Name": "Ann Lee", "Type": "Contact"},
         "What": {"attributes": {"type": "Name", "url": url("Account", "A1")}, "Name": "Acme"}},
        {"attributes": attrs("Task", "T2"), "Subject": "Email",
         "Who": {"attributes": {"type": "Name", "url": url("Lead", "L1")}, "Name": "Lara Croft", "Type": "Lead"},
         "What": {"attributes": {"type": "Name", "url": url("Opportunity", "O1")}, "Name": "Acme - Big"}},
        {"attributes": attrs("Task", "T3"), "Subject": "Note", "Who": None, "What": None},
    ]


def test_child_subquery_answers_a_query_result_or_null(schema: Schema, store: Store) -> None:
    records = run("SELECT Name, (SELECT LastName, Account.Name FROM Contacts WHERE Email != null "
                  "ORDER BY LastName DESC) FROM Account ORDER BY Name LIMIT 3", schema, store)
    assert records == [
        {"attributes": attrs("Account", "A1"), "Name": "Acme", "Contacts": {
            "totalSize": 1, "done": True, "records": [
                {"attributes": attrs("Contact", "C1"), "LastName": "Lee",
                 "Account": {"attributes": attrs("Account", "A1"), "Name": "Acme"}}]}},
        {"attributes": attrs("Account", "A2"), "Name": "Globex", "Contacts": {
            "totalSize": 1, "done": True, "records": [
                {"attributes": attrs("Contact", "C3"), "LastName": "Nguyen",
                 "Account": {"attributes": attrs("Account", "A2"), "Name": "Globex"}}]}},
        {"attributes": attrs("Account", "A3"), "Name": "initech", "Contacts": None},
    ]


def test_child_subqueries_order_limit_and_custom_relationships(schema: Schema, store: Store) -> None:
    records = run("SELECT Name, (SELECT Name FROM Opportunities ORDER BY Amount DESC LIMIT 1), "
                  "(SELECT Name FROM ChildAccounts ORDER BY Name DESC) FROM Account WHERE Name = 'Acme'",
                  schema, store)
    assert records[0]["Opportunities"] == {"totalSize": 1, "done": True, "records": [
        {"attributes": attrs("Opportunity", "O1"), "Name": "Acme - Big"}]}
    assert [child["Name"] for child in records[0]["ChildAccounts"]["records"]] == ["initech", "Globex"]
    custom = run("SELECT LastName, (SELECT Name FROM Opportunities__r) FROM Contact ORDER BY LastName", schema, store)
    assert [(c["LastName"], c["Opportunities__r"] and [o["Name"] for o in c["Opportunities__r"]["records"]])
            for c in custom] == [("Lee", ["Acme - Big"]), ("Nguyen", ["Globex - Renewal"]), ("O'Brien", None),
                                 ("Zed", None)]


def test_polymorphic_child_relationship_reads_tasks_of_each_parent(schema: Schema, store: Store) -> None:
    records = run("SELECT Name, (SELECT Subject FROM Tasks) FROM Opportunity ORDER BY Name", schema, store)
    assert [(r["Name"], r["Tasks"] and r["Tasks"]["totalSize"]) for r in records] == [
        ("Acme - Big", 1), ("Acme - Small", None), ("Globex - Renewal", None), ("Orphan", None)]


def test_answers_are_new_dicts_and_never_show_internal_keys(schema: Schema) -> None:
    store = make_store()
    stored = store.get(IDS["A1"])
    assert stored is not None
    stored["_internal"] = "secret"
    query = f"SELECT FIELDS(ALL) FROM Account WHERE Id = '{IDS['A1']}' LIMIT 200"
    records = execute(query, schema, store, now=NOW).records
    assert "_internal" not in records[0]
    assert set(records[0]) == {"attributes", *schema.get("Account").fields}
    records[0]["Name"] = "Changed"
    assert store.get(IDS["A1"])["Name"] == "Acme"


def test_fields_standard_lists_standard_fields_only(schema: Schema, store: Store) -> None:
    result = execute("SELECT FIELDS(STANDARD) FROM Account WHERE Name = 'Acme'", schema, store, now=NOW)
    assert "Regions__c" not in result.records[0] and "Active__c" not in result.records[0]
    assert result.columns[:3] == ["Id", "IsDeleted", "CreatedDate"]


# -- queryAll and deleted records ------------------------------------------------------------------------
def test_is_deleted_rows_only_with_query_all(schema: Schema, store: Store) -> None:
    query = "SELECT Id, Name, IsDeleted FROM Account WHERE IsDeleted = true"
    assert run(query, schema, store) == []
    assert run(query, schema, store, include_deleted=True) == [
        {"attributes": attrs("Account", "A5"), "Id": IDS["A5"], "Name": "Old Co", "IsDeleted": True}]
    assert execute("SELECT COUNT() FROM Account", schema, store, include_deleted=True, now=NOW).total_size == 5


def test_query_all_child_subqueries_include_deleted_children(schema: Schema, store: Store) -> None:
    query = "SELECT Name, (SELECT LastName FROM Contacts ORDER BY LastName) FROM Account WHERE Name = 'Acme'"
    names = [c["LastName"] for c in run(query, schema, store, include_deleted=True)[0]["Contacts"]["records"]]
    assert names == ["Eted", "Lee", "O'Brien"]
    names = [c["LastName"] for c in run(query, schema, store)[0]["Contacts"]["records"]]
    assert names == ["Lee", "O'Brien"]


def test_a_deleted_parent_reads_as_an_empty_lookup(schema: Schema) -> None:
    store = make_store()
    store.put("Contact", {"Id": make_id("003", 99), "LastName": "Orphaned", "AccountId": IDS["A5"],
                          "IsDeleted": False})
    query = "SELECT LastName, Account.Name FROM Contact WHERE LastName = 'Orphaned'"
    assert run(query, schema, store)[0]["Account"] is None
    assert run(query, schema, store, include_deleted=True)[0]["Account"]["Name"] == "Old Co"


# -- aggregates ------------------------------------------------------------------------------------------
def test_count_of_a_field_is_an_aggregate_row(schema: Schema, store: Store) -> None:
    result = execute("SELECT COUNT(Id) FROM Account", schema, store, now=NOW)
    assert (result.total_size, result.records) == (1, [{"attributes": {"type": "AggregateResult"}, "expr0": 4}])


def test_group_by_with_aliases_expr_names_and_typed_results(schema: Schema, store: Store) -> None:
    result = execute("SELECT Owner.Name, COUNT(Id) n, MAX(CreatedDate), MIN(Name), AVG(AnnualRevenue), "
                     "COUNT_DISTINCT(Industry) FROM Account GROUP BY Owner.Name ORDER BY Owner.Name DESC",
                     schema, store, now=NOW)
    aggregate = {"type": "AggregateResult"}
    assert result.records == [
        {"attributes": aggregate, "Name": "Sam Sales", "n": 2, "expr0": "2026-02-17T23:30:00.000+0000",
         "expr1": "Globex", "expr2": 1750000.0, "expr3": 1},
        {"attributes": aggregate, "Name": "Ada Admin", "n": 2, "expr0": "2026-02-18T00:00:00.000+0000",
         "expr1": "Acme", "expr2": 5000000.0, "expr3": 1},
    ]
    assert result.columns == ["Name", "n", "expr0", "expr1", "expr2", "expr3"]


def test_group_by_text_is_case_insensitive_and_keeps_the_first_spelling(schema: Schema, store: Store) -> None:
    records = run("SELECT Industry, COUNT(Id) c, SUM(NumberOfEmployees) FROM Account GROUP BY Industry "
                  "ORDER BY Industry NULLS LAST", schema, store)
    assert [(r["Industry"], r["c"], r["expr0"]) for r in records] == [
        ("Energy", 1, 40), ("Technology", 2, 135), (None, 1, None)]


def test_having_and_order_by_an_aggregate_not_selected(schema: Schema, store: Store) -> None:
    records = run("SELECT Industry FROM Account GROUP BY Industry HAVING COUNT(Id) > 1", schema, store)
    assert records == [{"attributes": {"type": "AggregateResult"}, "Industry": "Technology"}]
    records = run("SELECT StageName s FROM Opportunity GROUP BY StageName ORDER BY SUM(Amount) DESC NULLS LAST",
                  schema, store)
    assert [r["s"] for r in records] == ["Prospecting", "Negotiation/Review", "Closed Won"]


def test_group_by_a_date_function(schema: Schema, store: Store) -> None:
    records = run("SELECT CALENDAR_YEAR(CloseDate), SUM(Amount) total FROM Opportunity "
                  "GROUP BY CALENDAR_YEAR(CloseDate) ORDER BY CALENDAR_YEAR(CloseDate)", schema, store)
    assert [(r["expr0"], r["total"]) for r in records] == [(2025, None), (2026, 130000.0)]


def test_aggregates_over_no_rows_give_one_row_of_zero_and_nulls(schema: Schema, store: Store) -> None:
    records = run("SELECT COUNT(Id), SUM(AnnualRevenue), MAX(Name) FROM Account WHERE Name = 'none'", schema, store)
    assert records == [{"attributes": {"type": "AggregateResult"}, "expr0": 0, "expr1": None, "expr2": None}]
    assert run("SELECT Industry, COUNT(Id) FROM Account WHERE Name = 'none' GROUP BY Industry", schema, store) == []


def test_aggregate_limit_and_offset_apply_to_groups(schema: Schema, store: Store) -> None:
    records = run("SELECT Rating, COUNT(Id) FROM Account GROUP BY Rating ORDER BY Rating LIMIT 2 OFFSET 1",
                  schema, store)
    assert [r["Rating"] for r in records] == ["Hot", "Warm"]


# -- relative dates against a moving clock -----------------------------------------------------------------
@pytest.mark.parametrize(("now", "literal", "expected"), [
    (datetime(2026, 2, 17, 5, 0, tzinfo=UTC), "TODAY", ["A2"]),
    (datetime(2026, 2, 19, 0, 0, tzinfo=UTC), "YESTERDAY", ["A3"]),
    (datetime(2026, 2, 22, 0, 0, tzinfo=UTC), "LAST_WEEK", ["A2", "A3"]),
    (datetime(2026, 3, 1, 0, 0, tzinfo=UTC), "LAST_MONTH", ["A2", "A3", "A4"]),
    (datetime(2026, 4, 1, 0, 0, tzinfo=UTC), "LAST_QUARTER", ["A2", "A3", "A4"]),
    (datetime(2027, 1, 1, 0, 0, tzinfo=UTC), "LAST_N_YEARS:1", ["A2", "A3", "A4"]),
    (datetime(2024, 12, 31, 23, 59, tzinfo=UTC), "NEXT_N_DAYS:10", ["A1"]),
    (datetime(2024, 12, 31, 23, 59, tzinfo=UTC), "NEXT_YEAR", ["A1"]),
])
def test_relative_dates_follow_the_given_now(schema: Schema, store: Store, now: datetime, literal: str,
                                             expected: list[str]) -> None:
    result = execute(f"SELECT Id FROM Account WHERE CreatedDate = {literal}", schema, store, now=now)
    assert [r["Id"] for r in result.records] == [IDS[name] for name in expected]


# -- errors ----------------------------------------------------------------------------------------------
def test_malformed_query_message_has_the_line_a_caret_and_the_position(schema: Schema, store: Store) -> None:
    error = error_of("SELECT Id FRM Account", schema, store)
    assert error.as_rest() == {
        "message": "\nSELECT Id FRM Account\n              ^\nERROR at Row:1:Column:15\nunexpected token: 'Account'",
        "errorCode": "MALFORMED_QUERY", "fields": []}


def test_invalid_field_message_points_at_the_field(schema: Schema, store: Store) -> None:
    error = error_of("SELECT Id, Foo FROM Account", schema, store)
    assert error.message == (
        "\nSELECT Id, Foo FROM Account\n           ^\nERROR at Row:1:Column:12\nNo such column 'Foo' on entity "
        "'Account'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field "
        "name. Please reference your WSDL or the describe call for the appropriate names.")


def test_errors_in_multi_line_queries_show_the_offending_line(schema: Schema, store: Store) -> None:
    error = error_of("SELECT Id\nFROM Account\n  WHERE Foo = 1", schema, store)
    assert error.message.startswith("\n  WHERE Foo = 1\n        ^\nERROR at Row:3:Column:9\nNo such column 'Foo'")


def test_unknown_object_error_points_at_the_object(schema: Schema, store: Store) -> None:
    error = error_of("SELECT Id FROM Acount", schema, store)
    assert error.error_code == "INVALID_TYPE"
    assert error.message.startswith("\nSELECT Id FROM Acount\n               ^\nERROR at Row:1:Column:16\nsObject type "
                                    "'Acount' is not supported. If you are attempting to use a custom object")


def test_semi_join_errors_come_from_the_inner_query(schema: Schema, store: Store) -> None:
    error = error_of("SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contakt)", schema, store)
    assert error.error_code == "INVALID_TYPE" and "'Contakt'" in error.message
    error = error_of("SELECT Id FROM Account WHERE Id IN (SELECT Name FROM Contact)", schema, store)
    assert error.error_code == "INVALID_FIELD"


# -- AST, columns, plans -----------------------------------------------------------------------------------
def test_parse_gives_the_ast() -> None:
    text = ("SELECT Id, Account.Name, COUNT(Id) c, (SELECT Id FROM Cases) FROM Contact "
            "WHERE Name LIKE 'a%' AND CreatedDate = LAST_N_DAYS:7 ORDER BY Name DESC NULLS LAST LIMIT 5")
    query = parse(text)
    assert query.object_name == "Contact"
    assert query.select[1] == ast.SelectField(ast.FieldPath(("Account", "Name"), ast.Pos(1, 12)), None, ast.Pos(1, 12))
    count = query.select[2]
    assert isinstance(count, ast.SelectField) and count.alias == "c"
    assert isinstance(count.expression, ast.FunctionCall) and count.expression.upper_name == "COUNT"
    assert isinstance(query.select[3], ast.SelectSubquery) and query.select[3].query.object_name == "Cases"
    assert isinstance(query.where, ast.And)
    assert query.where.items[1].value.value == ("LAST_N_DAYS", 7)
    order_column = text.index("Name DESC") + 1
    assert query.order_by == (ast.OrderItem(ast.FieldPath(("Name",), ast.Pos(1, order_column)), True, False),)
    assert query.limit == 5


def test_compile_query_knows_the_flat_columns_before_running(schema: Schema, store: Store) -> None:
    plan = compile_query("select id, account.name, ACCOUNT.owner.NAME from contact order by lastname", schema, store)
    assert plan.columns == ["Id", "Account.Name", "Account.Owner.Name"]
    records = plan.run().records
    assert [flat_row(record, plan.columns) for record in records] == [
        [IDS["C1"], "Acme", "Ada Admin"], [IDS["C3"], "Globex", "Sam Sales"], [IDS["C2"], "Acme", "Ada Admin"],
        [IDS["C4"], None, None]]


def test_a_plan_reads_current_records_each_time_it_runs(schema: Schema) -> None:
    store = make_store()
    plan = compile_query("SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact)", schema, store,
                         now=NOW)
    assert plan.run().total_size == 2
    store.put("Contact", {"Id": make_id("003", 50), "LastName": "New", "AccountId": IDS["A4"], "IsDeleted": False})
    assert plan.run().total_size == 3


def test_string_escapes_decode(schema: Schema) -> None:
    store = make_store()
    store.put("Account", {"Id": make_id("001", 60), "Name": "50% off\nnow \\ 'quoted'", "IsDeleted": False})
    assert run(r"SELECT Id FROM Account WHERE Name = '50% off\nnow \\ \'quoted\''", schema, store) != []
    assert run(r"SELECT Id FROM Account WHERE Name LIKE '50\% off%'", schema, store) != []
    assert run(r"SELECT Id FROM Account WHERE Name LIKE '50\% on%'", schema, store) == []
    assert run(r"SELECT Id FROM Account WHERE Name = '\u0035\u0030% OFF\nNOW \\ \'QUOTED\''", schema, store) != []


def test_sorting_many_rows_matches_python_ordering(schema: Schema) -> None:
    store = Store(":memory:")
    expected = []
    with store.transaction():
        for sequence in range(1, 3001):
            stamp = None if sequence % 7 == 0 else f"2026-01-{sequence % 28 + 1:02d}T00:00:00.000+0000"
            record_id = make_id("001", sequence)
            store.put("Account", {"Id": record_id, "Name": f"n{sequence % 13}", "IsDeleted": False,
                                  "SystemModstamp": stamp})
            expected.append((stamp is not None, stamp or "", record_id))
    records = run("SELECT Id FROM Account ORDER BY SystemModstamp NULLS LAST, Id DESC", schema, store)
    ordered = sorted(expected, key=lambda item: (not item[0], item[1], [-ord(c) for c in item[2]]))
    assert [r["Id"] for r in records] == [record_id for _, _, record_id in ordered]


# -- the standard schema ---------------------------------------------------------------------------------
def test_standard_schema_relationships() -> None:
    schema = standard_schema()
    store = Store(":memory:")
    user, account, contact, task = (make_id("005", 1), make_id("001", 1), make_id("003", 1), make_id("00T", 1))
    store.put("User", {"Id": user, "Name": "Ada Admin", "Email": "ada@example.com", "IsDeleted": False})
    store.put("Account", {"Id": account, "Name": "Acme", "OwnerId": user, "IsDeleted": False})
    store.put("Contact", {"Id": contact, "LastName": "Lee", "AccountId": account, "OwnerId": user,
                          "IsDeleted": False})
    store.put("Task", {"Id": task, "Subject": "Call", "WhoId": contact, "WhatId": account, "IsDeleted": False})
    records = execute("SELECT Name, Owner.Email, (SELECT LastName FROM Contacts), (SELECT Subject FROM Tasks) "
                      "FROM Account", schema, store, now=NOW).records
    assert records[0]["Owner"]["Email"] == "ada@example.com"
    assert records[0]["Contacts"]["records"][0]["LastName"] == "Lee"
    assert records[0]["Tasks"]["records"][0]["Subject"] == "Call"
    who = execute("SELECT Who.Type, What.Name FROM Task", schema, store, now=NOW).records[0]
    assert who["Who"] == {"attributes": {"type": "Name", "url": f"/services/data/v62.0/sobjects/Contact/{contact}"},
                          "Type": "Contact"}
    assert who["What"]["Name"] == "Acme"
