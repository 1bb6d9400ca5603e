"""Validation of values written to the sandbox, with Salesforce's error codes and messages.

``RecordService`` calls four functions for every write, whatever the API:

- ``prepare_create`` / ``prepare_update``: convert the given values to API form (datetimes as
  ``2013-05-08T21:20:00.000+0000``, dates ``YYYY-MM-DD``, 18-character ids, numbers rounded to the field's scale)
  and refuse what Salesforce refuses, in Salesforce's order: unknown fields (INVALID_FIELD) and values of the
  wrong type (JSON_PARSER_ERROR, as the REST deserializer answers) first, then fields the API may not write
  (INVALID_FIELD_FOR_INSERT_UPDATE), then missing required values (REQUIRED_FIELD_MISSING), then lengths
  (STRING_TOO_LONG), restricted picklists, e-mail addresses, number ranges and lookups (MALFORMED_ID,
  FIELD_INTEGRITY_EXCEPTION for an id of the wrong object, INVALID_CROSS_REFERENCE_KEY for a record that does
  not exist, ENTITY_IS_DELETED). Defaults (picklist defaults, booleans, custom defaults) are applied on create.
  A lookup may also be given by the parent's external id: ``{"Account": {"Hub_Id__c": "H-1"}}``.
- ``derive``: fills what the server computes (Name of Contact/Lead/User, Opportunity IsClosed/IsWon/
  Probability/ForecastCategory/ExpectedRevenue/Fiscal*, Task IsClosed/IsHighPriority/AccountId, Case IsClosed/
  ClosedDate, Contract StatusCode/EndDate/ActivatedDate, auto-numbers such as ContractNumber and CaseNumber).
- ``check_unique``: DUPLICATE_VALUE for unique fields, through a per-store value index so that a 100,000-row
  bulk insert stays linear.

Empty strings count as null, as in Salesforce. Everything that depends only on the schema is computed once per
object (``_Table``), because validation runs for every row of large Bulk API jobs.

CSV input (Bulk API 2.0): ``values_from_csv_row`` turns a row of text cells into values (an empty cell is left
out: no value on insert, unchanged on update; ``#N/A`` sets null), ready for ``prepare_create``/``update``.
"""

from __future__ import annotations

import calendar
import re
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from salesbridge.salesforce.datetimes import format_datetime, parse_datetime
from salesbridge.sandbox import ids
from salesbridge.sandbox.errors import SandboxApiError
from salesbridge.sandbox.schema import FieldDef, ObjectDef
from salesbridge.sandbox.schema import standard as std
from salesbridge.sandbox.schema.model import TEXT_TYPES

if TYPE_CHECKING:
    from salesbridge.sandbox.records import RecordService
    from salesbridge.sandbox.store import Store

#: The CSV cell that sets a field to null in Bulk API jobs (an empty cell leaves it alone).
NULL_MARKER = "#N/A"
#: Fields every record has in the store whatever the object describes; derive drops those the object lacks.
_AUDIT_FIELDS = ("CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById")

_DATE_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})(Z|[+-]\d{2}:?\d{2})?$")
_INT_RE = re.compile(r"^[+-]?\d+(?:\.0*)?$")
_NUMBER_RE = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_AUTO_NUMBER_RE = re.compile(r"\{(0+|YYYY|YY|MM|DD)\}")
_JSON_KINDS = {"int": "int", "double": "double", "currency": "double", "percent": "double",
               "boolean": "boolean", "date": "date", "datetime": "datetime", "base64": "base64",
               "id": "id", "reference": "id"}
_XSD_TYPES = {"int": "xsd:int", "double": "xsd:double", "currency": "xsd:double", "percent": "xsd:double",
              "boolean": "xsd:boolean", "date": "xsd:date", "datetime": "xsd:dateTime",
              "base64": "xsd:base64Binary"}


class _BadValue(Exception):
    """A value the field's type cannot hold; the caller words it as its API does (REST JSON or Bulk CSV)."""


