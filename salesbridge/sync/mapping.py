"""Field and value mapping between a Salesforce record and an app row: pure functions, no I/O.

The same mapper serves both directions so that what goes out and what comes back are comparable: the engine
hashes the app-side form of both (``values_hash``) to tell a real change from the echo of its own write.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from salesbridge.sync.config import Direction, FieldMap, FlowConfig, ValueMap

_TRANSFORMS = {
    "none": lambda text: text,
    "strip": str.strip,
    "lower": str.lower,
    "upper": str.upper,
    "title": str.title,
}


class MappingError(Exception):
    """A record that cannot be mapped; stored as a RecordError like a Salesforce rejection."""

    def __init__(self, error_code: str, message: str, fields: list[str]) -> None:
        super().__init__(f"{error_code}: {message}")
        self.error_code = error_code
        self.message = message
        self.fields = fields


class LookupSource(Protocol):
    """What lookup fields are mapped through (``salesbridge.sync.lookups.Lookups`` in a run)."""

    def sf_id(self, flow: str, app_key: str) -> str | None: ...

    def app_key(self, flow: str, sf_id: str) -> str | None: ...

    def user_id(self, username_or_email: str) -> str | None: ...

    def user_email(self, user_id: str) -> str | None: ...


class Mapper:
    """Maps one flow's records both ways according to its FieldMaps and the named ValueMaps.

    Lookup fields (``reference``, ``user``) need ``lookups``; a flow without them maps with none.
    """

    def __init__(self, flow: FlowConfig, value_maps: Mapping[str, ValueMap],
                 lookups: LookupSource | None = None) -> None:
        self.flow = flow
        self.value_maps = value_maps
        self.lookups = lookups
        self.outgoing = [f for f in flow.fields if f.flows_to_salesforce(flow.direction)]
        self.incoming = [f for f in flow.fields if f.flows_from_salesforce(flow.direction)]

    @property
    def salesforce_fields(self) -> list[str]:
        """Salesforce fields to read: every mapped field, so that conflicts can show both versions."""
        return [f.salesforce for f in self.flow.fields]

    @property
    def app_columns(self) -> list[str]:
        return [f.app for f in self.flow.fields]

    def to_salesforce(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """Salesforce field values for an app row (only fields that flow to Salesforce)."""
        values: dict[str, Any] = {}
        for field_map in self.outgoing:
            value = _transform(row.get(field_map.app), field_map)
            if field_map.values:
                value = self._translate(value, field_map, Direction.TO_SALESFORCE)
            elif field_map.is_lookup:
                value = self._look_up_salesforce(value, field_map)
            values[field_map.salesforce] = value
        return values

    def to_app(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """App column values for a Salesforce record (only fields that flow to the app)."""
        values: dict[str, Any] = {}
        for field_map in self.incoming:
            value = record.get(field_map.salesforce)
            if field_map.is_lookup:
                value = self._look_up_app(value, field_map)
            value = _transform(value, field_map)
            if field_map.values:
                value = self._translate(value, field_map, Direction.FROM_SALESFORCE)
            values[field_map.app] = value
        return values

    def app_view(self, row: Mapping[str, Any], direction: Direction) -> dict[str, Any]:
        """The app-side values that matter for one direction: what the hashes are taken over."""
        maps = self.outgoing if direction is Direction.TO_SALESFORCE else self.incoming
        return {f.app: row.get(f.app) for f in maps}

    def _look_up_salesforce(self, value: Any, field_map: FieldMap) -> str | None:
        """The Id a lookup column's value stands for; a value with none is the record's error."""
        if value is None or value == "":
            return None
        lookups = self._lookups(field_map)
        key = str(value).strip()
        if field_map.reference:
            sf_id = lookups.sf_id(field_map.reference, key)
            if sf_id is None:
                raise MappingError("UNLINKED_REFERENCE",
                                   f"column {field_map.app} = '{key}': that row of flow '{field_map.reference}' "
                                   f"is not linked to a Salesforce record yet (it syncs first, then this one)",
                                   [field_map.salesforce])
            return sf_id
        user_id = lookups.user_id(key)
        if user_id is None:
            raise MappingError("UNKNOWN_USER", f"column {field_map.app} = '{key}': no active Salesforce user "
                               "has this username or email", [field_map.salesforce])
        return user_id

    def _look_up_app(self, value: Any, field_map: FieldMap) -> str | None:
        """The app value a lookup field's Id stands for; an Id with none is the record's error."""
        if value is None or value == "":
            return None
        lookups = self._lookups(field_map)
        if field_map.reference:
            key = lookups.app_key(field_map.reference, str(value))
            if key is None:
                raise MappingError("UNLINKED_REFERENCE",
                                   f"field {field_map.salesforce} = {value}: no row of flow "
                                   f"'{field_map.reference}' is linked to that record yet", [field_map.salesforce])
            return key
        email = lookups.user_email(str(value))
        if email is None:
            raise MappingError("UNKNOWN_USER", f"field {field_map.salesforce} = {value}: no such Salesforce user",
                               [field_map.salesforce])
        return email

    def _lookups(self, field_map: FieldMap) -> LookupSource:
        if self.lookups is None:
            raise RuntimeError(f"field {field_map.salesforce} is a lookup: the Mapper needs lookups")
        return self.lookups

    def _translate(self, value: Any, field_map: FieldMap, direction: Direction) -> Any:
        if value is None or value == "":
            return None
        value_map = self.value_maps[field_map.values or ""]
        if direction is Direction.TO_SALESFORCE:
            table, default, side = value_map.to_salesforce, value_map.default_to_salesforce, "to_salesforce"
            where = f"column {field_map.app}"
        else:
            table, default, side = value_map.from_salesforce, value_map.default_from_salesforce, "from_salesforce"
            where = f"field {field_map.salesforce}"
        key = str(value)
        if key in table:
            return table[key]
        if default is not None:
            return default
        raise MappingError(
            "UNMAPPED_VALUE",
            f"value '{key}' of {where} has no entry in value map '{field_map.values}' ({side})",
            [field_map.salesforce],
        )


def _transform(value: Any, field_map: FieldMap) -> Any:
    if isinstance(value, str) and field_map.transform != "none":
        return _TRANSFORMS[field_map.transform](value)
    return value


def canonical(value: Any) -> Any:
    """A JSON-stable form of a value, equal for equal data whatever its Python type.

    ``100``, ``100.0`` and ``Decimal("100.00")`` are one number; a date and its ISO string are one date.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        try:
            number = Decimal(str(value)).normalize()
        except InvalidOperation:
            return str(value)
        return format(number, "f")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def values_hash(values: Mapping[str, Any]) -> str:
    """A short digest of mapped values, stored on the link to recognise echoes and no-op changes."""
    text = json.dumps({k: canonical(v) for k, v in sorted(values.items())}, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    """Values as a JSON column stores them (dates and decimals as text), for error payloads and conflicts."""
    return {k: (v if isinstance(v, str | int | float | bool) or v is None else canonical(v))
            for k, v in values.items()}
