"""Shared pieces of the API routers: documented error answers and the hub's database session."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import Path
from sqlalchemy.orm import Session

from salesbridge.web.schemas import ConfigProblemAnswer, Problem
from salesbridge.web.state import WebState

#: Answers every authenticated endpoint may give, so that the OpenAPI document lists them.
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "not logged in, or the API token is invalid or expired"},
    403: {"model": Problem, "description": "the role is too small, or the CSRF token is missing or wrong"},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Problem, "description": "no such item"}}
HUB_ERRORS: dict[int | str, dict[str, Any]] = {
    502: {"model": Problem, "description": "Salesforce refused or could not be reached"},
    503: {"model": Problem, "description": "no valid configuration yet, or the app database is unusable"},
}
BUSY: dict[int | str, dict[str, Any]] = {409: {"model": Problem, "description": "a sync is already running"}}
CONFIG_INVALID: dict[int | str, dict[str, Any]] = {
    422: {"model": ConfigProblemAnswer,
          "description": "the configuration does not validate (key path named)"},
}


@contextmanager
def hub_session(state: WebState) -> Iterator[Session]:
    """A read/write session on the hub's own database (runs, errors, links), committed at the end."""
    with Session(state.hub().engine, expire_on_commit=False) as session, session.begin():
        yield session

#: Ids are BIGINT: larger numbers cannot name anything (and SQLite refuses to bind them).
MAX_ID = 2**63 - 1
IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="an id")]