# -- converters: one per describe type; each takes a non-empty value and returns its API form ----------------
def _to_text(rule: _Rule, value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise _BadValue


def _to_id(rule: _Rule, value: Any) -> str:
    if not isinstance(value, str):
        raise _BadValue
    try:
        return ids.to_18(value.strip())
    except ValueError:
        raise SandboxApiError("MALFORMED_ID", f"{rule.label}: id value of incorrect type: {value}",
                              fields=[rule.name]) from None


def _to_boolean(rule: _Rule, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "false"):
            return lowered == "true"
    raise _BadValue


def _to_int(rule: _Rule, value: Any) -> int:
    if isinstance(value, bool):
        raise _BadValue
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _INT_RE.match(value.strip()):
        number = int(value.strip().split(".")[0])
    else:
        raise _BadValue
    if rule.integer_limit is not None and abs(number) >= rule.integer_limit:
        raise _out_of_range(rule, value)
    return number


def _to_number(rule: _Rule, value: Any) -> float:
    if isinstance(value, bool):
        raise _BadValue
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str) and _NUMBER_RE.match(value.strip()):
        number = float(value.strip())
    else:
        raise _BadValue
    if number != number or number in (float("inf"), float("-inf")):
        raise _BadValue
    number = round(number, rule.scale)
    if rule.integer_limit is not None and abs(number) >= rule.integer_limit:
        raise _out_of_range(rule, value)
    return number


def _to_date(rule: _Rule, value: Any) -> str:
    """``YYYY-MM-DD``, optionally with a zone (``1940-06-07Z``) as Bulk files have it, or a full datetime."""
    if not isinstance(value, str):
        raise _BadValue
    text = value.strip()
    match = _DATE_RE.match(text)
    try:
        if match:
            return date.fromisoformat(match.group(1)).isoformat()
        parse_datetime(text)
        return text[:10]
    except ValueError:
        raise _BadValue from None


def _to_datetime(rule: _Rule, value: Any) -> str:
    """Any ISO 8601 form Salesforce accepts (``Z``, ``+hh:mm``, ``+hhmm``, no zone = UTC), or a bare date."""
    if not isinstance(value, str):
        raise _BadValue
    text = value.strip()
    try:
        if _DATE_RE.match(text):
            return date.fromisoformat(text[:10]).isoformat() + "T00:00:00.000+0000"
        return format_datetime(parse_datetime(text))
    except ValueError:
        raise _BadValue from None


def _to_blob(rule: _Rule, value: Any) -> Any:
    """Base64 text (or bytes from a multipart upload); decoding and size limits belong to the Files rules."""
    if isinstance(value, str | bytes | bytearray):
        return value
    raise _BadValue


_CONVERTERS: dict[str, Callable[[_Rule, Any], Any]] = {
    "id": _to_id, "reference": _to_id, "boolean": _to_boolean, "int": _to_int, "double": _to_number,
    "currency": _to_number, "percent": _to_number, "date": _to_date, "datetime": _to_datetime,
    "base64": _to_blob,
}


def _out_of_range(rule: _Rule, value: Any) -> SandboxApiError:
    return SandboxApiError("NUMBER_OUTSIDE_VALID_RANGE",
                           f"{rule.label}: value outside of valid range on numeric field: {value}",
                           fields=[rule.name])


# -- per-object tables -------------------------------------------------------------------------------------
@dataclass(slots=True)
class _Rule:
    """Everything validation needs to know about one field, computed once."""

    field: FieldDef
    name: str
    label: str
    json_kind: str
    convert: Callable[[_Rule, Any], Any]
    createable: bool
    updateable: bool
    #: Null refused on update (not nillable, not boolean).
    needs_value: bool
    #: What an explicit null (or empty string) becomes: False for booleans.
    null_value: Any
    max_length: int = 0
    #: Restricted picklists: the allowed values, and a case-insensitive map to their canonical spelling.
    allowed: frozenset[str] | None = None
    allowed_lower: dict[str, str] | None = None
    multi: bool = False
    is_email: bool = False
    is_reference: bool = False
    #: Numbers must stay below this absolute value (from precision and scale, or int digits).
    integer_limit: float | None = None
    scale: int = 0


