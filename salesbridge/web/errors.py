"""Exceptions of the hub turned into HTTP answers, the same for every router (JSON ``{"detail": ...}``)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse

from salesbridge.salesforce import SalesforceError
from salesbridge.sync.config import ConfigError
from salesbridge.web.accounts import AccountError
from salesbridge.web.background import RunDidNotStart, RunInProgress
from salesbridge.web.config_store import ConfigMissing
from salesbridge.web.schemas import ConfigProblem
from salesbridge.web.state import HubUnavailable

log = logging.getLogger(__name__)


def config_problem(error: ConfigError) -> ConfigProblem:
    return ConfigProblem(file=error.path, key=error.key, expected=error.expected, message=str(error))


def _detail(status_code: int, detail: object) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status_code)


async def _config_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ConfigError)
    return _detail(status.HTTP_422_UNPROCESSABLE_CONTENT, config_problem(error).model_dump())


async def _hub_unavailable(_request: Request, error: Exception) -> JSONResponse:
    return _detail(status.HTTP_503_SERVICE_UNAVAILABLE, f"the hub is not ready: {error}")


async def _config_missing(_request: Request, error: Exception) -> JSONResponse:
    return _detail(status.HTTP_404_NOT_FOUND, str(error))


async def _salesforce_error(_request: Request, error: Exception) -> JSONResponse:
    log.warning("Salesforce call failed: %s", error)
    return _detail(status.HTTP_502_BAD_GATEWAY, f"Salesforce: {error}")


async def _busy(_request: Request, error: Exception) -> JSONResponse:
    return _detail(status.HTTP_409_CONFLICT, str(error))


async def _did_not_start(_request: Request, error: Exception) -> JSONResponse:
    return _detail(status.HTTP_502_BAD_GATEWAY, f"the run did not start: {error}")


async def _account_error(_request: Request, error: Exception) -> JSONResponse:
    return _detail(status.HTTP_409_CONFLICT, str(error))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ConfigError, _config_error)
    app.add_exception_handler(ConfigMissing, _config_missing)
    app.add_exception_handler(HubUnavailable, _hub_unavailable)
    app.add_exception_handler(SalesforceError, _salesforce_error)
    app.add_exception_handler(RunInProgress, _busy)
    app.add_exception_handler(RunDidNotStart, _did_not_start)
    app.add_exception_handler(AccountError, _account_error)
