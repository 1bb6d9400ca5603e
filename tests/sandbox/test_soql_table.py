"""The SOQL table: queries over the fixture org with their exact answers or Salesforce errors.

Each row is (query, expected): a list of fixture names (``A1`` ...) is the exact Ids returned, in order; Count(n)
is a ``COUNT()`` answer; Error(code, fragment) is a SandboxApiError whose message contains the fragment. "Now" is
Wednesday 2026-02-18 12:00 UTC (weeks start on Sunday), see soql_fixtures.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from soql_fixtures import IDS, NOW, make_schema, make_store

from salesbridge.sandbox.errors import SandboxApiError
from salesbridge.sandbox.soql import execute


@dataclass(frozen=True)
class Count:
    total: int


@dataclass(frozen=True)
class Error:
    code: str
    fragment: str


A1_15, A2_18, A3_15, A4_18 = IDS["A1"][:15], IDS["A2"], IDS["A3"][:15], IDS["A4"]

TABLE: list[tuple[str, list[str] | Count | Error]] = [
    # -- basics, case-insensitivity, equality with nulls
    ("SELECT Id FROM Account", ["A1", "A2", "A3", "A4"]),
    ("select id from account", ["A1", "A2", "A3", "A4"]),
    ("SELECT Id FROM Account WHERE Name = 'acme'", ["A1"]),
    ("SELECT Id FROM Account WHERE name = 'ACME'", ["A1"]),
    ("SELECT Id FROM Account WHERE Name != 'Acme'", ["A2", "A3", "A4"]),
    ("SELECT Id FROM Account WHERE Name <> 'Acme'", ["A2", "A3", "A4"]),
    ("SELECT Id FROM Account WHERE Industry = null", ["A4"]),
    ("SELECT Id FROM Account WHERE Industry != NULL", ["A1", "A2", "A3"]),
    ("SELECT Id FROM Account WHERE Industry = 'technology'", ["A1", "A3"]),
    ("SELECT Id FROM Account WHERE Industry != 'Technology'", ["A2", "A4"]),
    ("SELECT Id FROM Account WHERE Name > 'h'", ["A3", "A4"]),
    ("SELECT Id FROM Account WHERE toLabel(Industry) = 'Energy'", ["A2"]),
    # -- numbers
    ("SELECT Id FROM Account WHERE AnnualRevenue > 1000000", ["A1", "A2"]),
    ("SELECT Id FROM Account WHERE AnnualRevenue >= 1000000", ["A1", "A2", "A4"]),
    ("SELECT Id FROM Account WHERE AnnualRevenue < 2500000", ["A4"]),
    ("SELECT Id FROM Account WHERE AnnualRevenue <= 2500000.0", ["A2", "A4"]),
    ("SELECT Id FROM Account WHERE NumberOfEmployees > 20 AND NumberOfEmployees < 100", ["A2"]),
    ("SELECT Id FROM Account WHERE NumberOfEmployees = 1.5e1", ["A3"]),
    # -- LIKE
    ("SELECT Id FROM Account WHERE Name LIKE 'a%'", ["A1"]),
    ("SELECT Id FROM Account WHERE Name LIKE '%O%'", ["A2"]),
    ("SELECT Id FROM Account WHERE Name LIKE '_nitech'", ["A3"]),
    ("SELECT Id FROM Account WHERE Name LIKE 'Um%la'", ["A4"]),
    ("SELECT Id FROM Account WHERE Name LIKE 'Um'", []),
    (r"SELECT Id FROM Contact WHERE Email LIKE '%\_1@%'", ["C4"]),
    ("SELECT Id FROM Contact WHERE Email LIKE '%_1@%'", ["C4"]),
    (r"SELECT Id FROM Contact WHERE Name = 'Bob O\'Brien'", ["C2"]),
    # -- IN / NOT IN
    ("SELECT Id FROM Account WHERE Industry IN ('Energy', 'Technology')", ["A1", "A2", "A3"]),
    ("SELECT Id FROM Account WHERE Industry NOT IN ('Energy')", ["A1", "A3"]),
    ("SELECT Id FROM Account WHERE NOT Industry IN ('Energy')", ["A1", "A3", "A4"]),
    ("SELECT Id FROM Account WHERE Industry IN ('Energy', null)", ["A2", "A4"]),
    ("SELECT Id FROM Account WHERE Name IN ('ACME', 'globex') ORDER BY Name DESC", ["A2", "A1"]),
    # -- booleans and ids (15-character literals match 18-character ids)
    ("SELECT Id FROM Account WHERE Active__c = true", ["A1", "A3"]),
    ("SELECT Id FROM Account WHERE Active__c = FALSE", ["A2", "A4"]),
    ("SELECT Id FROM Account WHERE Active__c != true", ["A2", "A4"]),
    ("SELECT Id FROM Account WHERE Active__c = null", ["A2", "A4"]),
    ("SELECT Id FROM Account WHERE Active__c != null", ["A1", "A3"]),
    ("SELECT Id FROM Account WHERE ParentId = null", ["A1", "A4"]),
    (f"SELECT Id FROM Account WHERE ParentId = '{A1_15}'", ["A2", "A3"]),
    (f"SELECT Id FROM Account WHERE Id = '{A2_18}'", ["A2"]),
    (f"SELECT Id FROM Account WHERE Id IN ('{A3_15}', '{A4_18}')", ["A3", "A4"]),
    (f"SELECT Id FROM Account WHERE Id = '{A2_18.lower()}'", ["A2"]),
    (f"SELECT Id FROM Account WHERE Id = '{A2_18[:15].upper()}'", []),
    # -- multi-select picklists
    ("SELECT Id FROM Account WHERE Regions__c INCLUDES ('EMEA')", ["A1", "A4"]),
    ("SELECT Id FROM Account WHERE Regions__c INCLUDES ('amer;apac')", ["A4"]),
    ("SELECT Id FROM Account WHERE Regions__c INCLUDES ('AMER', 'APAC')", ["A1", "A2", "A4"]),
    ("SELECT Id FROM Account WHERE Regions__c EXCLUDES ('EMEA')", ["A2", "A3"]),
    ("SELECT Id FROM Account WHERE Regions__c = 'APAC;EMEA'", ["A1"]),
    # -- AND / OR / NOT and parentheses
    ("SELECT Id FROM Account WHERE NOT Industry = 'Energy'", ["A1", "A3", "A4"]),
    ("SELECT Id FROM Account WHERE (Industry = 'Energy' OR Rating = 'Hot') AND Active__c = false", ["A2"]),
    ("SELECT Id FROM Account WHERE Industry = 'Energy' OR (Rating = 'Hot' AND Active__c = false)", ["A2"]),
    ("SELECT Id FROM Account WHERE NOT (Industry = 'Technology' OR Industry = null)", ["A2"]),
    ("SELECT Id FROM Account WHERE Rating = 'Hot' OR Rating = 'Warm' OR Rating = 'Cold'", ["A1", "A2", "A3"]),
    # -- parent fields in WHERE
    ("SELECT Id FROM Account WHERE Owner.Name = 'Ada Admin'", ["A1", "A3"]),
    ("SELECT Id FROM Account WHERE Owner.IsActive = false", ["A2", "A4"]),
    ("SELECT Id FROM Account WHERE Parent.Name = 'Acme'", ["A2", "A3"]),
    ("SELECT Id FROM Account WHERE Parent.Owner.Alias = 'ada'", ["A2", "A3"]),
    ("SELECT Id FROM Account WHERE Parent.Name = null", ["A1", "A4"]),
    ("SELECT Id FROM Account WHERE Account.Name = 'Acme'", ["A1"]),
    ("SELECT Id FROM Contact WHERE Account.Name = 'Acme'", ["C1", "C2"]),
    ("SELECT Id FROM Opportunity WHERE Primary_Contact__r.LastName = 'Lee'", ["O1"]),
    ("SELECT Id FROM Opportunity WHERE Account.Owner.Name = 'Sam Sales'", ["O3"]),
    ("SELECT Id FROM Task WHERE Who.Type = 'Lead'", ["T2"]),
    ("SELECT Id FROM Task WHERE What.Name = 'acme'", ["T1"]),
    ("SELECT Id FROM Task WHERE WhoId = null", ["T3"]),
    # -- datetimes (stored UTC; literals with offsets)
    ("SELECT Id FROM Account WHERE CreatedDate > 2026-01-01T00:00:00Z", ["A2", "A3", "A4"]),
    ("SELECT Id FROM Account WHERE CreatedDate >= 2026-02-18T00:00:00Z", ["A3"]),
    ("SELECT Id FROM Account WHERE CreatedDate > 2026-02-18T00:00:00Z", []),
    ("SELECT Id FROM Account WHERE CreatedDate < 2026-02-18T01:00:00+01:00", ["A1", "A2", "A4"]),
    ("SELECT Id FROM Account WHERE CreatedDate = 2026-02-17T23:30:00.000Z", ["A2"]),
    ("SELECT Id FROM Account WHERE CreatedDate = 2026-02-17T18:30:00-05:00", ["A2"]),
    ("SELECT Id FROM Account WHERE CALENDAR_YEAR(CreatedDate) = 2025", ["A1"]),
    # -- relative date literals on a datetime field
    ("SELECT Id FROM Account WHERE CreatedDate = TODAY", ["A3"]),
    ("SELECT Id FROM Account WHERE CreatedDate = YESTERDAY", ["A2"]),
    ("SELECT Id FROM Account WHERE CreatedDate = THIS_WEEK", ["A2", "A3"]),
    ("SELECT Id FROM Account WHERE CreatedDate = LAST_WEEK", []),
    ("SELECT Id FROM Account WHERE CreatedDate = THIS_MONTH", ["A2", "A3", "A4"]),
    ("SELECT Id FROM Account WHERE CreatedDate = LAST_YEAR", ["A1"]),
    ("SELECT Id FROM Account WHERE CreatedDate < THIS_YEAR", ["A1"]),
    ("SELECT Id FROM Account WHERE CreatedDate > LAST_MONTH", ["A2", "A3", "A4"]),
    ("SELECT Id FROM Account WHERE CreatedDate <= YESTERDAY", ["A1", "A2", "A4"]),
    ("SELECT Id FROM Account WHERE CreatedDate >= TODAY", ["A3"]),
    ("SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS:1", ["A2", "A3"]),
    ("SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS:30", ["A2", "A3", "A4"]),
    ("SELECT Id FROM Account WHERE CreatedDate = N_DAYS_AGO:15", ["A4"]),
    ("SELECT Id FROM Account WHERE CreatedDate = LAST_N_WEEKS:2", ["A4"]),
    ("SELECT Id FROM Account WHERE CreatedDate = LAST_N_MONTHS:13", ["A1"]),
    ("SELECT Id FROM Account WHERE CreatedDate = last_90_days", ["A2", "A3", "A4"]),
    # -- relative date literals on a date field
    ("SELECT Id FROM Account WHERE LastActivityDate = 2026-02-16", ["A1"]),
    ("SELECT Id FROM Account WHERE LastActivityDate > 2026-01-31", ["A1"]),
    ("SELECT Id FROM Account WHERE LastActivityDate >= 2026-01-31", ["A1", "A2"]),
    ("SELECT Id FROM Account WHERE LastActivityDate = THIS_WEEK", ["A1"]),
    ("SELECT Id FROM Account WHERE LastActivityDate = LAST_QUARTER", ["A4"]),
    ("SELECT Id FROM Account WHERE LastActivityDate < LAST_N_DAYS:30", ["A4"]),
    ("SELECT Id FROM Account WHERE LastActivityDate = null", ["A3"]),
    ("SELECT Id FROM Account WHERE LastActivityDate = NEXT_N_DAYS:5", []),
    ("SELECT Id FROM Opportunity WHERE CloseDate = THIS_MONTH", ["O1"]),
    ("SELECT Id FROM Opportunity WHERE CloseDate = NEXT_N_DAYS:2", ["O1"]),
    ("SELECT Id FROM Opportunity WHERE CloseDate = NEXT_QUARTER", []),
    ("SELECT Id FROM Opportunity WHERE CloseDate = THIS_QUARTER", ["O1", "O2", "O3"]),
    ("SELECT Id FROM Opportunity WHERE CloseDate = THIS_FISCAL_QUARTER", ["O1", "O2", "O3"]),
    ("SELECT Id FROM Opportunity WHERE CloseDate > TODAY", ["O1", "O3"]),
    ("SELECT Id FROM Opportunity WHERE CloseDate IN (2026-01-15, 2025-12-01)", ["O2", "O4"]),
    ("SELECT Id FROM Task WHERE ActivityDate = TOMORROW", ["T2"]),
    ("SELECT Id FROM Contact WHERE Birthdate < 1990-01-01", ["C3"]),
    # -- ORDER BY, LIMIT, OFFSET
    ("SELECT Id FROM Account ORDER BY Name", ["A1", "A2", "A3", "A4"]),
    ("SELECT Id FROM Account ORDER BY Name DESC", ["A4", "A3", "A2", "A1"]),
    ("SELECT Id FROM Account ORDER BY Industry, Name", ["A4", "A2", "A1", "A3"]),
    ("SELECT Id FROM Account ORDER BY Industry NULLS LAST, Name", ["A2", "A1", "A3", "A4"]),
    ("SELECT Id FROM Account ORDER BY Industry DESC, Name", ["A1", "A3", "A2", "A4"]),
    ("SELECT Id FROM Account ORDER BY Rating", ["A4", "A1", "A2", "A3"]),
    ("SELECT Id FROM Account ORDER BY AnnualRevenue DESC NULLS FIRST", ["A3", "A1", "A2", "A4"]),
    ("SELECT Id FROM Account ORDER BY Owner.Name, Name DESC", ["A3", "A1", "A4", "A2"]),
    ("SELECT Id FROM Account ORDER BY Parent.Name NULLS LAST, Id", ["A2", "A3", "A1", "A4"]),
    ("SELECT Id FROM Account ORDER BY CreatedDate DESC LIMIT 2", ["A3", "A2"]),
    ("SELECT Id FROM Account ORDER BY Name LIMIT 2 OFFSET 1", ["A2", "A3"]),
    ("SELECT Id FROM Account ORDER BY Name OFFSET 3", ["A4"]),
    ("SELECT Id FROM Account LIMIT 0", []),
    ("SELECT Id FROM Opportunity ORDER BY StageName DESC, Id", ["O2", "O3", "O1", "O4"]),
    ("SELECT Id FROM Opportunity WHERE Amount = null", ["O4"]),
    ("SELECT Id FROM Opportunity WHERE StageName = 'closed won'", ["O2"]),
    # -- semi-joins and anti-joins
    ("SELECT Id FROM Contact WHERE AccountId IN (SELECT Id FROM Account WHERE Industry = 'Energy')", ["C3"]),
    ("SELECT Id FROM Contact WHERE AccountId NOT IN (SELECT Id FROM Account WHERE Industry = 'Energy')",
     ["C1", "C2"]),
    ("SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact)", ["A1", "A2"]),
    ("SELECT Id FROM Account WHERE Id NOT IN (SELECT AccountId FROM Opportunity WHERE IsWon = true)",
     ["A2", "A3", "A4"]),
    ("SELECT Id FROM Account WHERE Id IN (SELECT WhatId FROM Task) AND Name LIKE 'A%'", ["A1"]),
    # -- deleted rows, clauses accepted and ignored, other objects
    ("SELECT Id FROM Account WHERE IsDeleted = true", []),
    ("SELECT Id FROM Account WHERE Industry = 'Energy' FOR VIEW", ["A2"]),
    ("SELECT Id FROM Account WITH SECURITY_ENFORCED ORDER BY Name DESC LIMIT 1", ["A4"]),
    ("SELECT Id FROM Account WHERE Industry = 'Energy' FOR UPDATE", ["A2"]),
    ("SELECT Id FROM User WHERE IsActive = true", ["U1"]),
    ("SELECT Id FROM Lead WHERE Status = 'working - contacted'", ["L2"]),
    # -- COUNT()
    ("SELECT COUNT() FROM Account", Count(4)),
    ("SELECT COUNT() FROM Account WHERE Industry = 'Energy'", Count(1)),
    ("SELECT COUNT() FROM Contact LIMIT 2", Count(2)),
    ("SELECT count() FROM Opportunity WHERE CloseDate = THIS_QUARTER", Count(3)),
    # -- syntax errors
    ("SELECT Id FRM Account", Error("MALFORMED_QUERY", "unexpected token: 'Account'")),
    ("SELECT Id FROM", Error("MALFORMED_QUERY", "unexpected token: '<EOF>'")),
    ("SELECT FROM Account", Error("MALFORMED_QUERY", "unexpected token: 'FROM'")),
    ("SELECT Id FROM Account WHERE Industry = 'a' AND Rating = 'b' OR Type = 'c'",
     Error("MALFORMED_QUERY", "unexpected token: 'OR'")),
    ("SELECT Id FROM Account WHERE Name = 'abc", Error("MALFORMED_QUERY", "no viable alternative at character")),
    ('SELECT Id FROM Account WHERE Name = "abc"', Error("MALFORMED_QUERY", "no viable alternative at character")),
    (r"SELECT Id FROM Account WHERE Name = 'a\qb'", Error("MALFORMED_QUERY", r"Illegal character sequence '\q'")),
    ("SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS", Error("MALFORMED_QUERY", "'LAST_N_DAYS'")),
    ("SELECT Id FROM Account LIMIT -1", Error("MALFORMED_QUERY", "unexpected token")),
    ("SELECT Id FROM Account WITH FOO", Error("MALFORMED_QUERY", "unexpected token: 'FOO'")),
    ("SELECT Name n FROM Account", Error("MALFORMED_QUERY", "unexpected token: 'n'")),
    ("SELECT Id FROM Account WHERE Name = 'a' LIMIT 5 ORDER BY Name", Error("MALFORMED_QUERY", "'ORDER'")),
    ("SELECT Id, Id FROM Account", Error("MALFORMED_QUERY", "duplicate field selected: Id")),
    ("SELECT Id, name, NAME FROM Account", Error("MALFORMED_QUERY", "duplicate field selected: Name")),
    ("SELECT (SELECT Id FROM Contacts), (SELECT Name FROM contacts) FROM Account",
     Error("MALFORMED_QUERY", "duplicate field selected: Contacts")),
    ("SELECT Id, (SELECT Id, (SELECT Id FROM Cases) FROM Contacts) FROM Account",
     Error("MALFORMED_QUERY", "unexpected token: '('")),
    ("SELECT FIELDS(ALL) FROM Account", Error("MALFORMED_QUERY", "must have a LIMIT of at most 200")),
    ("SELECT COUNT(), Name FROM Account", Error("MALFORMED_QUERY", "COUNT()")),
    # -- names and types
    ("SELECT Id, Foo FROM Account", Error("INVALID_FIELD", "No such column 'Foo' on entity 'Account'")),
    ("SELECT Id FROM Foo", Error("INVALID_TYPE", "sObject type 'Foo' is not supported.")),
    ("SELECT Acount.Name FROM Contact", Error("INVALID_FIELD", "Didn't understand relationship 'Acount'")),
    ("SELECT AccountId.Name FROM Contact", Error("INVALID_FIELD", "Didn't understand relationship 'AccountId'")),
    ("SELECT Account.Foo FROM Contact", Error("INVALID_FIELD", "No such column 'Foo' on entity 'Account'")),
    ("SELECT Who.Foo FROM Task", Error("INVALID_FIELD", "No such column 'Foo' on entity 'Name'")),
    ("SELECT Id, (SELECT Id FROM Contact) FROM Account",
     Error("INVALID_TYPE", "Didn't understand relationship 'Contact' in FROM part of query call")),
    ("SELECT Id FROM Account WHERE Foo__c = 1", Error("INVALID_FIELD", "No such column 'Foo__c'")),
    ("SELECT Id FROM Account ORDER BY Owner.Foo", Error("INVALID_FIELD", "No such column 'Foo' on entity 'User'")),
    ("SELECT Id FROM Account WHERE AnnualRevenue = '5'", Error(
        "INVALID_FIELD", "value of filter criterion for field 'AnnualRevenue' must be of type double and should "
                         "not be enclosed in quotes")),
    ("SELECT Id FROM Account WHERE NumberOfEmployees = 'x'", Error("INVALID_FIELD", "must be of type integer")),
    ("SELECT Id FROM Account WHERE CreatedDate > 2026-01-01", Error("INVALID_FIELD", "must be of type dateTime")),
    ("SELECT Id FROM Account WHERE LastActivityDate = '2026-01-01'", Error(
        "INVALID_FIELD", "field 'LastActivityDate' must be of type date and should not be enclosed in quotes")),
    ("SELECT Id FROM Account WHERE LastActivityDate > 2026-01-01T00:00:00Z",
     Error("INVALID_FIELD", "must be of type date ")),
    ("SELECT Id FROM Account WHERE Name = 5", Error(
        "INVALID_FIELD", "field 'Name' must be of type string and should be enclosed in quotes")),
    ("SELECT Id FROM Account WHERE Name = TODAY", Error("INVALID_FIELD", "must be of type string")),
    ("SELECT Id FROM Account WHERE Active__c = 'true'", Error("INVALID_FIELD", "must be of type boolean")),
    ("SELECT Id FROM Account WHERE Id = 'abc'", Error("INVALID_QUERY_FILTER_OPERATOR", "invalid ID field: abc")),
    ("SELECT Id FROM Account WHERE Id LIKE '001%'",
     Error("INVALID_QUERY_FILTER_OPERATOR", "invalid operator on id field")),
    ("SELECT Id FROM Account WHERE Industry INCLUDES ('x')", Error(
        "INVALID_QUERY_FILTER_OPERATOR", "includes or excludes operator only valid on multipicklist field")),
    ("SELECT Id FROM Account WHERE Description = 'x'", Error(
        "INVALID_FIELD", "field 'Description' can not be filtered in query call")),
    ("SELECT Id FROM Account ORDER BY Description", Error("INVALID_FIELD", "can not be sorted")),
    ("SELECT Id FROM Account ORDER BY Name OFFSET 2001",
     Error("NUMBER_OUTSIDE_VALID_RANGE", "Maximum SOQL offset allowed is 2000")),
    ("SELECT Name, COUNT(Id) FROM Account GROUP BY Industry",
     Error("MALFORMED_QUERY", "Field must be grouped or aggregated: Name")),
    ("SELECT SUM(Name) FROM Account", Error("INVALID_FIELD", "field Name does not support aggregate operator SUM")),
    ("SELECT Id FROM Contact WHERE Name IN (SELECT Name FROM Account)",
     Error("INVALID_FIELD", "semi join")),
]


@pytest.fixture(scope="module")
def org() -> tuple:
    return make_schema(), make_store()


@pytest.mark.parametrize(("query", "expected"), TABLE, ids=[query for query, _ in TABLE])
def test_soql_table(org: tuple, query: str, expected: list[str] | Count | Error) -> None:
    schema, store = org
    if isinstance(expected, Error):
        with pytest.raises(SandboxApiError) as caught:
            execute(query, schema, store, now=NOW)
        assert caught.value.error_code == expected.code
        assert caught.value.status == 400
        assert expected.fragment in caught.value.message
        assert "\nERROR at Row:1:Column:" in caught.value.message
        return
    result = execute(query, schema, store, now=NOW)
    if isinstance(expected, Count):
        assert (result.total_size, result.records) == (expected.total, [])
        return
    assert [record["Id"] for record in result.records] == [IDS[name] for name in expected]
    assert result.total_size == len(expected)


def test_table_is_large_enough() -> None:
    assert len(TABLE) >= 70