@dataclass
class _Table:
    object_name: str
    field_count: int
    rules: dict[str, _Rule]
    by_name: dict[str, _Rule]
    relationships: dict[str, FieldDef]
    required: list[str]
    defaults: list[tuple[str, Any]]
    unique: list[str]
    indexed: list[str]
    auto_numbers: list[FieldDef]
    absent_audit_fields: list[str]
    checked: list[str] = field(default_factory=list)


def _rule(field_def: FieldDef) -> _Rule:
    kind = field_def.type
    convert = _CONVERTERS.get(kind, _to_text)
    rule = _Rule(
        field=field_def, name=field_def.name, label=field_def.label or field_def.name,
        json_kind=_JSON_KINDS.get(kind, "string"), convert=convert,
        createable=field_def.createable, updateable=field_def.updateable,
        needs_value=not field_def.nillable and kind != "boolean",
        null_value=False if kind == "boolean" else None,
    )
    if kind in TEXT_TYPES and kind not in ("id", "reference") and field_def.length:
        rule.max_length = field_def.length
    if kind in ("picklist", "multipicklist") and field_def.restricted_picklist:
        rule.allowed = frozenset(field_def.picklist_values)
        rule.allowed_lower = {value.lower(): value for value in field_def.picklist_values}
    rule.multi = kind == "multipicklist"
    rule.is_email = kind == "email"
    rule.is_reference = kind == "reference"
    if kind == "int" and field_def.precision:
        rule.integer_limit = 10 ** field_def.precision
    elif kind in ("double", "currency", "percent"):
        rule.scale = field_def.scale
        if field_def.precision:
            rule.integer_limit = 10 ** (field_def.precision - field_def.scale)
    return rule


def _default_of(field_def: FieldDef) -> Any:
    if field_def.type == "boolean":
        return bool(field_def.default_value)
    return field_def.default_value


def _build_table(object_def: ObjectDef) -> _Table:
    rules = {name.lower(): _rule(f) for name, f in object_def.fields.items()}
    fields = list(object_def.fields.values())
    return _Table(
        object_name=object_def.name,
        field_count=len(object_def.fields),
        rules=rules,
        by_name={rule.name: rule for rule in rules.values()},
        relationships={f.relationship_name.lower(): f for f in fields
                       if f.type == "reference" and f.relationship_name},
        required=[f.name for f in fields if f.required_on_create],
        defaults=[(f.name, _default_of(f)) for f in fields
                  if f.type == "boolean" or f.default_value is not None],
        unique=[f.name for f in fields if f.unique and f.name != "Id"],
        indexed=[f.name for f in fields if (f.unique or f.external_id) and f.name != "Id"],
        auto_numbers=[f for f in fields if f.auto_number],
        absent_audit_fields=[name for name in _AUDIT_FIELDS if name not in object_def.fields],
        checked=[rule.name for rule in rules.values()
                 if rule.max_length or rule.allowed is not None or rule.is_email or rule.is_reference],
    )


#: Tables by ``id(object_def)``; an entry goes when its ObjectDef is garbage-collected (ObjectDef is a mutable
#: dataclass, hence unhashable, so a WeakKeyDictionary cannot hold it).
_tables: dict[int, _Table] = {}


def _table_for(object_def: ObjectDef) -> _Table:
    """The object's table, rebuilt when the object gained fields (a schema file extends it)."""
    table = _tables.get(id(object_def))
    if table is None:
        weakref.finalize(object_def, _tables.pop, id(object_def), None)
    if table is None or table.field_count != len(object_def.fields):
        table = _build_table(object_def)
        _tables[id(object_def)] = table
    return table


