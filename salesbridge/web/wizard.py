"""The setup wizard: its saved answers, and the pure logic between them and the hub's configuration.

The wizard edits the same configuration the YAML file holds, both ways: ``import_config`` turns a config
mapping (the YAML as loaded, ``${ENV}`` references kept as written) into a ``WizardState``; ``build_config``
turns the answers back into such a mapping. Whatever the wizard does not ask about (settings, filters,
conflict policies, transforms, chains, triggers) is carried through unchanged, so a hand-written file
survives an import and an export.

The answers are saved after every step in a JSON file beside the config file (``salesbridge.wizard.json`` for
``salesbridge.yaml``), so a wizard left half way resumes where it stopped. Nothing here talks to Salesforce
or a database: suggestions are computed from describe results and column lists the caller fetched, which
keeps the logic testable without servers.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from salesbridge.sync.config import ConfigError, FlowConfig, HubConfig, parse_config

Direction = Literal["to_salesforce", "from_salesforce", "both"]
DIRECTIONS: tuple[Direction, ...] = ("to_salesforce", "from_salesforce", "both")
#: Columns that usually hold the Salesforce Id of a row's twin.
SALESFORCE_ID_COLUMNS = ("sf_id", "salesforce_id", "sfid", "sf_record_id")
#: Salesforce fields the engine keeps itself; mapping them to app columns is never useful as a suggestion.
_SYSTEM_FIELDS = frozenset({"id", "isdeleted", "createddate", "createdbyid", "lastmodifieddate",
                            "lastmodifiedbyid", "systemmodstamp", "lastactivitydate", "lastvieweddate",
                            "lastreferenceddate", "ownerid", "masterrecordid"})
_FLOW_KEYS = frozenset({"name", "salesforce", "table", "direction", "enabled", "fields", "key", "schedule",
                        "defaults"})
_CONFIG_KEYS = frozenset({"connections", "flows", "value_maps"})
_PICKLIST_TYPES = frozenset({"picklist", "multipicklist"})


@dataclass(frozen=True)
class Step:
    number: int
    slug: str
    title: str


STEPS: tuple[Step, ...] = (
    Step(1, "connect", "Connect to Salesforce"),
    Step(2, "objects", "Objects and fields"),
    Step(3, "statuses", "Status mapping"),
    Step(4, "owner", "Default owner"),
    Step(5, "schedule", "Schedule"),
)


class WizardError(ValueError):
    """An answer the wizard cannot accept; the message is shown next to the form."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FlowAnswers(_Model):
    """One object mapping as the wizard edits it; ``extra`` keeps the flow keys the wizard never edits."""

    name: str
    salesforce: str
    table: str
    direction: Direction = "both"
    enabled: bool = True
    fields: list[dict[str, Any]] = Field(default_factory=list)
    key: dict[str, Any] = Field(default_factory=dict)
    owner: str | None = Field(default=None, description="username of the default OwnerId for records sent")
    schedule: dict[str, Any] | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    @property
    def owner_from_file(self) -> Any:
        """An OwnerId default the wizard cannot edit (rules, a constant): kept unless a user is chosen."""
        return (self.extra.get("defaults") or {}).get("OwnerId")

    def field_for(self, salesforce_field: str) -> dict[str, Any] | None:
        wanted = salesforce_field.lower()
        return next((f for f in self.fields if str(f["salesforce"]).lower() == wanted), None)

    @property
    def sends(self) -> bool:
        return self.enabled and self.direction in ("to_salesforce", "both")


