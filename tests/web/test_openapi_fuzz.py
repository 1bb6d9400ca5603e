"""The OpenAPI document is valid, and a property-based fuzz run (schemathesis) over every operation, as an
admin, finds no server errors. Bounded: a few derandomized examples per operation, so the run is quick and
repeatable."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import schemathesis
from api_support import SF_CLIENT_SECRET, SF_PASSWORD, WebSetup, app_exec, web_setup, write_hub_config
from hypothesis import HealthCheck, given, settings
from schemathesis.schemas import APIOperation
from sqlalchemy import delete, select

from salesbridge.sandbox.server import RunningSandbox
from salesbridge.store.web_models import ApiToken, Role, StoredSecret, User
from salesbridge.web import accounts

#: For a deeper run: SALESBRIDGE_FUZZ_EXAMPLES=40 pytest --timeout 1500 tests/web/test_openapi_fuzz.py
EXAMPLES_PER_OPERATION = int(os.environ.get("SALESBRIDGE_FUZZ_EXAMPLES", "4"))


@dataclass
class FuzzTarget:
    web: WebSetup
    config_text: str


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory, shared_sandbox: RunningSandbox) -> Iterator[FuzzTarget]:
    with web_setup(tmp_path_factory.mktemp("fuzz")) as web:
        write_hub_config(web, shared_sandbox)
        app_exec(web.app_url, "INSERT INTO leads (last_name, company, stage) VALUES ('Fuzz', 'Acme', 'New')")
        web.token(Role.ADMIN)
        yield FuzzTarget(web, web.config_path.read_text(encoding="utf-8"))
        web.state.runs.wait(120)


def restore(target: FuzzTarget) -> None:
    """Undo what earlier operations may have changed that would blind later ones: the config file, stored
    secrets, and the admin account (and its token) the fuzzer calls with."""
    web = target.web
    web.config_path.write_text(target.config_text, encoding="utf-8")
    web.state.secrets_changed()
    with web.state.session() as session:
        session.execute(delete(StoredSecret))
        admin = session.scalar(select(User).where(User.username == "admin-user"))
        assert admin is not None
        admin.active, admin.role = True, Role.ADMIN.value
        token = session.scalar(select(ApiToken).where(
            ApiToken.token_hash == accounts.digest(web.tokens[Role.ADMIN])))
        if token is None or token.user_id != admin.id:
            web.tokens[Role.ADMIN] = accounts.create_token(session, admin, "fuzz").text


def test_the_openapi_document_is_valid_and_documents_errors(target: FuzzTarget) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", target.web.app)
    schema.validate()
    document = target.web.client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if (method, path) not in (("get", "/api/health"), ("post", "/api/auth/login")) and \
                    path.startswith("/api"):
                assert {"401", "403"} <= set(operation["responses"]), (method, path)


def server_errors_of(target: FuzzTarget, operation: APIOperation, answered: set[str]) -> list[str]:
    """Call one operation with a few generated requests; every 5xx answer, with a curl command to replay it.
    Operations that answered with success at least once are added to ``answered``."""
    found: list[str] = []

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def fuzz(case: schemathesis.Case) -> None:
        restore(target)
        response = case.call(headers={"Authorization": f"Bearer {target.web.tokens[Role.ADMIN]}"})
        text = response.text
        if response.status_code < 300:
            answered.add(operation.label)
        assert SF_CLIENT_SECRET not in text and SF_PASSWORD not in text, (operation.label, text[:200])
        if response.status_code >= 500:
            found.append(f"{operation.label} -> {response.status_code}: {text[:300]}\n"
                         f"{case.as_curl_command()}")

    fuzz()
    return found


def test_fuzzing_every_operation_as_an_admin_finds_no_server_errors(target: FuzzTarget) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", target.web.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    api_operations = [operation for operation in operations if operation.path.startswith("/api")]
    assert len(api_operations) >= 35
    answered: set[str] = set()
    server_errors = [error for operation in api_operations
                     for error in server_errors_of(target, operation, answered)]
    assert server_errors == []
    assert len(answered) >= 20, sorted(answered)  # the calls got past authentication and validation