# -- create and update -------------------------------------------------------------------------------------
def prepare_create(service: RecordService, object_def: ObjectDef, values: dict[str, Any]) -> dict[str, Any]:
    """Check and convert the values of a new record, with defaults; raises SandboxApiError on the first problem."""
    table = _table_for(object_def)
    clean = _convert_all(service, table, values, creating=True)
    for name, default in table.defaults:
        if clean.get(name) is None:
            clean[name] = default
    missing = [name for name in table.required if clean.get(name) is None]
    if missing:
        raise _required_missing(missing)
    _check_values(service, table, clean)
    return clean


def prepare_update(service: RecordService, object_def: ObjectDef, existing: dict[str, Any],
                   values: dict[str, Any]) -> dict[str, Any]:
    """Check and convert the changed values of an existing record (an ``Id`` in the body is ignored)."""
    table = _table_for(object_def)
    clean = _convert_all(service, table, values, creating=False)
    missing = [name for name, value in clean.items() if value is None and table.by_name[name].needs_value]
    if missing:
        raise _required_missing(missing)
    _check_values(service, table, clean)
    return clean


def _convert_all(service: RecordService, table: _Table, values: dict[str, Any], *,
                 creating: bool) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    not_writable: list[str] = []
    for key, raw in values.items():
        if key == "attributes":
            continue
        rule = table.rules.get(key.lower())
        if rule is None:
            lookup = table.relationships.get(key.lower())
            if lookup is not None and isinstance(raw, dict):
                clean[lookup.name] = _parent_by_external_id(service, lookup, raw)
                continue
            raise SandboxApiError("INVALID_FIELD",
                                  f"No such column '{key}' on sobject of type {table.object_name}",
                                  fields=[key])
        if rule.name == "Id":
            if creating and raw not in (None, ""):
                raise SandboxApiError("INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call",
                                      fields=["Id"])
            continue
        if not (rule.createable if creating else rule.updateable):
            not_writable.append(rule.name)
            continue
        clean[rule.name] = _convert_json(rule, raw)
    if not_writable:
        raise SandboxApiError(
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to create/update fields: {', '.join(not_writable)}. Please check the security settings of "
            "this field and verify that it is read/write for your profile or permission set.",
            fields=not_writable,
        )
    return clean


def _convert_json(rule: _Rule, raw: Any) -> Any:
    if raw is None or raw == "":
        return rule.null_value
    try:
        return rule.convert(rule, raw)
    except _BadValue:
        token, shown = _json_token(raw)
        raise SandboxApiError(
            "JSON_PARSER_ERROR",
            f"Cannot deserialize instance of {rule.json_kind} from {token} value {shown} or request may be "
            "missing a required field",
        ) from None


def _json_token(value: Any) -> tuple[str, str]:
    """The Jackson token name Salesforce's deserializer reports for a JSON value."""
    if isinstance(value, bool):
        return ("VALUE_TRUE", "true") if value else ("VALUE_FALSE", "false")
    if isinstance(value, int):
        return "VALUE_NUMBER_INT", str(value)
    if isinstance(value, float):
        return "VALUE_NUMBER_FLOAT", str(value)
    if isinstance(value, dict):
        return "START_OBJECT", "{"
    if isinstance(value, list | tuple):
        return "START_ARRAY", "["
    return "VALUE_STRING", str(value)


def _required_missing(names: list[str]) -> SandboxApiError:
    return SandboxApiError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(names)}]",
                           fields=names)


def _check_values(service: RecordService, table: _Table, clean: dict[str, Any]) -> None:
    """Lengths, restricted picklists, e-mail addresses and lookups of the converted values."""
    for name in table.checked:
        value = clean.get(name)
        if value is None:
            continue
        rule = table.by_name[name]
        if rule.is_reference:
            _check_reference(service, table.object_name, rule, value)
            continue
        if rule.allowed is not None:
            clean[name] = value = _check_picklist(rule, value)
        if rule.max_length and len(value) > rule.max_length:
            raise SandboxApiError("STRING_TOO_LONG",
                                  f"{rule.label}: data value too large: {value} (max length={rule.max_length})",
                                  fields=[name])
        if rule.is_email and not _EMAIL_RE.match(value):
            raise SandboxApiError("INVALID_EMAIL_ADDRESS", f"{rule.label}: invalid email address: {value}",
                                  fields=[name])


