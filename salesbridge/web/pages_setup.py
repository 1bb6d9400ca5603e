"""The setup wizard's pages (five steps, each saved when submitted, resumable) and the config file's
import and export.

Every step saves the answers (``salesbridge.wizard.json`` beside the config) before anything else, so a wizard
left half way resumes where it stopped. Secrets typed in step 1 go to the encrypted vault and the answers keep
``${SB_SECRET_...}`` references. When step 5 is saved, the answers are written to the YAML file (validated
first, as the CLI would read it); after that, saving any step writes the file again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.exc import SQLAlchemyError

from salesbridge.salesforce import AuthenticationError, SalesforceError
from salesbridge.sync.config import ConfigError
from salesbridge.web import accounts, vault, wizard
from salesbridge.web.auth import Principal
from salesbridge.web.config_store import ConfigMissing, mask_url
from salesbridge.web.pages_common import AdminPage, redirect, render, web
from salesbridge.web.pages_sources import (
    TableInfo,
    app_tables,
    check_database,
    distinct_values,
    org_objects,
    org_users,
    sources,
)
from salesbridge.web.state import WebState
from salesbridge.web.wizard import STEPS, FlowAnswers, Step, WizardError, WizardState

router = APIRouter(include_in_schema=False)

_REFERENCE = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}$")
_DIRECTION_LABELS = {"both": "Both ways", "to_salesforce": "To Salesforce",
                     "from_salesforce": "From Salesforce"}
_INTERVAL_LABELS = {"": "Manual runs only", "5m": "Every 5 minutes", "15m": "Every 15 minutes",
                    "30m": "Every 30 minutes", "1h": "Every hour", "6h": "Every 6 hours", "1d": "Every day",
                    "1w": "Every week"}
_COMMON_ZONES = ("UTC", "Europe/London", "Europe/Berlin", "Europe/Paris", "America/New_York",
                 "America/Chicago", "America/Denver", "America/Los_Angeles", "Asia/Tokyo", "Asia/Singapore",
                 "Australia/Sydney")
_SALESFORCE_ERRORS = (AuthenticationError, SalesforceError, OSError)


# -- loading and saving the answers --------------------------------------------------------------------------


def load(state: WebState) -> tuple[WizardState, str | None]:
    return wizard.load_state(state.settings.config_path, state.environ())


def save(state: WebState, answers: WizardState, principal: Principal, action: str) -> str | None:
    """Save the answers; once the wizard is finished, write the config file too.

    Returns a problem (the config did not validate, named by key path) or None. The file is written before
    the answers, so that the answers are never older than the file they produced.
    """
    problem = None
    if answers.finished:
        try:
            state.config.save(wizard.build_config(answers))
        except ConfigError as error:
            problem = f"Not written to {state.settings.config_path.name}: {error.key}: {error.expected}"
        else:
            with state.session() as session:
                accounts.audit(session, principal.username, "config.wizard", step=action)
    wizard.save_state(state.settings.config_path, answers)
    return problem


def _step_url(step: Step) -> str:
    return f"/setup/{step.slug}"


def _page(request: Request, principal: Principal, answers: WizardState, step: Step, template: str, *,
          problem: str | None = None, status_code: int = 200, **context: Any) -> HTMLResponse:
    return render(request, template, principal, status_code=status_code, title=f"Setup · {step.title}",
                  steps=STEPS, step=step, answers=answers, problem=problem,
                  config_name=web(request).settings.config_path.name, **context)


def _unavailable(request: Request, principal: Principal, answers: WizardState, step: Step) -> Response | None:
    """Send a visitor of a step whose earlier steps are not done back to the first open one."""
    if answers.available(step.number):
        return None
    first_open = answers.next_step()
    return redirect(_step_url(first_open), error=f"Finish “{first_open.title}” first.")


def _form_dict(form: Any) -> dict[str, str]:
    return {key: value for key, value in form.items() if isinstance(value, str)}


@router.get("/setup")
def setup_start(request: Request, principal: AdminPage) -> RedirectResponse:
    answers, _problem = load(web(request))
    return redirect(_step_url(answers.next_step()))


# -- step 1: connect -----------------------------------------------------------------------------------------


def _store_secrets(state: WebState, answers: dict[str, Any], previous: Mapping[str, Any],
                   principal: Principal) -> None:
    """Typed secrets go to the vault; the answers keep ``${SB_SECRET_...}`` references to them."""
    changed = False
    with state.session() as session:
        for key in wizard.SECRET_KEYS:
            variable = vault.variable_name(f"salesforce.{key}")
            value = answers.get(key)
            if value and not _REFERENCE.match(str(value)):
                vault.put_secret(session, state.box, variable, str(value), principal.username)
                answers[key] = f"${{{variable}}}"
                changed = True
            elif not value and previous.get(key) == f"${{{variable}}}":
                vault.delete_secret(session, variable)
                changed = True
        if changed:
            accounts.audit(session, principal.username, "secrets.wizard", names=list(wizard.SECRET_KEYS))
    if changed:
        state.secrets_changed()


def _store_url_secret(state: WebState, url: str, principal: Principal) -> str:
    """A database URL with a password is stored in the vault too; the answers refer to it."""
    if not url or _REFERENCE.match(url) or mask_url(url) == url:
        return url
    variable = vault.variable_name("app.url")
    with state.session() as session:
        vault.put_secret(session, state.box, variable, url, principal.username)
        accounts.audit(session, principal.username, "secrets.wizard", names=["app.url"])
    state.secrets_changed()
    return f"${{{variable}}}"


def _connect_context(answers: WizardState) -> dict[str, Any]:
    salesforce = answers.salesforce
    return {"sf": salesforce, "stored": {key: bool(salesforce.get(key)) for key in wizard.SECRET_KEYS},
            "verify_text": {True: "true", False: "false"}.get(salesforce.get("verify", True),
                                                              str(salesforce.get("verify", "")))}


@router.get("/setup/connect")
def connect_page(request: Request, principal: AdminPage) -> HTMLResponse:
    answers, problem = load(web(request))
    return _page(request, principal, answers, STEPS[0], "setup_connect.html", problem=problem,
                 **_connect_context(answers))


@router.post("/setup/connect")
async def connect_save(request: Request, principal: AdminPage) -> Response:
    state = web(request)
    answers, _ = load(state)
    form = _form_dict(await request.form())
    step = STEPS[0]
    try:
        salesforce = wizard.connection_answers(form, answers.salesforce)
    except WizardError as error:
        return _page(request, principal, answers, step, "setup_connect.html", problem=str(error),
                     status_code=422, **_connect_context(answers))
    _store_secrets(state, salesforce, answers.salesforce, principal)
    answers.salesforce = salesforce
    answers.app_url = _store_url_secret(state, (form.get("app_url") or "").strip(), principal)
    answers.login_checked = None
    problem = None
    try:
        found = sources(request.app.state)
        check_database(found.engine(answers, state.environ()))
        with found.org(answers, state.environ()) as client:
            token = client.login()
            user = client.find_user(salesforce["username"]) if salesforce.get("username") else None
        who = f"{user['Name']} ({user['Username']})" if user else "the connected app's user"
        answers.login_checked = f"Logged in to {token.instance_url} as {who}."
        answers.complete(1)
    except WizardError as error:
        problem = str(error)
    except _SALESFORCE_ERRORS as error:
        problem = f"Salesforce refused the login: {error}"
    if problem:
        answers.completed = [number for number in answers.completed if number != 1]
    write_problem = save(state, answers, principal, "connect")
    if problem or write_problem:
        return _page(request, principal, answers, step, "setup_connect.html",
                     problem=problem or write_problem, status_code=422 if problem else 200,
                     **_connect_context(answers))
    return redirect(_step_url(STEPS[1]), notice=answers.login_checked)


# -- step 2: objects and fields ----------------------------------------------------------------------------


def _rows(answers: WizardState, tables: list[TableInfo],
          objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per flow, then one per app table no flow uses (with a suggested object the first time)."""
    rows: list[dict[str, Any]] = []
    table_names = {table.name for table in tables}
    for flow in answers.flows:
        rows.append({"kind": "flow", "flow": flow, "table": flow.table, "object": flow.salesforce,
                     "direction": flow.direction, "missing": flow.table not in table_names})
    used = {flow.table for flow in answers.flows}
    first_visit = not answers.flows and not answers.is_complete(2)
    names = [o["name"] for o in objects]
    for table in tables:
        if table.name not in used:
            suggestion = wizard.suggest_object(table.name, names) if first_visit else None
            rows.append({"kind": "table", "flow": None, "table": table.name, "object": suggestion or "",
                         "direction": "both", "missing": False})
    return rows


