"""The YAML of triggers: a flow's ``schedule`` and ``chain``, and the top-level ``triggers`` (event rules).

These models are part of the one configuration tree (``salesbridge.sync.config`` imports them), so they follow
its rules: unknown keys are errors, and cross-references (flow names, watched fields) are checked in
``trigger_reference_problems``, which reports the key path an admin would edit.

```yaml
flows:
  - name: accounts
    ...
    schedule: {every: 1d, starting: 2026-12-01T08:00, timezone: Europe/Berlin}
    chain:
      events: [created]                       # which writes of this flow start the chain (default: all)
      then:
        - {flow: contacts, for: related, via: account_id}
        - opportunities                       # shorthand for {flow: opportunities, for: all}
triggers:
  - name: approved-leads-open-accounts
    on: {flow: leads, event: status, field: stage, becomes: Approved, side: app}
    run: [{flow: accounts, for: related, via: lead_id}]
```
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from salesbridge.triggers.cron import parse_cron

if TYPE_CHECKING:
    from salesbridge.sync.config import FieldMap, FlowConfig, HubConfig, ValueMap

_INTERVAL = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
EventName = Literal["created", "updated", "deleted"]
ALL_WRITES: tuple[EventName, ...] = ("created", "updated", "deleted")
#: What a rule can react to: writes, a status reached, and the lifecycle events of ``salesbridge.sync.lifecycle``.
RuleEvent = Literal["created", "updated", "deleted", "status", "converted", "won", "lost", "owner_changed"]
_NO_FIELD = ("deleted", "converted", "won", "lost", "owner_changed")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ScheduleConfig(_Model):
    """When a flow runs by itself: ``every`` (``15m``, ``1h``, ``1d``, ``1w``...) or a 5-field ``cron``.

    Times are wall-clock times in ``timezone``: a daily 08:00 Europe/Berlin run stays at 08:00 local across
    daylight-saving changes. ``starting`` (local, e.g. ``2026-12-01T08:00``) is the first run and the anchor
    of ``every``; without it intervals count from Monday 2000-01-03 00:00, so ``15m`` runs at :00, :15, :30,
    :45, ``1d`` at midnight and ``1w`` on Mondays.
    """

    every: str | None = Field(default=None, description="an interval: a number and m, h, d or w")
    cron: str | None = Field(default=None, description="minute hour day-of-month month day-of-week")
    starting: datetime | None = Field(default=None, description="first run, local time in `timezone`")
    timezone: str = "UTC"

    @field_validator("every")
    @classmethod
    def _interval(cls, value: str | None) -> str | None:
        if value is None:
            return None
        match = _INTERVAL.match(value)
        if not match or int(match.group(1)) == 0:
            raise ValueError(f"'{value}' is not an interval: write a number and m, h, d or w (15m, 1h, 1d, 1w)")
        return f"{int(match.group(1))}{match.group(2)}"

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        return None if value is None else parse_cron(value).text

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{value}' (use an IANA name such as Europe/Berlin)") from None
        return value

    @field_validator("starting", mode="before")
    @classmethod
    def _date_means_midnight(cls, value: Any) -> Any:
        if isinstance(value, date) and not isinstance(value, datetime):
            return datetime.combine(value, time())
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> ScheduleConfig:
        if (self.every is None) == (self.cron is None):
            raise ValueError("a schedule needs exactly one of 'every' (15m, 1h, 1d, 1w) or 'cron'")
        if self.starting is not None and self.starting.tzinfo is not None:
            # An explicit offset is honoured, then kept as the wall-clock time it is in the schedule's zone.
            self.starting = self.starting.astimezone(ZoneInfo(self.timezone)).replace(tzinfo=None)
        return self

    def spec(self) -> str:
        """A stable text of the schedule: a stored next run time is kept only while this stays the same."""
        parts = [f"every {self.every}" if self.every else f"cron {self.cron}"]
        if self.starting is not None:
            parts.append(f"from {self.starting.isoformat(timespec='minutes')}")
        parts.append(self.timezone)
        return " ".join(parts)


class RunTarget(_Model):
    """A flow to run, and for which records.

    - ``all``: the whole flow, as a normal run (its watermarks and change log);
    - ``record``: the record that caused it (only for a flow on the same table);
    - ``related``: the rows of the target flow's table whose column ``via`` holds the key of a record that
      caused it (``contacts.account_id`` = the account's key).
    Written as a plain flow name, it means ``{flow: name, for: all}``.
    """

    flow: str
    for_: Literal["all", "record", "related"] = Field(default="all", alias="for")
    via: str | None = Field(default=None, description="for 'related': the target table's column holding the key")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"flow": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _via_for_related(self) -> RunTarget:
        if self.for_ == "related" and not self.via:
            raise ValueError("'for: related' needs 'via': the target table's column that holds the key")
        if self.for_ != "related" and self.via:
            raise ValueError("'via' is only used with 'for: related'")
        return self


class ChainConfig(_Model):
    """Flows that run after this flow's run wrote records (in either direction)."""

    events: list[EventName] = Field(default_factory=lambda: list(ALL_WRITES),
                                    description="which writes start the chain: created, updated, deleted")
    then: list[RunTarget] = Field(min_length=1)


class EventMatch(_Model):
    """Which recorded events a rule reacts to.

    ``event``: ``created``, ``updated``, ``deleted``, or ``status`` (``field`` reaches the value ``becomes``,
    by an update or by a create with that value), or a lifecycle event the engine records: ``converted``,
    ``won``, ``lost``, ``owner_changed``. ``field`` is a Salesforce field or an app column of the flow;
    ``becomes`` is written in that side's values (a Salesforce picklist value for a Salesforce field name).
    ``side`` is where the change was made: ``app``, ``salesforce`` or ``any``.
    """

    flow: str
    event: RuleEvent
    field: str | None = None
    becomes: str | int | float | bool | None = None
    side: Literal["app", "salesforce", "any"] = "any"

    @model_validator(mode="after")
    def _fits_event(self) -> EventMatch:
        if self.event == "status" and (self.field is None or self.becomes is None):
            raise ValueError("event 'status' needs 'field' and 'becomes'")
        if self.event in _NO_FIELD and (self.field is not None or self.becomes is not None):
            raise ValueError(f"event '{self.event}' takes no 'field' or 'becomes'")
        if self.becomes is not None and self.field is None:
            raise ValueError("'becomes' needs 'field'")
        return self


class TriggerRule(_Model):
    """When a matching event is recorded, run these flows."""

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_\-]*$")
    on: EventMatch
    run: list[RunTarget] = Field(min_length=1)
    enabled: bool = True