def _check_picklist(rule: _Rule, value: str) -> str:
    """A restricted picklist value in its canonical spelling, or INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST."""
    assert rule.allowed is not None and rule.allowed_lower is not None
    parts = [part.strip() for part in value.split(";")] if rule.multi else [value]
    canonical = []
    for part in parts:
        if part in rule.allowed:
            canonical.append(part)
            continue
        known = rule.allowed_lower.get(part.lower())
        if known is None:
            raise SandboxApiError("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                                  f"{rule.label}: bad value for restricted picklist field: {part}",
                                  fields=[rule.name])
        canonical.append(known)
    return ";".join(canonical)


def _check_reference(service: RecordService, object_name: str, rule: _Rule, record_id: str) -> None:
    targets = {target.lower() for target in rule.field.reference_to}
    target = service.schema.object_for_id(record_id)
    if target is None or target.name.lower() not in targets:
        raise SandboxApiError("FIELD_INTEGRITY_EXCEPTION", f"{rule.label}: id value of incorrect type: {record_id}",
                              fields=[rule.name])
    record = service.store.get(record_id)
    if record is None:
        raise SandboxApiError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", fields=[rule.name])
    if record.get("IsDeleted"):
        raise SandboxApiError("ENTITY_IS_DELETED", "entity is deleted", fields=[rule.name])
    if rule.name == "OwnerId" and target.name == "User" and record.get("IsActive") is False:
        raise SandboxApiError("INACTIVE_OWNER_OR_USER",
                              f"operation performed with inactive user [{record_id}] as owner of "
                              f"{object_name.lower()}", fields=[rule.name])


def _parent_by_external_id(service: RecordService, lookup: FieldDef, given: dict[str, Any]) -> str:
    """The id of the parent a nested ``{"Account": {"Hub_Id__c": "H-1"}}`` value names."""
    attributes = given.get("attributes")
    type_name = attributes.get("type") if isinstance(attributes, dict) else None
    keys = [key for key in given if key != "attributes"]
    if type_name is None:
        type_name = lookup.reference_to[0] if len(lookup.reference_to) == 1 else None
    parent_def = service.schema.get(type_name) if type_name else None
    if parent_def is None or parent_def.name.lower() not in {t.lower() for t in lookup.reference_to}:
        raise SandboxApiError("INVALID_FIELD",
                              f"Cannot resolve the parent object of {lookup.relationship_name}: give its type in "
                              "attributes", fields=[lookup.name])
    if len(keys) != 1:
        raise SandboxApiError("INVALID_FIELD",
                              f"{lookup.relationship_name}: a foreign key reference names exactly one field",
                              fields=[lookup.name])
    parent_field = parent_def.field(keys[0])
    value = given[keys[0]]
    if parent_field is None or not (parent_field.external_id or parent_field.id_lookup or parent_field.unique):
        raise SandboxApiError("INVALID_FIELD",
                              f"Field {keys[0]} is not an External ID or indexed field for {parent_def.name}",
                              fields=[lookup.name])
    if parent_field.name == "Id":
        return _to_id(_rule(lookup), value)
    matches = find_ids(service, parent_def, parent_field.name, value)
    if not matches:
        raise SandboxApiError("INVALID_FIELD",
                              f"Foreign key external ID: {value} not found for field {parent_field.name} in "
                              f"entity {parent_def.name}")
    if len(matches) > 1:
        raise SandboxApiError("INVALID_FIELD",
                              f"Foreign key external ID: {value} matches more than one record for field "
                              f"{parent_field.name} in entity {parent_def.name}")
    return matches[0]


