"""sObject Collections (``composite/sobjects``): create, update, upsert, delete and retrieve up to 200 records.

The answer is always HTTP 200 with one result per record in input order; a record's failure is reported in its
result with ``statusCode`` (not ``errorCode``). With ``allOrNone`` every write runs in one store transaction: on
any failure all are undone and the records that had succeeded answer ALL_OR_NONE_OPERATION_ROLLED_BACK.
Fault injection's UNABLE_TO_LOCK_ROW comes from ``org.records`` per record write, so it fails single records
here as on Salesforce.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from salesbridge.sandbox.errors import SandboxApiError
from salesbridge.sandbox.rest_common import (
    RestAnswer,
    RestContext,
    api_record,
    object_def_or_404,
    requested_fields,
)
from salesbridge.sandbox.schema import ObjectDef

MAX_WRITE_RECORDS = 200
MAX_RETRIEVE_IDS = 2000
ROLLED_BACK_MESSAGE = ("Record rolled back because not all records were valid and the request was using "
                       "AllOrNone header")

Result = dict[str, Any]


class _RollBack(Exception):
    """Raised inside the store transaction to undo an all-or-none request that had a failure."""


def _too_many(limit: int) -> SandboxApiError:
    return SandboxApiError("EXCEEDED_ID_LIMIT",
                           f"record limit reached. cannot submit more than {limit} records into this call")


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return False


def _request_records(ctx: RestContext) -> tuple[list[dict[str, Any]], bool]:
    """``records`` and ``allOrNone`` of a write request body, checked for shape and size."""
    body = ctx.json_object()
    records = body.get("records")
    if not isinstance(records, list) or not all(isinstance(item, dict) for item in records):
        raise SandboxApiError("JSON_PARSER_ERROR", "records: expected a list of sObjects")
    if len(records) > MAX_WRITE_RECORDS:
        raise _too_many(MAX_WRITE_RECORDS)
    return records, _flag(body.get("allOrNone", False))


def _item_object(ctx: RestContext, item: dict[str, Any]) -> ObjectDef:
    attributes = item.get("attributes")
    type_name = attributes.get("type") if isinstance(attributes, dict) else None
    if not type_name:
        raise SandboxApiError("INVALID_TYPE",
                              "Missing entity type information. sObject requires a separate 'type' field be sent.")
    object_def = ctx.org.schema.get(str(type_name))
    if object_def is None:
        raise SandboxApiError("INVALID_TYPE", f"sObject type '{type_name}' is not supported.")
    return object_def


def _id_of(item: dict[str, Any]) -> Any:
    for key in ("id", "Id", "ID", "iD"):
        if key in item:
            return item[key]
    return None


def _values(item: dict[str, Any], *, drop_id: bool) -> dict[str, Any]:
    return {key: value for key, value in item.items()
            if key != "attributes" and not (drop_id and key.lower() == "id")}


def _failure(error: SandboxApiError) -> Result:
    return {"success": False, "errors": [error.as_collection_item()]}


def run_items(ctx: RestContext, items: list[Any], all_or_none: bool, work: Callable[[Any], Result]) -> RestAnswer:
    """Apply ``work`` to each item, one result each; all-or-none runs them in one transaction.

    Inside an all-or-none composite request a collection is all-or-none too (Salesforce: the outer flag
    overrides), and a failure marks the answer failed so that the composite rolls everything back.
    """
    all_or_none = all_or_none or ctx.force_all_or_none
    results: list[Result] = []

    def process() -> None:
        for item in items:
            try:
                results.append(work(item))
            except SandboxApiError as error:
                results.append(_failure(error))

    if not all_or_none:
        process()
        return RestAnswer(200, results)
    try:
        with ctx.org.store.transaction():
            process()
            if any(not result["success"] for result in results):
                raise _RollBack()
    except _RollBack:
        rolled_back = SandboxApiError("ALL_OR_NONE_OPERATION_ROLLED_BACK", ROLLED_BACK_MESSAGE)
        return RestAnswer(200, [result if not result["success"] else _failure(rolled_back) for result in results],
                          failed=True)
    return RestAnswer(200, results)


# -- resources ------------------------------------------------------------------------------------------
def create_records(ctx: RestContext) -> RestAnswer:
    records, all_or_none = _request_records(ctx)

    def create(item: dict[str, Any]) -> Result:
        object_def = _item_object(ctx, item)
        if _id_of(item) not in (None, ""):
            raise SandboxApiError("INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call",
                                  fields=["Id"])
        record_id = ctx.org.records.create(object_def.name, _values(item, drop_id=True), ctx.user_id)
        return {"id": record_id, "success": True, "errors": []}

    return run_items(ctx, records, all_or_none, create)


def update_records(ctx: RestContext) -> RestAnswer:
    records, all_or_none = _request_records(ctx)

    def update(item: dict[str, Any]) -> Result:
        object_def = _item_object(ctx, item)
        record_id = _id_of(item)
        if not record_id:
            raise SandboxApiError("MISSING_ARGUMENT", "Id not specified in an update call", fields=["Id"])
        full_id = ctx.org.records.resolve_id(str(record_id), object_def)
        ctx.org.records.update(object_def.name, full_id, _values(item, drop_id=True), ctx.user_id)
        return {"id": full_id, "success": True, "errors": []}

    return run_items(ctx, records, all_or_none, update)


def upsert_records(ctx: RestContext, sobject: str, field: str) -> RestAnswer:
    """``PATCH composite/sobjects/T/ExtField``: each result carries ``created``."""
    object_def = object_def_or_404(ctx, sobject)
    if field.lower() == "id":
        field_name = "Id"
    else:
        field_def = object_def.field(field)
        if field_def is None or not (field_def.external_id or field_def.unique):
            raise SandboxApiError(
                "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {field}", status=404)
        field_name = field_def.name
    records, all_or_none = _request_records(ctx)

    def upsert(item: dict[str, Any]) -> Result:
        attributes = item.get("attributes")
        type_name = attributes.get("type") if isinstance(attributes, dict) else None
        if type_name and str(type_name).lower() != object_def.name.lower():
            raise SandboxApiError("INVALID_TYPE", f"sObject type '{type_name}' does not match {object_def.name}")
        value = _id_of(item) if field_name == "Id" else next(
            (item[key] for key in item if key.lower() == field_name.lower()), None)
        if field_name != "Id" and value in (None, ""):
            raise SandboxApiError("MISSING_ARGUMENT", f"{field_name} not specified", fields=[field_name])
        try:
            record_id, created = ctx.org.records.upsert(object_def.name, field_name, value,
                                                        _values(item, drop_id=True), ctx.user_id)
        except SandboxApiError as error:
            if error.status != 300:
                raise
            candidates = ", ".join(getattr(error, "candidates", []))
            raise SandboxApiError(
                "DUPLICATE_EXTERNAL_ID",
                f"{field_name}: more than one record found for external id field: [{candidates}]",
                fields=[field_name]) from None
        return {"id": record_id, "success": True, "errors": [], "created": created}

    return run_items(ctx, records, all_or_none, upsert)


def delete_records(ctx: RestContext) -> RestAnswer:
    """``DELETE composite/sobjects?ids=a,b&allOrNone=true``."""
    text = ctx.query.get("ids") or ""
    record_ids = [part.strip() for part in text.split(",") if part.strip()]
    if not record_ids:
        raise SandboxApiError("MISSING_ARGUMENT", "ids: at least one record id is required")
    if len(record_ids) > MAX_WRITE_RECORDS:
        raise _too_many(MAX_WRITE_RECORDS)

    def delete(record_id: str) -> Result:
        full_id = ctx.org.records.resolve_id(record_id)
        ctx.org.records.delete(None, full_id, ctx.user_id)
        return {"id": full_id, "success": True, "errors": []}

    return run_items(ctx, record_ids, _flag(ctx.query.get("allOrNone", "false")), delete)


def _retrieve(ctx: RestContext, sobject: str, record_ids: list[str], field_text: str | None) -> RestAnswer:
    object_def = object_def_or_404(ctx, sobject)
    if not record_ids:
        raise SandboxApiError("MISSING_ARGUMENT", "ids: at least one record id is required")
    if not field_text:
        raise SandboxApiError("MISSING_ARGUMENT", "fields: at least one field is required")
    if len(record_ids) > MAX_RETRIEVE_IDS:
        raise _too_many(MAX_RETRIEVE_IDS)
    fields = requested_fields(object_def, field_text) or []
    found: list[dict[str, Any] | None] = []
    for record_id in record_ids:
        try:
            record = ctx.org.records.get(object_def.name, record_id)
        except SandboxApiError:
            found.append(None)
        else:
            found.append(api_record(ctx, object_def, record, fields))
    return RestAnswer(200, found)


def retrieve_records(ctx: RestContext, sobject: str) -> RestAnswer:
    """``GET composite/sobjects/T?ids=&fields=``: records in input order, null where an id finds nothing."""
    ids_text = ctx.query.get("ids") or ""
    return _retrieve(ctx, sobject, [part.strip() for part in ids_text.split(",") if part.strip()],
                     ctx.query.get("fields"))


def retrieve_records_by_body(ctx: RestContext, sobject: str) -> RestAnswer:
    """``POST composite/sobjects/T`` with ``{"ids": [...], "fields": [...]}``: up to 2,000 ids."""
    body = ctx.json_object()
    record_ids = body.get("ids")
    fields = body.get("fields")
    if not isinstance(record_ids, list) or not isinstance(fields, list):
        raise SandboxApiError("JSON_PARSER_ERROR", "ids and fields must be lists")
    return _retrieve(ctx, sobject, [str(item) for item in record_ids], ",".join(str(item) for item in fields))
