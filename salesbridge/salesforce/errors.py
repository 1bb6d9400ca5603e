"""The exceptions of the Salesforce client: one tree, each class saying what went wrong and what to do about it.

    SalesforceError            an error Salesforce answered (or that we report in its terms): error_code, message,
    |                          fields, status
    +-- AuthenticationError    a login was refused (OAuth ``error``/``error_description`` or SOAP exceptionCode)
    +-- SessionExpiredError    the access token is no longer valid and could not be renewed
    +-- ApiLimitExceeded       the org refused the call: its daily API allowance is used up (REQUEST_LIMIT_EXCEEDED)
    +-- BudgetExhausted        our own guard stopped before the org's limit (``budget_share`` of the allowance)
    +-- TransientError         worth retrying later: 5xx, UNABLE_TO_LOCK_ROW, connection failures

Per-record failures of a write are not raised: they come back as ``WriteResult.errors`` (instances of this tree,
``TransientError`` for UNABLE_TO_LOCK_ROW). Errors that stop a whole write (any of the above raised by a write
method) carry ``partial_results``: every input's outcome so far, so that a caller can keep what was written before
the failure (links, ids) instead of writing it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from salesbridge.salesforce.results import WriteResult


class SalesforceError(Exception):
    """An error from a Salesforce org, in Salesforce's own terms.

    ``error_code`` is Salesforce's errorCode/statusCode (``INVALID_FIELD``, ``REQUIRED_FIELD_MISSING``...),
    ``fields`` the fields it names, ``status`` the HTTP status when there was one (None for per-record errors).
    """

    def __init__(self, error_code: str, message: str, fields: Sequence[str] = (), status: int | None = None) -> None:
        super().__init__(f"{error_code}: {message}")
        self.error_code = error_code
        self.message = message
        self.fields: list[str] = list(fields)
        self.status = status
        #: Set on errors raised by a write method: the outcome of every input record (see the module docstring).
        self.partial_results: list[WriteResult] | None = None

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(error_code={self.error_code!r}, message={self.message!r}, "
                f"fields={self.fields!r}, status={self.status!r})")

    def __eq__(self, other: object) -> bool:
        """Errors compare by what they say, so that results holding them compare naturally in tests and sets."""
        if not isinstance(other, SalesforceError):
            return NotImplemented
        return (type(self), self.error_code, self.message, self.fields, self.status) == (
            type(other), other.error_code, other.message, other.fields, other.status)

    def __hash__(self) -> int:
        return hash((type(self), self.error_code, self.message, tuple(self.fields), self.status))

    def as_dict(self) -> dict[str, object]:
        """The error as Salesforce's REST API spells one (for logs, run records and the UI)."""
        return {"errorCode": self.error_code, "message": self.message, "fields": list(self.fields)}


class AuthenticationError(SalesforceError):
    """Login failed. ``error_code`` is the OAuth ``error`` (``invalid_grant``, ``invalid_client_id``...) or the
    SOAP ``exceptionCode`` (``INVALID_LOGIN``); ``message`` is the server's description. Retrying will not help:
    the credentials or the connected app need fixing."""


class SessionExpiredError(SalesforceError):
    """The access token was refused (401 INVALID_SESSION_ID) and a new login did not help, or no new login is
    possible (flow ``session`` without a refresh token)."""


class ApiLimitExceeded(SalesforceError):
    """The org answered REQUEST_LIMIT_EXCEEDED: its rolling 24-hour API allowance is used up. Stop and resume
    when the allowance frees up; retrying now only fails again."""


class BudgetExhausted(SalesforceError):
    """Our guard stopped a call because the org's API usage reached ``share`` of its maximum.

    Nothing was sent. The point is to leave the rest of the allowance to the org's other integrations: stop the
    run and resume with the next one.
    """

    def __init__(self, used: int, maximum: int, share: float) -> None:
        super().__init__("BUDGET_EXHAUSTED",
                         f"API usage {used}/{maximum} reached the configured share {share:.0%} of the daily "
                         "allowance; stopping until the next run")
        self.used = used
        self.maximum = maximum
        self.share = share


class TransientError(SalesforceError):
    """A failure that may pass: HTTP 500/502/503/504, UNABLE_TO_LOCK_ROW, a dropped or refused connection.

    Raised once the retry policy gave up. ``may_have_succeeded`` is True when the request may have been carried
    out although its answer was lost (a 5xx or a connection dropped after sending): repeating a *create* then
    risks a duplicate, which is why creates are not retried in that case. Write through an external id (upsert)
    to make repeats harmless.
    """

    def __init__(self, error_code: str, message: str, fields: Sequence[str] = (), status: int | None = None,
                 *, may_have_succeeded: bool = False) -> None:
        super().__init__(error_code, message, fields, status)
        self.may_have_succeeded = may_have_succeeded


#: Salesforce error codes that mean "try again" whatever the HTTP status: a row lock timed out (the write did not
#: happen), or the server said it was briefly unavailable.
TRANSIENT_ERROR_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE"})
#: HTTP statuses that mean the server (or a proxy before it) failed, not the request.
TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})
