"""Object and field definitions: what ``describe`` answers and what validation and SOQL check against.

Names are looked up case-insensitively, as Salesforce does, but kept in their canonical spelling for output.
Field ``type`` values are Salesforce's describe types: id, string, textarea, email, phone, url, picklist,
multipicklist, boolean, int, double, currency, percent, date, datetime, reference, base64.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Types whose values are text in the API (length-checked when ``length`` is set).
TEXT_TYPES = frozenset({"id", "string", "textarea", "email", "phone", "url", "picklist", "multipicklist",
                        "reference", "combobox", "encryptedstring"})
NUMBER_TYPES = frozenset({"int", "double", "currency", "percent"})


@dataclass
class FieldDef:
    name: str
    type: str
    label: str = ""
    length: int = 0
    precision: int = 0
    scale: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    defaulted_on_create: bool = False
    default_value: object = None
    picklist_values: list[str] = field(default_factory=list)
    restricted_picklist: bool = False
    reference_to: list[str] = field(default_factory=list)
    relationship_name: str | None = None
    #: For lookups: the name parents use for their children in SOQL subqueries (``Contacts``, ``Deals__r``).
    child_relationship_name: str | None = None
    external_id: bool = False
    unique: bool = False
    custom: bool = False
    name_field: bool = False
    filterable: bool = True
    sortable: bool = True
    #: Auto-number display format (``{00000000}``, ``CR-{0000}``); empty for ordinary fields.
    auto_number_format: str = ""
    #: The first number an auto-number field hands out.
    auto_number_start: int = 1
    #: Formula or roll-up fields: computed by the server, never written.
    calculated: bool = False
    #: Usable to identify a record (upsert, Bulk relationship columns): Id, Name, Email, external ids...
    id_lookup: bool = False
    #: Deleting the parent deletes the records that point at it (master-detail and some standard lookups).
    cascade_delete: bool = False

    def __post_init__(self) -> None:
        if not self.label:
            self.label = self.name.removesuffix("__c").replace("_", " ")

    @property
    def required_on_create(self) -> bool:
        """Salesforce's rule: not nillable, createable and not given a default by the server."""
        return not self.nillable and self.createable and not self.defaulted_on_create and self.type != "boolean"

    @property
    def auto_number(self) -> bool:
        return bool(self.auto_number_format)

    @property
    def is_polymorphic(self) -> bool:
        return self.type == "reference" and len(self.reference_to) > 1


@dataclass
class ChildRelationship:
    """A parent's view of a lookup: ``Account.Contacts`` is (Contacts, Contact, AccountId)."""

    relationship_name: str
    child_object: str
    field: str


@dataclass
class ObjectDef:
    name: str
    key_prefix: str
    label: str = ""
    label_plural: str = ""
    custom: bool = False
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    queryable: bool = True
    fields: dict[str, FieldDef] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.label = self.label or self.name.removesuffix("__c").replace("_", " ")
        self.label_plural = self.label_plural or self.label + "s"
        self._by_lower = {name.lower(): f for name, f in self.fields.items()}

    def add_field(self, field_def: FieldDef) -> None:
        self.fields[field_def.name] = field_def
        self._by_lower[field_def.name.lower()] = field_def

    def field(self, name: str) -> FieldDef | None:
        """The field named ``name`` in any letter case, or None."""
        return self._by_lower.get(name.lower())

    def parent_relationship(self, relationship_name: str) -> FieldDef | None:
        """The lookup field behind a relationship name (``Account`` -> AccountId, ``Owner`` -> OwnerId)."""
        wanted = relationship_name.lower()
        for field_def in self.fields.values():
            if field_def.relationship_name and field_def.relationship_name.lower() == wanted:
                return field_def
        return None

    @property
    def name_field(self) -> FieldDef | None:
        for field_def in self.fields.values():
            if field_def.name_field:
                return field_def
        return self.field("Name")


class Schema:
    """All objects of one sandbox org, with case-insensitive lookup and derived child relationships."""

    def __init__(self, objects: list[ObjectDef] | None = None) -> None:
        self._objects: dict[str, ObjectDef] = {}
        self._by_prefix: dict[str, ObjectDef] = {}
        for object_def in objects or []:
            self.add(object_def)

    def add(self, object_def: ObjectDef) -> None:
        """Add or replace an object (custom objects from a schema file may extend standard ones)."""
        self._objects[object_def.name.lower()] = object_def
        self._by_prefix[object_def.key_prefix] = object_def

    def get(self, name: str) -> ObjectDef | None:
        return self._objects.get(name.lower())

    def by_prefix(self, key_prefix: str) -> ObjectDef | None:
        return self._by_prefix.get(key_prefix)

    def object_for_id(self, record_id: str) -> ObjectDef | None:
        return self._by_prefix.get(record_id[:3])

    @property
    def objects(self) -> list[ObjectDef]:
        return list(self._objects.values())

    def child_relationships(self, parent_name: str) -> list[ChildRelationship]:
        """Relationships whose lookup points at ``parent_name``, named as SOQL subqueries name them."""
        parent = parent_name.lower()
        found: list[ChildRelationship] = []
        for child in self._objects.values():
            for field_def in child.fields.values():
                if field_def.type != "reference" or not field_def.relationship_name:
                    continue
                if parent not in (target.lower() for target in field_def.reference_to):
                    continue
                child_rel = _child_relationship_name(child, field_def)
                if child_rel:
                    found.append(ChildRelationship(child_rel, child.name, field_def.name))
        return found

    def child_relationship(self, parent_name: str, relationship_name: str) -> ChildRelationship | None:
        wanted = relationship_name.lower()
        for relationship in self.child_relationships(parent_name):
            if relationship.relationship_name.lower() == wanted:
                return relationship
        return None


#: Standard child relationship names that are not simply the child's plural label.
_STANDARD_CHILD_NAMES = {
    ("Contact", "AccountId"): "Contacts",
    ("Opportunity", "AccountId"): "Opportunities",
    ("Contract", "AccountId"): "Contracts",
    ("Case", "AccountId"): "Cases",
    ("Task", "WhatId"): "Tasks",
    ("Task", "WhoId"): "Tasks",
    ("Case", "ContactId"): "Cases",
    ("ContentDocumentLink", "LinkedEntityId"): "ContentDocumentLinks",
    ("ContentVersion", "ContentDocumentId"): "ContentVersions",
    ("ContentDocumentLink", "ContentDocumentId"): "ContentDocumentLinks",
    ("Opportunity", "ContractId"): None,
}


def _child_relationship_name(child: ObjectDef, field_def: FieldDef) -> str | None:
    """Custom lookups name their children ``<Plural>__r``; standard ones use the known names above."""
    if field_def.child_relationship_name:
        return field_def.child_relationship_name
    if field_def.custom:
        return child.label_plural.replace(" ", "_") + "__r"
    key = (child.name, field_def.name)
    if key in _STANDARD_CHILD_NAMES:
        return _STANDARD_CHILD_NAMES[key]
    return None