def _objects_page(request: Request, principal: Principal, answers: WizardState, *, problem: str | None = None,
                  status_code: int = 200) -> HTMLResponse:
    state = web(request)
    found = sources(request.app.state)
    try:
        tables = app_tables(found.engine(answers, state.environ()))
        with found.org(answers, state.environ()) as client:
            objects = org_objects(client)
    except (WizardError, SQLAlchemyError, *_SALESFORCE_ERRORS) as error:
        return _page(request, principal, answers, STEPS[1], "setup_objects.html", status_code=502,
                     problem=f"Cannot read the org or the app database: {error}", rows=[], objects=[],
                     directions=_DIRECTION_LABELS)
    return _page(request, principal, answers, STEPS[1], "setup_objects.html", problem=problem,
                 status_code=status_code, rows=_rows(answers, tables, objects), objects=objects,
                 directions=_DIRECTION_LABELS)


@router.get("/setup/objects")
def objects_page(request: Request, principal: AdminPage) -> Response:
    answers, problem = load(web(request))
    return _unavailable(request, principal, answers, STEPS[1]) or _objects_page(request, principal, answers,
                                                                                   problem=problem)


@router.post("/setup/objects")
async def objects_save(request: Request, principal: AdminPage) -> Response:
    state = web(request)
    answers, _ = load(state)
    if (away := _unavailable(request, principal, answers, STEPS[1])) is not None:
        return away
    form = _form_dict(await request.form())
    found = sources(request.app.state)
    try:
        tables = {t.name: t for t in app_tables(found.engine(answers, state.environ()))}
        with found.org(answers, state.environ()) as client:
            changed = _apply_objects(form, answers, tables, client)
    except WizardError as error:
        return _objects_page(request, principal, answers, problem=str(error), status_code=422)
    except (SQLAlchemyError, *_SALESFORCE_ERRORS) as error:
        return _objects_page(request, principal, answers, problem=f"Cannot read the org: {error}",
                             status_code=502)
    if changed:
        answers.uncomplete_from(3)
    go_on = form.get("action", "next") == "next"
    if go_on:
        empty = [flow.name for flow in answers.flows if not flow.fields]
        if not answers.flows:
            problem = "Choose a Salesforce object for at least one table."
        elif empty:
            problem = (f"No fields are mapped for {', '.join(empty)}: open “View mapping” and map at least "
                       "one.")
        else:
            problem = None
            answers.complete(2)
        if problem:
            wizard.save_state(state.settings.config_path, answers)
            return _objects_page(request, principal, answers, problem=problem, status_code=422)
    write_problem = save(state, answers, principal, "objects")
    if write_problem:
        return _objects_page(request, principal, answers, problem=write_problem)
    if go_on:
        return redirect(_step_url(STEPS[2]), notice="Objects saved.")
    return redirect("/setup/objects", notice="Objects saved.")


