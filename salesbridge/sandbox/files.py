"""Salesforce Files in the sandbox: ContentVersion, ContentDocument and ContentDocumentLink.

What Salesforce does on its side when a client uploads a file, and what clients rely on:

- Creating a ContentVersion with base64 ``VersionData`` (and ``PathOnClient``) creates its ContentDocument and
  fills ``ContentDocumentId``, ``ContentSize``, ``FileType``, ``FileExtension``, ``VersionNumber`` "1" and
  ``IsLatest``; a ``FirstPublishLocationId`` also shares the document with that record (a ContentDocumentLink).
- A ContentVersion naming an existing ``ContentDocumentId`` is the document's next version: the version number
  goes up, the previous version is no longer ``IsLatest``, the document's ``LatestPublishedVersionId`` moves.
- In records and query results ``VersionData`` is the URL of the bytes, never the bytes; ``GET
  sobjects/ContentVersion/<id>/VersionData`` answers the bytes.
- Deleting a ContentDocument deletes its versions and links.

The rules are record hooks (``RecordService.add_hook``), so REST, collections, composite, Bulk and SOAP writes
all get them. The bytes live in the store's key/value table, not in the record, so that record copies (undo
logs, queries) stay small whatever the file size.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import posixpath
import weakref
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from fastapi.responses import Response

from salesbridge.sandbox import ids
from salesbridge.sandbox.errors import SandboxApiError, not_found
from salesbridge.sandbox.http import OrgDep, UserDep
from salesbridge.sandbox.soql import ast as soql_ast

if TYPE_CHECKING:
    from salesbridge.sandbox.org import Org
    from salesbridge.sandbox.records import RecordService

#: Salesforce's limit for a base64 blob in a non-multipart (JSON) request: 37.5 MB of file, which is a
#: 50 MB (52,428,800 bytes) request once base64-encoded. ``OrgSettings.max_file_bytes`` overrides it.
DEFAULT_MAX_FILE_BYTES = 39_321_600

#: FileType as Salesforce derives it from the extension of PathOnClient (anything else is UNKNOWN).
_FILE_TYPES = {
    "pdf": "PDF", "png": "PNG", "jpg": "JPG", "jpeg": "JPG", "gif": "GIF", "bmp": "BMP", "tif": "TIFF",
    "tiff": "TIFF", "txt": "TEXT", "csv": "CSV", "rtf": "RTF", "htm": "HTML", "html": "HTML", "xml": "XML",
    "doc": "WORD", "docx": "WORD_X", "xls": "EXCEL", "xlsx": "EXCEL_X", "ppt": "POWER_POINT",
    "pptx": "POWER_POINT_X", "zip": "ZIP", "mp3": "MP3", "mp4": "MP4", "mov": "MOV", "exe": "EXE",
    "odt": "ODT", "ods": "ODS", "odp": "ODP", "eml": "EML", "msg": "MSG", "svg": "SVG", "js": "JAVASCRIPT",
    "json": "JSON", "webp": "WEBP",
}

router = APIRouter()
#: Write paths that already have the Files rules (so that installing twice cannot make two documents).
_installed: weakref.WeakSet[RecordService] = weakref.WeakSet()


# -- settings and storage ---------------------------------------------------------------------------------
def max_file_bytes(org: Org) -> int:
    return int(getattr(org.settings, "max_file_bytes", DEFAULT_MAX_FILE_BYTES))


def _blob_key(version_id: str) -> str:
    return f"_blob:ContentVersion:{version_id}"


def version_data_url(api_version: str, version_id: str) -> str:
    """What a record or query shows for VersionData: the root-relative URL of the bytes."""
    return f"/services/data/v{api_version}/sobjects/ContentVersion/{version_id}/VersionData"


def read_version_data(org: Org, version_id: str) -> bytes | None:
    """The bytes of a ContentVersion, or None when it has none (a link version, or an unknown id)."""
    stored = org.store.kv_get(_blob_key(version_id))
    return base64.b64decode(stored) if stored is not None else None


def file_type(path_on_client: str | None) -> tuple[str, str | None]:
    """(FileType, FileExtension) from PathOnClient, as Salesforce derives them."""
    extension = posixpath.splitext((path_on_client or "").replace("\\", "/"))[1].lstrip(".").lower()
    if not extension:
        return "UNKNOWN", None
    return _FILE_TYPES.get(extension, "UNKNOWN"), extension


def decode_version_data(value: Any, limit: int) -> bytes:
    """The file bytes of a VersionData value (base64 text, or bytes from a multipart upload).

    Too large a file is refused as Salesforce refuses the request that carries it; text that is not base64 is
    the JSON_PARSER_ERROR Salesforce answers for a value it cannot deserialize.
    """
    if isinstance(value, bytes | bytearray):
        data = bytes(value)
    elif isinstance(value, str):
        text = "".join(value.split())
        if len(text) > (limit + 2) // 3 * 4:
            raise _too_large(limit)
        try:
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            shown = text if len(text) <= 40 else text[:40] + "..."
            raise SandboxApiError(
                "JSON_PARSER_ERROR",
                f"Cannot deserialize instance of base64 from VALUE_STRING value {shown} or request may be "
                "missing a required field",
                fields=["VersionData"],
            ) from None
    else:
        raise SandboxApiError("JSON_PARSER_ERROR",
                              "Cannot deserialize instance of base64 from a non-string value",
                              fields=["VersionData"])
    if len(data) > limit:
        raise _too_large(limit)
    return data


def _too_large(limit: int) -> SandboxApiError:
    request_limit = (limit + 2) // 3 * 4
    return SandboxApiError(
        "JSON_PARSER_ERROR",
        f"Maximum size of request reached. Maximum size of request is {request_limit} bytes.",
    )


# -- hooks ----------------------------------------------------------------------------------------------
def install(org: Org) -> None:
    """Register the Files rules on the org's write path; calling it again for the same org does nothing."""
    records = org.records
    if records in _installed:
        return
    _installed.add(records)
    records.add_hook("before_insert", "ContentVersion",
                     lambda service, record, user_id: _insert_version(org, service, record, user_id))
    records.add_hook("before_insert", "ContentDocumentLink",
                     lambda service, record, user_id: _check_link(service, record))
    records.add_hook("after_delete", "ContentDocument",
                     lambda service, record, user_id: _delete_document_parts(service, record, user_id))


