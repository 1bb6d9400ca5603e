"""SOAP API (partner ``/services/Soap/u/<v>`` and enterprise ``/services/Soap/c/<v>``): ``login`` and
``convertLead``.

simple-salesforce logs in by SOAP and reads the unprefixed ``sessionId`` and ``serverUrl`` elements; other
clients also read ``userId``, ``userInfo/organizationId`` and refuse ``passwordExpired`` true, so the answer
carries the whole LoginResult. Failures are SOAP faults (HTTP 500) whose detail holds ``sf:exceptionCode`` and
``sf:exceptionMessage``. Requests are parsed with the standard library; documents with a DOCTYPE are refused,
which rules out entity expansion tricks.

``convertLead`` is an API call like any REST request: it counts against the daily allowance, and its answer
carries a LimitInfoHeader.
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from salesbridge.sandbox.convert import convert_lead
from salesbridge.sandbox.errors import SandboxApiError
from salesbridge.sandbox.http import OrgDep
from salesbridge.sandbox.oauth import base_url_of
from salesbridge.sandbox.org import Org

router = APIRouter()

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
_NAMESPACES = {"u": "partner", "c": "enterprise"}
_CONVERT_RESULT_IDS = ("accountId", "contactId", "leadId", "opportunityId")
INVALID_LOGIN_MESSAGE = "Invalid username, password, security token; or user locked out."


class SoapFault(Exception):
    """A Salesforce API fault: ``faultcode sf:<code>`` and a detail with exceptionCode/exceptionMessage."""

    def __init__(self, code: str, message: str, fault_type: str = "UnexpectedErrorFault") -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.fault_type = fault_type


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: ElementTree.Element, name: str) -> ElementTree.Element | None:
    return next((child for child in element if _local(child.tag) == name), None)


def _text(element: ElementTree.Element, name: str) -> str | None:
    child = _child(element, name)
    return None if child is None else (child.text or "")


class _Api:
    """The namespaces of one SOAP flavour (partner or enterprise)."""

    def __init__(self, kind: str) -> None:
        flavour = _NAMESPACES[kind]
        self.kind = kind
        self.namespace = f"urn:{flavour}.soap.sforce.com"
        self.fault_namespace = f"urn:fault.{flavour}.soap.sforce.com"

    def envelope(self, body: str, header: str = "") -> Response:
        header_xml = f"<soapenv:Header>{header}</soapenv:Header>" if header else ""
        text = ('<?xml version="1.0" encoding="UTF-8"?>'
                f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}" xmlns="{self.namespace}" xmlns:xsi="{XSI}">'
                f"{header_xml}<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>")
        return Response(text, media_type="text/xml; charset=utf-8")

    def fault(self, fault: SoapFault) -> Response:
        code, message = escape(fault.code), escape(fault.message)
        text = ('<?xml version="1.0" encoding="UTF-8"?>'
                f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}" xmlns:sf="{self.fault_namespace}" '
                f'xmlns:xsi="{XSI}"><soapenv:Body><soapenv:Fault>'
                f"<faultcode>sf:{code}</faultcode><faultstring>{code}: {message}</faultstring>"
                f'<detail><sf:{fault.fault_type} xsi:type="sf:{fault.fault_type}">'
                f"<sf:exceptionCode>{code}</sf:exceptionCode><sf:exceptionMessage>{message}</sf:exceptionMessage>"
                f"</sf:{fault.fault_type}></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>")
        return Response(text, status_code=500, media_type="text/xml; charset=utf-8")

    def client_fault(self, message: str) -> Response:
        text = ('<?xml version="1.0" encoding="UTF-8"?>'
                f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}"><soapenv:Body><soapenv:Fault>'
                f"<faultcode>soapenv:Client</faultcode><faultstring>{escape(message)}</faultstring>"
                "</soapenv:Fault></soapenv:Body></soapenv:Envelope>")
        return Response(text, status_code=500, media_type="text/xml; charset=utf-8")


def _element(name: str, value: Any) -> str:
    """One XML element; None becomes ``xsi:nil``, booleans ``true``/``false``."""
    if value is None:
        return f'<{name} xsi:nil="true"/>'
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{name}>{escape(str(value))}</{name}>"


@router.post("/services/Soap/{kind}/{version}")
@router.post("/services/Soap/{kind}/{version}/{organization_part}")
async def soap_endpoint(kind: str, version: str, request: Request, org: OrgDep) -> Response:
    if kind not in _NAMESPACES:
        return Response(status_code=404)
    api = _Api(kind)
    raw = await request.body()
    if b"<!DOCTYPE" in raw.upper():
        return api.client_fault("DOCTYPE is not allowed")
    try:
        envelope = ElementTree.fromstring(raw)
    except ElementTree.ParseError as error:
        return api.client_fault(f"Unable to parse the request: {error}")
    body = _child(envelope, "Body")
    operation = next(iter(body), None) if body is not None else None
    if operation is None:
        return api.client_fault("No operation in the request body")
    header = _child(envelope, "Header")
    name = _local(operation.tag)
    base_url = base_url_of(request)
    try:
        # In the thread pool: the store's lock may be busy with a large write; the event loop stays free.
        if name == "login":
            return await run_in_threadpool(_login, api, org, version, base_url, operation, header)
        if name == "convertLead":
            return await run_in_threadpool(_convert_lead, api, org, operation, header)
    except SoapFault as fault:
        return api.fault(fault)
    return api.client_fault(f"No operation available for request {{{api.namespace}}}{name}")


# -- login ----------------------------------------------------------------------------------------------

def _login(api: _Api, org: Org, version: str, base_url: str, operation: ElementTree.Element,
           header: ElementTree.Element | None) -> Response:
    username = _text(operation, "username") or ""
    password = _text(operation, "password") or ""
    scope = _child(header, "LoginScopeHeader") if header is not None else None
    wanted_org = _text(scope, "organizationId") if scope is not None else None
    user = org.settings.user(username)
    record = org.user_record(username)
    if (user is None or record is None or not user.active or not user.password_matches(password)
            or (wanted_org and wanted_org[:15] != org.organization_id[:15])):
        raise SoapFault("INVALID_LOGIN", INVALID_LOGIN_MESSAGE, "LoginFault")
    user_id = record["Id"]
    session = org.sessions.open_session(user_id, client_id=None, scope="api")
    org15 = org.organization_id[:15]
    info = [
        ("accessibilityMode", False), ("chatterExternal", False), ("currencySymbol", "$"),
        ("orgAttachmentFileSizeLimit", 5242880), ("orgDefaultCurrencyIsoCode", "USD"),
        ("orgDefaultCurrencyLocale", "en_US"), ("orgDisallowHtmlAttachments", False),
        ("orgHasPersonAccounts", False), ("organizationId", org.organization_id),
        ("organizationMultiCurrency", False), ("organizationName", org.settings.organization_name),
        ("profileId", None), ("roleId", None), ("sessionSecondsValid", org.settings.token_ttl_seconds),
        ("userDefaultCurrencyIsoCode", None), ("userEmail", user.email), ("userFullName", user.full_name),
        ("userId", user_id), ("userLanguage", user.language), ("userLocale", user.locale),
        ("userName", record.get("Username") or user.username), ("userTimeZone", user.time_zone),
        ("userType", "Standard"), ("userUiSkin", "Theme3"),
    ]
    result = "".join([
        _element("metadataServerUrl", f"{base_url}/services/Soap/m/{version}/{org15}"),
        _element("passwordExpired", False),
        _element("sandbox", True),
        _element("serverUrl", f"{base_url}/services/Soap/{api.kind}/{version}/{org15}"),
        _element("sessionId", session.token),
        _element("userId", user_id),
        "<userInfo>", "".join(_element(key, value) for key, value in info), "</userInfo>",
    ])
    return api.envelope(f"<loginResponse><result>{result}</result></loginResponse>")


# -- calls that need a session --------------------------------------------------------------------------

def _session_user(org: Org, header: ElementTree.Element | None) -> str:
    session_header = _child(header, "SessionHeader") if header is not None else None
    token = (_text(session_header, "sessionId") or "").strip() if session_header is not None else ""
    user_id = org.sessions.user_for_token(token) if token else None
    if user_id is None:
        raise SoapFault("INVALID_SESSION_ID", "Invalid Session ID found in SessionHeader: Illegal Session")
    return user_id


def _count_api_call(org: Org) -> str:
    """Count the call against the daily allowance; answers the LimitInfoHeader to send back."""
    if not org.api_usage.try_count():
        raise SoapFault("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
    return ("<LimitInfoHeader><limitInfo>"
            f"<current>{org.api_usage.used}</current><limit>{org.api_usage.maximum}</limit>"
            "<type>API REQUESTS</type></limitInfo></LimitInfoHeader>")


def _convert_request(element: ElementTree.Element) -> dict[str, Any]:
    """A LeadConvert as the text of its fields (``convert_lead`` checks booleans and ids); nil/empty is None."""
    request: dict[str, Any] = {}
    for child in element:
        text = (child.text or "").strip()
        nil = child.get(f"{{{XSI}}}nil") == "true"
        request[_local(child.tag)] = None if nil or text == "" else text
    return request


def _convert_lead(api: _Api, org: Org, operation: ElementTree.Element,
                  header: ElementTree.Element | None) -> Response:
    user_id = _session_user(org, header)
    limit_header = _count_api_call(org)
    results = []
    for element in operation:
        if _local(element.tag) != "leadConverts":
            continue
        request = _convert_request(element)
        try:
            outcome = convert_lead(org, user_id, request)
        except SandboxApiError as error:
            outcome = {"leadId": request.get("leadId"), "success": False,
                       "errors": [error.as_collection_item()]}
        results.append(_convert_result(outcome))
    return api.envelope(f"<convertLeadResponse>{''.join(results)}</convertLeadResponse>", limit_header)


def _convert_result(outcome: dict[str, Any]) -> str:
    parts = [_element(name, outcome.get(name)) for name in _CONVERT_RESULT_IDS]
    for error in outcome.get("errors") or []:
        fields = "".join(_element("fields", field) for field in error.get("fields") or [])
        code = error.get("statusCode") or error.get("errorCode")
        parts.append(f"<errors>{fields}{_element('message', error.get('message'))}"
                     f"{_element('statusCode', code)}</errors>")
    parts.append(_element("success", bool(outcome.get("success"))))
    return f"<result>{''.join(parts)}</result>"
