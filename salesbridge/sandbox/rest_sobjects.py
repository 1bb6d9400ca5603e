"""The sObject resources: describe, basic information, record CRUD, upsert by external id, getUpdated/getDeleted.

Every read and write goes through ``org.records`` (RecordService), the write path all APIs share, so that REST
answers the same codes as Bulk API and SOAP for the same input.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from salesbridge.salesforce.datetimes import format_datetime, parse_datetime
from salesbridge.sandbox import describe, files
from salesbridge.sandbox.errors import SandboxApiError, not_found
from salesbridge.sandbox.ids import is_valid_id
from salesbridge.sandbox.rest_common import (
    RestAnswer,
    RestContext,
    api_record,
    object_def_or_404,
    record_url,
    requested_fields,
    version_at_least,
)
from salesbridge.sandbox.schema import ObjectDef

#: Salesforce refuses getUpdated/getDeleted answers with more ids than this (EXCEEDED_ID_LIMIT).
REPLICATION_ID_LIMIT = 600_000
#: How far back getUpdated (30 days) and getDeleted (15 days) reach, counted from the day of the call.
UPDATED_WINDOW_DAYS = 30
DELETED_WINDOW_DAYS = 15
#: recentItems of the sObject Basic Information resource.
RECENT_ITEMS = 25


# -- describe -------------------------------------------------------------------------------------------
def describe_global(ctx: RestContext) -> RestAnswer:
    return RestAnswer(200, describe.describe_global(ctx.org, ctx.version))


def describe_sobject(ctx: RestContext, sobject: str) -> RestAnswer:
    object_def = object_def_or_404(ctx, sobject)
    return RestAnswer(200, describe.describe_object(ctx.org, object_def, ctx.version))


def sobject_basic_info(ctx: RestContext, sobject: str) -> RestAnswer:
    """``GET sobjects/T/``: the object's describeGlobal entry and its most recently changed records."""
    object_def = object_def_or_404(ctx, sobject)
    entry = next((item for item in describe.describe_global(ctx.org, ctx.version).get("sobjects", [])
                  if str(item.get("name", "")).lower() == object_def.name.lower()), {"name": object_def.name})
    recent = sorted(ctx.org.store.records(object_def.name), key=lambda r: r.get("LastModifiedDate") or "",
                    reverse=True)[:RECENT_ITEMS]
    name_field = object_def.name_field
    shown = ["Id"] + ([name_field.name] if name_field is not None and name_field.name != "Id" else [])
    return RestAnswer(200, {"objectDescribe": entry,
                            "recentItems": [api_record(ctx, object_def, record, shown) for record in recent]})


# -- create, read, update, delete -----------------------------------------------------------------------
def created_answer(ctx: RestContext, object_def: ObjectDef, record_id: str, *, upsert: bool = False) -> RestAnswer:
    body: dict[str, Any] = {"id": record_id, "success": True, "errors": []}
    if upsert and version_at_least(ctx, 46):
        body["created"] = True
    return RestAnswer(201, body, {"Location": record_url(ctx, object_def.name, record_id)})


def create_record(ctx: RestContext, sobject: str) -> RestAnswer:
    object_def = object_def_or_404(ctx, sobject)
    values = ctx.json_object()
    record_id = ctx.org.records.create(object_def.name, values, ctx.user_id)
    return created_answer(ctx, object_def, record_id)


def get_record(ctx: RestContext, sobject: str, record_id: str) -> RestAnswer:
    object_def = object_def_or_404(ctx, sobject)
    fields = requested_fields(object_def, ctx.query.get("fields"))
    record = ctx.org.records.get(object_def.name, record_id)
    return RestAnswer(200, api_record(ctx, object_def, record, fields))


def update_record(ctx: RestContext, sobject: str, record_id: str) -> RestAnswer:
    object_def = object_def_or_404(ctx, sobject)
    values = ctx.json_object()
    ctx.org.records.update(object_def.name, record_id, values, ctx.user_id)
    return RestAnswer(204)


def _refuse_delete_unless_deletable(object_def: ObjectDef) -> None:
    """REST offers DELETE on a record only for objects whose supported calls include delete() (ContentVersion's
    do not: its document is deleted instead), so for the others the method itself is refused, before any id is
    looked at."""
    if not object_def.deletable:
        raise SandboxApiError("METHOD_NOT_ALLOWED", "HTTP Method 'DELETE' not allowed. Allowed are HEAD,GET,PATCH",
                              status=405)


