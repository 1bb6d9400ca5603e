"""Object definitions of the sandbox org: standard objects plus custom ones from a YAML schema file."""

from salesbridge.sandbox.schema.model import ChildRelationship, FieldDef, ObjectDef, Schema

__all__ = ["ChildRelationship", "FieldDef", "ObjectDef", "Schema"]
