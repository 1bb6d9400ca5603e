"""Lead conversion in the sandbox: SOAP convertLead semantics, through the HTTPS server.

Conversions go through the admin endpoint (JSON, SOAP field names) and SOAP ``convertLead`` itself; records are
read back with unmodified simple-salesforce.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from xml.etree import ElementTree

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from salesbridge.sandbox import convert
from salesbridge.sandbox.errors import SandboxApiError
from salesbridge.sandbox.server import RunningSandbox

CONVERTED = "Closed - Converted"
SOAP_NS = {"soapenv": "http://schemas.xmlsoap.org/soap/envelope/", "p": "urn:partner.soap.sforce.com"}


def admin_convert(sf: Salesforce, body: dict[str, Any] | list[dict[str, Any]]) -> Any:
    response = sf.session.post(f"https://{sf.sf_instance}/sandbox/admin/convertLead", json=body,
                               headers=sf.headers)
    assert response.status_code == 200, response.text
    return response.json()


def new_lead(sf: Salesforce, **values: Any) -> str:
    fields = {"FirstName": "Philip", "LastName": "Fry", "Company": "Planet Express", "Email": "fry@example.com",
              "Phone": "555-0100", "Title": "Delivery Boy", "City": "New New York", "LeadSource": "Web",
              **values}
    return sf.Lead.create(fields)["id"]


def count(sf: Salesforce, object_name: str) -> int:
    return sf.query(f"SELECT COUNT() FROM {object_name}")["totalSize"]


def end_of_this_quarter() -> str:
    today = datetime.now(UTC).date()
    month, day = {1: (3, 31), 2: (6, 30), 3: (9, 30), 4: (12, 31)}[(today.month - 1) // 3 + 1]
    return date(today.year, month, day).isoformat()


def test_conversion_creates_account_contact_and_opportunity(sf: Salesforce) -> None:
    lead_id = new_lead(sf)

    result = admin_convert(sf, {"leadId": lead_id[:15], "convertedStatus": CONVERTED})

    assert result["success"] is True and result["errors"] == []
    assert result["leadId"] == lead_id
    account = sf.Account.get(result["accountId"])
    assert (account["Name"], account["Phone"], account["BillingCity"]) == ("Planet Express", "555-0100",
                                                                           "New New York")
    contact = sf.Contact.get(result["contactId"])
    assert (contact["FirstName"], contact["LastName"], contact["Email"], contact["Title"]) == (
        "Philip", "Fry", "fry@example.com", "Delivery Boy")
    assert (contact["AccountId"], contact["LeadSource"]) == (result["accountId"], "Web")
    opportunity = sf.Opportunity.get(result["opportunityId"])
    assert opportunity["Name"] == "Planet Express"
    assert opportunity["AccountId"] == result["accountId"]
    assert opportunity["StageName"] == "Prospecting"
    assert opportunity["CloseDate"] == end_of_this_quarter()

    lead = sf.Lead.get(lead_id)
    assert lead["IsConverted"] is True
    assert lead["Status"] == CONVERTED
    assert lead["ConvertedDate"] == datetime.now(UTC).date().isoformat()
    assert (lead["ConvertedAccountId"], lead["ConvertedContactId"], lead["ConvertedOpportunityId"]) == (
        result["accountId"], result["contactId"], result["opportunityId"])
    owners = {record["OwnerId"] for record in (account, contact, opportunity)}
    assert owners == {lead["OwnerId"]}


def test_conversion_without_opportunity(sf: Salesforce) -> None:
    lead_id = new_lead(sf)

    result = admin_convert(sf, {"leadId": lead_id, "convertedStatus": CONVERTED, "doNotCreateOpportunity": True})

    assert result["success"] is True
    assert result["opportunityId"] is None
    assert sf.Lead.get(lead_id)["ConvertedOpportunityId"] is None
    assert count(sf, "Opportunity") == 0


def test_opportunity_name_and_owner(sandbox: RunningSandbox, sf: Salesforce) -> None:
    manager_id = sandbox.org.user_record("sales.manager@sandbox.example")["Id"]
    lead_id = new_lead(sf)

    result = admin_convert(sf, {"leadId": lead_id, "convertedStatus": CONVERTED,
                                "opportunityName": "Planet Express - Spaceship", "ownerId": manager_id})

    opportunity = sf.Opportunity.get(result["opportunityId"])
    assert opportunity["Name"] == "Planet Express - Spaceship"
    for object_name, key in (("Account", "accountId"), ("Contact", "contactId"), ("Opportunity", "opportunityId")):
        assert getattr(sf, object_name).get(result[key])["OwnerId"] == manager_id


def test_merge_into_existing_account_and_contact(sf: Salesforce) -> None:
    account_id = sf.Account.create({"Name": "Planet Express Inc.", "Phone": "555-9999"})["id"]
    contact_id = sf.Contact.create({"LastName": "Fry", "AccountId": account_id, "Email": "old@example.com",
                                    "LeadSource": "Phone Inquiry"})["id"]
    lead_id = new_lead(sf)

    result = admin_convert(sf, {"leadId": lead_id, "convertedStatus": CONVERTED, "accountId": account_id,
                                "contactId": contact_id, "overwriteLeadSource": True})

    assert (result["success"], result["accountId"], result["contactId"]) == (True, account_id, contact_id)
    assert count(sf, "Account") == 1 and count(sf, "Contact") == 1
    account = sf.Account.get(account_id)
    assert (account["Name"], account["Phone"]) == ("Planet Express Inc.", "555-9999")  # kept
    assert account["BillingCity"] == "New New York"  # was empty: filled from the lead
    contact = sf.Contact.get(contact_id)
    assert contact["Email"] == "old@example.com"  # kept
    assert contact["Title"] == "Delivery Boy"  # was empty
    assert contact["LeadSource"] == "Web"  # overwriteLeadSource
    assert sf.Opportunity.get(result["opportunityId"])["AccountId"] == account_id


def test_existing_account_with_new_contact(sf: Salesforce) -> None:
    account_id = sf.Account.create({"Name": "Planet Express"})["id"]
    lead_id = new_lead(sf)

    result = admin_convert(sf, {"leadId": lead_id, "convertedStatus": CONVERTED, "accountId": account_id})

    assert result["accountId"] == account_id
    assert sf.Contact.get(result["contactId"])["AccountId"] == account_id
    assert count(sf, "Account") == 1


def test_contact_of_another_account_is_refused_and_nothing_changes(sf: Salesforce) -> None:
    account_id = sf.Account.create({"Name": "Mom's Friendly Robots"})["id"]
    other_account = sf.Account.create({"Name": "Planet Express"})["id"]
    contact_id = sf.Contact.create({"LastName": "Mom", "AccountId": account_id})["id"]
    lead_id = new_lead(sf)

    result = admin_convert(sf, {"leadId": lead_id, "convertedStatus": CONVERTED, "accountId": other_account,
                                "contactId": contact_id})

    assert result["success"] is False
    assert result["errors"][0]["statusCode"] == "INVALID_CROSS_REFERENCE_KEY"
    assert result["errors"][0]["fields"] == ["contactId"]
    assert sf.Lead.get(lead_id)["IsConverted"] is False
    assert count(sf, "Opportunity") == 0


def test_contact_without_account_is_refused(sf: Salesforce) -> None:
    account_id = sf.Account.create({"Name": "Planet Express"})["id"]
    contact_id = sf.Contact.create({"LastName": "Fry", "AccountId": account_id})["id"]
    result = admin_convert(sf, {"leadId": new_lead(sf), "convertedStatus": CONVERTED, "contactId": contact_id})
    assert (result["success"], result["errors"][0]["statusCode"]) == (False, "REQUIRED_FIELD_MISSING")


def test_converting_twice_fails_and_changes_nothing(sf: Salesforce) -> None:
    lead_id = new_lead(sf)
    first = admin_convert(sf, {"leadId": lead_id, "convertedStatus": CONVERTED})
    lead_before = sf.Lead.get(lead_id)

    second = admin_convert(sf, {"leadId": lead_id, "convertedStatus": CONVERTED})

    assert first["success"] is True
    assert second["success"] is False
    assert second["errors"] == [{"statusCode": "CANNOT_UPDATE_CONVERTED_LEAD",
                                 "message": "cannot reference converted lead", "fields": []}]
    assert (second["accountId"], second["contactId"], second["opportunityId"]) == (None, None, None)
    assert sf.Lead.get(lead_id) == lead_before
    assert (count(sf, "Account"), count(sf, "Contact"), count(sf, "Opportunity")) == (1, 1, 1)


def test_converted_lead_cannot_be_updated(sf: Salesforce) -> None:
    lead_id = new_lead(sf)
    admin_convert(sf, {"leadId": lead_id, "convertedStatus": CONVERTED})

    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.Lead.update(lead_id, {"Title": "Captain"})

    assert refused.value.content[0]["errorCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"
    assert sf.Lead.get(lead_id)["Title"] == "Delivery Boy"


@pytest.mark.parametrize("status", ["Open - Not Contacted", "Closed - Not Converted", "", None])
def test_status_must_be_a_converted_status(sf: Salesforce, status: str | None) -> None:
    lead_id = new_lead(sf)

    result = admin_convert(sf, {"leadId": lead_id, "convertedStatus": status})

    assert result["success"] is False
    assert result["errors"][0]["statusCode"] == "INVALID_STATUS"
    assert result["errors"][0]["message"] == f"invalid convertedStatus: {status or ''}"
    assert sf.Lead.get(lead_id)["IsConverted"] is False
    assert count(sf, "Account") == 0


def test_converted_statuses_are_configurable(sandbox: RunningSandbox, sf: Salesforce) -> None:
    sandbox.org.settings.converted_lead_statuses = ["Qualified"]
    lead_id = new_lead(sf)
    assert admin_convert(sf, {"leadId": lead_id, "convertedStatus": CONVERTED})["success"] is False
    assert admin_convert(sf, {"leadId": lead_id, "convertedStatus": "qualified"})["success"] is True
    assert sf.Lead.get(lead_id)["Status"] == "Qualified"


def test_unknown_lead_and_ids_of_another_object(sf: Salesforce) -> None:
    account_id = sf.Account.create({"Name": "Not a lead"})["id"]
    results = admin_convert(sf, [
        {"leadId": account_id, "convertedStatus": CONVERTED},
        {"leadId": "00Q000000000000", "convertedStatus": CONVERTED},
        {"leadId": "not-an-id", "convertedStatus": CONVERTED},
        {"convertedStatus": CONVERTED},
    ])
    assert [r["errors"][0]["statusCode"] for r in results] == [
        "INVALID_CROSS_REFERENCE_KEY", "INVALID_CROSS_REFERENCE_KEY", "MALFORMED_ID", "REQUIRED_FIELD_MISSING"]
    assert all(r["success"] is False for r in results)


def test_several_leads_convert_independently(sf: Salesforce) -> None:
    good = new_lead(sf, LastName="Leela", Company="DOOP")
    bad = new_lead(sf, LastName="Bender", Company="Bending Inc")

    results = admin_convert(sf, [{"leadId": good, "convertedStatus": CONVERTED},
                                 {"leadId": bad, "convertedStatus": "Working - Contacted"},
                                 {"leadId": good, "convertedStatus": CONVERTED}])

    assert [r["success"] for r in results] == [True, False, False]
    assert results[2]["errors"][0]["statusCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"
    assert sf.Lead.get(bad)["IsConverted"] is False


def test_opportunity_name_rules(sf: Salesforce) -> None:
    lead_id = new_lead(sf)
    named_without_opportunity = admin_convert(sf, {"leadId": lead_id, "convertedStatus": CONVERTED,
                                                   "doNotCreateOpportunity": True, "opportunityName": "X"})
    too_long = admin_convert(sf, {"leadId": lead_id, "convertedStatus": CONVERTED, "opportunityName": "x" * 81})
    assert named_without_opportunity["success"] is False
    assert too_long["errors"][0]["statusCode"] == "STRING_TOO_LONG"
    assert sf.Lead.get(lead_id)["IsConverted"] is False


def test_notification_is_recorded_only_when_asked(sandbox: RunningSandbox, sf: Salesforce) -> None:
    quiet = new_lead(sf, LastName="Quiet")
    loud = new_lead(sf, LastName="Loud")
    admin_convert(sf, {"leadId": quiet, "convertedStatus": CONVERTED})
    result = admin_convert(sf, {"leadId": loud, "convertedStatus": CONVERTED, "sendNotificationEmail": "true"})
    admin_convert(sf, {"leadId": loud, "convertedStatus": CONVERTED, "sendNotificationEmail": True})  # fails

    sent = convert.notifications(sandbox.org)
    assert len(sent) == 1
    assert sent[0]["leadId"] == loud
    assert sent[0]["toUserId"] == sf.Lead.get(loud)["OwnerId"]
    assert (sent[0]["accountId"], sent[0]["opportunityId"]) == (result["accountId"], result["opportunityId"])


def test_failure_midway_rolls_everything_back(sandbox: RunningSandbox, sf: Salesforce,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    records = sandbox.org.records
    original_create = records.create

    def failing_create(object_name: str, values: dict[str, Any], user_id: str) -> str:
        if object_name == "Opportunity":
            raise SandboxApiError("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record")
        return original_create(object_name, values, user_id)

    monkeypatch.setattr(records, "create", failing_create)
    lead_id = new_lead(sf)
    result = admin_convert(sf, {"leadId": lead_id, "convertedStatus": CONVERTED})

    assert result["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"
    assert (count(sf, "Account"), count(sf, "Contact")) == (0, 0)
    assert sf.Lead.get(lead_id)["IsConverted"] is False


def test_admin_endpoint_needs_a_session(sandbox: RunningSandbox) -> None:
    response = sandbox.http().post(f"{sandbox.url}/sandbox/admin/convertLead",
                                   json={"leadId": "00Q000000000000", "convertedStatus": CONVERTED})
    assert response.status_code == 401
    assert response.json()[0]["errorCode"] == "INVALID_SESSION_ID"


def soap_convert(sandbox: RunningSandbox, session_id: str, converts: list[dict[str, str]]) -> ElementTree.Element:
    items = "".join(
        "<urn:leadConverts>" + "".join(f"<urn:{name}>{value}</urn:{name}>" for name, value in item.items())
        + "</urn:leadConverts>" for item in converts)
    envelope = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:urn="urn:partner.soap.sforce.com">'
        f"<soapenv:Header><urn:SessionHeader><urn:sessionId>{session_id}</urn:sessionId></urn:SessionHeader>"
        f"</soapenv:Header><soapenv:Body><urn:convertLead>{items}</urn:convertLead></soapenv:Body>"
        "</soapenv:Envelope>")
    session = requests.Session()
    session.verify = sandbox.ca_path
    response = session.post(f"{sandbox.url}/services/Soap/u/62.0", data=envelope.encode(),
                            headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": "convertLead"})
    assert response.status_code == 200, response.text
    return ElementTree.fromstring(response.content)


def test_soap_convert_lead(sandbox: RunningSandbox, sf: Salesforce) -> None:
    lead_id = new_lead(sf)
    converted_before = new_lead(sf, LastName="Farnsworth")
    admin_convert(sf, {"leadId": converted_before, "convertedStatus": CONVERTED})

    answer = soap_convert(sandbox, sf.session_id, [
        {"leadId": lead_id, "convertedStatus": CONVERTED, "doNotCreateOpportunity": "true"},
        {"leadId": converted_before, "convertedStatus": CONVERTED},
    ])

    results = answer.findall(".//p:convertLeadResponse/p:result", SOAP_NS)
    assert len(results) == 2
    ok, refused = results
    assert ok.findtext("p:success", namespaces=SOAP_NS) == "true"
    assert ok.findtext("p:leadId", namespaces=SOAP_NS) == lead_id
    account_id = ok.findtext("p:accountId", namespaces=SOAP_NS)
    assert sf.Lead.get(lead_id)["ConvertedAccountId"] == account_id
    assert not ok.findtext("p:opportunityId", namespaces=SOAP_NS)
    assert refused.findtext("p:success", namespaces=SOAP_NS) == "false"
    assert refused.findtext("p:errors/p:statusCode", namespaces=SOAP_NS) == "CANNOT_UPDATE_CONVERTED_LEAD"
