"""simple-salesforce's and requests' exceptions -> our exception tree, classified (expired, limit, transient).

simple-salesforce raises by HTTP status and keeps the parsed body in ``content``; Salesforce's REST errors are a
JSON list ``[{"errorCode", "message", "fields"}]``; collections items say ``statusCode`` instead. Everything that
reaches the caller is one of ours, so the sync engine never needs to know simple-salesforce's classes.
"""

from __future__ import annotations

from typing import Any

import requests
from simple_salesforce import exceptions as sfx
from urllib3.exceptions import NewConnectionError

from salesbridge.salesforce.errors import (
    TRANSIENT_ERROR_CODES,
    TRANSIENT_STATUSES,
    ApiLimitExceeded,
    SalesforceError,
    SessionExpiredError,
    TransientError,
)


def record_error(item: Any) -> SalesforceError:
    """One error of a per-record result (collections ``statusCode`` or REST ``errorCode``)."""
    if not isinstance(item, dict):
        return SalesforceError("UNKNOWN_EXCEPTION", str(item))
    code = str(item.get("statusCode") or item.get("errorCode") or "UNKNOWN_EXCEPTION")
    message = str(item.get("message") or "")
    fields = [str(name) for name in item.get("fields") or []]
    return classify(code, message, fields, None)


def classify(code: str, message: str, fields: list[str], status: int | None) -> SalesforceError:
    """The right class for an error code and HTTP status."""
    if code == "INVALID_SESSION_ID" or status == 401:
        return SessionExpiredError(code, message, fields, status)
    if code == "REQUEST_LIMIT_EXCEEDED":
        return ApiLimitExceeded(code, message, fields, status)
    if code in TRANSIENT_ERROR_CODES or (status is not None and status in TRANSIENT_STATUSES):
        # A lock timeout means the write did not happen; a 5xx may come after it did.
        may_have = code != "UNABLE_TO_LOCK_ROW" and status is not None and status in TRANSIENT_STATUSES
        return TransientError(code, message, fields, status, may_have_succeeded=may_have)
    return SalesforceError(code, message, fields, status)


def _first_error(content: Any) -> tuple[str | None, str, list[str]]:
    if isinstance(content, list) and content and isinstance(content[0], dict):
        item = content[0]
        code = item.get("errorCode") or item.get("statusCode")
        return (str(code) if code else None, str(item.get("message") or ""),
                [str(name) for name in item.get("fields") or []])
    if isinstance(content, dict):
        code = content.get("errorCode") or content.get("error")
        message = content.get("message") or content.get("error_description") or ""
        return (str(code) if code else None, str(message), [])
    if isinstance(content, bytes):
        content = content.decode(errors="replace")
    return None, str(content)[:500], []


def from_simple_salesforce(error: sfx.SalesforceError) -> SalesforceError:
    status = int(error.status) if error.status else None
    if isinstance(error, sfx.SalesforceMoreThanOneRecord):
        candidates = error.content if isinstance(error.content, list) else []
        shown = ", ".join(str(candidate) for candidate in candidates)
        return SalesforceError("MULTIPLE_CHOICES", f"more than one record matches: [{shown}]", [], status)
    code, message, fields = _first_error(error.content)
    if code is None:
        code = {401: "INVALID_SESSION_ID", 404: "NOT_FOUND"}.get(status or 0, f"HTTP_{status}")
    return classify(code, message or f"{error.resource_name or error.url} answered {status}", fields, status)


def _sent_nothing(error: requests.RequestException) -> bool:
    """Whether the request surely never reached the server (so repeating it cannot duplicate anything)."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    reason = error.args[0] if error.args else None
    reason = getattr(reason, "reason", reason)
    return isinstance(reason, NewConnectionError)


def translate(error: BaseException) -> SalesforceError | None:
    """Our exception for ``error``, or None when it is not about talking to Salesforce (a bug: let it raise)."""
    if isinstance(error, SalesforceError):
        return error
    if isinstance(error, sfx.SalesforceError):
        return from_simple_salesforce(error)
    if isinstance(error, sfx.SalesforceOperationError):
        return SalesforceError("BULK_OPERATION_FAILED", str(error))
    if isinstance(error, requests.exceptions.SSLError):
        return SalesforceError("TLS_ERROR", f"TLS verification failed: {error}")
    if isinstance(error, requests.exceptions.JSONDecodeError):
        return SalesforceError("INVALID_RESPONSE", f"the answer is not JSON: {error}")
    if isinstance(error, requests.ConnectionError | requests.Timeout):
        return TransientError("CONNECTION_ERROR", f"{type(error).__name__}: {error}",
                              may_have_succeeded=not _sent_nothing(error))
    return None