def _known(service: RecordService, object_name: str, values: dict[str, Any]) -> dict[str, Any]:
    """Only the fields the org's schema has: a trimmed-down schema must not grow fields it never described."""
    object_def = service.object_def(object_name)
    return {name: value for name, value in values.items() if name in object_def.fields}


def _insert_version(org: Org, service: RecordService, record: dict[str, Any], user_id: str) -> None:
    """A new ContentVersion: store its bytes, then make or advance its document (and share it if asked)."""
    version_id = record["Id"]
    raw = record.get("VersionData")
    has_data = raw not in (None, "")
    if not has_data and not record.get("ContentUrl"):
        raise SandboxApiError("REQUIRED_FIELD_MISSING", "Required fields are missing: [VersionData]",
                              fields=["VersionData"])
    if has_data and not record.get("PathOnClient"):
        raise SandboxApiError("REQUIRED_FIELD_MISSING", "Required fields are missing: [PathOnClient]",
                              fields=["PathOnClient"])
    data = decode_version_data(raw, max_file_bytes(org)) if has_data else b""
    kind, extension = file_type(record.get("PathOnClient")) if has_data else ("LINK", None)
    if not record.get("Title"):
        base = posixpath.basename((record.get("PathOnClient") or "").replace("\\", "/"))
        record["Title"] = posixpath.splitext(base)[0] or base or "Untitled"
    stamp = record["CreatedDate"]
    derived = {
        "ContentSize": len(data), "FileType": kind, "FileExtension": extension, "IsLatest": True,
        "Checksum": hashlib.md5(data, usedforsecurity=False).hexdigest(), "ContentModifiedDate": stamp,
        "ContentLocation": record.get("ContentLocation") or "S", "Origin": record.get("Origin") or "C",
        "PublishStatus": "R" if record.get("FirstPublishLocationId") else "P",
    }
    document_id = record.get("ContentDocumentId")
    if document_id:
        document_id = _existing_document(service, document_id)
        derived["VersionNumber"] = str(_next_version_number(service, document_id))
        derived["ContentDocumentId"] = document_id
        record.update(_known(service, "ContentVersion", derived))
        _advance_document(service, document_id, record, user_id)
    else:
        derived["VersionNumber"] = "1"
        record.update(_known(service, "ContentVersion", derived))
        document_id = _create_document(service, record, user_id)
        record["ContentDocumentId"] = document_id
        _share_new_document(service, document_id, record, user_id)
    if has_data:
        org.store.kv_set(_blob_key(version_id), base64.b64encode(data).decode("ascii"))
        record["VersionData"] = version_data_url(org.api_version, version_id)


