"""What every REST resource of the sandbox shares: the request context, the answer, and record rendering.

Resources are plain functions ``handler(ctx, **path_params) -> RestAnswer`` rather than FastAPI endpoints, so
that the composite resource can run its subrequests through exactly the same code as direct HTTP calls (no
loopback HTTP, no second implementation). ``rest.py`` turns the same table into FastAPI routes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi.responses import JSONResponse, Response

from salesbridge.sandbox.errors import SandboxApiError
from salesbridge.sandbox.org import Org
from salesbridge.sandbox.schema import ObjectDef

#: The oldest REST API version the sandbox serves (getUpdated/getDeleted need 29.0+, sObject Collections 42.0+;
#: 31.0 keeps the list short while covering every client still in use).
OLDEST_VERSION = 31
_VERSION_RE = re.compile(r"^(\d{2,3})\.0$")
_SEASONS = ("Summer", "Winter", "Spring")


@dataclass
class RestAnswer:
    """One REST answer: HTTP status, JSON body (None for 204) and extra headers.

    ``failed`` marks an answer that counts as a failure for a composite request even though its status is 2xx
    (an sObject Collections subrequest with failed records when the composite is all-or-none).
    """

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    failed: bool = False
    #: A ready response that is not JSON (blob bytes); composite requests cannot carry one.
    response: Response | None = None

    @property
    def is_failure(self) -> bool:
        return self.failed or self.status >= 400

    def to_response(self) -> Response:
        if self.response is not None:
            return self.response
        if self.status == 204 or self.body is None:
            return Response(status_code=self.status, headers=self.headers)
        return JSONResponse(self.body, status_code=self.status, headers=self.headers)


def error_answer(error: SandboxApiError) -> RestAnswer:
    """Salesforce's REST error: a JSON list of one error (300 answers list the candidates' urls instead)."""
    if error.status == 300 and hasattr(error, "candidates"):
        return RestAnswer(300, list(error.candidates))  # type: ignore[attr-defined]
    return RestAnswer(error.status, [error.as_rest()])


@dataclass
class RestContext:
    """Everything a resource needs about one (sub)request."""

    org: Org
    user_id: str
    version: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    raw_body: bytes = b""
    #: Set by the composite resource: the subrequest body, already a JSON value.
    parsed_body: Any = None
    has_parsed_body: bool = False
    #: True inside a composite request: composite cannot nest, collections follow the outer allOrNone.
    in_composite: bool = False
    force_all_or_none: bool = False

    @property
    def base(self) -> str:
        """The root-relative REST base for this version, ``/services/data/v62.0``."""
        return f"/services/data/v{self.version}"

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None

    def json(self) -> Any:
        """The request body as JSON; a body that does not parse is 400 JSON_PARSER_ERROR, as Salesforce answers."""
        if self.has_parsed_body:
            return self.parsed_body
        self.parsed_body = parse_json(self.raw_body)
        self.has_parsed_body = True
        return self.parsed_body

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object (a record, a collection request); anything else is JSON_PARSER_ERROR."""
        body = self.json()
        if not isinstance(body, dict):
            kind = "START_ARRAY" if isinstance(body, list) else "VALUE"
            raise SandboxApiError("JSON_PARSER_ERROR",
                                  f"Cannot deserialize instance of object out of {kind} token at [line:1, column:1]")
        return body


def parse_json(raw: bytes) -> Any:
    """Decode a JSON body, answering Salesforce's JSON_PARSER_ERROR with line and column when it is not JSON."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes | bytearray) else str(raw)
    if not text.strip():
        raise SandboxApiError("JSON_PARSER_ERROR", "No content to map due to end-of-input at [line:1, column:0]")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise SandboxApiError(
            "JSON_PARSER_ERROR", f"{error.msg} at [line:{error.lineno}, column:{error.colno}]"
        ) from None


# -- versions -------------------------------------------------------------------------------------------
def release_label(version: int) -> str:
    """The release name of an API version: 31.0 is Summer '14, 62.0 Winter '25 (three releases a year)."""
    season = _SEASONS[(version - OLDEST_VERSION) % 3]
    year = 14 + (version - OLDEST_VERSION + 2) // 3
    return f"{season} '{year:02d}"


def org_version(org: Org) -> int:
    return int(float(org.api_version))


def served_versions(org: Org) -> list[dict[str, str]]:
    """``GET /services/data/``: every version from 31.0 to the org's, oldest first, as Salesforce lists them."""
    return [{"label": release_label(number), "url": f"/services/data/v{number}.0", "version": f"{number}.0"}
            for number in range(OLDEST_VERSION, org_version(org) + 1)]


def check_version(org: Org, version: str) -> str:
    """The version of a ``v62.0`` path segment, or 404 NOT_FOUND for one the org does not serve."""
    match = _VERSION_RE.match(version)
    if not match or not OLDEST_VERSION <= int(match.group(1)) <= org_version(org):
        raise SandboxApiError("NOT_FOUND", "The requested resource does not exist", status=404)
    return version


def version_at_least(ctx: RestContext, number: int) -> bool:
    return float(ctx.version) >= number


# -- records --------------------------------------------------------------------------------------------
def record_url(ctx: RestContext, object_name: str, record_id: str) -> str:
    return f"{ctx.base}/sobjects/{object_name}/{record_id}"


def api_record(ctx: RestContext, object_def: ObjectDef, record: Mapping[str, Any],
               fields: list[str] | None = None) -> dict[str, Any]:
    """A stored record as the REST API shows it: ``attributes`` first, then the fields (all, or those asked for).

    Internal keys (``_DeletedDate`` and the like) are never shown: only schema fields are copied.
    """
    names = fields if fields is not None else list(object_def.fields)
    shown: dict[str, Any] = {"attributes": {"type": object_def.name,
                                            "url": record_url(ctx, object_def.name, record["Id"])}}
    for name in names:
        shown[name] = record.get(name)
    return shown


def requested_fields(object_def: ObjectDef, text: str | None) -> list[str] | None:
    """The canonical names of a ``fields=A,B`` parameter; an unknown name is 400 INVALID_FIELD."""
    if text is None:
        return None
    names: list[str] = []
    for raw in text.split(","):
        name = raw.strip()
        if not name:
            continue
        field_def = object_def.field(name)
        if field_def is None:
            raise SandboxApiError(
                "INVALID_FIELD",
                f"No such column '{name}' on entity '{object_def.name}'. If you are attempting to use a custom "
                "field, be sure to append the '__c' after the custom field name. Please reference your WSDL or "
                "the describe call for the appropriate names.",
                fields=[name],
            )
        if field_def.name not in names:
            names.append(field_def.name)
    return names


def object_def_or_404(ctx: RestContext, object_name: str) -> ObjectDef:
    return ctx.org.records.object_def(object_name)


Handler = Callable[..., RestAnswer]
