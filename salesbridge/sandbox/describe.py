"""The describe answers of the REST API: ``GET sobjects/`` (describeGlobal) and ``GET sobjects/T/describe``.

Shapes follow Salesforce's REST API: every key a real org answers is present, with the values a default org
gives for what the sandbox does not model (layouts, record types beyond Master, compound fields). Clients
generate code and mappings from these answers (field types, lengths, nillable, createable, picklist values,
referenceTo, relationshipName), so those come straight from the schema that validation enforces.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from salesbridge.sandbox.schema import FieldDef, ObjectDef, Schema

if TYPE_CHECKING:
    from salesbridge.sandbox.org import Org

#: The Master record type id every object has when no record types are defined.
MASTER_RECORD_TYPE_ID = "012000000000000AAA"

_SOAP_TYPES = {
    "id": "tns:ID", "reference": "tns:ID", "boolean": "xsd:boolean", "int": "xsd:int", "double": "xsd:double",
    "currency": "xsd:double", "percent": "xsd:double", "date": "xsd:date", "datetime": "xsd:dateTime",
    "time": "xsd:time", "base64": "xsd:base64Binary", "address": "urn:address", "location": "urn:location",
}
#: Types whose values SOQL can GROUP BY.
_GROUPABLE = frozenset({"id", "reference", "string", "email", "phone", "url", "picklist", "boolean", "int",
                        "date", "combobox"})
_NOT_AGGREGATABLE = frozenset({"base64", "multipicklist"})


def _version(org: Org, api_version: str | None) -> str:
    return api_version or org.settings.api_version


# -- describeGlobal --------------------------------------------------------------------------------------
def describe_global(org: Org, api_version: str | None = None) -> dict[str, Any]:
    """``GET /services/data/vNN.0/sobjects/``: every object, sorted by name as Salesforce lists them."""
    version = _version(org, api_version)
    objects = sorted(org.schema.objects, key=lambda o: o.name.lower())
    return {"encoding": "UTF-8", "maxBatchSize": 200,
            "sobjects": [_global_entry(object_def, version) for object_def in objects]}


def _global_entry(object_def: ObjectDef, version: str) -> dict[str, Any]:
    custom = object_def.custom
    return {
        "activateable": False,
        "associateEntityType": None,
        "associateParentEntity": None,
        "createable": object_def.createable,
        "custom": custom,
        "customSetting": False,
        "deepCloneable": False,
        "deletable": object_def.deletable,
        "deprecatedAndHidden": False,
        "feedEnabled": False,
        "hasSubtypes": False,
        "isInterface": False,
        "isSubtype": False,
        "keyPrefix": object_def.key_prefix,
        "label": object_def.label,
        "labelPlural": object_def.label_plural,
        "layoutable": True,
        "mergeable": object_def.name in ("Account", "Contact", "Lead", "Case"),
        "mruEnabled": True,
        "name": object_def.name,
        "queryable": object_def.queryable,
        "replicateable": True,
        "retrieveable": True,
        "searchable": True,
        "triggerable": True,
        "undeletable": object_def.deletable,
        "updateable": object_def.updateable,
        "urls": _object_urls(object_def, version, full=False),
    }


def _object_urls(object_def: ObjectDef, version: str, *, full: bool) -> dict[str, str]:
    base = f"/services/data/v{version}/sobjects/{object_def.name}"
    urls = {
        "compactLayouts": f"{base}/describe/compactLayouts",
        "rowTemplate": f"{base}/{{ID}}",
        "approvalLayouts": f"{base}/describe/approvalLayouts",
        "defaultValues": f"{base}/defaultValues?recordTypeId&fields",
        "listviews": f"{base}/listviews",
        "describe": f"{base}/describe",
        "quickActions": f"{base}/quickActions",
        "layouts": f"{base}/describe/layouts",
        "sobject": base,
    }
    if full:
        urls["namedLayouts"] = f"{base}/describe/namedLayouts/{{layoutName}}"
    return urls


# -- describe of one object ------------------------------------------------------------------------------
def describe_object(org: Org, object_def: ObjectDef, api_version: str | None = None) -> dict[str, Any]:
    """``GET /services/data/vNN.0/sobjects/T/describe``."""
    version = _version(org, api_version)
    answer = _global_entry(object_def, version)
    answer.update({
        "actionOverrides": [],
        "childRelationships": _child_relationships(org.schema, object_def),
        "compactLayoutable": True,
        "defaultImplementation": None,
        "extendedBy": None,
        "extendsInterfaces": None,
        "fields": [describe_field(field_def) for field_def in object_def.fields.values()],
        "implementedBy": None,
        "implementsInterfaces": None,
        "listviewable": None,
        "lookupLayoutable": None,
        "namedLayoutInfos": [],
        "networkScopeFieldName": None,
        "recordTypeInfos": [_master_record_type(object_def, version)],
        "searchLayoutable": True,
        "sobjectDescribeOption": "FULL",
        "supportedScopes": [{"label": "All " + object_def.label_plural.lower(), "name": "everything"}],
        "urls": _object_urls(object_def, version, full=True),
    })
    if "OwnerId" in object_def.fields:
        answer["supportedScopes"].append({"label": "My " + object_def.label_plural.lower(), "name": "mine"})
    return dict(sorted(answer.items()))


def _master_record_type(object_def: ObjectDef, version: str) -> dict[str, Any]:
    return {
        "active": True,
        "available": True,
        "defaultRecordTypeMapping": True,
        "developerName": "Master",
        "master": True,
        "name": "Master",
        "recordTypeId": MASTER_RECORD_TYPE_ID,
        "urls": {"layout": f"/services/data/v{version}/sobjects/{object_def.name}/describe/layouts/"
                           f"{MASTER_RECORD_TYPE_ID}"},
    }


def _child_relationships(schema: Schema, parent: ObjectDef) -> list[dict[str, Any]]:
    """Every lookup that points at ``parent``, named or not (Salesforce lists both)."""
    names = {(r.child_object, r.field): r.relationship_name for r in schema.child_relationships(parent.name)}
    found = []
    wanted = parent.name.lower()
    for child in schema.objects:
        for field_def in child.fields.values():
            if field_def.type != "reference" or wanted not in (t.lower() for t in field_def.reference_to):
                continue
            found.append({
                "cascadeDelete": field_def.cascade_delete,
                "childSObject": child.name,
                "deprecatedAndHidden": False,
                "field": field_def.name,
                "junctionIdListNames": [],
                "junctionReferenceTo": [],
                "relationshipName": names.get((child.name, field_def.name)),
                "restrictedDelete": False,
            })
    return found


def describe_field(field_def: FieldDef) -> dict[str, Any]:
    """One entry of a describe's ``fields``."""
    kind = field_def.type
    is_text = kind in ("string", "textarea", "email", "phone", "url", "picklist", "multipicklist", "combobox",
                       "id", "reference", "encryptedstring")
    is_number = kind in ("double", "currency", "percent")
    return {
        "aggregatable": kind not in _NOT_AGGREGATABLE and not (kind == "textarea" and field_def.length > 255),
        "aiPredictionField": False,
        "autoNumber": field_def.auto_number,
        "byteLength": field_def.length * 3 if is_text else 0,
        "calculated": field_def.calculated,
        "calculatedFormula": None,
        "cascadeDelete": field_def.cascade_delete and field_def.custom,
        "caseSensitive": False,
        "compoundFieldName": None,
        "controllerName": None,
        "createable": field_def.createable,
        "custom": field_def.custom,
        "defaultValue": _default_value(field_def),
        "defaultValueFormula": None,
        "defaultedOnCreate": field_def.defaulted_on_create,
        "dependentPicklist": False,
        "deprecatedAndHidden": False,
        "digits": field_def.precision if kind == "int" else 0,
        "displayLocationInDecimal": False,
        "encrypted": False,
        "externalId": field_def.external_id,
        "extraTypeInfo": _extra_type_info(field_def),
        "filterable": field_def.filterable,
        "filteredLookupInfo": None,
        "formulaTreatNullNumberAsZero": False,
        "groupable": kind in _GROUPABLE,
        "highScaleNumber": False,
        "htmlFormatted": False,
        "idLookup": field_def.id_lookup or field_def.external_id or kind == "id",
        "inlineHelpText": None,
        "label": field_def.label,
        "length": field_def.length if is_text else 0,
        "mask": None,
        "maskType": None,
        "name": field_def.name,
        "nameField": field_def.name_field,
        "namePointing": field_def.is_polymorphic,
        "nillable": field_def.nillable,
        "permissionable": field_def.nillable and field_def.createable and not field_def.auto_number,
        "picklistValues": _picklist_values(field_def),
        "polymorphicForeignKey": field_def.is_polymorphic,
        "precision": field_def.precision if is_number else 0,
        "queryByDistance": False,
        "referenceTargetField": None,
        "referenceTo": list(field_def.reference_to) if kind == "reference" else [],
        "relationshipName": field_def.relationship_name if kind == "reference" else None,
        "relationshipOrder": 0 if field_def.cascade_delete and field_def.custom else None,
        "restrictedDelete": False,
        "restrictedPicklist": field_def.restricted_picklist,
        "scale": field_def.scale if is_number else 0,
        "searchPrefilterable": kind == "reference",
        "soapType": _SOAP_TYPES.get(kind, "xsd:string"),
        "sortable": field_def.sortable and kind not in ("multipicklist", "base64"),
        "type": kind,
        "unique": field_def.unique,
        "updateable": field_def.updateable,
        "writeRequiresMasterRead": False,
    }


def _default_value(field_def: FieldDef) -> Any:
    """Booleans answer their default (``false``); picklist defaults show in picklistValues, not here."""
    if field_def.type == "boolean":
        return bool(field_def.default_value)
    if field_def.type in ("picklist", "multipicklist"):
        return None
    return field_def.default_value


def _extra_type_info(field_def: FieldDef) -> str | None:
    return "plaintextarea" if field_def.type == "textarea" else None


def _picklist_values(field_def: FieldDef) -> list[dict[str, Any]]:
    if field_def.type not in ("picklist", "multipicklist", "combobox"):
        return []
    return [{"active": True, "defaultValue": value == field_def.default_value, "label": value, "validFor": None,
             "value": value} for value in field_def.picklist_values]