def _existing_document(service: RecordService, document_id: str) -> str:
    try:
        full = ids.to_18(str(document_id))
    except ValueError:
        raise SandboxApiError("MALFORMED_ID", f"Malformed ContentDocument ID: {document_id}",
                              fields=["ContentDocumentId"]) from None
    if service.store.object_of(full) != "ContentDocument":
        raise SandboxApiError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id",
                              fields=["ContentDocumentId"])
    _check_reference(service, full, "ContentDocumentId")
    return full


def _versions(service: RecordService, document_id: str) -> list[dict[str, Any]]:
    return [v for v in service.store.records("ContentVersion") if v.get("ContentDocumentId") == document_id]


def _next_version_number(service: RecordService, document_id: str) -> int:
    numbers = [int(v.get("VersionNumber") or 0) for v in _versions(service, document_id)]
    return max(numbers, default=0) + 1


def _document_values(record: dict[str, Any]) -> dict[str, Any]:
    """What a document shows of its latest version."""
    return {
        "Title": record.get("Title"), "LatestPublishedVersionId": record["Id"],
        "ContentSize": record.get("ContentSize"), "FileType": record.get("FileType"),
        "FileExtension": record.get("FileExtension"), "ContentModifiedDate": record.get("ContentModifiedDate"),
        "Description": record.get("Description"),
    }


def _create_document(service: RecordService, record: dict[str, Any], user_id: str) -> str:
    values = _document_values(record)
    values.update({"OwnerId": record.get("OwnerId") or user_id, "PublishStatus": record.get("PublishStatus"),
                   "ArchivedDate": None, "IsArchived": False})
    return service.system_create("ContentDocument", _known(service, "ContentDocument", values), user_id)


def _advance_document(service: RecordService, document_id: str, record: dict[str, Any], user_id: str) -> None:
    for previous in _versions(service, document_id):
        if previous.get("IsLatest"):
            service.system_update("ContentVersion", previous["Id"], {"IsLatest": False}, user_id)
    service.system_update("ContentDocument", document_id,
                          _known(service, "ContentDocument", _document_values(record)), user_id)


def _share_new_document(service: RecordService, document_id: str, record: dict[str, Any], user_id: str) -> None:
    """Salesforce links a new file to its owner and, when given, to the record it was first published to."""
    owner_id = record.get("OwnerId") or user_id
    service.system_create("ContentDocumentLink", {"ContentDocumentId": document_id, "LinkedEntityId": owner_id,
                                                  "ShareType": "I", "Visibility": "AllUsers"}, user_id)
    location = record.get("FirstPublishLocationId")
    if location:
        try:
            location = ids.to_18(str(location))
        except ValueError:
            raise SandboxApiError("MALFORMED_ID", f"Malformed id: {location}",
                                  fields=["FirstPublishLocationId"]) from None
        record["FirstPublishLocationId"] = location
        if location != owner_id:
            _check_reference(service, location, "FirstPublishLocationId")
            service.system_create("ContentDocumentLink",
                                  {"ContentDocumentId": document_id, "LinkedEntityId": location,
                                   "ShareType": "V", "Visibility": "AllUsers"}, user_id)


def _check_reference(service: RecordService, record_id: str, field_name: str) -> None:
    """An id that must name a live record: unknown is INVALID_CROSS_REFERENCE_KEY, deleted ENTITY_IS_DELETED."""
    record = service.store.get(record_id)
    if record is None:
        raise SandboxApiError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", fields=[field_name])
    if record.get("IsDeleted"):
        raise SandboxApiError("ENTITY_IS_DELETED", "entity is deleted", fields=[field_name])


