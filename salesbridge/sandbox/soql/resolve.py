"""Field paths resolved against the schema: which lookups a path crosses and how to read its value fast.

``Account.Owner.Email`` on Contact crosses AccountId (to Account) and OwnerId (to User) and reads Email. A
polymorphic lookup (Task.WhoId to Contact or Lead, WhatId, a queue-or-user OwnerId) leads to Salesforce's
``Name`` pseudo-object: only its fields can follow, and the real object is known only per record, from the
referenced id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from salesbridge.sandbox.schema import FieldDef, ObjectDef, Schema
from salesbridge.sandbox.soql import ast
from salesbridge.sandbox.soql.errors import bad_relationship, no_such_column
from salesbridge.sandbox.soql.values import kind_of

#: Fields of Salesforce's ``Name`` pseudo-object, what a polymorphic relationship exposes: name -> type.
NAME_OBJECT_FIELDS = {
    "Id": "id", "Name": "string", "Type": "string", "Alias": "string", "Email": "email",
    "FirstName": "string", "LastName": "string", "IsActive": "boolean", "Phone": "phone", "Title": "string",
    "Username": "string", "UserRoleId": "reference", "ProfileId": "reference", "RecordTypeId": "reference",
    "NameOrAlias": "string", "CommunityNickname": "string", "LastReferencedDate": "datetime",
    "LastViewedDate": "datetime",
}
_NAME_OBJECT_LOWER = {name.lower(): name for name in NAME_OBJECT_FIELDS}


class RecordSource(Protocol):
    """What the evaluator reads records from (the sandbox Store fits)."""

    def records(self, object_name: str, include_deleted: bool = False) -> list[dict[str, Any]]: ...

    def get(self, record_id: str) -> dict[str, Any] | None: ...

    def object_of(self, record_id: str) -> str | None: ...


@dataclass
class Context:
    """Everything one query evaluation needs besides the AST."""

    schema: Schema
    source: RecordSource
    query_text: str
    include_deleted: bool
    api_version: str
    today: date
    #: Values computed once per run (semi-join ids, child subquery indexes); cleared when a plan runs.
    memo: dict[object, Any] = field(default_factory=dict)

    def remember(self, key: object, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per run of the query, then the same value."""
        try:
            return self.memo[key]
        except KeyError:
            value = self.memo[key] = compute()
            return value

    def object_name_of(self, record_id: str) -> str:
        """The canonical object name of a record id (from the store, else from the key prefix)."""
        name = self.source.object_of(record_id)
        object_def = self.schema.get(name) if name else self.schema.object_for_id(record_id)
        return object_def.name if object_def else (name or "Name")

    def fetch(self, record_id: Any) -> dict[str, Any] | None:
        """The record a lookup points at, or None when it is empty, unknown or (outside queryAll) deleted."""
        if not record_id:
            return None
        record = self.source.get(record_id)
        if record is None or (record.get("IsDeleted") and not self.include_deleted):
            return None
        return record


@dataclass(frozen=True)
class Hop:
    """One lookup crossed by a path: the lookup field and the object(s) it can point at."""

    lookup: FieldDef
    targets: tuple[ObjectDef, ...]

    @property
    def polymorphic(self) -> bool:
        return len(self.targets) != 1

    @property
    def relationship_name(self) -> str:
        return self.lookup.relationship_name or self.lookup.name


@dataclass
class ResolvedField:
    """A field path after resolution; ``get`` reads its raw API value from a root record."""

    hops: tuple[Hop, ...]
    name: str
    describe_type: str
    field_def: FieldDef | None
    pos: ast.Pos
    get: Callable[[dict[str, Any]], Any]

    @property
    def kind(self) -> str:
        return kind_of(self.describe_type)

    @property
    def canonical(self) -> str:
        """The path in canonical spelling: ``Account.Owner.Name``."""
        return ".".join([hop.relationship_name for hop in self.hops] + [self.name])

    @property
    def own_field(self) -> str | None:
        """The field's name when it is a field of the queried record itself (no lookup crossed)."""
        return None if self.hops else self.name

    @property
    def is_type_of_polymorphic(self) -> bool:
        return bool(self.hops) and self.hops[-1].polymorphic and self.name == "Type"

    @property
    def filterable(self) -> bool:
        return self.field_def is None or self.field_def.filterable

    @property
    def sortable(self) -> bool:
        return self.field_def is None or self.field_def.sortable

    @property
    def picklist_values(self) -> list[str]:
        if self.field_def is None or self.field_def.type != "picklist":
            return []
        return self.field_def.picklist_values


def resolve_path(path: ast.FieldPath, root: ObjectDef, ctx: Context) -> ResolvedField:
    """Resolve ``path`` from ``root`` or raise INVALID_FIELD as Salesforce words it."""
    parts = list(path.parts)
    if len(parts) > 1 and parts[0].lower() == root.name.lower() and root.parent_relationship(parts[0]) is None:
        parts = parts[1:]  # ``SELECT Account.Name FROM Account``: the object name may prefix its own fields
    hops: list[Hop] = []
    current: ObjectDef | None = root
    for part in parts[:-1]:
        lookup = current.parent_relationship(part) if current is not None else None
        if lookup is None:
            raise bad_relationship(ctx.query_text, path.pos, part)
        targets = tuple(target for name in lookup.reference_to if (target := ctx.schema.get(name)))
        hop = Hop(lookup, targets)
        hops.append(hop)
        current = targets[0] if not hop.polymorphic else None
    last = parts[-1]
    if current is None:  # after a polymorphic lookup: the Name pseudo-object
        canonical = _NAME_OBJECT_LOWER.get(last.lower())
        if canonical is None:
            raise no_such_column(ctx.query_text, path.pos, last, "Name")
        field_def = _field_on_any(hops[-1].targets, canonical)
        describe_type = NAME_OBJECT_FIELDS[canonical]
        resolved = ResolvedField(tuple(hops), canonical, describe_type, field_def, path.pos, _never)
    else:
        field_def = current.field(last)
        if field_def is None:
            raise no_such_column(ctx.query_text, path.pos, last, current.name)
        resolved = ResolvedField(tuple(hops), field_def.name, field_def.type, field_def, path.pos, _never)
    resolved.get = make_getter(resolved, ctx)
    return resolved


def _field_on_any(targets: tuple[ObjectDef, ...], name: str) -> FieldDef | None:
    for target in targets:
        field_def = target.field(name)
        if field_def is not None:
            return field_def
    return None


def _never(record: dict[str, Any]) -> Any:  # pragma: no cover - replaced right after construction
    raise AssertionError("getter not built")


def make_getter(resolved: ResolvedField, ctx: Context) -> Callable[[dict[str, Any]], Any]:
    """A fast reader for the path: a plain ``dict.get`` for own fields, a short walk for parent fields."""
    name = resolved.name
    if not resolved.hops:
        return lambda record: record.get(name)
    lookups = tuple(hop.lookup.name for hop in resolved.hops)
    fetch = ctx.fetch

    def parent_of(record: dict[str, Any]) -> dict[str, Any] | None:
        current: dict[str, Any] | None = record
        for lookup in lookups:
            current = fetch(current.get(lookup))
            if current is None:
                return None
        return current

    if resolved.is_type_of_polymorphic:
        object_name_of = ctx.object_name_of

        def get_type(record: dict[str, Any]) -> Any:
            parent = parent_of(record)
            return object_name_of(parent["Id"]) if parent is not None else None

        return get_type

    def get(record: dict[str, Any]) -> Any:
        parent = parent_of(record)
        return parent.get(name) if parent is not None else None

    return get