class WizardState(_Model):
    """Everything the wizard was told, saved after every step."""

    salesforce: dict[str, Any] = Field(default_factory=dict, description="connections.salesforce as in YAML")
    app_url: str = ""
    flows: list[FlowAnswers] = Field(default_factory=list)
    value_maps: dict[str, Any] = Field(default_factory=dict)
    extra: dict[str, Any] = Field(default_factory=dict, description="top-level keys kept as imported")
    completed: list[int] = Field(default_factory=list)
    login_checked: str | None = Field(default=None, description="who step 1's login test logged in as")

    def is_complete(self, number: int) -> bool:
        return number in self.completed

    def complete(self, number: int) -> None:
        if number not in self.completed:
            self.completed = sorted({*self.completed, number})

    def uncomplete_from(self, number: int) -> None:
        """Steps from ``number`` on need another look (e.g. after the objects changed)."""
        self.completed = [n for n in self.completed if n < number]

    def available(self, number: int) -> bool:
        """A step can be opened once every step before it is done."""
        return all(self.is_complete(n) for n in range(1, number))

    @property
    def finished(self) -> bool:
        return all(self.is_complete(step.number) for step in STEPS)

    def next_step(self) -> Step:
        """The first step not done yet (the last step when all are done): where "resume" goes."""
        return next((step for step in STEPS if not self.is_complete(step.number)), STEPS[-1])

    def flow(self, name: str) -> FlowAnswers:
        for flow in self.flows:
            if flow.name == name:
                return flow
        raise WizardError(f"no object mapping named '{name}'")


# -- saving and resuming ----------------------------------------------------------------------------------


def state_path(config_path: str | os.PathLike[str]) -> Path:
    """Where the wizard keeps its answers for a config file: beside it, ``<stem>.wizard.json``."""
    path = Path(config_path)
    return path.with_name(f"{path.stem}.wizard.json")