def _apply_objects(form: Mapping[str, str], answers: WizardState, tables: Mapping[str, TableInfo],
                   client: Any) -> bool:
    """Apply step 2's rows to the answers; True when flows were added, removed or moved to another object."""
    known = {o["name"].lower(): o["name"] for o in org_objects(client)}
    kept: list[FlowAnswers] = []
    changed = False
    index = 0
    while f"row{index}_kind" in form:
        kind, prefix = form[f"row{index}_kind"], f"row{index}_"
        index += 1
        chosen = (form.get(prefix + "object") or "").strip()
        direction = form.get(prefix + "direction") or "both"
        if direction not in wizard.DIRECTIONS:
            raise WizardError(f"unknown direction '{direction}'")
        if chosen and chosen.lower() not in known:
            raise WizardError(f"'{chosen}' is not an object of the org")
        chosen = known.get(chosen.lower(), "")
        if kind == "flow":
            flow = answers.flow(form.get(prefix + "flow", ""))
            if not chosen:
                changed = True
                continue
            if chosen != flow.salesforce:
                changed = True
                flow = _suggested(flow.table, tables, chosen, client, direction, flow.name)
            flow.direction = direction  # type: ignore[assignment]
            kept.append(flow)
        elif chosen:
            table = form.get(prefix + "table", "")
            if table not in tables:
                raise WizardError(f"there is no table '{table}' in the app database")
            taken = [f.name for f in kept] + [f.name for f in answers.flows]
            kept.append(_suggested(table, tables, chosen, client, direction, wizard.flow_name(table, taken)))
            changed = True
    answers.flows = kept
    return changed


