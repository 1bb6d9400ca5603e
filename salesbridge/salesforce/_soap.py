"""The few SOAP (partner API) calls the hub needs: ``login`` and ``convertLead``.

simple-salesforce has no convertLead, and its SOAP login only knows ``https://<domain>.salesforce.com``; we need a
configurable login URL (the sandbox, My Domain). Envelopes are built from escaped text and answers parsed with
the standard library; elements are matched by local name, as the namespaces differ between partner and
enterprise endpoints.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
PARTNER_NS = "urn:partner.soap.sforce.com"
XSI = "http://www.w3.org/2001/XMLSchema-instance"


def soap_url(base_url: str, api_version: str) -> str:
    return f"{base_url.rstrip('/')}/services/Soap/u/{api_version}"


def request_headers(action: str) -> dict[str, str]:
    return {"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": action, "Accept": "text/xml"}


def element(name: str, value: Any) -> str:
    """``<urn:name>value</urn:name>``; booleans as ``true``/``false``."""
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<urn:{name}>{escape(str(value))}</urn:{name}>"


def envelope(body: str, session_id: str | None = None) -> str:
    header = ""
    if session_id is not None:
        header = (f"<soapenv:Header><urn:SessionHeader>{element('sessionId', session_id)}"
                  "</urn:SessionHeader></soapenv:Header>")
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}" xmlns:urn="{PARTNER_NS}" xmlns:xsi="{XSI}">'
            f"{header}<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>")


def login_body(username: str, password: str) -> str:
    return f"<urn:login>{element('username', username)}{element('password', password)}</urn:login>"


def convert_leads_body(converts: Iterable[Iterable[tuple[str, Any]]]) -> str:
    """``convertLead`` with LeadConverts (one ``leadConverts`` element each, answered in order); None values are
    left out (the server's defaults apply)."""
    items = "".join("<urn:leadConverts>" + "".join(element(name, value) for name, value in fields
                                                   if value is not None) + "</urn:leadConverts>"
                    for fields in converts)
    return f"<urn:convertLead>{items}</urn:convertLead>"


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def find(root: ElementTree.Element, name: str) -> ElementTree.Element | None:
    """The first descendant (or root) with this local name."""
    return next((node for node in root.iter() if local(node.tag) == name), None)


def child_text(node: ElementTree.Element, name: str) -> str | None:
    for child in node:
        if local(child.tag) == name:
            if child.get(f"{{{XSI}}}nil") == "true":
                return None
            return child.text or ""
    return None


def parse(text: str | bytes) -> ElementTree.Element:
    """Parse an answer; a body that is not XML (a proxy's HTML page) raises ValueError with its start."""
    try:
        return ElementTree.fromstring(text)
    except ElementTree.ParseError:
        shown = text[:200].decode(errors="replace") if isinstance(text, bytes) else text[:200]
        raise ValueError(f"not a SOAP answer: {shown!r}") from None


@dataclass(frozen=True)
class Fault:
    """A SOAP fault: Salesforce's exceptionCode (or the faultcode without prefix) and its message."""

    code: str
    message: str


def fault_of(root: ElementTree.Element) -> Fault | None:
    fault = find(root, "Fault")
    if fault is None:
        return None
    code = None
    message = None
    detail_code = find(fault, "exceptionCode")
    if detail_code is not None:
        code = detail_code.text
        detail_message = find(fault, "exceptionMessage")
        message = detail_message.text if detail_message is not None else None
    if not code:
        code = (child_text(fault, "faultcode") or "UNKNOWN_EXCEPTION").rsplit(":", 1)[-1]
    if not message:
        message = child_text(fault, "faultstring") or ""
    return Fault(code, message)


def limit_info(root: ElementTree.Element) -> tuple[int, int] | None:
    """``(current, limit)`` from a LimitInfoHeader of type API REQUESTS, when the answer carries one."""
    for info in root.iter():
        if local(info.tag) != "limitInfo" or (child_text(info, "type") or "") != "API REQUESTS":
            continue
        try:
            return int(child_text(info, "current") or ""), int(child_text(info, "limit") or "")
        except ValueError:
            return None
    return None