def load_state(config_path: str | os.PathLike[str],
               environ: Mapping[str, str] | None = None) -> tuple[WizardState, str | None]:
    """The answers to resume with, and a problem to show (or None).

    The file is the source of the hub's configuration: when it is newer than the saved answers (an import, a
    hand edit, or no wizard yet), it is imported. A file that does not validate is reported, and the saved
    answers (or a fresh wizard) are used instead: finishing the wizard then replaces the file.
    """
    saved = state_path(config_path)
    config = Path(config_path)
    problem = None
    if config.exists() and (not saved.exists() or config.stat().st_mtime_ns > saved.stat().st_mtime_ns):
        try:
            data = yaml.safe_load(config.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ConfigError(config, "", "expected a mapping with 'connections' and 'flows'")
            return import_config(data, environ), None
        except ConfigError as error:
            problem = (f"The configuration file cannot be used as it is ({error}). Finishing the wizard "
                       "replaces it.")
        except yaml.YAMLError as error:
            problem = f"The configuration file is not valid YAML ({error}). Finishing the wizard replaces it."
    if saved.exists():
        return WizardState.model_validate_json(saved.read_text(encoding="utf-8")), problem
    return WizardState(), problem


def save_state(config_path: str | os.PathLike[str], state: WizardState) -> Path:
    """Write the answers (which may hold secrets: readable by the owner only), atomically."""
    target = state_path(config_path)
    _write_private(target, json.dumps(state.model_dump(mode="json"), indent=2, sort_keys=True))
    return target


def config_yaml(data: Mapping[str, Any]) -> str:
    """A config mapping as the YAML file holds it (keys in the order written)."""
    return yaml.safe_dump(dict(data), sort_keys=False, allow_unicode=True, default_flow_style=False)


def _write_private(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, 0o600)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# -- import and export ------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """YAML values made JSON-safe: PyYAML reads ``2026-12-01 08:00:00`` as a datetime."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes") if not value.second else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _field_list(fields: Any) -> list[dict[str, Any]]:
    """The two YAML shapes of ``fields`` (shorthand mapping or list) as a list of FieldMap mappings."""
    if isinstance(fields, dict):
        items = []
        for sf_field, spec in fields.items():
            items.append({"salesforce": sf_field, "app": spec} if isinstance(spec, str)
                         else {"salesforce": sf_field, **spec})
        return items
    return [dict(item) for item in fields or []]


def import_config(data: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> WizardState:
    """A config mapping (as in the YAML file) as wizard answers; every step counts as done.

    It is validated first (``${ENV}`` references are substituted from ``environ`` for that only, and kept as
    written). Raises ``ConfigError`` naming the key path of the first problem.
    """
    parse_config(dict(data), environ=dict(environ) if environ is not None else None)
    data = _plain(dict(data))
    connections = data.get("connections") or {}
    flows = []
    for raw in data.get("flows") or []:
        defaults = dict(raw.get("defaults") or {})
        owner_spec = defaults.get("OwnerId")
        simple_owner = isinstance(owner_spec, dict) and set(owner_spec) == {"user"}
        if simple_owner:
            defaults.pop("OwnerId")  # the wizard's step 4 edits it; rules or constants stay as written
        extra = {k: v for k, v in raw.items() if k not in _FLOW_KEYS}
        if defaults:
            extra["defaults"] = defaults
        flows.append(FlowAnswers(
            name=raw["name"], salesforce=raw["salesforce"], table=raw["table"],
            direction=raw.get("direction", "both"), enabled=raw.get("enabled", True),
            fields=_field_list(raw.get("fields")), key=dict(raw.get("key") or {}),
            owner=owner_spec["user"] if simple_owner else None,
            schedule=dict(raw["schedule"]) if raw.get("schedule") else None, extra=extra,
        ))
    return WizardState(
        salesforce=dict(connections.get("salesforce") or {}),
        app_url=str((connections.get("app") or {}).get("url") or ""),
        flows=flows,
        value_maps=dict(data.get("value_maps") or {}),
        extra={k: v for k, v in data.items() if k not in _CONFIG_KEYS},
        completed=[step.number for step in STEPS],
    )


def supports(flow_key: str) -> bool:
    """Does this version of the config accept ``flow_key`` on a flow (``schedule``, ``defaults``)?

    The wizard asks about schedules and owners either way; it writes them into the file only where the config
    model has the key, and keeps them in its own state otherwise.
    """
    return flow_key in FlowConfig.model_fields


def _field_entry(field_map: Mapping[str, Any]) -> str | dict[str, Any]:
    """A field in the short YAML form where nothing but the column is set (``LastName: last_name``)."""
    rest = {k: v for k, v in field_map.items() if k != "salesforce" and v not in (None, "none")}
    return rest["app"] if set(rest) == {"app"} else rest


def build_config(state: WizardState) -> dict[str, Any]:
    """The answers as a config mapping, in the shape the YAML file has (not validated: see ``validate``)."""
    flows = []
    used_maps: set[str] = set()
    for answers in state.flows:
        flow: dict[str, Any] = {"name": answers.name, "salesforce": answers.salesforce,
                                "table": answers.table, "direction": answers.direction}
        key = {k: v for k, v in answers.key.items() if v not in (None, "")}
        if key:
            flow["key"] = key
        flow["fields"] = {f["salesforce"]: _field_entry(f) for f in answers.fields}
        used_maps.update(f["values"] for f in answers.fields if f.get("values"))
        extra = dict(answers.extra)
        defaults = dict(extra.pop("defaults", None) or {})
        if answers.owner and answers.sends:
            defaults["OwnerId"] = {"user": answers.owner}
        if defaults and supports("defaults"):
            flow["defaults"] = defaults
        flow.update(extra)
        if answers.schedule and supports("schedule"):
            flow["schedule"] = {k: v for k, v in answers.schedule.items() if v not in (None, "")}
        if not answers.enabled:
            flow["enabled"] = False
        flows.append(flow)
    config: dict[str, Any] = {
        "connections": {"salesforce": {k: v for k, v in state.salesforce.items() if v not in (None, "")},
                        "app": {"url": state.app_url}},
    }
    if "settings" in state.extra:
        config["settings"] = state.extra["settings"]
    config["flows"] = flows
    maps = {name: table for name, table in state.value_maps.items() if name in used_maps}
    if maps:
        config["value_maps"] = maps
    config.update({k: v for k, v in state.extra.items() if k not in config})
    return config


def validate(state: WizardState, environ: Mapping[str, str] | None = None) -> HubConfig:
    """Check the answers as the hub would read the file; raises ``ConfigError`` naming the key path."""
    return parse_config(build_config(state), "wizard", dict(environ) if environ is not None else None)


# -- step 1: connection -----------------------------------------------------------------------------------

SECRET_KEYS = ("client_secret", "password", "security_token")


def connection_answers(form: Mapping[str, str], previous: Mapping[str, Any]) -> dict[str, Any]:
    """``connections.salesforce`` from step 1's form. A secret left blank keeps the saved one (secrets are
    never sent back to the browser); ``verify`` is ``true``, ``false`` or a CA bundle path."""
    answers: dict[str, Any] = {}
    for key in ("login_url", "flow", "client_id", "username", "api_version", "private_key"):
        value = (form.get(key) or "").strip()
        if value:
            answers[key] = value
    for key in SECRET_KEYS:
        value = form.get(key) or ""
        if value:
            answers[key] = value
        elif previous.get(key) and not form.get(f"clear_{key}"):
            answers[key] = previous[key]
    verify = (form.get("verify") or "true").strip()
    answers["verify"] = {"true": True, "false": False}.get(verify.lower(), verify)
    if not answers.get("login_url"):
        raise WizardError("the login URL is required (https://login.salesforce.com, or the sandbox's URL)")
    return answers


# -- step 2: objects and fields ---------------------------------------------------------------------------


def normalized(name: str) -> str:
    """Compare names the way people write them: ``first_name``, ``FirstName``, ``First_Name__c``."""
    return re.sub(r"[^a-z0-9]", "", name.lower().removesuffix("__c"))


def _singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ses", "xes")):
        return word[:-2]
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def suggest_object(table: str, objects: Iterable[str]) -> str | None:
    """The Salesforce object a table most likely mirrors: ``leads`` -> Lead, ``opportunities`` ->
    Opportunity, ``contract_requests`` -> Contract_Request__c."""
    by_name = {normalized(name): name for name in objects}
    for candidate in (normalized(table), normalized(_singular(table)),
                      normalized("_".join(_singular(part) for part in table.split("_")))):
        if candidate in by_name:
            return by_name[candidate]
    return None


def flow_name(table: str, taken: Iterable[str]) -> str:
    """A flow name from a table name (letters, digits, ``_`` and ``-``), unique among ``taken``."""
    base = re.sub(r"[^A-Za-z0-9_\-]", "_", table).strip("_-") or "flow"
    if not base[0].isalpha():
        base = f"flow_{base}"
    taken = set(taken)
    name, number = base, 2
    while name in taken:
        name, number = f"{base}_{number}", number + 1
    return name


def _writable(field: Mapping[str, Any]) -> bool:
    return bool(field.get("createable") or field.get("updateable"))


def mappable_fields(describe: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The object's fields a mapping can use, by label: everything but the system fields the engine keeps."""
    fields = [f for f in describe.get("fields") or [] if f["name"].lower() not in _SYSTEM_FIELDS]
    return sorted(fields, key=lambda f: (str(f.get("label") or f["name"]).lower(), f["name"]))


def suggest_key(columns: Sequence[str], describe: Mapping[str, Any]) -> dict[str, str]:
    """``key`` for a new flow: the column holding Salesforce Ids, and a unique external id field to upsert
    through (creates retried after a crash cannot double)."""
    key: dict[str, str] = {}
    lowered = {c.lower(): c for c in columns}
    for name in SALESFORCE_ID_COLUMNS:
        if name in lowered:
            key["salesforce_id_column"] = lowered[name]
            break
    external = [f for f in describe.get("fields") or [] if f.get("externalId") and f.get("unique")]
    if external:
        preferred = next((f for f in external if f["name"].lower() == "hub_id__c"), external[0])
        key["external_id"] = preferred["name"]
    return key


def suggest_fields(columns: Sequence[str], describe: Mapping[str, Any], *,
                   skip: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Field maps for columns whose names match a Salesforce field (``first_name`` <-> FirstName).

    ``skip`` are columns used otherwise (the key, the Salesforce Id column). A read-only Salesforce field is
    mapped one way, from Salesforce, so the flow never tries to write it.
    """
    skipped = {c.lower() for c in skip}
    fields = {normalized(f["name"]): f for f in mappable_fields(describe)}
    for field in mappable_fields(describe):  # labels too: "Account Name" for Name
        fields.setdefault(normalized(str(field.get("label") or "")), field)
    suggestions: list[dict[str, Any]] = []
    used: set[str] = set()
    for column in columns:
        field = fields.get(normalized(column))
        if column.lower() in skipped or field is None or field["name"] in used:
            continue
        used.add(field["name"])
        entry: dict[str, Any] = {"salesforce": field["name"], "app": column}
        if not _writable(field):
            entry["direction"] = "from_salesforce"
        suggestions.append(entry)
    return suggestions


def new_flow(table: str, columns: Sequence[str], primary_key: str | None, object_name: str,
             describe: Mapping[str, Any], direction: Direction, taken: Iterable[str]) -> FlowAnswers:
    """A new object mapping with suggested key and fields, ready for the admin to review."""
    key = suggest_key(columns, describe)
    skip = [c for c in (primary_key, key.get("salesforce_id_column")) if c]
    return FlowAnswers(name=flow_name(table, taken), salesforce=object_name, table=table, direction=direction,
                       key=key, fields=suggest_fields(columns, describe, skip=skip))


def field_answers(form: Mapping[str, str], columns: Sequence[str], describe: Mapping[str, Any],
                  previous: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The field mapping from the "view mapping" form: per column ``sf__<column>`` (a Salesforce field or
    empty) and ``dir__<column>`` (``both``, ``to_salesforce``, ``from_salesforce``).

    Settings the form does not show (``values``, ``transform``) are kept when the pairing stays the same.
    """
    names = {f["name"].lower(): f for f in describe.get("fields") or []}
    before = {str(f["app"]): f for f in previous}
    chosen: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for column in columns:
        sf_field = (form.get(f"sf__{column}") or "").strip()
        if not sf_field:
            continue
        described = names.get(sf_field.lower())
        if described is None:
            raise WizardError(f"'{sf_field}' is not a field of this object")
        if described["name"] in seen:
            first = seen[described["name"]]
            raise WizardError(f"{described['name']} is mapped to both '{first}' and '{column}'")
        seen[described["name"]] = column
        entry: dict[str, Any] = {"salesforce": described["name"], "app": column}
        old = before.get(column)
        if old and str(old["salesforce"]).lower() == described["name"].lower():
            entry.update({k: v for k, v in old.items() if k not in ("salesforce", "app", "direction")})
        direction = form.get(f"dir__{column}") or "both"
        if direction not in DIRECTIONS:
            raise WizardError(f"unknown direction '{direction}' for column '{column}'")
        if direction != "both":
            entry["direction"] = direction
        if not _writable(described) and direction != "from_salesforce":
            raise WizardError(f"{described['name']} is read-only in Salesforce: map it from Salesforce only")
        chosen.append(entry)
    if not chosen:
        raise WizardError("map at least one column to a Salesforce field")
    return chosen


# -- step 3: status mapping -------------------------------------------------------------------------------


def picklist_values(field: Mapping[str, Any]) -> list[str]:
    """Active picklist values of a described field, in the org's order."""
    return [str(v["value"]) for v in field.get("picklistValues") or [] if v.get("active", True)]


def status_fields(flow: FlowAnswers,
                  describe: Mapping[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(field map, described field) of every mapped picklist field: the fields step 3 asks about."""
    described = {f["name"].lower(): f for f in describe.get("fields") or []}
    found = []
    for field_map in flow.fields:
        field = described.get(str(field_map["salesforce"]).lower())
        if field is not None and field.get("type") in _PICKLIST_TYPES:
            found.append((field_map, field))
    return found


def map_name(flow: FlowAnswers, field_map: Mapping[str, Any], taken: Iterable[str]) -> str:
    """The value map a field uses: its own, else a new name such as ``leads_status``."""
    if field_map.get("values"):
        return str(field_map["values"])
    base = f"{flow.name}_{normalized(str(field_map['salesforce']))}"
    taken = set(taken)
    name, number = base, 2
    while name in taken:
        name, number = f"{base}_{number}", number + 1
    return name


def to_salesforce_table(value_map: Any) -> dict[str, str]:
    """App value -> Salesforce value of a value map in either YAML form."""
    if not isinstance(value_map, Mapping):
        return {}
    detailed = {"to_salesforce", "from_salesforce", "default_to_salesforce", "default_from_salesforce"}
    if value_map and set(value_map) <= detailed:
        return {str(k): str(v) for k, v in (value_map.get("to_salesforce") or {}).items()}
    return {str(k): str(v) for k, v in value_map.items()}


def default_from_salesforce(value_map: Any) -> str | None:
    return value_map.get("default_from_salesforce") if isinstance(value_map, Mapping) else None


def pipeline_values(value_map: Any, column_values: Iterable[Any]) -> list[str]:
    """Our values for the left column: the map's first (in its order), then those found in the app table."""
    values = list(to_salesforce_table(value_map))
    for value in sorted({str(v) for v in column_values if v not in (None, "")}):
        if value not in values:
            values.append(value)
    return values


def value_map_from_rows(rows: Sequence[tuple[str, str]], default_from: str | None,
                        existing: Any = None) -> dict[str, Any] | None:
    """A value map from step 3's rows (our value, Salesforce value or empty); None when no row is mapped.

    One-to-one tables are written in the plain form. When several of our values go to one Salesforce value,
    the way back takes the first of them (the form shows which). An existing map whose table and default are
    unchanged is returned as it was, so saving the step without edits keeps a hand-written map intact.
    """
    table: dict[str, str] = {}
    for ours, theirs in rows:
        ours, theirs = ours.strip(), theirs.strip()
        if ours and theirs:
            table[ours] = theirs
    default_from = (default_from or "").strip() or None
    if existing is not None and to_salesforce_table(existing) == table \
            and default_from_salesforce(existing) == default_from:
        return existing
    if not table:
        return None
    back = reverse_table(table)
    if len(back) == len(table) and default_from is None:
        return table
    result: dict[str, Any] = {"to_salesforce": table, "from_salesforce": back}
    if default_from:
        result["default_from_salesforce"] = default_from
    return result


def reverse_table(table: Mapping[str, str]) -> dict[str, str]:
    """Salesforce value -> our value; the first of ours wins where several share a Salesforce value."""
    back: dict[str, str] = {}
    for ours, theirs in table.items():
        back.setdefault(theirs, ours)
    return back


def check_picklist(table: Mapping[str, str], allowed: Sequence[str]) -> None:
    """Refuse Salesforce values the picklist does not have (Salesforce would refuse the records)."""
    unknown = sorted({v for v in table.values() if v not in allowed})
    if unknown:
        raise WizardError(f"not values of the picklist: {', '.join(unknown)}")


# -- step 4: default owner --------------------------------------------------------------------------------


def owner_applies(flow: FlowAnswers, describe: Mapping[str, Any]) -> bool:
    """A default owner matters for flows that create records in Salesforce on an object with an owner."""
    owner = next((f for f in describe.get("fields") or [] if f["name"].lower() == "ownerid"), None)
    return flow.sends and owner is not None and bool(owner.get("createable"))


# -- step 5: schedule -------------------------------------------------------------------------------------

INTERVALS = ("5m", "15m", "30m", "1h", "6h", "1d", "1w")


def schedule_answers(every: str, start_date: str, start_time: str, timezone: str,
                     previous: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A flow's ``schedule`` from step 5's inputs; an empty interval means "manual runs only"
    (a cron schedule written in the YAML is kept then, since the wizard cannot edit it)."""
    every = every.strip()
    if not every:
        return dict(previous) if previous and previous.get("cron") else None
    schedule: dict[str, Any] = {"every": every, "timezone": timezone.strip() or "UTC"}
    if start_date.strip():
        schedule["starting"] = f"{start_date.strip()}T{(start_time.strip() or '00:00')[:5]}"
    elif start_time.strip():
        raise WizardError("a start time needs a start date")
    return schedule
