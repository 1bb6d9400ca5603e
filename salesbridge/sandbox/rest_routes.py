"""The table of REST resources under ``/services/data/vNN.0`` and the dispatcher both HTTP and composite use.

One ordered table decides which resource a path names: the first template whose path matches wins, then the
method picks the function (another method is 405). The order matters where templates overlap:
``sobjects/T/describe``, ``/updated`` and ``/deleted`` come before ``sobjects/T/{id}``, which comes before
``sobjects/T/{field}/{value}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from salesbridge.sandbox import rest_collections, rest_composite, rest_org, rest_query, rest_sobjects
from salesbridge.sandbox.errors import SandboxApiError
from salesbridge.sandbox.rest_common import Handler, RestAnswer, RestContext, error_answer

_PARAM_RE = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True)
class Resource:
    """A path template relative to the version root and its functions by HTTP method."""

    template: str
    methods: dict[str, Handler]

    @property
    def pattern(self) -> re.Pattern[str]:
        return _compiled(self.template)


_COMPILED: dict[str, re.Pattern[str]] = {}


def _compiled(template: str) -> re.Pattern[str]:
    pattern = _COMPILED.get(template)
    if pattern is None:
        pattern = re.compile("^" + _PARAM_RE.sub(r"(?P<\1>[^/]+)", template) + "$")
        _COMPILED[template] = pattern
    return pattern


RESOURCES: tuple[Resource, ...] = (
    Resource("/", {"GET": rest_org.version_resources}),
    Resource("/limits", {"GET": rest_org.limits}),
    Resource("/sobjects", {"GET": rest_sobjects.describe_global}),
    Resource("/sobjects/{sobject}", {"GET": rest_sobjects.sobject_basic_info,
                                     "POST": rest_sobjects.create_record}),
    Resource("/sobjects/{sobject}/describe", {"GET": rest_sobjects.describe_sobject}),
    Resource("/sobjects/{sobject}/updated", {"GET": rest_sobjects.get_updated}),
    Resource("/sobjects/{sobject}/deleted", {"GET": rest_sobjects.get_deleted}),
    Resource("/sobjects/{sobject}/{record_id}", {"GET": rest_sobjects.get_record,
                                                 "PATCH": rest_sobjects.update_record,
                                                 "DELETE": rest_sobjects.delete_record}),
    Resource("/sobjects/{sobject}/{field}/{value}", {"GET": rest_sobjects.get_by_external_id,
                                                     "PATCH": rest_sobjects.upsert_by_external_id,
                                                     "DELETE": rest_sobjects.delete_by_external_id}),
    Resource("/query", {"GET": rest_query.query}),
    Resource("/query/{locator}", {"GET": rest_query.next_page}),
    Resource("/queryAll", {"GET": rest_query.query_all}),
    Resource("/queryAll/{locator}", {"GET": rest_query.next_page}),
    Resource("/composite", {"GET": rest_org.composite_resources, "POST": rest_composite.composite}),
    Resource("/composite/sobjects", {"POST": rest_collections.create_records,
                                     "PATCH": rest_collections.update_records,
                                     "DELETE": rest_collections.delete_records}),
    Resource("/composite/sobjects/{sobject}", {"GET": rest_collections.retrieve_records,
                                               "POST": rest_collections.retrieve_records_by_body}),
    Resource("/composite/sobjects/{sobject}/{field}", {"PATCH": rest_collections.upsert_records}),
)


def method_not_allowed(method: str, resource: Resource) -> SandboxApiError:
    allowed = ",".join((["HEAD"] if "GET" in resource.methods else []) + list(resource.methods))
    return SandboxApiError("METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are {allowed}",
                           status=405)


def call(ctx: RestContext, resource: Resource, method: str, params: dict[str, str]) -> RestAnswer:
    """Run one resource function, turning a SandboxApiError into Salesforce's error answer."""
    method = method.upper()
    head = method == "HEAD"
    handler = resource.methods.get("GET" if head else method)
    try:
        if handler is None:
            raise method_not_allowed(method, resource)
        answer = handler(ctx, **params)
    except SandboxApiError as error:
        answer = error_answer(error)
    if head:  # HEAD answers what GET would, without the body
        answer.body = None
        answer.response = None
    return answer


def dispatch(ctx: RestContext, method: str, path: str) -> RestAnswer:
    """The answer for ``method path`` (path relative to the version root, as in a composite subrequest url)."""
    normalized = path.rstrip("/") or "/"
    for resource in RESOURCES:
        match = resource.pattern.match(normalized)
        if match:
            params = {name: unquote(value) for name, value in match.groupdict().items()}
            return call(ctx, resource, method, params)
    return error_answer(SandboxApiError("NOT_FOUND", "The requested resource does not exist", status=404))