def delete_record(ctx: RestContext, sobject: str, record_id: str) -> RestAnswer:
    object_def = object_def_or_404(ctx, sobject)
    _refuse_delete_unless_deletable(object_def)
    ctx.org.records.delete(object_def.name, record_id, ctx.user_id)
    return RestAnswer(204)


# -- by external id -------------------------------------------------------------------------------------
def _external_field(object_def: ObjectDef, field_name: str) -> str:
    """The canonical name of an external id field (or Id); 404 NOT_FOUND otherwise, as Salesforce answers."""
    if field_name.lower() == "id":
        return "Id"
    field_def = object_def.field(field_name)
    if field_def is None or not (field_def.external_id or field_def.unique):
        raise SandboxApiError(
            "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {field_name}", status=404)
    return field_def.name


def _matches(ctx: RestContext, object_def: ObjectDef, field_name: str, value: str) -> list[dict[str, Any]]:
    """Live records whose external id is ``value``.

    Clients that form-encode the value (simple-salesforce's ``get_by_custom_id`` uses ``quote_plus``) send a
    space as ``+``, which Salesforce's Java decoding reads back as a space: a value with ``+`` that finds
    nothing is tried again that way.
    """
    if field_name == "Id":
        try:
            return [ctx.org.records.get(object_def.name, value)]
        except SandboxApiError:
            return []
    found = ctx.org.records.find_by_field(object_def.name, field_name, value)
    if not found and "+" in value:
        found = ctx.org.records.find_by_field(object_def.name, field_name, value.replace("+", " "))
    return found


def _multiple_choices(ctx: RestContext, object_def: ObjectDef, records: list[dict[str, Any]]) -> RestAnswer:
    """300: the external id matches several records; the body lists their urls (simple-salesforce reads it)."""
    return RestAnswer(300, [record_url(ctx, object_def.name, record["Id"]) for record in records])


def _blob(ctx: RestContext, object_def: ObjectDef, record_id: str) -> RestAnswer:
    """sObject Blob Retrieve (``sobjects/ContentVersion/<id>/VersionData``): the bytes, served by ``files``.

    Its path has the shape of a read by external id, so it is recognised here whichever router comes first
    (and with a trailing slash, which the files route does not take).
    """
    if ctx.in_composite:
        raise SandboxApiError("INVALID_API_INPUT", "sObject Blob Retrieve is not supported in a composite request")
    if object_def.name != "ContentVersion":
        raise not_found()
    return RestAnswer(response=files.download_version_data(ctx.version, record_id, ctx.org, ctx.user_id))


def get_by_external_id(ctx: RestContext, sobject: str, field: str, value: str) -> RestAnswer:
    object_def = object_def_or_404(ctx, sobject)
    blob_field = object_def.field(value)
    if blob_field is not None and blob_field.type == "base64" and is_valid_id(field):
        return _blob(ctx, object_def, field)
    field_name = _external_field(object_def, field)
    fields = requested_fields(object_def, ctx.query.get("fields"))
    found = _matches(ctx, object_def, field_name, value)
    if not found:
        raise not_found()
    if len(found) > 1:
        return _multiple_choices(ctx, object_def, found)
    return RestAnswer(200, api_record(ctx, object_def, found[0], fields))


def upsert_by_external_id(ctx: RestContext, sobject: str, field: str, value: str) -> RestAnswer:
    """``PATCH sobjects/T/Field/value``: 201 when it inserted; 200 with ``created: false`` (v46+, else 204)."""
    object_def = object_def_or_404(ctx, sobject)
    field_name = _external_field(object_def, field)
    values = ctx.json_object()
    try:
        record_id, created = ctx.org.records.upsert(object_def.name, field_name, value, values, ctx.user_id)
    except SandboxApiError as error:
        if error.status == 300 and hasattr(error, "candidates"):
            candidates = [{"Id": candidate} for candidate in error.candidates]  # type: ignore[attr-defined]
            return _multiple_choices(ctx, object_def, candidates)
        raise
    if created:
        return created_answer(ctx, object_def, record_id, upsert=True)
    if version_at_least(ctx, 46):
        return RestAnswer(200, {"id": record_id, "success": True, "errors": [], "created": False},
                          {"Location": record_url(ctx, object_def.name, record_id)})
    return RestAnswer(204)