def _check_link(service: RecordService, record: dict[str, Any]) -> None:
    """A link needs a live document and a live record, once per pair; ShareType and Visibility get defaults."""
    for field_name in ("ContentDocumentId", "LinkedEntityId"):
        value = record.get(field_name)
        if value in (None, ""):
            raise SandboxApiError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{field_name}]",
                                  fields=[field_name])
        try:
            record[field_name] = ids.to_18(str(value))
        except ValueError:
            raise SandboxApiError("MALFORMED_ID", f"Malformed id: {value}", fields=[field_name]) from None
    document_id, entity_id = record["ContentDocumentId"], record["LinkedEntityId"]
    if service.store.object_of(document_id) != "ContentDocument":
        raise SandboxApiError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id",
                              fields=["ContentDocumentId"])
    for field_name, target in (("ContentDocumentId", document_id), ("LinkedEntityId", entity_id)):
        _check_reference(service, target, field_name)
    for link in service.store.records("ContentDocumentLink"):
        if link.get("ContentDocumentId") == document_id and link.get("LinkedEntityId") == entity_id:
            raise SandboxApiError("DUPLICATE_VALUE",
                                  "duplicate value found: <unknown> duplicates value on record with id: <unknown>")
    record["ShareType"] = record.get("ShareType") or "V"
    if "Visibility" in record:
        record["Visibility"] = record["Visibility"] or "AllUsers"


def _delete_document_parts(service: RecordService, document: dict[str, Any], user_id: str) -> None:
    document_id = document["Id"]
    for version in _versions(service, document_id):
        service.system_delete(version["Id"], user_id)
    for link in list(service.store.records("ContentDocumentLink")):
        if link.get("ContentDocumentId") == document_id:
            service.system_delete(link["Id"], user_id)


# -- query restriction ----------------------------------------------------------------------------------
#: Fields a ContentDocumentLink query may be narrowed by (the API guide's "id, LinkedEntityId and documentID").
_LINK_FILTER_FIELDS = frozenset({"id", "contentdocumentid", "linkedentityid"})
LINK_QUERY_RESTRICTION = (
    "Implementation restriction: ContentDocumentLink requires a filter by a single Id on ContentDocumentId or "
    "LinkedEntityId using the equals operator or multiple Id's using the IN operator."
)


def check_link_query(query: soql_ast.Query) -> None:
    """Refuse a ContentDocumentLink query that is not narrowed to given ids, as Salesforce does.

    The filter must be ``=`` or ``IN`` on Id, ContentDocumentId or LinkedEntityId, either the whole WHERE clause
    or one of its top-level AND terms. Child subqueries (``Account.ContentDocumentLinks``) are narrowed by their
    parent and are not checked.
    """
    if query.object_name.lower() != "contentdocumentlink":
        return
    terms = query.where.items if isinstance(query.where, soql_ast.And) else (query.where,)
    if not any(_narrows_to_ids(term) for term in terms):
        raise SandboxApiError("MALFORMED_QUERY", LINK_QUERY_RESTRICTION)


def _narrows_to_ids(term: soql_ast.Condition | None) -> bool:
    if not isinstance(term, soql_ast.Comparison) or not isinstance(term.operand, soql_ast.FieldPath):
        return False
    parts = [part.lower() for part in term.operand.parts]
    if len(parts) > 2 or (len(parts) == 2 and parts[0] != "contentdocumentlink"):
        return False
    return parts[-1] in _LINK_FILTER_FIELDS and term.operator.upper() in ("=", "IN")


# -- download ---------------------------------------------------------------------------------------------
@router.get("/services/data/v{version}/sobjects/ContentVersion/{version_id}/VersionData")
def download_version_data(version: str, version_id: str, org: OrgDep, user_id: UserDep) -> Response:
    """The bytes of one file version, as Salesforce serves them (binary body, not JSON)."""
    try:
        full = ids.to_18(version_id)
    except ValueError:
        raise SandboxApiError("MALFORMED_ID", f"Malformed ContentVersion ID: {version_id}") from None
    record = org.store.get(full)
    if record is None or record.get("IsDeleted") or org.store.object_of(full) != "ContentVersion":
        raise not_found()
    data = read_version_data(org, full)
    if data is None:
        raise not_found()
    return Response(content=data, media_type="application/octet-stream")