# -- CSV (Bulk API 2.0) ------------------------------------------------------------------------------------
def values_from_csv_row(object_def: ObjectDef, row: dict[str, str]) -> dict[str, Any]:
    """Values for ``prepare_create``/``prepare_update`` from one CSV row (header -> cell text).

    An empty cell is left out (no value on insert, unchanged on update); ``#N/A`` sets null. Booleans also
    accept ``1``/``0``. Relationship columns (``Account.Hub_Id__c``, ``Account:What.Hub_Id__c`` for a
    polymorphic lookup) become nested external-id references. Unknown columns answer INVALID_FIELD; values of
    the wrong type answer Bulk's ``Failed to deserialize field at col N`` INVALID_FIELD.
    """
    table = _table_for(object_def)
    values: dict[str, Any] = {}
    for column, (header, cell) in enumerate(row.items(), start=1):
        if cell == "":
            continue
        if "." in header:
            _relationship_cell(table, header, cell, values)
            continue
        rule = table.rules.get(header.lower())
        if rule is None:
            raise SandboxApiError("INVALID_FIELD",
                                  f"No such column '{header}' on sobject of type {object_def.name}",
                                  fields=[header])
        if cell == NULL_MARKER:
            values[rule.name] = None
            continue
        text = cell
        if rule.field.type == "boolean" and cell.strip() in ("0", "1"):
            text = "true" if cell.strip() == "1" else "false"
        try:
            values[rule.name] = rule.convert(rule, text)
        except _BadValue:
            raise SandboxApiError(
                "INVALID_FIELD",
                f"Failed to deserialize field at col {column}. Due to, '{cell}' is not a valid value for the "
                f"type {_XSD_TYPES.get(rule.field.type, 'xsd:string')}",
            ) from None
    return values


def _relationship_cell(table: _Table, header: str, cell: str, values: dict[str, Any]) -> None:
    path, _, parent_field = header.rpartition(".")
    parent_type, _, relationship = path.rpartition(":")
    lookup = table.relationships.get(relationship.lower())
    if lookup is None:
        raise SandboxApiError("INVALID_FIELD",
                              f"No such column '{header}' on sobject of type {table.object_name}",
                              fields=[header])
    if cell == NULL_MARKER:
        values[lookup.name] = None
        return
    reference: dict[str, Any] = {parent_field: cell}
    if parent_type:
        reference["attributes"] = {"type": parent_type}
    values[lookup.relationship_name or lookup.name] = reference


# -- unique values -----------------------------------------------------------------------------------------
@dataclass
class _ObjectIndex:
    """Record ids by (lower-cased) value for the unique and external id fields of one object.

    Entries are only ever added; every hit is checked against the stored record, so entries left behind by
    updates or rolled-back transactions cost nothing. Every record the store keeps passes through
    ``_on_put``, and the index is rebuilt when the store holds records it has not seen (loads).
    """

    fields: tuple[str, ...]
    known: set[str] = field(default_factory=set)
    values: dict[str, dict[Any, set[str]]] = field(default_factory=dict)


_indexes: weakref.WeakKeyDictionary[Store, dict[str, _ObjectIndex]] = weakref.WeakKeyDictionary()