def delete_by_external_id(ctx: RestContext, sobject: str, field: str, value: str) -> RestAnswer:
    object_def = object_def_or_404(ctx, sobject)
    _refuse_delete_unless_deletable(object_def)
    field_name = _external_field(object_def, field)
    found = _matches(ctx, object_def, field_name, value)
    if not found:
        raise not_found()
    if len(found) > 1:
        return _multiple_choices(ctx, object_def, found)
    ctx.org.records.delete(object_def.name, found[0]["Id"], ctx.user_id)
    return RestAnswer(204)


# -- data replication: getUpdated / getDeleted ----------------------------------------------------------
def _replication_time(ctx: RestContext, name: str) -> datetime:
    """A ``start``/``end`` parameter, seconds truncated as Salesforce documents (12:30:15 covers from 12:30:00)."""
    text = ctx.query.get(name)
    if not text:
        raise SandboxApiError("MISSING_ARGUMENT", f"Missing required parameter: {name}")
    try:
        # A literal '+' in a query string decodes to a space: put the offset sign back.
        moment = parse_datetime(text.replace(" ", "+"))
    except ValueError:
        raise SandboxApiError(
            "INVALID_REPLICATION_DATE",
            f"{name}: '{text}' is not a valid dateTime; use ISO 8601, for example 2013-05-05T00:00:00+00:00",
        ) from None
    return moment.replace(second=0, microsecond=0)


def _replication_range(ctx: RestContext, window_days: int) -> tuple[datetime, datetime, datetime, datetime]:
    """(start, end, now, earliest): validated as Salesforce does, INVALID_REPLICATION_DATE otherwise."""
    start = _replication_time(ctx, "start")
    end = _replication_time(ctx, "end")
    now = ctx.org.clock.now()
    earliest = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=window_days)
    if start >= end:
        raise SandboxApiError("INVALID_REPLICATION_DATE",
                              "startDate must chronologically precede endDate")
    if start < earliest:
        raise SandboxApiError(
            "INVALID_REPLICATION_DATE",
            f"startDate cannot be more than {window_days} days ago (earliest: {format_datetime(earliest)})",
        )
    return start, end, now, earliest


def _covered_until(end: datetime, now: datetime) -> datetime:
    """latestDateCovered: the end asked for, or the last whole minute when the end lies in the future."""
    return end if end <= now else now.replace(second=0, microsecond=0)


def _check_id_limit(count: int) -> None:
    if count > REPLICATION_ID_LIMIT:
        raise SandboxApiError(
            "EXCEEDED_ID_LIMIT",
            f"More than {REPLICATION_ID_LIMIT} ids found; choose start and end dates closer together",
        )


def get_updated(ctx: RestContext, sobject: str) -> RestAnswer:
    """Ids of live records whose SystemModstamp lies in [start, end] (stamps compare as strings: one format)."""
    object_def = object_def_or_404(ctx, sobject)
    start, end, now, _ = _replication_range(ctx, UPDATED_WINDOW_DAYS)
    low, high = format_datetime(start), format_datetime(end)
    ids = [record["Id"] for record in ctx.org.store.records(object_def.name)
           if low <= (record.get("SystemModstamp") or record.get("LastModifiedDate") or "") <= high]
    _check_id_limit(len(ids))
    return RestAnswer(200, {"ids": ids, "latestDateCovered": format_datetime(_covered_until(end, now))})


def get_deleted(ctx: RestContext, sobject: str) -> RestAnswer:
    """Deleted records whose deletion date lies in [start, end], with the window the answer covers."""
    object_def = object_def_or_404(ctx, sobject)
    start, end, now, earliest = _replication_range(ctx, DELETED_WINDOW_DAYS)
    low, high = format_datetime(start), format_datetime(end)
    deleted = []
    for record in ctx.org.store.records(object_def.name, include_deleted=True):
        if not record.get("IsDeleted"):
            continue
        deleted_date = record.get("_DeletedDate") or record.get("SystemModstamp") or ""
        if low <= deleted_date <= high:
            deleted.append({"id": record["Id"], "deletedDate": deleted_date})
    _check_id_limit(len(deleted))
    return RestAnswer(200, {"deletedRecords": deleted, "earliestDateAvailable": format_datetime(earliest),
                            "latestDateCovered": format_datetime(_covered_until(end, now))})

