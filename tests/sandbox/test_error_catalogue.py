"""Every error code shared/DESIGN.md promises, produced by the running sandbox and seen by unmodified
simple-salesforce: the HTTP status, Salesforce's ``errorCode`` in the JSON list answer and its message.

One table: each row sets the org up (through the API, or the admin endpoints for faults), makes the one call
that must fail, and names what Salesforce answers. simple-salesforce picks its exception class by status
(400 SalesforceMalformedRequest, 401 SalesforceExpiredSession, 403 SalesforceRefusedRequest, 404
SalesforceResourceNotFound), so the class is asserted too: it is what an application catches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from salesbridge.sandbox.schema import FieldDef
from salesbridge.sandbox.server import RunningSandbox

MISSING_ACCOUNT_ID = "001000000000000AAA"


@dataclass
class Org:
    """The test's handles on one sandbox: the simple-salesforce client and the operator endpoints."""

    sf: Salesforce
    sandbox: RunningSandbox

    def admin(self, action: str, body: dict[str, Any] | None = None) -> Any:
        """POST to ``/sandbox/admin/<action>`` with the client's own session."""
        response = self.sandbox.http().post(f"{self.sandbox.url}/sandbox/admin/{action}", json=body or {},
                                            headers={"Authorization": f"Bearer {self.sf.session_id}"}, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def new_account(self, **values: Any) -> str:
        return self.sf.Account.create({"Name": "Acme", **values})["id"]


# -- the calls that fail (setup first, the failing call last) ----------------------------------------------

def read_missing_record(org: Org) -> None:
    org.sf.Account.get(MISSING_ACCOUNT_ID)


def query_unknown_field(org: Org) -> None:
    org.sf.query("SELECT Id, Shoe_Size__c FROM Account")


def create_with_unknown_field(org: Org) -> None:
    org.sf.Account.create({"Name": "Acme", "Shoe_Size__c": 42})


def query_with_broken_syntax(org: Org) -> None:
    org.sf.query("SELECT Id FROM Account WHERE")


def create_with_malformed_reference(org: Org) -> None:
    org.sf.Contact.create({"LastName": "Fry", "AccountId": "not-an-id"})


def query_unknown_object(org: Org) -> None:
    org.sf.query("SELECT Id FROM Spaceship__c")


def create_without_required_field(org: Org) -> None:
    org.sf.Contact.create({"FirstName": "Philip"})


def create_with_too_long_text(org: Org) -> None:
    org.new_account(Name="x" * 256)


def create_with_bad_restricted_picklist(org: Org) -> None:
    org.sf.Opportunity.create({"Name": "Deal", "StageName": "Daydreaming", "CloseDate": "2026-12-31"})


def create_with_duplicate_unique_value(org: Org) -> None:
    account = org.sandbox.org.schema.get("Account")
    assert account is not None
    account.add_field(FieldDef("Hub_Id__c", "string", label="Hub ID", length=64, unique=True, external_id=True,
                               custom=True, id_lookup=True))
    org.new_account(Hub_Id__c="hub-1")
    org.new_account(Name="Acme again", Hub_Id__c="HUB-1")  # unique text compares case-insensitively


def update_deleted_record(org: Org) -> None:
    account_id = org.new_account()
    org.sf.Account.delete(account_id)
    org.sf.Account.update(account_id, {"Name": "Back from the dead"})


def write_a_locked_row(org: Org) -> None:
    account_id = org.new_account()
    org.admin("faults", {"lock_next_writes": 1})
    org.sf.Account.update(account_id, {"Name": "Locked"})


def call_past_the_daily_limit(org: Org) -> None:
    org.admin("faults", {"exhaust_limits": True})
    org.sf.query("SELECT Id FROM Account")


def call_with_an_expired_session(org: Org) -> None:
    org.admin("expire-sessions")
    org.sf.query("SELECT Id FROM Account")


def update_converted_lead(org: Org) -> None:
    lead_id = org.sf.Lead.create({"LastName": "Fry", "Company": "Planet Express"})["id"]
    result = org.admin("convertLead", {"leadId": lead_id, "convertedStatus": "Closed - Converted"})
    assert result["success"] is True, result
    org.sf.Lead.update(lead_id, {"Title": "Captain"})


@dataclass(frozen=True)
class Expected:
    exception: type[SalesforceError]
    status: int
    error_code: str
    message_part: str
    fields: list[str] | None = None


CATALOGUE = [
    pytest.param(read_missing_record,
                 Expected(SalesforceResourceNotFound, 404, "NOT_FOUND", "The requested resource does not exist"),
                 id="NOT_FOUND"),
    pytest.param(query_unknown_field,
                 Expected(SalesforceMalformedRequest, 400, "INVALID_FIELD",
                          "No such column 'Shoe_Size__c' on entity 'Account'"),
                 id="INVALID_FIELD-query"),
    pytest.param(create_with_unknown_field,
                 Expected(SalesforceMalformedRequest, 400, "INVALID_FIELD",
                          "No such column 'Shoe_Size__c' on sobject of type Account"),
                 id="INVALID_FIELD-create"),
    pytest.param(query_with_broken_syntax,
                 Expected(SalesforceMalformedRequest, 400, "MALFORMED_QUERY", "unexpected token"),
                 id="MALFORMED_QUERY"),
    pytest.param(create_with_malformed_reference,
                 Expected(SalesforceMalformedRequest, 400, "MALFORMED_ID",
                          "Account ID: id value of incorrect type: not-an-id", ["AccountId"]),
                 id="MALFORMED_ID"),
    pytest.param(query_unknown_object,
                 Expected(SalesforceMalformedRequest, 400, "INVALID_TYPE",
                          "sObject type 'Spaceship__c' is not supported"),
                 id="INVALID_TYPE"),
    pytest.param(create_without_required_field,
                 Expected(SalesforceMalformedRequest, 400, "REQUIRED_FIELD_MISSING",
                          "Required fields are missing: [LastName]", ["LastName"]),
                 id="REQUIRED_FIELD_MISSING"),
    pytest.param(create_with_too_long_text,
                 Expected(SalesforceMalformedRequest, 400, "STRING_TOO_LONG",
                          "Account Name: data value too large", ["Name"]),
                 id="STRING_TOO_LONG"),
    pytest.param(create_with_bad_restricted_picklist,
                 Expected(SalesforceMalformedRequest, 400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                          "Stage: bad value for restricted picklist field: Daydreaming", ["StageName"]),
                 id="INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
    pytest.param(create_with_duplicate_unique_value,
                 Expected(SalesforceMalformedRequest, 400, "DUPLICATE_VALUE",
                          "duplicate value found: Hub_Id__c duplicates value on record with id: 001"),
                 id="DUPLICATE_VALUE"),
    pytest.param(update_deleted_record,
                 Expected(SalesforceResourceNotFound, 404, "ENTITY_IS_DELETED", "entity is deleted"),
                 id="ENTITY_IS_DELETED"),
    pytest.param(write_a_locked_row,
                 Expected(SalesforceMalformedRequest, 400, "UNABLE_TO_LOCK_ROW",
                          "unable to obtain exclusive access to this record"),
                 id="UNABLE_TO_LOCK_ROW"),
    pytest.param(call_past_the_daily_limit,
                 Expected(SalesforceRefusedRequest, 403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded"),
                 id="REQUEST_LIMIT_EXCEEDED"),
    pytest.param(call_with_an_expired_session,
                 Expected(SalesforceExpiredSession, 401, "INVALID_SESSION_ID", "Session expired or invalid"),
                 id="INVALID_SESSION_ID"),
    pytest.param(update_converted_lead,
                 Expected(SalesforceMalformedRequest, 400, "CANNOT_UPDATE_CONVERTED_LEAD",
                          "cannot reference converted lead"),
                 id="CANNOT_UPDATE_CONVERTED_LEAD"),
]


@pytest.mark.parametrize(("failing_call", "expected"), CATALOGUE)
def test_error_catalogue(sandbox: RunningSandbox, sf: Salesforce, failing_call: Callable[[Org], None],
                         expected: Expected) -> None:
    with pytest.raises(SalesforceError) as caught:
        failing_call(Org(sf, sandbox))

    error = caught.value
    assert type(error) is expected.exception
    assert error.status == expected.status
    assert isinstance(error.content, list) and len(error.content) == 1, error.content
    answer = error.content[0]
    assert answer["errorCode"] == expected.error_code
    assert expected.message_part in answer["message"]
    if expected.fields is not None:
        assert answer["fields"] == expected.fields


def test_the_catalogue_covers_every_code_the_design_lists() -> None:
    promised = {"NOT_FOUND", "INVALID_FIELD", "MALFORMED_QUERY", "MALFORMED_ID", "INVALID_TYPE",
                "REQUIRED_FIELD_MISSING", "STRING_TOO_LONG", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                "DUPLICATE_VALUE", "ENTITY_IS_DELETED", "UNABLE_TO_LOCK_ROW", "REQUEST_LIMIT_EXCEEDED",
                "INVALID_SESSION_ID", "CANNOT_UPDATE_CONVERTED_LEAD"}
    covered = {param.values[1].error_code for param in CATALOGUE}
    assert covered == promised
