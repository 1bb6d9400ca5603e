"""Custom objects and custom fields for the sandbox org, from a YAML schema file.

The file describes what an org's Setup would: custom objects (``Name__c``) and custom fields (``Name__c``) added
to standard or custom objects. Example (the full one ships as ``example_schema.yaml`` next to this module)::

    objects:
      Contract_Request__c:            # a custom object: the name ends in __c
        label: Contract Request       # default: the name without __c, underscores as spaces
        plural_label: Contract Requests   # default: label + "s"
        key_prefix: a01               # default: the next free one of a01, a02, ...
        name_field:                   # default: {type: text, length: 80, label: "<label> Name"}
          type: auto_number           # or text
          format: "CR-{00000}"        # {0...0} is the number; {YYYY} {YY} {MM} {DD} the creation date
          start: 1
          label: Request Number
        activities: true              # default true: Task.WhatId may point at its records
        fields:
          Opportunity__c:
            type: lookup              # lookup | master_detail | reference
            reference_to: Opportunity
            relationship_name: Opportunity__r            # default: the field name with __r
            child_relationship_name: Contract_Requests__r  # default: "<plural label>__r"
          Status__c:
            type: picklist
            values: [Draft, Submitted, Approved, Rejected]   # ("picklist:" is accepted as well)
            restricted: true
            default: Draft
          Amount__c: {type: currency, precision: 18, scale: 2, required: true}
      Account:                        # a standard object: custom fields, and values for its picklists
        fields:
          Hub_Id__c: {type: text, length: 64, external_id: true, unique: true}
      Lead:
        picklist_values:              # values an admin adds in Setup to a standard picklist (Lead Status...)
          Status: [Qualified, Proposal Sent]

Field keys: ``type`` (required), ``label``, ``length``, ``precision``, ``scale``, ``required``, ``unique``,
``external_id``, ``default``, ``values``/``picklist``, ``restricted``, ``reference_to``, ``relationship_name``,
``child_relationship_name``, and for auto-numbers ``format`` and ``start``.

Types (describe type in brackets): text/string [string, length 1..255, default 255], textarea [textarea, up to
255], long_textarea/html [textarea, up to 131072, default 32768], email [email], phone [phone], url [url],
picklist, multipicklist, checkbox/boolean [boolean], number/double [double, precision 18 scale 0 by default],
int, currency [currency, 18/2], percent [percent, 18/2], date, datetime, lookup/reference [reference],
master_detail [reference: required, cascade delete; the object then has no OwnerId], auto_number [string,
read-only].

Every custom object gets the system fields (Id, IsDeleted, CreatedDate, CreatedById, LastModifiedDate,
LastModifiedById, SystemModstamp), OwnerId (unless it is the detail of a master-detail) and a Name field.
Errors raise ``SchemaFileError`` naming the file, the key path and what was expected.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from salesbridge.sandbox.schema.model import FieldDef, ObjectDef, Schema
from salesbridge.sandbox.schema.standard import make_object


class SchemaFileError(ValueError):
    """A schema file that cannot be loaded: which file, where in it, and what was expected there."""

    def __init__(self, path: str | Path, key: str, expected: str) -> None:
        self.path = str(path)
        self.key = key
        self.expected = expected
        super().__init__(f"{self.path}: {key}: {expected}" if key else f"{self.path}: {expected}")


_CUSTOM_NAME_RE = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*__c$")
_KEY_PREFIX_RE = re.compile(r"^[A-Za-z0-9]{3}$")
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

#: YAML type name -> (describe type, default length, maximum length).
_TEXT_TYPES: dict[str, tuple[str, int, int]] = {
    "text": ("string", 255, 255), "string": ("string", 255, 255), "textarea": ("textarea", 255, 255),
    "long_textarea": ("textarea", 32768, 131072), "longtextarea": ("textarea", 32768, 131072),
    "html": ("textarea", 32768, 131072), "email": ("email", 80, 80), "phone": ("phone", 40, 40),
    "url": ("url", 255, 255),
}
#: YAML type name -> (describe type, default precision, default scale).
_NUMBER_TYPES: dict[str, tuple[str, int, int]] = {
    "number": ("double", 18, 0), "double": ("double", 18, 0), "currency": ("currency", 18, 2),
    "percent": ("percent", 18, 2), "int": ("int", 9, 0),
}
_OTHER_TYPES = {"picklist", "multipicklist", "checkbox", "boolean", "date", "datetime", "lookup", "reference",
                "master_detail", "auto_number"}
_ALL_TYPES = sorted({*_TEXT_TYPES, *_NUMBER_TYPES, *_OTHER_TYPES})

_OBJECT_KEYS = {"label", "plural_label", "key_prefix", "name_field", "activities", "fields", "description"}
_FIELD_KEYS = {"type", "label", "length", "precision", "scale", "required", "unique", "external_id", "default",
               "values", "picklist", "restricted", "reference_to", "relationship_name",
               "child_relationship_name", "format", "start", "description"}
_NAME_FIELD_KEYS = {"type", "label", "length", "format", "start"}


def load_schema_file(path: str | Path, schema: Schema) -> None:
    """Add the custom objects and fields of a YAML schema file to ``schema``; raises SchemaFileError.

    Nothing is added when the file has an error: the file is checked completely first.
    """
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise SchemaFileError(path, "", f"cannot read the schema file ({error.strerror or error})") from error
    except yaml.YAMLError as error:
        raise SchemaFileError(path, "", f"not valid YAML ({error})") from error
    _Loader(Path(path), schema).load(data)


class _Loader:
    """Checks a parsed file against the schema, then applies it; one instance per file."""

    def __init__(self, path: Path, schema: Schema) -> None:
        self.path = path
        self.schema = schema
        self.new_objects: list[ObjectDef] = []
        self.activity_objects: list[str] = []
        #: (object, field) pairs to add to existing objects, and lookups whose targets are checked last.
        self.new_fields: list[tuple[ObjectDef, FieldDef, str]] = []
        #: Values added to standard picklists (Setup lets an admin extend Lead Status, Opportunity Stage...).
        self.new_values: list[tuple[FieldDef, list[str]]] = []
        self.used_prefixes = {o.key_prefix for o in schema.objects}

    def error(self, key: str, expected: str) -> SchemaFileError:
        return SchemaFileError(self.path, key, expected)

    # -- top level ---------------------------------------------------------------------------------------
    def load(self, data: Any) -> None:
        if data is None:
            return
        if not isinstance(data, dict):
            raise self.error("", f"expected a mapping with an 'objects' key at the top level, got {_kind(data)}")
        unknown = sorted(set(map(str, data)) - {"objects"})
        if unknown:
            raise self.error(unknown[0], "unknown top-level key (expected: objects)")
        objects = data.get("objects") or {}
        if not isinstance(objects, dict):
            raise self.error("objects", f"expected a mapping of object names, got {_kind(objects)}")
        for name, spec in objects.items():
            self.object_entry(str(name), spec)
        self.check_lookups()
        self.apply()

    def object_entry(self, name: str, spec: Any) -> None:
        key = f"objects.{name}"
        if spec is None:
            spec = {}
        if not isinstance(spec, dict):
            raise self.error(key, f"expected a mapping, got {_kind(spec)}")
        if name.endswith("__c"):
            self.custom_object(name, spec, key)
            return
        existing = self.schema.get(name)
        if existing is None:
            raise self.error(key, "unknown standard object; custom object names must end in __c")
        unknown = sorted(set(map(str, spec)) - {"fields", "picklist_values"})
        if unknown:
            raise self.error(f"{key}.{unknown[0]}",
                             "only 'fields' and 'picklist_values' may be given for a standard object")
        self.fields(existing, spec.get("fields"), f"{key}.fields", custom_object=False)
        self.picklist_values(existing, spec.get("picklist_values"), f"{key}.picklist_values")

    def picklist_values(self, object_def: ObjectDef, spec: Any, key: str) -> None:
        """Values added to a standard object's picklist, as Setup allows (a real org's Lead Status list is
        the admin's: LeadStatus records). Values already present are kept once."""
        if spec is None:
            return
        if not isinstance(spec, dict):
            raise self.error(key, f"expected a mapping of picklist field names to lists of values, got {_kind(spec)}")
        for name, values in spec.items():
            field_key = f"{key}.{name}"
            field_def = object_def.field(str(name))
            if field_def is None or field_def.type not in ("picklist", "multipicklist"):
                raise self.error(field_key, f"{object_def.name} has no picklist field named {name}")
            if not isinstance(values, list) or not values or not all(isinstance(v, str) and v.strip()
                                                                     for v in values):
                raise self.error(field_key, "expected a list of picklist values (text)")
            self.new_values.append((field_def, [v.strip() for v in values]))

    # -- custom objects ------------------------------------------------------------------------------------
    def custom_object(self, name: str, spec: dict[str, Any], key: str) -> None:
        if not _CUSTOM_NAME_RE.match(name):
            raise self.error(key, "a custom object name is letters, digits and single underscores, starting "
                                  "with a letter and ending in __c")
        if self.schema.get(name) is not None or any(o.name.lower() == name.lower() for o in self.new_objects):
            raise self.error(key, "this object is already defined")
        _refuse_unknown(self, spec, _OBJECT_KEYS, key)
        label = _text(self, spec.get("label"), f"{key}.label") or name.removesuffix("__c").replace("_", " ")
        plural = _text(self, spec.get("plural_label"), f"{key}.plural_label") or label + "s"
        prefix = self.key_prefix(spec.get("key_prefix"), f"{key}.key_prefix")
        activities = _flag(self, spec.get("activities", True), f"{key}.activities")
        fields_spec = spec.get("fields") or {}
        if not isinstance(fields_spec, dict):
            raise self.error(f"{key}.fields", f"expected a mapping of field names, got {_kind(fields_spec)}")
        is_detail = any(isinstance(f, dict) and str(f.get("type", "")).lower() == "master_detail"
                        for f in fields_spec.values())
        name_field = self.name_field(spec.get("name_field"), label, f"{key}.name_field")
        object_def = make_object(name, prefix, label, plural, [name_field], owner=not is_detail,
                                 id_label="Record ID", custom=True)
        self.new_objects.append(object_def)
        if activities:
            self.activity_objects.append(name)
        self.fields(object_def, fields_spec, f"{key}.fields", custom_object=True)

    def key_prefix(self, given: Any, key: str) -> str:
        if given is None:
            prefix = self.next_free_prefix()
        elif not isinstance(given, str) or not _KEY_PREFIX_RE.match(given):
            raise self.error(key, f"expected 3 letters or digits (like a01), got {given!r}")
        else:
            prefix = given
        if prefix in self.used_prefixes:
            raise self.error(key, f"key prefix {prefix} is already used by another object")
        self.used_prefixes.add(prefix)
        return prefix

    def next_free_prefix(self) -> str:
        for second in _BASE62:
            for third in _BASE62[1:] if second == "0" else _BASE62:
                candidate = f"a{second}{third}"
                if candidate not in self.used_prefixes:
                    return candidate
        raise self.error("", "no free custom object key prefix left")  # pragma: no cover - 3,800 objects

    def name_field(self, spec: Any, label: str, key: str) -> FieldDef:
        """The object's Name: text (80) unless configured as an auto-number."""
        spec = spec or {}
        if not isinstance(spec, dict):
            raise self.error(key, f"expected a mapping, got {_kind(spec)}")
        _refuse_unknown(self, spec, _NAME_FIELD_KEYS, key)
        kind = str(spec.get("type", "text")).lower()
        field_label = _text(self, spec.get("label"), f"{key}.label") or f"{label} Name"
        if kind == "auto_number":
            return FieldDef("Name", "string", field_label, length=30, nillable=False, createable=False,
                            updateable=False, defaulted_on_create=True, name_field=True, id_lookup=True,
                            auto_number_format=self.auto_number_format(spec, key),
                            auto_number_start=_integer(self, spec.get("start", 1), f"{key}.start", minimum=0))
        if kind not in ("text", "string"):
            raise self.error(f"{key}.type", f"expected text or auto_number, got {kind!r}")
        length = _integer(self, spec.get("length", 80), f"{key}.length", minimum=1, maximum=80)
        return FieldDef("Name", "string", field_label, length=length, nillable=False, name_field=True,
                        id_lookup=True)

    def auto_number_format(self, spec: dict[str, Any], key: str) -> str:
        text = spec.get("format", "{0}")
        if not isinstance(text, str) or not re.search(r"\{0+\}", text):
            raise self.error(f"{key}.format", "expected a display format with a number part, like A-{0000}")
        return text

    # -- fields ---------------------------------------------------------------------------------------------
    def fields(self, object_def: ObjectDef, spec: Any, key: str, *, custom_object: bool) -> None:
        if spec is None:
            return
        if not isinstance(spec, dict):
            raise self.error(key, f"expected a mapping of field names, got {_kind(spec)}")
        for name, field_spec in spec.items():
            name = str(name)
            field_key = f"{key}.{name}"
            if not name.endswith("__c"):
                raise self.error(field_key, "custom field names must end in __c")
            if not _CUSTOM_NAME_RE.match(name):
                raise self.error(field_key, "a custom field name is letters, digits and single underscores, "
                                            "starting with a letter and ending in __c")
            taken = object_def.field(name) is not None or any(
                o is object_def and f.name.lower() == name.lower() for o, f, _ in self.new_fields)
            if taken:
                raise self.error(field_key, f"{object_def.name} already has a field named {name}")
            field_def = self.field(name, field_spec, field_key)
            self.new_fields.append((object_def, field_def, field_key))

    def field(self, name: str, spec: Any, key: str) -> FieldDef:
        if not isinstance(spec, dict):
            raise self.error(key, f"expected a mapping with at least a 'type', got {_kind(spec)}")
        _refuse_unknown(self, spec, _FIELD_KEYS, key)
        if "type" not in spec:
            raise self.error(f"{key}.type", f"missing; expected one of {', '.join(_ALL_TYPES)}")
        kind = str(spec["type"]).lower()
        if kind not in _ALL_TYPES:
            raise self.error(f"{key}.type", f"unknown type {spec['type']!r}; expected one of {', '.join(_ALL_TYPES)}")
        field_def = FieldDef(name, "string", _text(self, spec.get("label"), f"{key}.label"), custom=True)
        required = _flag(self, spec.get("required", False), f"{key}.required")
        if kind in _TEXT_TYPES:
            field_def.type, default_length, maximum = _TEXT_TYPES[kind]
            field_def.length = _integer(self, spec.get("length", default_length), f"{key}.length", minimum=1,
                                        maximum=maximum)
            if field_def.type == "textarea" and field_def.length > 255:
                field_def.filterable = field_def.sortable = False
        elif kind in _NUMBER_TYPES:
            field_def.type, default_precision, default_scale = _NUMBER_TYPES[kind]
            field_def.precision = _integer(self, spec.get("precision", default_precision), f"{key}.precision",
                                           minimum=1, maximum=18)
            scale = 0 if kind == "int" else spec.get("scale", default_scale)
            field_def.scale = _integer(self, scale, f"{key}.scale", minimum=0, maximum=field_def.precision)
        elif kind in ("picklist", "multipicklist"):
            self.picklist(field_def, kind, spec, key)
        elif kind in ("checkbox", "boolean"):
            field_def.type = "boolean"
            field_def.nillable = False
            field_def.defaulted_on_create = True
            field_def.default_value = False
            required = False
        elif kind in ("date", "datetime"):
            field_def.type = kind
        elif kind in ("lookup", "reference", "master_detail"):
            self.lookup(field_def, kind, spec, key)
            required = required or kind == "master_detail"
        elif kind == "auto_number":
            field_def.length = 30
            field_def.createable = field_def.updateable = field_def.nillable = False
            field_def.defaulted_on_create = True
            field_def.auto_number_format = self.auto_number_format(spec, key)
            field_def.auto_number_start = _integer(self, spec.get("start", 1), f"{key}.start", minimum=0)
        field_def.nillable = field_def.nillable and not required
        self.identity(field_def, spec, key)
        if "default" in spec and spec["default"] is not None:
            field_def.default_value = self.default(field_def, spec["default"], f"{key}.default")
            field_def.defaulted_on_create = True
        return field_def

    def picklist(self, field_def: FieldDef, kind: str, spec: dict[str, Any], key: str) -> None:
        field_def.type = kind
        values_key = "picklist" if "picklist" in spec and "values" not in spec else "values"
        values = spec.get(values_key)
        if not isinstance(values, list) or not values:
            raise self.error(f"{key}.{values_key}", "expected a non-empty list of picklist values")
        texts = []
        for position, value in enumerate(values):
            if isinstance(value, bool) or not isinstance(value, str | int | float) or str(value) == "":
                raise self.error(f"{key}.{values_key}[{position}]", "expected a non-empty text value")
            texts.append(str(value))
        if len({t.lower() for t in texts}) != len(texts):
            raise self.error(f"{key}.{values_key}", "picklist values must be distinct")
        field_def.picklist_values = texts
        field_def.length = 4099 if kind == "multipicklist" else 255
        field_def.restricted_picklist = _flag(self, spec.get("restricted", False), f"{key}.restricted")

    def lookup(self, field_def: FieldDef, kind: str, spec: dict[str, Any], key: str) -> None:
        field_def.type = "reference"
        field_def.length = 18
        target = spec.get("reference_to")
        if isinstance(target, list) and len(target) == 1:
            target = target[0]
        if not isinstance(target, str) or not target:
            raise self.error(f"{key}.reference_to", "expected the name of one object")
        field_def.reference_to = [target]
        relationship = spec.get("relationship_name", field_def.name.removesuffix("__c") + "__r")
        if not isinstance(relationship, str) or not relationship.endswith("__r"):
            raise self.error(f"{key}.relationship_name", "expected a name ending in __r")
        field_def.relationship_name = relationship
        child = spec.get("child_relationship_name")
        if child is not None and (not isinstance(child, str) or not child.endswith("__r")):
            raise self.error(f"{key}.child_relationship_name", "expected a name ending in __r")
        field_def.child_relationship_name = child
        if kind == "master_detail":
            field_def.cascade_delete = True

    def identity(self, field_def: FieldDef, spec: dict[str, Any], key: str) -> None:
        """``unique`` and ``external_id``: only for text, e-mail and number fields, as in Setup."""
        unique = _flag(self, spec.get("unique", False), f"{key}.unique")
        external = _flag(self, spec.get("external_id", False), f"{key}.external_id")
        if (unique or external) and field_def.type not in ("string", "email", "double", "int"):
            which = "unique" if unique else "external_id"
            raise self.error(f"{key}.{which}", "only text, email and number fields can be unique or external ids")
        field_def.unique = unique
        field_def.external_id = external
        field_def.id_lookup = unique or external

    def default(self, field_def: FieldDef, value: Any, key: str) -> Any:
        kind = field_def.type
        if kind == "boolean":
            return _flag(self, value, key)
        if kind in ("double", "int", "currency", "percent"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise self.error(key, f"expected a number, got {value!r}")
            return int(value) if kind == "int" else float(value)
        if kind in ("reference", "base64") or field_def.auto_number:
            raise self.error(key, f"a {kind} field cannot have a default value")
        text = str(value)
        if kind in ("picklist", "multipicklist"):
            for part in text.split(";") if kind == "multipicklist" else [text]:
                if part not in field_def.picklist_values:
                    raise self.error(key, f"expected one of the picklist values, got {part!r}")
        elif kind == "date" and not re.match(r"^\d{4}-\d{2}-\d{2}$", text):
            raise self.error(key, f"expected a date YYYY-MM-DD, got {value!r}")
        elif field_def.length and len(text) > field_def.length:
            raise self.error(key, f"longer than the field's length {field_def.length}")
        return text

    # -- second pass and apply -----------------------------------------------------------------------------
    def object_named(self, name: str) -> ObjectDef | None:
        for object_def in self.new_objects:
            if object_def.name.lower() == name.lower():
                return object_def
        return self.schema.get(name)

    def check_lookups(self) -> None:
        """Lookup targets may be defined later in the file; relationship names must not clash."""
        relationship_names: dict[tuple[str, str], str] = {}
        for object_def, field_def, key in self.new_fields:
            if field_def.type != "reference":
                continue
            target = self.object_named(field_def.reference_to[0])
            if target is None:
                raise self.error(f"{key}.reference_to", f"unknown object {field_def.reference_to[0]!r}")
            field_def.reference_to = [target.name]
            rel_key = (object_def.name, (field_def.relationship_name or "").lower())
            if object_def.parent_relationship(field_def.relationship_name or "") or rel_key in relationship_names:
                raise self.error(f"{key}.relationship_name",
                                 f"{object_def.name} already has a relationship named {field_def.relationship_name}")
            relationship_names[rel_key] = key
            if field_def.child_relationship_name is None:
                field_def.child_relationship_name = object_def.label_plural.replace(" ", "_") + "__r"
            child_key = (target.name, "child:" + field_def.child_relationship_name.lower())
            taken = self.schema.child_relationship(target.name, field_def.child_relationship_name)
            if taken is not None or child_key in relationship_names:
                raise self.error(f"{key}.child_relationship_name",
                                 f"{target.name} already has a child relationship named "
                                 f"{field_def.child_relationship_name}")
            relationship_names[child_key] = key

    def apply(self) -> None:
        for object_def in self.new_objects:
            self.schema.add(object_def)
        for object_def, field_def, _ in self.new_fields:
            object_def.add_field(field_def)
        for field_def, values in self.new_values:
            known = {value.lower() for value in field_def.picklist_values}
            for value in values:
                if value.lower() not in known:
                    field_def.picklist_values.append(value)
                    known.add(value.lower())
        self.link_targets("Task", "WhatId", self.activity_objects)
        custom_names = [o.name for o in self.new_objects]
        self.link_targets("ContentDocumentLink", "LinkedEntityId", custom_names)
        self.link_targets("ContentVersion", "FirstPublishLocationId", custom_names)

    def link_targets(self, object_name: str, field_name: str, targets: list[str]) -> None:
        """Polymorphic standard lookups (Task.WhatId, file links) also reach the new custom objects."""
        object_def = self.schema.get(object_name)
        field_def = object_def.field(field_name) if object_def else None
        if field_def is None:
            return
        for target in targets:
            if target not in field_def.reference_to:
                field_def.reference_to.append(target)


# -- small typed readers ----------------------------------------------------------------------------------
def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false", type(None): "nothing"}.get(
        type(value), type(value).__name__)


def _refuse_unknown(loader: _Loader, spec: dict[str, Any], allowed: set[str], key: str) -> None:
    unknown = sorted(set(map(str, spec)) - allowed)
    if unknown:
        raise loader.error(f"{key}.{unknown[0]}", f"unknown key; expected one of {', '.join(sorted(allowed))}")


def _text(loader: _Loader, value: Any, key: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise loader.error(key, f"expected non-empty text, got {value!r}")
    return value.strip()


def _flag(loader: _Loader, value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise loader.error(key, f"expected true or false, got {value!r}")
    return value


def _integer(loader: _Loader, value: Any, key: str, *, minimum: int | None = None,
             maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise loader.error(key, f"expected a whole number, got {value!r}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        bounds = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise loader.error(key, f"expected a number {bounds}, got {value}")
    return value
