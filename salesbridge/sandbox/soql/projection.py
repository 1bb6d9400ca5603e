"""The shape of a query's output records, and the closure that builds one record from a stored one.

Salesforce nests parent fields under the relationship name in SELECT order, each level with its own
``attributes`` (``"Account": {"attributes": {...}, "Name": "Acme"}``, or null when the lookup is empty), and puts
child subquery results under the child relationship name. Polymorphic relationships answer with the ``Name``
pseudo-type in ``attributes.type`` while the url names the record's real object.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from salesbridge.sandbox.soql import ast
from salesbridge.sandbox.soql.errors import malformed
from salesbridge.sandbox.soql.resolve import Context, ResolvedField

Builder = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class _Leaf:
    key: str
    field_name: str
    is_type: bool = False


@dataclass
class _Parent:
    key: str
    lookup_name: str
    shape: Shape


@dataclass
class _Child:
    key: str
    results_for: Callable[[str], dict[str, Any] | None]


@dataclass
class Shape:
    """One level of output: a fixed object type, or None for a polymorphic (``Name``) level."""

    ctx: Context
    object_name: str | None
    entries: dict[str, _Leaf | _Parent | _Child] = field(default_factory=dict)

    def add_field(self, resolved: ResolvedField, key: str | None = None, depth: int = 0) -> None:
        """Add a (possibly dotted) field; raises MALFORMED_QUERY when the same field is selected twice."""
        if depth < len(resolved.hops):
            hop = resolved.hops[depth]
            relationship = hop.relationship_name
            entry = self.entries.get(relationship.lower())
            if not isinstance(entry, _Parent):
                object_name = None if hop.polymorphic else hop.targets[0].name
                entry = _Parent(relationship, hop.lookup.name, Shape(self.ctx, object_name))
                self.entries[relationship.lower()] = entry
            entry.shape.add_field(resolved, key, depth + 1)
            return
        output_key = key or resolved.name
        if output_key.lower() in self.entries:
            raise malformed(self.ctx.query_text, resolved.pos, f"duplicate field selected: {output_key}")
        is_type = resolved.is_type_of_polymorphic or (self.object_name is None and resolved.name == "Type")
        self.entries[output_key.lower()] = _Leaf(output_key, resolved.name, is_type)

    def add_child(self, key: str, results_for: Callable[[str], dict[str, Any] | None], pos: ast.Pos) -> None:
        """Add a child subquery's results under its relationship name (once per relationship)."""
        if key.lower() in self.entries:
            raise malformed(self.ctx.query_text, pos, f"duplicate field selected: {key}")
        self.entries[key.lower()] = _Child(key, results_for)

    def list_builder(self) -> Callable[[list[dict[str, Any]]], list[dict[str, Any]]]:
        """A closure building the output of many records: one loop, no call per record for plain shapes."""
        plain = self._plain_keys()
        if plain is None:
            build = self.builder()
            return lambda records: [build(record) for record in records]
        object_name = self.object_name
        type_url = f"/services/data/v{self.ctx.api_version}/sobjects/{object_name}/"

        def build_all(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
            outputs = []
            append = outputs.append
            for record in records:
                out: dict[str, Any] = {"attributes": {"type": object_name, "url": type_url + record["Id"]}}
                get = record.get
                for key in plain:
                    out[key] = get(key)
                append(out)
            return outputs

        return build_all

    def _plain_keys(self) -> list[str] | None:
        """The keys when this level holds only the record's own fields under their names, else None."""
        entries = list(self.entries.values())
        plain = [entry.key for entry in entries if isinstance(entry, _Leaf) and not entry.is_type
                 and entry.key == entry.field_name]
        if len(plain) == len(entries) and self.object_name is not None:
            return plain
        return None

    def builder(self) -> Builder:
        """A closure building the output dict of one record at this level."""
        ctx = self.ctx
        url_prefix = f"/services/data/v{ctx.api_version}/sobjects/"
        entries = list(self.entries.values())
        plain = self._plain_keys()
        if plain is not None:
            object_name = self.object_name
            type_url = url_prefix + object_name + "/"

            def build_plain(record: dict[str, Any]) -> dict[str, Any]:
                out: dict[str, Any] = {"attributes": {"type": object_name, "url": type_url + record["Id"]}}
                get = record.get
                for key in plain:
                    out[key] = get(key)
                return out

            return build_plain

        steps: list[Callable[[dict[str, Any], dict[str, Any]], None]] = [self._step(entry) for entry in entries]
        object_name = self.object_name
        object_name_of = ctx.object_name_of

        def build(record: dict[str, Any]) -> dict[str, Any]:
            record_id = record["Id"]
            if object_name is None:
                attributes = {"type": "Name", "url": url_prefix + object_name_of(record_id) + "/" + record_id}
            else:
                attributes = {"type": object_name, "url": url_prefix + object_name + "/" + record_id}
            out: dict[str, Any] = {"attributes": attributes}
            for step in steps:
                step(record, out)
            return out

        return build

    def _step(self, entry: _Leaf | _Parent | _Child) -> Callable[[dict[str, Any], dict[str, Any]], None]:
        key = entry.key
        if isinstance(entry, _Leaf):
            field_name = entry.field_name
            if entry.is_type:
                object_name_of = self.ctx.object_name_of

                def put_type(record: dict[str, Any], out: dict[str, Any]) -> None:
                    out[key] = object_name_of(record["Id"])

                return put_type

            def put_field(record: dict[str, Any], out: dict[str, Any]) -> None:
                out[key] = record.get(field_name)

            return put_field
        if isinstance(entry, _Parent):
            lookup = entry.lookup_name
            build_parent = entry.shape.builder()
            fetch = self.ctx.fetch

            def put_parent(record: dict[str, Any], out: dict[str, Any]) -> None:
                parent = fetch(record.get(lookup))
                out[key] = build_parent(parent) if parent is not None else None

            return put_parent
        results_for = entry.results_for

        def put_children(record: dict[str, Any], out: dict[str, Any]) -> None:
            out[key] = results_for(record["Id"])

        return put_children
