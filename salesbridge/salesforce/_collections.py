"""Writes through sObject Collections (``composite/sobjects``): up to 200 records a call, ``allOrNone`` false.

Salesforce answers HTTP 200 with one result per record in input order, so each answer item maps straight back
to the input position it was sent for. Items say ``statusCode`` (not ``errorCode``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal
from urllib.parse import quote

from salesbridge.salesforce._connection import Connection
from salesbridge.salesforce._translate import record_error
from salesbridge.salesforce._wire import json_record
from salesbridge.salesforce.errors import SalesforceError
from salesbridge.salesforce.results import WriteResult

Operation = Literal["create", "update", "upsert", "delete"]
#: Salesforce's cap on records per collections request.
COLLECTION_SIZE = 200


def input_id(operation: str, record: Any) -> str | None:
    """The record id an input names (delete: the input itself; update: its Id), for results of failures."""
    if operation == "delete":
        return record if isinstance(record, str) and record else None
    if isinstance(record, Mapping):
        value = record.get("Id", record.get("id"))
        return value if isinstance(value, str) and value else None
    return None


def failed(index: int, operation: str, record: Any, error: SalesforceError) -> WriteResult:
    return WriteResult(index, input_id(operation, record), False, None, [error])


def write(conn: Connection, operation: Operation, object_name: str | None, external_id_field: str | None,
          indices: Sequence[int], records: Sequence[Any], results: list[WriteResult | None]) -> None:
    """Send ``records[i]`` for each i in ``indices`` in calls of 200, filling ``results[i]`` as answers come.

    A record whose values cannot be sent (a type Salesforce has no form for) fails on its own, unsent.
    """
    batch: list[tuple[int, Any]] = []
    for index in indices:
        record = records[index]
        try:
            payload = _payload(operation, object_name, record)
        except (TypeError, ValueError) as error:
            results[index] = failed(index, operation, record, SalesforceError("INVALID_VALUE", str(error)))
            continue
        batch.append((index, payload))
        if len(batch) == COLLECTION_SIZE:
            _send(conn, operation, object_name, external_id_field, batch, records, results)
            batch = []
    if batch:
        _send(conn, operation, object_name, external_id_field, batch, records, results)


def _payload(operation: str, object_name: str | None, record: Any) -> Any:
    if operation == "delete":
        if not isinstance(record, str) or not record.strip():
            raise ValueError(f"a record id to delete must be a non-empty string, got {record!r}")
        return record.strip()
    if not isinstance(record, Mapping):
        raise TypeError(f"a record must be a mapping of field names to values, got {type(record).__name__}")
    return json_record(record, object_name)


def _send(conn: Connection, operation: Operation, object_name: str | None, external_id_field: str | None,
          batch: list[tuple[int, Any]], records: Sequence[Any], results: list[WriteResult | None]) -> None:
    payloads = [payload for _, payload in batch]
    if operation == "delete":
        answer = conn.call(lambda sf: sf.restful("composite/sobjects", method="DELETE",
                                                 params={"ids": ",".join(payloads), "allOrNone": "false"}))
    else:
        body = json.dumps({"allOrNone": False, "records": payloads}, ensure_ascii=False).encode()
        path = "composite/sobjects"
        if operation == "upsert":
            path += f"/{quote(object_name or '', safe='')}/{quote(external_id_field or '', safe='')}"
        method = "POST" if operation == "create" else "PATCH"
        answer = conn.call(lambda sf: sf.restful(path, method=method, data=body), repeatable=operation != "create")
    if not isinstance(answer, list) or len(answer) != len(batch):
        raise SalesforceError("INVALID_RESPONSE", f"sObject Collections answered {type(answer).__name__} "
                              f"for {len(batch)} records: {str(answer)[:200]}")
    for (index, _), item in zip(batch, answer, strict=True):
        results[index] = result_of(index, operation, records[index], item)


def result_of(index: int, operation: str, record: Any, item: Any) -> WriteResult:
    """A WriteResult from one collections answer item."""
    if not isinstance(item, Mapping):
        return failed(index, operation, record, SalesforceError("INVALID_RESPONSE", f"result item {item!r}"))
    record_id = item.get("id") or input_id(operation, record)
    if item.get("success"):
        created: bool | None = {"create": True, "update": False, "delete": False}.get(operation)
        if operation == "upsert":
            created = item.get("created") if isinstance(item.get("created"), bool) else None
        return WriteResult(index, record_id, True, created, [])
    errors = [record_error(error) for error in item.get("errors") or []] or [
        SalesforceError("UNKNOWN_EXCEPTION", "Salesforce reported a failure without an error")]
    return WriteResult(index, record_id, False, None, errors)
