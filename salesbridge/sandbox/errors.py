"""The one exception the sandbox raises for an API error; the HTTP layer turns it into Salesforce's answer.

Salesforce answers REST errors as a JSON list ``[{"message", "errorCode", "fields"}]`` with an HTTP status; in
sObject Collections results the same error is spelled with ``statusCode``. Keeping status, code, message and
fields together lets every API (REST, composite, Bulk, SOAP) render it its own way.
"""

from __future__ import annotations


class SandboxApiError(Exception):
    """An error Salesforce would answer: HTTP status, errorCode, message and the fields concerned."""

    def __init__(self, error_code: str, message: str, *, status: int = 400, fields: list[str] | None = None):
        super().__init__(f"{error_code}: {message}")
        self.error_code = error_code
        self.message = message
        self.status = status
        self.fields = list(fields or [])

    def as_rest(self) -> dict:
        """The item of a REST error list."""
        return {"message": self.message, "errorCode": self.error_code, "fields": self.fields}

    def as_collection_item(self) -> dict:
        """The item of an sObject Collections ``errors`` list (``statusCode``, not ``errorCode``)."""
        return {"statusCode": self.error_code, "message": self.message, "fields": self.fields}


def not_found(message: str = "The requested resource does not exist") -> SandboxApiError:
    return SandboxApiError("NOT_FOUND", message, status=404)


def malformed_id(value: str, object_name: str | None = None) -> SandboxApiError:
    where = f"{object_name} ID" if object_name else "id"
    return SandboxApiError("MALFORMED_ID", f"Malformed {where}: {value}", status=400)
