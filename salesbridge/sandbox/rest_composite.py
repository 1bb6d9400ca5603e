"""The ``composite`` resource: up to 25 subrequests in one call, later ones referring to earlier answers.

Subrequests run in order through the same resource functions as direct calls (``rest_routes.dispatch``), never
over HTTP. ``@{ref.id}`` or ``@{ref.records[0].Id}`` in a url or body is replaced by that value of an earlier
answer. With ``allOrNone`` everything runs in one store transaction: on the first failure it is undone, the
failed subrequest keeps its error and every other one answers 400 PROCESSING_HALTED. Without it, only the
subrequests that refer to a failed one are halted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from salesbridge.sandbox.errors import SandboxApiError
from salesbridge.sandbox.rest_common import RestAnswer, RestContext, check_version, error_answer

MAX_SUBREQUESTS = 25
ROLLED_BACK_MESSAGE = "The transaction was rolled back since another operation in the same transaction failed."
_REFERENCE_RE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")
_STEP_RE = re.compile(r"\.([A-Za-z0-9_]+)|\[(\d+)\]")
_REFERENCE_ID_RE = re.compile(r"^[A-Za-z0-9_]+$")
_URL_RE = re.compile(r"^/services/data/v([^/]+)(/.*)$")


@dataclass
class Subrequest:
    method: str
    url: str
    reference_id: str
    body: Any
    has_body: bool
    headers: dict[str, str]


class _Halt(Exception):
    """Stops an all-or-none composite request at its first failure (undoing the transaction)."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


class _UnresolvedReference(Exception):
    def __init__(self, expression: str, reference_id: str) -> None:
        super().__init__(expression)
        self.expression = expression
        self.reference_id = reference_id


def _halted(message: str) -> RestAnswer:
    return error_answer(SandboxApiError("PROCESSING_HALTED", message))


def _parse_subrequests(body: dict[str, Any]) -> list[Subrequest]:
    raw = body.get("compositeRequest")
    if not isinstance(raw, list) or not raw:
        raise SandboxApiError("JSON_PARSER_ERROR", "compositeRequest: a list of subrequests is required")
    if len(raw) > MAX_SUBREQUESTS:
        raise SandboxApiError("LIMIT_EXCEEDED",
                              f"Maximum of {MAX_SUBREQUESTS} subrequests is allowed in a composite request; "
                              f"received {len(raw)}")
    subrequests: list[Subrequest] = []
    seen: set[str] = set()
    for item in raw:
        if not isinstance(item, dict):
            raise SandboxApiError("JSON_PARSER_ERROR", "compositeRequest: each subrequest must be an object")
        method, url, reference_id = item.get("method"), item.get("url"), item.get("referenceId")
        if not isinstance(method, str) or not isinstance(url, str) or not isinstance(reference_id, str):
            raise SandboxApiError("JSON_PARSER_ERROR", "method, url and referenceId are required in a subrequest")
        if not _REFERENCE_ID_RE.match(reference_id):
            raise SandboxApiError("INVALID_API_INPUT",
                                  f"referenceId may hold only letters, digits and underscores: {reference_id}")
        if reference_id in seen:
            raise SandboxApiError("INVALID_API_INPUT", f"Duplicate referenceId in the request: {reference_id}")
        seen.add(reference_id)
        headers = item.get("httpHeaders") or {}
        if not isinstance(headers, dict):
            raise SandboxApiError("JSON_PARSER_ERROR", "httpHeaders must be an object")
        subrequests.append(Subrequest(method.upper(), url, reference_id, item.get("body"), "body" in item,
                                      {str(key): str(value) for key, value in headers.items()}))
    return subrequests


# -- references -----------------------------------------------------------------------------------------
def _lookup(answers: dict[str, Any], reference_id: str, path: str, expression: str) -> Any:
    if reference_id not in answers:
        raise _UnresolvedReference(expression, reference_id)
    value = answers[reference_id]
    for name, index in _STEP_RE.findall(path):
        if name:
            if not isinstance(value, dict):
                raise _UnresolvedReference(expression, reference_id)
            key = name if name in value else next((k for k in value if k.lower() == name.lower()), None)
            if key is None:
                raise _UnresolvedReference(expression, reference_id)
            value = value[key]
        else:
            position = int(index)
            if not isinstance(value, list) or position >= len(value):
                raise _UnresolvedReference(expression, reference_id)
            value = value[position]
    return value


