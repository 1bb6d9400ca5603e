"""The hub's configuration: one YAML file validated by Pydantic.

Errors name the file, the key path and what was expected (``ConfigError``), because the person reading them is
an admin editing YAML, not a Python programmer. Secrets are written as ``${ENV_NAME}`` and substituted from the
environment at load time; they are kept as ``SecretStr`` so they never show in logs or reprs.
"""

from __future__ import annotations

import os
import re
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from salesbridge.triggers.config import ChainConfig, ScheduleConfig, TriggerRule, trigger_reference_problems

DEFAULT_CONFIG_PATH = "salesbridge.yaml"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(Exception):
    """A configuration problem, located: which file, which key path, what was expected."""

    def __init__(self, path: str | os.PathLike[str] | None, key: str, expected: str) -> None:
        self.path = str(path) if path else "<config>"
        self.key = key
        self.expected = expected
        super().__init__(f"{self.path}: {key or '<top level>'}: {expected}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class Direction(StrEnum):
    TO_SALESFORCE = "to_salesforce"
    FROM_SALESFORCE = "from_salesforce"
    BOTH = "both"

    def sends(self) -> bool:
        """Does data flow from the app to Salesforce?"""
        return self in (Direction.TO_SALESFORCE, Direction.BOTH)

    def receives(self) -> bool:
        """Does data flow from Salesforce to the app?"""
        return self in (Direction.FROM_SALESFORCE, Direction.BOTH)


class ConflictPolicy(StrEnum):
    LAST_MODIFIED_WINS = "last_modified_wins"
    SALESFORCE_WINS = "salesforce_wins"
    APP_WINS = "app_wins"


class SalesforceConnection(_Model):
    """How to log in to an org (a real one or the sandbox). ``flow`` picks the login method."""

    login_url: str = "https://login.salesforce.com"
    flow: Literal["password", "client_credentials", "jwt", "soap"] = "password"
    client_id: str | None = None
    client_secret: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    security_token: SecretStr | None = None
    private_key: str | None = Field(default=None, description="PEM text or path, for the jwt flow")
    verify: bool | str = Field(default=True, description="TLS: true, false, or a CA bundle path")
    api_version: str = "62.0"

    @model_validator(mode="after")
    def _needs_for_flow(self) -> SalesforceConnection:
        needs = {
            "password": ("client_id", "client_secret", "username", "password"),
            "client_credentials": ("client_id", "client_secret"),
            "jwt": ("client_id", "username", "private_key"),
            "soap": ("username", "password"),
        }[self.flow]
        missing = [name for name in needs if getattr(self, name) in (None, "")]
        if missing:
            raise ValueError(f"login flow '{self.flow}' needs {', '.join(missing)}")
        return self


class AppConnection(_Model):
    """The app's database: any SQLAlchemy URL (``sqlite:///app.db``, ``postgresql+psycopg://...``)."""

    url: str


class Connections(_Model):
    salesforce: SalesforceConnection
    app: AppConnection


class ValueMap(_Model):
    """Values of one field translated between the sides, per direction.

    Written in YAML either as a plain mapping ``{app value: Salesforce value}`` (inverted for the other
    direction; it must then be one-to-one) or with explicit ``to_salesforce`` / ``from_salesforce`` tables. A
    value with no entry is a per-record error unless the direction declares a default.
    """

    to_salesforce: dict[str, str] = Field(default_factory=dict)
    from_salesforce: dict[str, str] = Field(default_factory=dict)
    default_to_salesforce: str | None = None
    default_from_salesforce: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _plain_mapping(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError("a value map is a mapping of app values to Salesforce values")
        detailed = {"to_salesforce", "from_salesforce", "default_to_salesforce", "default_from_salesforce"}
        if data and set(data) <= detailed:
            return data
        forward = {str(k): str(v) for k, v in data.items()}
        inverse: dict[str, str] = {}
        for app_value, sf_value in forward.items():
            if sf_value in inverse:
                raise ValueError(
                    f"Salesforce value '{sf_value}' is mapped from both '{inverse[sf_value]}' and "
                    f"'{app_value}'; write explicit to_salesforce/from_salesforce tables"
                )
            inverse[sf_value] = app_value
        return {"to_salesforce": forward, "from_salesforce": inverse}


Transform = Literal["none", "strip", "lower", "upper", "title"]


class FieldMap(_Model):
    """One Salesforce field <-> one app column.

    A lookup field is mapped through links rather than copied: ``reference: <flow>`` means the column holds the
    key of a row of that flow's table (Salesforce gets the Id linked to the row, and the app gets back the key
    of the row linked to the Id); ``user: true`` means the column holds a Salesforce user's username or email
    (Salesforce gets the User Id, the app gets back the user's Email).
    """

    salesforce: str
    app: str
    direction: Direction | None = Field(default=None, description="limits this field to one direction")
    values: str | None = Field(default=None, description="name of a value map")
    transform: Transform = "none"
    reference: str | None = Field(default=None, description="the flow whose linked records this lookup names")
    user: bool | None = Field(default=None, description="true: the column holds a user's username or email")

    @model_validator(mode="after")
    def _one_translation(self) -> FieldMap:
        chosen = [name for name, given in (("values", self.values), ("reference", self.reference),
                                           ("user", self.user)) if given]
        if len(chosen) > 1:
            raise ValueError(f"field '{self.salesforce}': {' and '.join(chosen)} exclude each other; choose one")
        return self

    @property
    def is_lookup(self) -> bool:
        return self.reference is not None or bool(self.user)

    def flows_to_salesforce(self, flow_direction: Direction) -> bool:
        return flow_direction.sends() and (self.direction is None or self.direction.sends())

    def flows_from_salesforce(self, flow_direction: Direction) -> bool:
        return flow_direction.receives() and (self.direction is None or self.direction.receives())


class KeyConfig(_Model):
    """How a record on one side finds its twin on the other.

    ``app`` is the table's key column (default: its primary key). ``salesforce_id_column`` optionally keeps the
    Salesforce Id in an app column too. ``external_id`` names a Salesforce external-id field holding the app
    key: creates then go through upsert, which makes a retried create after a crash idempotent.
    """

    app: str | None = None
    salesforce_id_column: str | None = None
    external_id: str | None = None


class UserRule(_Model):
    """``when`` an app row's columns have these values, use this user (or value)."""

    when: dict[str, str | int | float | bool | None]
    user: str | None = None
    value: str | int | float | bool | None = None

    @model_validator(mode="after")
    def _one_target(self) -> UserRule:
        if (self.user is None) == (self.value is None):
            raise ValueError("a rule sets exactly one of 'user' or 'value'")
        return self


class DefaultValue(_Model):
    """A value given to a Salesforce field on create when the mapping leaves it empty.

    ``user`` names a Salesforce user by username or email (resolved to its Id, checked by ``salesbridge
    check``); ``rules`` pick a user or value by the app row's columns, first match wins; ``value`` is a constant.
    """

    user: str | None = None
    value: str | int | float | bool | None = None
    rules: list[UserRule] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _constant_shorthand(cls, data: Any) -> Any:
        return data if isinstance(data, dict) else {"value": data}


class MatchConfig(_Model):
    """Find a record's twin by fields before creating it on the other side.

    ``fields`` maps Salesforce fields to app columns (``{Email: email}``); text compares case-insensitively.
    Exactly one candidate: link to it. None: create. Several: ``on_many`` decides: ``skip`` (a record error
    naming the candidates), ``create`` (a new record anyway) or ``most_recent`` (the last modified one).
    """

    fields: dict[str, str]
    on_many: Literal["skip", "create", "most_recent"] = "skip"

    @field_validator("fields")
    @classmethod
    def _not_empty(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("name at least one Salesforce field: app column pair")
        return value


def _fields_from_mapping(data: Any) -> Any:
    """``{LastName: last_name, Status: {app: stage, values: pipeline}}`` -> a list of FieldMap data."""
    if isinstance(data, dict):
        items = []
        for sf_field, spec in data.items():
            if isinstance(spec, str):
                items.append({"salesforce": sf_field, "app": spec})
            elif isinstance(spec, dict):
                items.append({"salesforce": sf_field, **spec})
            else:
                raise ValueError(f"field '{sf_field}': expected a column name or a mapping with 'app'")
        return items
    return data


class ConversionConfig(_Model):
    """Follow lead conversion: when a linked Lead is converted, the app row's link moves to the new record.

    ``to`` is the object the record lives on afterwards (the converted Opportunity, or the Contact), and
    ``fields`` its field mapping, used from then on. Records of ``to`` that no row is linked to are not imported.
    """

    to: Literal["Opportunity", "Contact"] = "Opportunity"
    fields: list[FieldMap]
    initial: Literal["salesforce", "app"] = Field(
        default="salesforce", description="whose values the converted record starts with: Salesforce's (what the "
        "converting user chose) or the app row's, sent to it right after the conversion (the app is the record's "
        "source, and the new record's defaults, such as a first stage, must not come back as an edit)")
    when: dict[str, str] = Field(default_factory=dict, description="app column values that make the hub convert "
                                 "the row's Lead (e.g. {stage: Won}); a Lead converted in Salesforce sets them")
    status: str = Field(default="Closed - Converted", min_length=1, description="the converted Lead Status the "
                        "hub converts with")
    opportunity: bool = Field(default=True, description="whether a conversion by the hub creates an Opportunity")

    @field_validator("fields", mode="before")
    @classmethod
    def _field_shorthand(cls, data: Any) -> Any:
        return _fields_from_mapping(data)


class RouteMatch(_Model):
    """The records whose count decides a route: ``object`` records whose fields equal the app row's columns."""

    object: str
    fields: dict[str, str] = Field(description="Salesforce field of `object`: app column")


class RouteConfig(_Model):
    """New app rows go to another object when exactly one record matches; otherwise to the flow's own.

    The example of the partner deal: a deal becomes an Opportunity at the Account of the one Contact whose
    Email is the end user's email, otherwise a Lead. ``set`` copies fields of the matched record into the new
    one (``{AccountId: AccountId, ContactId: Id}``); ``fields`` maps the row to ``to`` (default: the
    conversion's fields when the flow follows conversions to the same object); ``defaults`` fill its empty
    fields as the flow's defaults do for its own object.
    """

    to: str
    when_exactly_one: RouteMatch
    set: dict[str, str] = Field(default_factory=dict)
    fields: list[FieldMap] = Field(default_factory=list)
    defaults: dict[str, DefaultValue] = Field(default_factory=dict)
    external_id: str | None = Field(default=None, description="an external id field of `to`: creates upsert")

    @field_validator("fields", mode="before")
    @classmethod
    def _field_shorthand(cls, data: Any) -> Any:
        return _fields_from_mapping(data)


class FilterConfig(_Model):
    salesforce: str | None = Field(default=None, description="a SOQL condition, e.g. Sync_with_Hub__c = true")
    app: str | None = Field(default=None, description="a SQL condition on the table, e.g. active = 1")


class FlowConfig(_Model):
    """One Salesforce object kept in step with one app table."""

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_\-]*$")
    salesforce: str
    table: str
    direction: Direction = Direction.BOTH
    key: KeyConfig = Field(default_factory=KeyConfig)
    fields: list[FieldMap]
    filter: FilterConfig = Field(default_factory=FilterConfig)
    conflict: ConflictPolicy = ConflictPolicy.LAST_MODIFIED_WINS
    deletes: bool = Field(default=True, description="propagate deletes in the flow's direction(s)")
    enabled: bool = True
    schedule: ScheduleConfig | None = Field(default=None, description="run by itself (salesbridge run)")
    chain: ChainConfig | None = Field(default=None, description="flows to run after this one wrote records")
    defaults: dict[str, DefaultValue] = Field(default_factory=dict, description="values for new Salesforce records")
    match: MatchConfig | None = Field(default=None, description="find an existing twin before creating one")
    sync_flag: str | None = Field(default=None, description="a checkbox the hub sets on records it links and "
                                  "requires on records it reads, e.g. Sync_with_Hub__c")
    conversion: ConversionConfig | None = Field(default=None, description="follow converted leads")
    route: RouteConfig | None = Field(default=None, description="create new records on another object by a match")
    events: dict[str, dict[str, str]] = Field(default_factory=dict, description="lifecycle events recorded when a "
                                              "record enters mapped column values, e.g. {lost: {stage: Lost}}")

    @field_validator("fields", mode="before")
    @classmethod
    def _field_shorthand(cls, data: Any) -> Any:
        return _fields_from_mapping(data)

    def lane_fields(self, object_name: str) -> list[FieldMap]:
        """The mapping of records of ``object_name`` other than the flow's own (converted or routed ones)."""
        if self.conversion and self.conversion.to == object_name and self.conversion.fields:
            return self.conversion.fields
        if self.route and self.route.to == object_name:
            return self.route.fields
        raise KeyError(object_name)

    @model_validator(mode="after")
    def _route_has_fields(self) -> FlowConfig:
        if self.route:
            if self.route.to.lower() == self.salesforce.lower():
                raise ValueError(f"route.to: '{self.route.to}' is the flow's own object; route to another one")
            if not self.lane_fields(self.route.to):
                raise ValueError(f"route.fields: name the fields of {self.route.to} (or follow conversions to it)")
            if (self.conversion and self.conversion.to == self.route.to and self.route.fields
                    and self.route.fields != self.conversion.fields):
                raise ValueError(f"route.fields: records of {self.route.to} already use conversion.fields; "
                                 "give the fields once")
        return self

    @model_validator(mode="after")
    def _events_and_conversion_name_columns(self) -> FlowConfig:
        mapped = {f.app for f in self.fields}
        for kind, values in self.events.items():
            if not values:
                raise ValueError(f"events.{kind}: give at least one column: value pair")
            unmapped = sorted(set(values) - mapped)
            if unmapped:
                raise ValueError(f"events.{kind}: column '{unmapped[0]}' is not mapped in fields")
        if self.conversion and self.conversion.when:
            if self.salesforce.lower() != "lead":
                raise ValueError("conversion.when: only a flow of Lead converts records")
            unmapped = sorted(set(self.conversion.when) - mapped)
            if unmapped:
                raise ValueError(f"conversion.when: column '{unmapped[0]}' is not mapped in fields")
            if self.conversion.to == "Opportunity" and not self.conversion.opportunity:
                raise ValueError("conversion.opportunity: a flow following its Leads to the Opportunity needs one")
        return self

    @model_validator(mode="after")
    def _unique_fields(self) -> FlowConfig:
        seen_sf: set[str] = set()
        seen_app: set[str] = set()
        for field_map in self.fields:
            if field_map.salesforce.lower() in seen_sf:
                raise ValueError(f"Salesforce field '{field_map.salesforce}' is mapped twice")
            if field_map.app in seen_app:
                raise ValueError(f"column '{field_map.app}' is mapped twice")
            seen_sf.add(field_map.salesforce.lower())
            seen_app.add(field_map.app)
        if not self.fields:
            raise ValueError("a flow needs at least one field")
        return self


class SyncSettings(_Model):
    """Engine-wide knobs; the defaults follow Salesforce's per-call caps."""

    bulk_threshold: int = Field(default=2000, ge=1, description="records per write above which Bulk API 2.0 is used")
    page_size: int = Field(default=2000, ge=200, le=2000)
    overlap_seconds: int = Field(default=300, ge=0, description="SystemModstamp overlap window")
    budget_share: float | None = Field(default=0.9, gt=0, le=1, description="stop a run at this share of the "
                                       "org's daily API limit")
    change_batch: int = Field(default=10000, ge=1, description="local changes handled per run and flow")
    keep_events_days: int = Field(default=90, ge=0, description="days lifecycle events are kept (sb_events; "
                                  "salesbridge run prunes daily, or salesbridge prune); 0 keeps them all")


_IMAP_ATOM_SPECIALS = set('(){ %*"\\]')


class ImapConnection(_Model):
    """An IMAP mailbox. ``ssl``: true (IMAPS, port 993), ``starttls`` (port 143, upgraded) or false (plain,
    loopback or trusted networks only). ``verify`` as for Salesforce: true, false or a CA bundle path."""

    host: str
    port: int | None = Field(default=None, ge=1, le=65535, description="default: 993 with ssl, else 143")
    username: str
    password: SecretStr
    ssl: bool | Literal["starttls"] = True
    verify: bool | str = True

    @property
    def effective_port(self) -> int:
        return self.port or (993 if self.ssl is True else 143)


class MailConfig(_Model):
    """Messages put in ``folder`` or tagged with ``keyword`` are saved as completed Tasks on the matching
    Contact or Lead. ``unmatched``: what happens when no address matches: ``skip`` (try again next run),
    ``lead`` (create a Lead for the sender) or ``error`` (a record error to look at)."""

    imap: ImapConnection
    folder: str = Field(default="Salesforce Emails", min_length=1)
    keyword: str = Field(default="Salesforce", min_length=1)
    search_folders: list[str] | None = Field(default=None, description="where tagged messages are looked for "
                                             "(default: every folder)")
    unmatched: Literal["skip", "lead", "error"] = "skip"
    own_addresses: list[str] = Field(default_factory=list, description="the mailbox owner's addresses, never "
                                     "matched (default: the IMAP username when it is an address)")
    owner: str | None = Field(default=None, description="Salesforce user (username or email) owning the "
                              "Tasks")
    message_id_field: str | None = Field(default=None, description="an external-id field on Task that keeps "
                                         "the Message-ID: Tasks are then upserted by it")
    lead_source: str | None = Field(default=None, description="LeadSource of Leads made for unknown senders")
    enabled: bool = True
    schedule: ScheduleConfig | None = Field(default=None, description="run by itself (salesbridge run), kept as "
                                            "the schedule named 'mail'")

    @field_validator("keyword")
    @classmethod
    def _imap_atom(cls, value: str) -> str:
        """Mail clients store tags as IMAP keywords: one atom, no spaces or specials, not a system flag."""
        unfit = any(char in _IMAP_ATOM_SPECIALS or not 33 <= ord(char) <= 126 for char in value)
        if unfit or value.startswith("\\"):
            raise ValueError(f"'{value}' is not an IMAP keyword: one word of printable ASCII, without spaces "
                             "or any of ( ) { % * \" \\ ]")
        return value


class CardDavConnection(_Model):
    """A CardDAV server: ``url`` is the server, the user's principal or the address book home."""

    url: str = Field(pattern=r"^https?://")
    username: str | None = None
    password: SecretStr | None = None
    verify: bool | str = True


class ContactsConfig(_Model):
    """vCards in ``address_book`` or with ``category`` among their CATEGORIES are shared as Contacts
    (``share_as: lead``: as Leads); a Contact needs an Account named as the card's ORG, otherwise ``no_account``
    decides. Salesforce Contacts matching ``salesforce_filter`` (a SOQL condition) appear in ``address_book``."""

    carddav: CardDavConnection
    address_book: str = Field(default="Salesforce Contacts", min_length=1)
    category: str = Field(default="Salesforce", min_length=1)
    share_as: Literal["contact", "lead"] = "contact"
    no_account: Literal["lead", "skip"] = "lead"
    salesforce_filter: str | None = Field(default=None, description="SOQL condition on Contact for the "
                                          "address book; none: only shared cards are kept in step")
    conflict: Literal["last_modified_wins", "salesforce_wins", "card_wins"] = "last_modified_wins"
    enabled: bool = True
    schedule: ScheduleConfig | None = Field(default=None, description="run by itself (salesbridge run), kept as "
                                            "the schedule named 'contacts'")


#: Salesforce's limit for a file sent base64-encoded in a JSON (non-multipart) request: 37.5 MB of file, which
#: is 50 MB of request text. The hub sends contract documents back that way (signed copies), so it keeps no file
#: it could not send back: a larger submitted file is a FILE_TOO_LARGE record error.
SALESFORCE_JSON_BLOB_LIMIT = 39_321_600


class ContractsConfig(_Model):
    """The ``contracts:`` section (salesbridge/flows/contracts): ``flow``, the name of the Contract_Request__c
    flow (see the recipe); ``max_file_bytes``, the largest contract file the hub downloads and keeps;
    ``signature_webhook``, the URL told (POST, JSON) when a request goes Out for Signature;
    ``webhook_timeout_seconds``, how long that POST may take."""

    flow: str = Field(default="contracts", min_length=1)
    max_file_bytes: int = Field(default=SALESFORCE_JSON_BLOB_LIMIT, ge=1, le=SALESFORCE_JSON_BLOB_LIMIT)
    signature_webhook: str | None = Field(default=None, pattern=r"^https?://\S+$")
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=120)


class HubConfig(_Model):
    connections: Connections
    settings: SyncSettings = Field(default_factory=SyncSettings)
    flows: list[FlowConfig] = Field(default_factory=list)
    value_maps: dict[str, ValueMap] = Field(default_factory=dict)
    triggers: list[TriggerRule] = Field(default_factory=list, description="event rules (salesbridge run)")
    mail: MailConfig | None = Field(default=None, description="IMAP messages saved as Tasks")
    contacts: ContactsConfig | None = Field(default=None, description="CardDAV contacts <-> Contacts")
    contracts: ContractsConfig | None = Field(default=None, description="contract requests: file size limit, "
                                              "signature webhook (salesbridge/flows/contracts)")

    def reference_problems(self) -> list[tuple[str, str]]:
        """Cross-references Pydantic cannot check field by field: (key path, what is wrong)."""
        problems: list[tuple[str, str]] = []
        names: set[str] = set()
        for index, flow in enumerate(self.flows):
            if flow.name in names:
                problems.append((f"flows[{index}].name", f"flow name '{flow.name}' is used twice"))
            names.add(flow.name)
            conversion_fields = [("conversion.fields", f) for f in flow.conversion.fields] if flow.conversion else []
            route_fields = [("route.fields", f) for f in flow.route.fields] if flow.route else []
            for where, field_map in [("fields", f) for f in flow.fields] + conversion_fields + route_fields:
                if field_map.reference and field_map.reference not in {f.name for f in self.flows}:
                    known = ", ".join(f.name for f in self.flows)
                    problems.append((f"flows[{index}].{where}.{field_map.salesforce}.reference",
                                     f"flow '{field_map.reference}' is not defined under flows (defined: {known})"))
                if field_map.values and field_map.values not in self.value_maps:
                    defined = ", ".join(self.value_maps) or "none"
                    problems.append((
                        f"flows[{index}].{where}.{field_map.salesforce}.values",
                        f"value map '{field_map.values}' is not defined under value_maps (defined: {defined})",
                    ))
        problems.extend(trigger_reference_problems(self))
        return problems

    @property
    def store_url(self) -> str:
        """The hub keeps its state in the app's database, so app writes and their state commit together."""
        return self.connections.app.url

    def flow(self, name: str) -> FlowConfig:
        for flow in self.flows:
            if flow.name == name:
                return flow
        known = ", ".join(f.name for f in self.flows) or "none"
        raise ConfigError(None, "flows", f"no flow named '{name}' (known: {known})")


def substitute_env(data: Any, path: str = "", environ: dict[str, str] | None = None,
                   source: str | None = None) -> Any:
    """Replace ``${NAME}`` and ``${NAME:-default}`` in every string, recursively.

    An unset variable without a default is an error naming the key that refers to it.
    """
    env = os.environ if environ is None else environ
    if isinstance(data, dict):
        return {k: substitute_env(v, f"{path}.{k}" if path else str(k), env, source) for k, v in data.items()}
    if isinstance(data, list):
        return [substitute_env(v, f"{path}[{i}]", env, source) for i, v in enumerate(data)]
    if isinstance(data, str):
        def replace(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            raise ConfigError(source, path, f"environment variable {name} is not set")

        return _ENV_REF.sub(replace, data)
    return data


def _key_path(location: tuple[Any, ...], data: Any) -> str:
    """Pydantic's error location as the YAML key path an admin would write (``flows[0].fields.Status``).

    Flow fields may be written as a mapping that validation turns into a list: an index into such a mapping
    is shown as the Salesforce field name the admin wrote.
    """
    path = ""
    node = data
    for item in location:
        if isinstance(item, int):
            if isinstance(node, dict):
                keys = list(node)
                key = keys[item] if item < len(keys) else item
                path += f".{key}"
                node = node.get(key)
            else:
                path += f"[{item}]"
                node = node[item] if isinstance(node, list) and item < len(node) else None
        else:
            path += f".{item}" if path else str(item)
            node = node.get(item) if isinstance(node, dict) else None
    return path


def parse_config(data: Any, source: str | os.PathLike[str] | None = None,
                 environ: dict[str, str] | None = None) -> HubConfig:
    """Validate already-loaded YAML data; raises ConfigError for the first problem found."""
    if not isinstance(data, dict):
        raise ConfigError(source, "", "expected a mapping with 'connections' and 'flows'")
    data = substitute_env(data, environ=environ, source=str(source) if source else None)
    try:
        config = HubConfig.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        raise ConfigError(source, _key_path(tuple(first["loc"]), data), message) from None
    for key, problem in config.reference_problems():
        raise ConfigError(source, key, problem)
    return config


def load_config(path: str | os.PathLike[str] | None = None, environ: dict[str, str] | None = None) -> HubConfig:
    """Read and validate the YAML file at ``path`` (default ``$SALESBRIDGE_CONFIG`` or salesbridge.yaml)."""
    config_path = Path(path or os.environ.get("SALESBRIDGE_CONFIG", DEFAULT_CONFIG_PATH))
    try:
        text = config_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(config_path, "", "file not found") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        raise ConfigError(config_path, "", f"not valid YAML ({where}): {getattr(error, 'problem', error)}") \
            from None
    return parse_config(data, config_path, environ)
