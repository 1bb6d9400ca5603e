"""Writes in as few calls as possible: sObject Collections up to the bulk threshold, Bulk API 2.0 above it, and
records that failed only on a row lock sent again on their own.

Results always come back one per input, in input order. A failure that stops the whole write (budget, limit,
login, an error of the request itself) is raised with ``partial_results``: what was written before it keeps its
result (id, created), everything else fails with that error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from salesbridge.salesforce import _collections
from salesbridge.salesforce._bulk import BulkIngest
from salesbridge.salesforce._collections import Operation, failed
from salesbridge.salesforce._connection import Connection
from salesbridge.salesforce.errors import SalesforceError
from salesbridge.salesforce.results import WriteResult

LOCK_ERROR = "UNABLE_TO_LOCK_ROW"


def _lock_failure(result: WriteResult | None) -> bool:
    return result is not None and not result.success and bool(result.errors) and all(
        error.error_code == LOCK_ERROR for error in result.errors)


class Writer:
    def __init__(self, conn: Connection, bulk: BulkIngest, bulk_threshold: int,
                 object_of_id: Callable[[str], str | None]) -> None:
        if bulk_threshold < 0:
            raise ValueError("bulk_threshold must be >= 0")
        self.conn = conn
        self.bulk = bulk
        self.bulk_threshold = bulk_threshold
        self.object_of_id = object_of_id

    def write(self, operation: Operation, object_name: str | None, records: Sequence[Any],
              external_id_field: str | None = None) -> list[WriteResult]:
        results: list[WriteResult | None] = [None] * len(records)
        retry = self.conn.retry
        try:
            self._send(operation, object_name, external_id_field, range(len(records)), records, results)
            for round_number in range(retry.lock_retries):
                pending = [index for index, result in enumerate(results) if _lock_failure(result)]
                if not pending:
                    break
                retry.wait(round_number)
                for index in pending:
                    results[index] = None
                self._send(operation, object_name, external_id_field, pending, records, results)
        except SalesforceError as error:
            error.partial_results = [result or failed(index, operation, records[index], error)
                                     for index, result in enumerate(results)]
            raise
        assert all(result is not None for result in results)
        return results  # type: ignore[return-value]

    def _send(self, operation: Operation, object_name: str | None, external_id_field: str | None,
              indices: Sequence[int], records: Sequence[Any], results: list[WriteResult | None]) -> None:
        if len(indices) > self.bulk_threshold:
            self.bulk.write(operation, object_name, external_id_field, indices, records, results, self.object_of_id)
        else:
            _collections.write(self.conn, operation, object_name, external_id_field, indices, records, results)