def _suggested(table: str, tables: Mapping[str, TableInfo], object_name: str, client: Any, direction: str,
               name: str) -> FlowAnswers:
    info = tables.get(table)
    if info is None:
        raise WizardError(f"there is no table '{table}' in the app database")
    flow = wizard.new_flow(table, info.columns, info.primary_key, object_name, client.describe(object_name),
                           direction, taken=[])  # type: ignore[arg-type]
    flow.name = name
    return flow


@router.get("/setup/objects/{flow_name}")
def mapping_page(flow_name: str, request: Request, principal: AdminPage) -> Response:
    answers, _ = load(web(request))
    if (away := _unavailable(request, principal, answers, STEPS[1])) is not None:
        return away
    return _mapping_page(request, principal, answers, flow_name)


def _mapping_page(request: Request, principal: Principal, answers: WizardState, flow_name: str, *,
                  problem: str | None = None, status_code: int = 200,
                  form: Mapping[str, str] | None = None) -> HTMLResponse:
    state = web(request)
    found = sources(request.app.state)
    try:
        flow = answers.flow(flow_name)
        tables = {t.name: t for t in app_tables(found.engine(answers, state.environ()))}
        with found.org(answers, state.environ()) as client:
            describe = client.describe(flow.salesforce)
    except WizardError as error:
        return render(request, "message.html", principal, status_code=404, title="No such object mapping",
                      message=str(error), link=("/setup/objects", "Back to the objects"))
    except (SQLAlchemyError, *_SALESFORCE_ERRORS) as error:
        return render(request, "message.html", principal, status_code=502, title="Cannot read the org",
                      message=str(error), link=("/setup/objects", "Back to the objects"))
    table = tables.get(flow.table)
    columns = table.columns if table else [str(f["app"]) for f in flow.fields]
    mapped = {str(f["app"]): f for f in flow.fields}
    rows = []
    for column in columns:
        current = mapped.get(column, {})
        rows.append({"column": column, "type": table.types.get(column, "") if table else "",
                     "is_key": table is not None and column == (flow.key.get("app") or table.primary_key),
                     "field": (form or {}).get(f"sf__{column}", current.get("salesforce", "")),
                     "direction": (form or {}).get(f"dir__{column}", current.get("direction") or "both"),
                     "values": current.get("values"), "transform": current.get("transform")})
    fields = wizard.mappable_fields(describe)
    external_ids = [f for f in describe.get("fields") or [] if f.get("externalId")]
    return _page(request, principal, answers, STEPS[1], "setup_mapping.html", problem=problem,
                 status_code=status_code, flow=flow, rows=rows, fields=fields, external_ids=external_ids,
                 columns=columns, directions=_DIRECTION_LABELS, object_label=describe.get("label"))


@router.post("/setup/objects/{flow_name}")
async def mapping_save(flow_name: str, request: Request, principal: AdminPage) -> Response:
    state = web(request)
    answers, _ = load(state)
    if (away := _unavailable(request, principal, answers, STEPS[1])) is not None:
        return away
    form = _form_dict(await request.form())
    found = sources(request.app.state)
    try:
        flow = answers.flow(flow_name)
        tables = {t.name: t for t in app_tables(found.engine(answers, state.environ()))}
        table = tables.get(flow.table)
        columns = table.columns if table else [str(f["app"]) for f in flow.fields]
        with found.org(answers, state.environ()) as client:
            describe = client.describe(flow.salesforce)
        flow.fields = wizard.field_answers(form, columns, describe, flow.fields)
        key = dict(flow.key)
        for name in ("salesforce_id_column", "external_id"):
            value = (form.get(f"key_{name}") or "").strip()
            if value:
                key[name] = value
            else:
                key.pop(name, None)
        if key.get("salesforce_id_column") and key["salesforce_id_column"] not in columns:
            raise WizardError(f"there is no column '{key['salesforce_id_column']}' in {flow.table}")
        flow.key = key
    except WizardError as error:
        return _mapping_page(request, principal, answers, flow_name, problem=str(error), status_code=422,
                             form=form)
    except (SQLAlchemyError, *_SALESFORCE_ERRORS) as error:
        return _mapping_page(request, principal, answers, flow_name, problem=f"Cannot read the org: {error}",
                             status_code=502, form=form)
    write_problem = save(state, answers, principal, "mapping")
    if write_problem:
        return _mapping_page(request, principal, answers, flow_name, problem=write_problem)
    return redirect("/setup/objects",
                    notice=f"Field mapping of {flow.name} saved ({len(flow.fields)} fields).")


