"""Integration rules every flow can use: default values (owners), match rules and the sync flag.

Pure functions over plain dicts: the engine feeds them records and rows and carries out their decisions, so
each rule is tested without servers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from salesbridge.salesforce.soql import quote
from salesbridge.sync.config import DefaultValue, MatchConfig
from salesbridge.sync.mapping import MappingError

# -- defaults -------------------------------------------------------------------------------------------------

UserLookup = Callable[[str], str | None]


def choose_default(spec: DefaultValue, row: Mapping[str, Any]) -> tuple[Literal["user", "value"], Any] | None:
    """What a default gives for this app row: the first rule whose ``when`` holds, else the plain user/value."""
    for rule in spec.rules:
        if all(_same(row.get(column), wanted) for column, wanted in rule.when.items()):
            return ("user", rule.user) if rule.user is not None else ("value", rule.value)
    if spec.user is not None:
        return "user", spec.user
    if spec.value is not None:
        return "value", spec.value
    return None


def apply_defaults(defaults: Mapping[str, DefaultValue], row: Mapping[str, Any], values: dict[str, Any],
                   find_user: UserLookup) -> dict[str, Any]:
    """``values`` with every empty defaulted field filled; a user that does not exist is a record error."""
    result = dict(values)
    for sf_field, spec in defaults.items():
        if result.get(sf_field) not in (None, ""):
            continue
        chosen = choose_default(spec, row)
        if chosen is None:
            continue
        kind, value = chosen
        if kind == "user":
            user_id = find_user(str(value))
            if user_id is None:
                raise MappingError("DEFAULT_USER_NOT_FOUND",
                                   f"default {sf_field}: no active Salesforce user with username or email "
                                   f"'{value}'", [sf_field])
            value = user_id
        result[sf_field] = value
    return result


def default_users(defaults: Mapping[str, DefaultValue]) -> set[str]:
    """Every user a flow's defaults may name (for ``salesbridge check``)."""
    users = set()
    for spec in defaults.values():
        if spec.user:
            users.add(spec.user)
        users.update(rule.user for rule in spec.rules if rule.user)
    return users


def _same(actual: Any, wanted: Any) -> bool:
    if isinstance(actual, str) and isinstance(wanted, str):
        return actual.strip().lower() == wanted.strip().lower()
    return actual == wanted or (actual is not None and wanted is not None and str(actual) == str(wanted))


# -- matching -------------------------------------------------------------------------------------------------

MatchKey = tuple[str, ...]


def _normal(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip().lower()
    return text or None


def app_match_key(match: MatchConfig, row: Mapping[str, Any]) -> MatchKey | None:
    """The values an app row is matched by, normalised; None when any is empty (nothing to match on)."""
    parts = [_normal(row.get(column)) for column in match.fields.values()]
    return None if any(part is None for part in parts) else tuple(parts)  # type: ignore[arg-type]


def salesforce_match_key(match: MatchConfig, record: Mapping[str, Any]) -> MatchKey | None:
    parts = [_normal(_get_ci(record, sf_field)) for sf_field in match.fields]
    return None if any(part is None for part in parts) else tuple(parts)  # type: ignore[arg-type]


def _get_ci(record: Mapping[str, Any], name: str) -> Any:
    if name in record:
        return record[name]
    lowered = name.lower()
    return next((value for key, value in record.items() if key.lower() == lowered), None)


def candidate_queries(object_name: str, match: MatchConfig, keys: Iterable[MatchKey], *,
                      extra_fields: Iterable[str] = (), condition: str | None = None,
                      batch: int = 100) -> list[str]:
    """SOQL that finds the candidates of many keys at once (one query per ``batch`` keys, not one per record).

    Each query narrows by the first match field's values; the caller keeps the candidates whose whole key
    matches.
    """
    first_field = next(iter(match.fields))
    fields = ["Id", "LastModifiedDate", *match.fields, *extra_fields]
    select = ", ".join(dict.fromkeys(fields))
    values = sorted({key[0] for key in keys})
    queries = []
    for start in range(0, len(values), batch):
        chunk = ", ".join(quote(value) for value in values[start:start + batch])
        where = f"{first_field} IN ({chunk})"
        if condition:
            where += f" AND ({condition})"
        queries.append(f"SELECT {select} FROM {object_name} WHERE {where}")
    return queries


@dataclass
class MatchDecision:
    """What to do with one record: link it to ``sf_id``, create a new twin, or refuse (``error``)."""

    action: Literal["link", "create", "error"]
    sf_id: str | None = None
    candidates: list[str] = field(default_factory=list)
    message: str = ""


def decide_match(candidates: list[Mapping[str, Any]], on_many: str, described: str) -> MatchDecision:
    """Exactly one candidate links, none creates, several follow ``on_many``."""
    ids = [c["Id"] for c in candidates]
    if len(candidates) == 1:
        return MatchDecision("link", ids[0], ids)
    if not candidates:
        return MatchDecision("create")
    if on_many == "create":
        return MatchDecision("create", candidates=ids)
    if on_many == "most_recent":
        newest = max(candidates, key=lambda c: (c.get("LastModifiedDate") or "", c["Id"]))
        return MatchDecision("link", newest["Id"], ids)
    return MatchDecision("error", candidates=ids,
                         message=f"{len(ids)} records match {described}: {', '.join(ids)}; "
                                 "link one by hand or set match.on_many")


def group_candidates(match: MatchConfig, records: Iterable[Mapping[str, Any]],
                     taken: set[str]) -> dict[MatchKey, list[Mapping[str, Any]]]:
    """Candidates by match key, leaving out records already linked to another row."""
    grouped: dict[MatchKey, list[Mapping[str, Any]]] = {}
    for record in records:
        if record["Id"] in taken:
            continue
        key = salesforce_match_key(match, record)
        if key is not None:
            grouped.setdefault(key, []).append(record)
    return grouped


# -- sync flag ------------------------------------------------------------------------------------------------


def flag_condition(sync_flag: str | None, condition: str | None) -> str | None:
    """The poll's SOQL condition with the sync flag required (records a user opted in, or the hub linked)."""
    if not sync_flag:
        return condition
    flagged = f"{sync_flag} = true"
    return f"{flagged} AND ({condition})" if condition else flagged