def _index_key(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _object_index(store: Store, object_name: str, fields: Iterable[str]) -> _ObjectIndex:
    wanted = tuple(fields)
    if store not in _indexes:
        store.add_put_observer(lambda name, record: _on_put(store, name, record))
    per_store = _indexes.setdefault(store, {})
    index = per_store.get(object_name.lower())
    if index is None or index.fields != wanted or len(index.known) != store.count(object_name):
        index = _ObjectIndex(wanted, values={name: {} for name in wanted})
        for record in store.records(object_name, include_deleted=True):
            _add_to_index(index, record)
        per_store[object_name.lower()] = index
    return index


def _on_put(store: Store, object_name: str, record: dict[str, Any]) -> None:
    """Keep an existing index complete for writes that bypass ``check_unique`` (direct store writes)."""
    index = _indexes.get(store, {}).get(object_name.lower())
    if index is not None:
        _add_to_index(index, record)


def _add_to_index(index: _ObjectIndex, record: dict[str, Any]) -> None:
    index.known.add(record["Id"])
    for name in index.fields:
        value = record.get(name)
        if value is not None:
            index.values[name].setdefault(_index_key(value), set()).add(record["Id"])


def _live_matches(store: Store, index: _ObjectIndex, field_name: str, value: Any) -> list[str]:
    key = _index_key(value)
    found = []
    for record_id in sorted(index.values[field_name].get(key, ())):
        record = store.get(record_id)
        if record is not None and not record.get("IsDeleted") and _index_key(record.get(field_name)) == key:
            found.append(record_id)
    return found


def check_unique(service: RecordService, object_def: ObjectDef, record: dict[str, Any]) -> None:
    """Refuse a second live record with the same value in a unique field (DUPLICATE_VALUE); text compares
    case-insensitively, as Salesforce's default for unique fields."""
    table = _table_for(object_def)
    if not table.indexed:
        return
    index = _object_index(service.store, object_def.name, table.indexed)
    for name in table.unique:
        value = record.get(name)
        if value is None:
            continue
        for other_id in _live_matches(service.store, index, name, value):
            if other_id != record["Id"]:
                raise SandboxApiError(
                    "DUPLICATE_VALUE",
                    f"duplicate value found: {name} duplicates value on record with id: {other_id}",
                )
    _add_to_index(index, record)


def find_ids(service: RecordService, object_def: ObjectDef, field_name: str, value: Any) -> list[str]:
    """Ids of live records whose field equals ``value`` (text case-insensitively), in id order.

    Unique and external id fields are looked up in the index; other fields by a scan.
    """
    field_def = object_def.field(field_name)
    if field_def is None or value is None:
        return []
    table = _table_for(object_def)
    if field_def.name in table.indexed:
        index = _object_index(service.store, object_def.name, table.indexed)
        return _live_matches(service.store, index, field_def.name, value)
    key = _index_key(value)
    return [record["Id"] for record in service.store.records(object_def.name)
            if record.get(field_def.name) is not None and _index_key(record[field_def.name]) == key]


# -- derived fields ----------------------------------------------------------------------------------------
def derive(service: RecordService, object_def: ObjectDef, record: dict[str, Any]) -> None:
    """Fill server-computed fields in place (after system fields are set, before the record is stored)."""
    table = _table_for(object_def)
    for field_def in table.auto_numbers:
        if record.get(field_def.name) in (None, ""):
            record[field_def.name] = _next_auto_number(service, object_def, field_def, record)
    deriver = _DERIVERS.get(object_def.name)
    if deriver is not None:
        deriver(service, record)
    for name in table.absent_audit_fields:
        record.pop(name, None)


def _full_name(service: RecordService, record: dict[str, Any]) -> None:
    record["Name"] = " ".join(part for part in (record.get("FirstName"), record.get("LastName")) if part)


def _user(service: RecordService, record: dict[str, Any]) -> None:
    _full_name(service, record)
    if not record.get("Alias"):
        record["Alias"] = ((record.get("FirstName") or "")[:1] + (record.get("LastName") or "")[:4]).lower()


def _opportunity(service: RecordService, record: dict[str, Any]) -> None:
    stage = record.get("StageName")
    previous = service.store.get(record["Id"])
    if stage in std.OPPORTUNITY_STAGES and (previous is None or previous.get("StageName") != stage):
        probability, forecast = std.OPPORTUNITY_STAGES[stage]
        for name, default in (("Probability", probability), ("ForecastCategoryName", forecast)):
            untouched = (record.get(name) is None if previous is None
                         else record.get(name) == previous.get(name))
            if untouched and name in record:
                record[name] = default
    record["IsClosed"] = stage in std.CLOSED_STAGES
    record["IsWon"] = stage in std.CLOSED_WON_STAGES
    if "ForecastCategory" in record:
        record["ForecastCategory"] = std.FORECAST_CATEGORIES.get(record.get("ForecastCategoryName") or "")
    if "ExpectedRevenue" in record:
        amount, probability = record.get("Amount"), record.get("Probability")
        record["ExpectedRevenue"] = (round(amount * probability / 100, 2)
                                     if amount is not None and probability is not None else None)
    close = record.get("CloseDate")
    if close and "FiscalYear" in record:
        year, quarter = int(close[:4]), (int(close[5:7]) - 1) // 3 + 1
        record.update({"FiscalYear": year, "FiscalQuarter": quarter, "Fiscal": f"{year} {quarter}"})


def _task(service: RecordService, record: dict[str, Any]) -> None:
    record["IsClosed"] = record.get("Status") in std.CLOSED_TASK_STATUSES
    record["IsHighPriority"] = record.get("Priority") == "High"
    if "CompletedDateTime" in record:
        if not record["IsClosed"]:
            record["CompletedDateTime"] = None
        elif record.get("CompletedDateTime") is None:
            record["CompletedDateTime"] = record.get("LastModifiedDate")
    if "AccountId" in record:
        record["AccountId"] = _task_account(service, record)


def _task_account(service: RecordService, record: dict[str, Any]) -> str | None:
    """Salesforce's rule: the What's account (Account, Opportunity, Contract, custom child of Account), else
    the Who's account when the Who is a contact."""
    what_id = record.get("WhatId")
    if what_id:
        what_object = service.store.object_of(what_id)
        if what_object == "Account":
            return what_id
        what = service.store.get(what_id) or {}
        what_def = service.schema.get(what_object or "")
        if what_object in ("Opportunity", "Contract"):
            return what.get("AccountId")
        if what_def is not None and what_def.custom:
            for field_def in what_def.fields.values():
                if field_def.type == "reference" and field_def.reference_to == ["Account"]:
                    return what.get(field_def.name)
    who_id = record.get("WhoId")
    if who_id and service.store.object_of(who_id) == "Contact":
        return (service.store.get(who_id) or {}).get("AccountId")
    return None


def _case(service: RecordService, record: dict[str, Any]) -> None:
    record["IsClosed"] = record.get("Status") in std.CLOSED_CASE_STATUSES
    if "ClosedDate" in record:
        if not record["IsClosed"]:
            record["ClosedDate"] = None
        elif record.get("ClosedDate") is None:
            record["ClosedDate"] = record.get("LastModifiedDate")


def _contract(service: RecordService, record: dict[str, Any]) -> None:
    status = record.get("Status")
    record["StatusCode"] = std.CONTRACT_STATUS_CODES.get(status or "", "Draft")
    start, term = record.get("StartDate"), record.get("ContractTerm")
    record["EndDate"] = _contract_end(date.fromisoformat(start), term).isoformat() if start and term else None
    if status == "Activated" and record.get("ActivatedDate") is None:
        record["ActivatedDate"] = record.get("LastModifiedDate")
        record["ActivatedById"] = record.get("LastModifiedById")


def _contract_end(start: date, months: int) -> date:
    """StartDate plus ContractTerm months, minus one day (a 12-month contract from Jan 1 ends Dec 31)."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return date.fromordinal(date(year, month, day).toordinal() - 1)


_DERIVERS: dict[str, Callable[[RecordService, dict[str, Any]], None]] = {
    "Contact": _full_name, "Lead": _full_name, "User": _user, "Opportunity": _opportunity, "Task": _task,
    "Case": _case, "Contract": _contract,
}


def _next_auto_number(service: RecordService, object_def: ObjectDef, field_def: FieldDef,
                      record: dict[str, Any]) -> str:
    """The next number of an auto-number field, kept in the store so that numbers survive restarts.

    Like Salesforce, a number taken by a write that is then rolled back is not handed out again.
    """
    key = f"_autonumber:{object_def.name}.{field_def.name}"
    number = int(service.store.kv_get(key, field_def.auto_number_start - 1)) + 1
    service.store.kv_set(key, number)
    created = str(record.get("CreatedDate") or "0000-00-00")

    def piece(match: re.Match[str]) -> str:
        token = match.group(1)
        if token.startswith("0"):
            return str(number).zfill(len(token))
        return {"YYYY": created[:4], "YY": created[2:4], "MM": created[5:7], "DD": created[8:10]}[token]

    return _AUTO_NUMBER_RE.sub(piece, field_def.auto_number_format)
