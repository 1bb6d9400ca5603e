"""What the client's calls answer: write outcomes per input record, and the replication API's answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from salesbridge.salesforce.errors import ApiLimitExceeded, BudgetExhausted, SalesforceError, TransientError


@dataclass
class WriteResult:
    """The outcome of one input record of a write, at the record's position in the input (``index``).

    ``id`` is the record's 18-character id when Salesforce told it (always on success; for a failed update or
    delete, the id that was sent when known). ``created`` is True when the write inserted the record (create, or
    an upsert that inserted), False when it changed an existing one, None when Salesforce did not say.
    """

    index: int
    id: str | None
    success: bool
    created: bool | None = None
    errors: list[SalesforceError] = field(default_factory=list)

    @property
    def retryable(self) -> bool:
        """Failed only for reasons that may pass (row locks, an unavailable server, our own budget guard)."""
        return (not self.success and bool(self.errors)
                and all(isinstance(e, TransientError | BudgetExhausted | ApiLimitExceeded) for e in self.errors))

    @property
    def error_codes(self) -> list[str]:
        return [error.error_code for error in self.errors]


@dataclass(frozen=True)
class UpdatedIds:
    """``getUpdated``: ids changed in the window, and how far the answer reaches (use it as the next start)."""

    ids: list[str]
    latest_date_covered: datetime


@dataclass(frozen=True)
class DeletedRecord:
    id: str
    deleted_date: datetime


@dataclass(frozen=True)
class DeletedRecords:
    """``getDeleted``: deletions in the window. Salesforce keeps them about 15 days (``earliest_date_available``);
    a window starting before that has lost deletions, which only a full Id comparison can find."""

    records: list[DeletedRecord]
    earliest_date_available: datetime | None
    latest_date_covered: datetime