def _substitute_text(text: str, answers: dict[str, Any]) -> Any:
    """A string with references replaced; a string that is one whole reference takes the value's own type."""
    whole = _REFERENCE_RE.fullmatch(text)
    if whole:
        return _lookup(answers, whole.group(1), whole.group(2), whole.group(0))

    def replace(match: re.Match[str]) -> str:
        value = _lookup(answers, match.group(1), match.group(2), match.group(0))
        return "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)

    return _REFERENCE_RE.sub(replace, text)


def _substitute(value: Any, answers: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return _substitute_text(value, answers) if "@{" in value else value
    if isinstance(value, list):
        return [_substitute(item, answers) for item in value]
    if isinstance(value, dict):
        return {key: _substitute(item, answers) for key, item in value.items()}
    return value


# -- running ----------------------------------------------------------------------------------------------
def _run_one(ctx: RestContext, subrequest: Subrequest, answers: dict[str, Any], all_or_none: bool) -> RestAnswer:
    from salesbridge.sandbox.rest_routes import dispatch

    try:
        url = _substitute_text(subrequest.url, answers) if "@{" in subrequest.url else subrequest.url
        body = _substitute(subrequest.body, answers)
    except _UnresolvedReference as missing:
        return _halted(f"Invalid reference specified. No value for {missing.expression} found in "
                       f"{missing.reference_id}. Provided referenceId ids were {sorted(answers)}")
    parts = urlsplit(str(url))
    match = _URL_RE.match(parts.path)
    try:
        if not match:
            raise SandboxApiError("NOT_FOUND", "The requested resource does not exist", status=404)
        version = check_version(ctx.org, match.group(1))
        # Subrequests inherit only Accept, Authorization and Content-Type (as documented): their own headers.
        sub_ctx = RestContext(
            org=ctx.org, user_id=ctx.user_id, version=version, query=dict(parse_qsl(parts.query)),
            headers=subrequest.headers, parsed_body=body, has_parsed_body=subrequest.has_body and body is not None,
            in_composite=True, force_all_or_none=all_or_none,
        )
        return dispatch(sub_ctx, subrequest.method, match.group(2))
    except SandboxApiError as error:
        return error_answer(error)


def _result(reference_id: str, answer: RestAnswer) -> dict[str, Any]:
    return {"body": answer.body, "httpHeaders": dict(answer.headers), "httpStatusCode": answer.status,
            "referenceId": reference_id}


def composite(ctx: RestContext) -> RestAnswer:
    """``POST composite``: HTTP 200 with one ``compositeResponse`` item per subrequest, in order."""
    if ctx.in_composite:
        raise SandboxApiError("INVALID_API_INPUT", "A composite request cannot contain a composite request")
    body = ctx.json_object()
    subrequests = _parse_subrequests(body)
    all_or_none = body.get("allOrNone") is True or str(body.get("allOrNone")).lower() == "true"
    answers: dict[str, Any] = {}
    results: list[RestAnswer] = []

    def run_all() -> None:
        for index, subrequest in enumerate(subrequests):
            answer = _run_one(ctx, subrequest, answers, all_or_none)
            results.append(answer)
            if answer.is_failure:
                if all_or_none:
                    raise _Halt(index)
            else:
                answers[subrequest.reference_id] = answer.body

    if not all_or_none:
        run_all()
    else:
        try:
            with ctx.org.store.transaction():
                run_all()
        except _Halt as halt:
            results = [results[halt.index] if index == halt.index else _halted(ROLLED_BACK_MESSAGE)
                       for index in range(len(subrequests))]
    return RestAnswer(200, {"compositeResponse": [_result(subrequest.reference_id, answer)
                                                  for subrequest, answer in zip(subrequests, results,
                                                                                strict=True)]})