# -- step 3: status mapping ----------------------------------------------------------------------------------


def _status_sections(request: Request, answers: WizardState,
                     form: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """One section per mapped picklist field: our values (left), the picklist's values (right)."""
    state = web(request)
    found = sources(request.app.state)
    engine = found.engine(answers, state.environ())
    sections = []
    with found.org(answers, state.environ()) as client:
        for flow in answers.flows:
            for field_map, described in wizard.status_fields(flow, client.describe(flow.salesforce)):
                existing = answers.value_maps.get(str(field_map.get("values") or ""))
                try:
                    found_values = distinct_values(engine, flow.table, str(field_map["app"]))
                except SQLAlchemyError:
                    found_values = []
                theirs = wizard.picklist_values(described)
                table = wizard.to_salesforce_table(existing)
                by_lower = {value.lower(): value for value in theirs}
                # A new map suggests the picklist value spelled like ours; an existing map shows what it says.
                suggest = by_lower if existing is None else {}
                rows = [{"ours": ours, "theirs": table.get(ours, suggest.get(ours.lower(), ""))}
                        for ours in wizard.pipeline_values(existing, found_values)]
                sections.append({"flow": flow, "field": field_map, "label": described.get("label"),
                                 "rows": rows, "picklist": theirs,
                                 "default_from": wizard.default_from_salesforce(existing) or "",
                                 "receives": flow.direction in ("from_salesforce", "both"),
                                 "back": wizard.reverse_table(table) if table else {}})
    return sections


def _statuses_page(request: Request, principal: Principal, answers: WizardState, *,
                   problem: str | None = None, status_code: int = 200) -> HTMLResponse:
    try:
        sections = _status_sections(request, answers)
    except (WizardError, SQLAlchemyError, *_SALESFORCE_ERRORS) as error:
        return _page(request, principal, answers, STEPS[2], "setup_statuses.html", status_code=502,
                     sections=[], problem=f"Cannot read the org or the app database: {error}")
    return _page(request, principal, answers, STEPS[2], "setup_statuses.html", problem=problem,
                 status_code=status_code, sections=sections)


@router.get("/setup/statuses")
def statuses_page(request: Request, principal: AdminPage) -> Response:
    answers, problem = load(web(request))
    return _unavailable(request, principal, answers, STEPS[2]) or _statuses_page(request, principal, answers,
                                                                                    problem=problem)


@router.post("/setup/statuses")
async def statuses_save(request: Request, principal: AdminPage) -> Response:
    state = web(request)
    answers, _ = load(state)
    if (away := _unavailable(request, principal, answers, STEPS[2])) is not None:
        return away
    form = _form_dict(await request.form())
    try:
        sections = _status_sections(request, answers)
        for number, section in enumerate(sections):
            prefix = f"m{number}_"
            rows = []
            row = 0
            while f"{prefix}ours_{row}" in form:
                rows.append((form[f"{prefix}ours_{row}"], form.get(f"{prefix}theirs_{row}", "")))
                row += 1
            rows.append((form.get(f"{prefix}new_ours", ""), form.get(f"{prefix}new_theirs", "")))
            flow: FlowAnswers = section["flow"]
            field_map = flow.field_for(str(section["field"]["salesforce"]))
            assert field_map is not None
            name = wizard.map_name(flow, field_map, answers.value_maps)
            built = wizard.value_map_from_rows(rows, form.get(f"{prefix}default"),
                                               answers.value_maps.get(name))
            if built is None:
                field_map.pop("values", None)
                continue
            wizard.check_picklist(wizard.to_salesforce_table(built), section["picklist"])
            field_map["values"] = name
            answers.value_maps[name] = built
    except WizardError as error:
        return _statuses_page(request, principal, answers, problem=str(error), status_code=422)
    except (SQLAlchemyError, *_SALESFORCE_ERRORS) as error:
        return _statuses_page(request, principal, answers, problem=f"Cannot read the org: {error}",
                              status_code=502)
    answers.complete(3)
    write_problem = save(state, answers, principal, "statuses")
    if write_problem:
        return _statuses_page(request, principal, answers, problem=write_problem)
    return redirect(_step_url(STEPS[3]), notice="Status mapping saved.")


# -- step 4: default owner -----------------------------------------------------------------------------------


def _owner_page(request: Request, principal: Principal, answers: WizardState, *, problem: str | None = None,
                status_code: int = 200) -> HTMLResponse:
    state = web(request)
    try:
        with sources(request.app.state).org(answers, state.environ()) as client:
            users = org_users(client)
            flows = [flow for flow in answers.flows
                     if wizard.owner_applies(flow, client.describe(flow.salesforce))]
    except (WizardError, *_SALESFORCE_ERRORS) as error:
        return _page(request, principal, answers, STEPS[3], "setup_owner.html", status_code=502, users=[],
                     flows=[], problem=f"Cannot read the org's users: {error}")
    known = {str(user["Username"]).lower() for user in users}
    return _page(request, principal, answers, STEPS[3], "setup_owner.html", problem=problem,
                 status_code=status_code, users=users, flows=flows, known=known,
                 writes_defaults=wizard.supports("defaults"))


@router.get("/setup/owner")
def owner_page(request: Request, principal: AdminPage) -> Response:
    answers, problem = load(web(request))
    return _unavailable(request, principal, answers, STEPS[3]) or _owner_page(request, principal, answers,
                                                                                 problem=problem)


@router.post("/setup/owner")
async def owner_save(request: Request, principal: AdminPage) -> Response:
    state = web(request)
    answers, _ = load(state)
    if (away := _unavailable(request, principal, answers, STEPS[3])) is not None:
        return away
    form = _form_dict(await request.form())
    try:
        with sources(request.app.state).org(answers, state.environ()) as client:
            users = {str(user["Username"]).lower(): str(user["Username"]) for user in org_users(client)}
            for flow in answers.flows:
                if not wizard.owner_applies(flow, client.describe(flow.salesforce)):
                    continue
                chosen = (form.get(f"owner__{flow.name}") or "").strip()
                if chosen and chosen.lower() not in users and chosen != flow.owner:
                    raise WizardError(f"'{chosen}' is not an active user of the org")
                flow.owner = users.get(chosen.lower(), chosen) or None
    except WizardError as error:
        return _owner_page(request, principal, answers, problem=str(error), status_code=422)
    except _SALESFORCE_ERRORS as error:
        return _owner_page(request, principal, answers, problem=f"Cannot read the org: {error}",
                           status_code=502)
    answers.complete(4)
    write_problem = save(state, answers, principal, "owner")
    if write_problem:
        return _owner_page(request, principal, answers, problem=write_problem)
    return redirect(_step_url(STEPS[4]), notice="Default owner saved.")


# -- step 5: schedule ----------------------------------------------------------------------------------------


def _zones() -> list[str]:
    return list(_COMMON_ZONES) + sorted(available_timezones() - set(_COMMON_ZONES))


def _schedule_rows(answers: WizardState, form: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    rows = []
    for flow in answers.flows:
        schedule = flow.schedule or {}
        starting = str(schedule.get("starting") or "")
        date_part, _, time_part = starting.partition("T")
        if form is not None:
            rows.append({"flow": flow, "every": form.get(f"every__{flow.name}", ""),
                         "date": form.get(f"date__{flow.name}", ""),
                         "time": form.get(f"time__{flow.name}", ""),
                         "zone": form.get(f"zone__{flow.name}", "UTC"), "cron": schedule.get("cron")})
        else:
            rows.append({"flow": flow, "every": schedule.get("every") or "", "date": date_part,
                         "time": time_part[:5], "zone": schedule.get("timezone") or "UTC",
                         "cron": schedule.get("cron")})
    return rows


def _schedule_page(request: Request, principal: Principal, answers: WizardState, *,
                   problem: str | None = None, status_code: int = 200,
                   form: Mapping[str, str] | None = None) -> HTMLResponse:
    return _page(request, principal, answers, STEPS[4], "setup_schedule.html", problem=problem,
                 status_code=status_code, rows=_schedule_rows(answers, form), intervals=_INTERVAL_LABELS,
                 zones=_zones(), writes_schedule=wizard.supports("schedule"))


@router.get("/setup/schedule")
def schedule_page(request: Request, principal: AdminPage) -> Response:
    answers, problem = load(web(request))
    return _unavailable(request, principal, answers, STEPS[4]) or _schedule_page(request, principal, answers,
                                                                                    problem=problem)


@router.post("/setup/schedule")
async def schedule_save(request: Request, principal: AdminPage) -> Response:
    state = web(request)
    answers, _ = load(state)
    if (away := _unavailable(request, principal, answers, STEPS[4])) is not None:
        return away
    form = _form_dict(await request.form())
    try:
        for flow in answers.flows:
            flow.schedule = wizard.schedule_answers(
                form.get(f"every__{flow.name}", ""), form.get(f"date__{flow.name}", ""),
                form.get(f"time__{flow.name}", ""), form.get(f"zone__{flow.name}", "UTC"), flow.schedule)
        wizard.validate(answers, state.environ())
    except WizardError as error:
        return _schedule_page(request, principal, answers, problem=str(error), status_code=422, form=form)
    except ConfigError as error:
        return _schedule_page(request, principal, answers, problem=f"{error.key}: {error.expected}",
                              status_code=422, form=form)
    answers.complete(5)
    write_problem = save(state, answers, principal, "schedule")
    if write_problem:
        return _schedule_page(request, principal, answers, problem=write_problem, form=form)
    return redirect("/", notice=f"Setup finished: the configuration is written to "
                                f"{state.settings.config_path}.")


# -- the config file: export and import ----------------------------------------------------------------------


def _config_page(request: Request, principal: Principal, *, problem: str | None = None, import_text: str = "",
                 status_code: int = 200) -> HTMLResponse:
    state = web(request)
    text = ""
    try:
        text = state.config.export_yaml()
    except ConfigMissing:
        problem = problem or ("There is no configuration file yet: finish the setup wizard, or import one "
                              "below.")
    except ConfigError as error:
        problem = problem or f"The configuration file cannot be read: {error}"
    return render(request, "config.html", principal, status_code=status_code, title="Config file",
                  yaml_text=text, import_text=import_text, problem=problem,
                  config_path=state.settings.config_path)


@router.get("/config")
def config_page(request: Request, principal: AdminPage) -> HTMLResponse:
    return _config_page(request, principal)


@router.get("/config/download")
def config_download(request: Request, principal: AdminPage) -> Response:
    state = web(request)
    try:
        text = state.config.export_yaml()
    except (ConfigMissing, ConfigError) as error:
        return redirect("/config", error=str(error))
    return Response(text, media_type="application/yaml", headers={
        "Content-Disposition": f'attachment; filename="{state.settings.config_path.name}"'})


@router.post("/config/import")
async def config_import(request: Request, principal: AdminPage) -> Response:
    state = web(request)
    form = await request.form()
    upload = form.get("file")
    text = form.get("yaml") if isinstance(form.get("yaml"), str) else ""
    if upload is not None and not isinstance(upload, str):
        content = await upload.read()
        if content:
            text = content.decode("utf-8", errors="replace")
    if not str(text).strip():
        return _config_page(request, principal, problem="Paste the YAML or choose a file to import.",
                            status_code=422)
    try:
        state.config.import_yaml(str(text))
    except ConfigError as error:
        return _config_page(request, principal, problem=f"Not imported: {error}", import_text=str(text),
                            status_code=422)
    with state.session() as session:
        accounts.audit(session, principal.username, "config.import", via="page")
    answers, problem = load(state)  # the file is newer than the answers: they are imported from it
    wizard.save_state(state.settings.config_path, answers)
    return redirect("/config", notice=problem or "Imported: the wizard now shows the imported configuration.")