def watched_column(flow: FlowConfig, value_maps: dict[str, ValueMap], field: str,
                   becomes: Any) -> tuple[str, Any]:
    """The app column a rule watches and ``becomes`` in app values (events keep app-side values).

    A Salesforce field name is accepted too; its ``becomes`` is then translated through the field's value
    map. Raises ValueError when the field is not mapped or the value has no translation.
    """
    field_map = _field_map(flow, field)
    if field_map is None:
        mapped = ", ".join(f"{f.salesforce}/{f.app}" for f in flow.fields)
        raise ValueError(f"'{field}' is not a mapped field of flow '{flow.name}' (mapped: {mapped})")
    by_salesforce_name = field_map.app != field
    value_map = value_maps.get(field_map.values) if field_map.values else None
    if by_salesforce_name and value_map is not None and becomes is not None:
        table = value_map.from_salesforce
        if str(becomes) not in table:
            raise ValueError(f"'{becomes}' is not a Salesforce value of value map '{field_map.values}' "
                             f"(known: {', '.join(table) or 'none'})")
        becomes = table[str(becomes)]
    return field_map.app, becomes


def _field_map(flow: FlowConfig, name: str) -> FieldMap | None:
    for field_map in flow.fields:
        if field_map.app == name:
            return field_map
    for field_map in flow.fields:
        if field_map.salesforce.lower() == name.lower():
            return field_map
    return None


def trigger_reference_problems(config: HubConfig) -> list[tuple[str, str]]:
    """Cross-references of schedules, chains and rules: (key path, what is wrong)."""
    flows = {flow.name: flow for flow in config.flows}
    known = ", ".join(flows) or "none"
    problems: list[tuple[str, str]] = []

    def check_target(path: str, target: RunTarget, source: FlowConfig | None) -> None:
        if target.flow not in flows:
            problems.append((f"{path}.flow", f"no flow named '{target.flow}' (known: {known})"))
            return
        if source is None:
            return
        if target.flow == source.name:
            problems.append((f"{path}.flow", f"flow '{source.name}' cannot run itself"))
        elif target.for_ == "record" and flows[target.flow].table != source.table:
            problems.append((f"{path}.for", f"'for: record' needs a flow on the same table: '{target.flow}' "
                                            f"uses '{flows[target.flow].table}', not '{source.table}'"))

    for section in ("mail", "contacts"):
        source = getattr(config, section)
        if source is not None and source.schedule is not None and section in flows:
            index = list(flows).index(section)
            problems.append((f"flows[{index}].name", f"a flow named '{section}' and the scheduled '{section}' "
                                                     "section would share one schedule: rename the flow"))
    for index, flow in enumerate(config.flows):
        if flow.chain is not None:
            for position, target in enumerate(flow.chain.then):
                check_target(f"flows[{index}].chain.then[{position}]", target, flow)
    names: set[str] = set()
    for index, rule in enumerate(config.triggers):
        path = f"triggers[{index}]"
        if rule.name in names:
            problems.append((f"{path}.name", f"trigger name '{rule.name}' is used twice"))
        names.add(rule.name)
        source = flows.get(rule.on.flow)
        if source is None:
            problems.append((f"{path}.on.flow", f"no flow named '{rule.on.flow}' (known: {known})"))
        elif rule.on.field is not None:
            try:
                watched_column(source, config.value_maps, rule.on.field, rule.on.becomes)
            except ValueError as error:
                problems.append((f"{path}.on.field", str(error)))
        for position, target in enumerate(rule.run):
            check_target(f"{path}.run[{position}]", target, source)
    return problems
