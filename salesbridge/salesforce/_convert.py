"""Lead conversion through SOAP ``convertLead`` (no standard REST resource converts leads).

The call goes through the client's metered requests session (so it is counted) at
``{instance_url}/services/Soap/u/{version}`` with the access token in the SessionHeader. Faults and per-lead
errors become our exceptions, so session renewal, limits and retries work as for REST calls.
"""

from __future__ import annotations

from typing import Any

from simple_salesforce import Salesforce

from salesbridge.salesforce import _soap
from salesbridge.salesforce._connection import Connection
from salesbridge.salesforce._translate import classify
from salesbridge.salesforce.errors import SalesforceError, TransientError

#: LeadConvert fields in the partner WSDL's order.
_FIELD_ORDER = ("accountId", "contactId", "convertedStatus", "doNotCreateOpportunity", "leadId", "opportunityName",
                "overwriteLeadSource", "ownerId", "sendNotificationEmail")
_ANSWER_IDS = ("leadId", "accountId", "contactId", "opportunityId")


def convert_lead(conn: Connection, request: dict[str, Any]) -> dict[str, Any]:
    """Convert one lead; answers leadId, accountId, contactId, opportunityId (None when none was made), or
    raises the SalesforceError of a refused conversion."""
    (answer,) = convert_leads(conn, [request])
    error = answer.pop("error")
    if error is not None:
        raise error
    return answer


#: LeadConverts per call: Salesforce recommends at most 100 per convertLead.
MAX_CONVERTS = 100


def convert_leads(conn: Connection, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Convert up to MAX_CONVERTS leads in one call; one answer per request, in order: leadId, accountId,
    contactId, opportunityId and ``error`` (a SalesforceError for a lead Salesforce refused, else None).

    A fault (session, limits) raises for the whole call, as for REST calls; a lead's own failure does not.
    """
    if len(requests) > MAX_CONVERTS:
        raise ValueError(f"at most {MAX_CONVERTS} leads per convertLead call, got {len(requests)}")
    body = _soap.convert_leads_body([(name, request.get(name)) for name in _FIELD_ORDER] for request in requests)

    def call(sf: Salesforce) -> list[dict[str, Any]]:
        token = conn.token
        url = _soap.soap_url(token.instance_url, conn.api_version)
        response = sf.session.post(url, data=_soap.envelope(body, token.access_token).encode(),
                                   headers=_soap.request_headers("convertLead"))
        try:
            root = _soap.parse(response.content)
        except ValueError as error:
            if response.status_code >= 500:
                raise TransientError(f"HTTP_{response.status_code}", str(error), status=response.status_code,
                                     may_have_succeeded=True) from None
            raise SalesforceError("INVALID_RESPONSE", str(error), status=response.status_code) from None
        usage = _soap.limit_info(root)
        if usage is not None:
            conn.meter.note_usage(*usage)
        fault = _soap.fault_of(root)
        if fault is not None:
            raise classify(fault.code, fault.message, [], 401 if fault.code == "INVALID_SESSION_ID" else None)
        results = [node for node in root.iter() if _soap.local(node.tag) == "result"]
        if len(results) != len(requests):
            raise SalesforceError("INVALID_RESPONSE", f"convertLead answered {len(results)} results for "
                                  f"{len(requests)} leads", status=response.status_code)
        answers = []
        for result in results:
            answer: dict[str, Any] = {name: _soap.child_text(result, name) or None for name in _ANSWER_IDS}
            success = (_soap.child_text(result, "success") or "").lower() == "true"
            answer["error"] = None if success else _first_error(result)
            answers.append(answer)
        return answers

    return conn.call(call, repeatable=False)


def _first_error(result: Any) -> SalesforceError:
    for node in result:
        if _soap.local(node.tag) != "errors":
            continue
        code = _soap.child_text(node, "statusCode") or "UNKNOWN_EXCEPTION"
        message = _soap.child_text(node, "message") or ""
        fields = [child.text or "" for child in node if _soap.local(child.tag) == "fields"]
        return classify(code, message, fields, None)
    return SalesforceError("UNKNOWN_EXCEPTION", "convertLead failed without an error")
