"""Authentication: OAuth token grants, SOAP login as real clients read it, session expiry and persistence."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import jwt
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceExpiredSession
from simple_salesforce.login import soap_login, token_login

from salesbridge.sandbox.org import ConnectedAppSettings, OrgSettings, UserSettings
from salesbridge.sandbox.server import RunningSandbox, start_in_thread

ADMIN = "admin@sandbox.example"
PASSWORD = "sandbox-pass"
SECURITY_TOKEN = "sandboxtoken"


def token_request(sandbox: RunningSandbox, **form: str) -> requests.Response:
    return sandbox.http().post(f"{sandbox.url}/services/oauth2/token", data=form)


def password_form(**overrides: str) -> dict[str, str]:
    form = {"grant_type": "password", "client_id": "salesbridge", "client_secret": "salesbridge-secret",
            "username": ADMIN, "password": PASSWORD}
    form.update(overrides)
    return form


def api_get(sandbox: RunningSandbox, token: str, path: str = "/services/data/v62.0/limits") -> requests.Response:
    return sandbox.http().get(sandbox.url + path, headers={"Authorization": f"Bearer {token}"})


def admin_id(sandbox: RunningSandbox, username: str = ADMIN) -> str:
    record = sandbox.org.user_record(username)
    assert record is not None
    return record["Id"]


# -- password grant ---------------------------------------------------------------------------------------

def test_password_grant_answers_salesforce_token_shape(sandbox: RunningSandbox) -> None:
    response = token_request(sandbox, **password_form())
    assert response.status_code == 200
    body = response.json()
    user_id = admin_id(sandbox)
    assert body["instance_url"] == sandbox.url
    assert body["id"] == f"{sandbox.url}/id/{sandbox.org.organization_id}/{user_id}"
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "api"
    assert isinstance(body["issued_at"], str) and body["issued_at"].isdigit() and len(body["issued_at"]) == 13
    expected = hmac.new(b"salesbridge-secret", (body["id"] + body["issued_at"]).encode(), hashlib.sha256)
    assert base64.b64decode(body["signature"]) == expected.digest()
    assert "refresh_token" not in body  # Salesforce's username-password flow issues none
    assert api_get(sandbox, body["access_token"]).status_code == 200


def test_password_with_security_token_appended_is_accepted(sandbox: RunningSandbox) -> None:
    response = token_request(sandbox, **password_form(password=PASSWORD + SECURITY_TOKEN))
    assert response.status_code == 200


def test_password_grant_through_simple_salesforce_token_login(sandbox: RunningSandbox) -> None:
    session = sandbox.http()
    token, instance = token_login(f"{sandbox.url}/services/oauth2/token", password_form(), "login",
                                  "salesbridge", None, None, session)
    assert instance == sandbox.url.removeprefix("https://")
    sf = Salesforce(session_id=token, instance=instance, session=session, version="62.0")
    assert sf.User.get(admin_id(sandbox))["Username"] == ADMIN


@pytest.mark.parametrize(("overrides", "error", "description"), [
    ({"password": "wrong"}, "invalid_grant", "authentication failure"),
    ({"username": "nobody@sandbox.example"}, "invalid_grant", "authentication failure"),
    ({"client_id": "unknown-app"}, "invalid_client_id", "client identifier invalid"),
    ({"client_secret": "wrong"}, "invalid_client", "invalid client credentials"),
    ({"grant_type": "authorization_code"}, "unsupported_grant_type", "grant type not supported"),
])
def test_token_errors(shared_sandbox: RunningSandbox, overrides: dict[str, str], error: str,
                      description: str) -> None:
    response = token_request(shared_sandbox, **password_form(**overrides))
    assert response.status_code == 400
    assert response.json() == {"error": error, "error_description": description}


def test_failed_token_login_raises_in_simple_salesforce(shared_sandbox: RunningSandbox) -> None:
    with pytest.raises(SalesforceAuthenticationFailed) as failure:
        token_login(f"{shared_sandbox.url}/services/oauth2/token", password_form(password="wrong"), "login",
                    "salesbridge", None, None, shared_sandbox.http())
    assert failure.value.code == "invalid_grant"


def test_inactive_user_cannot_log_in() -> None:
    settings = OrgSettings(users=[UserSettings(ADMIN), UserSettings("gone@sandbox.example", active=False)])
    running = start_in_thread(settings=settings)
    try:
        response = token_request(running, **password_form(username="gone@sandbox.example"))
        assert response.json()["error"] == "invalid_grant"
    finally:
        running.stop()


# -- client credentials -------------------------------------------------------------------------------------

def test_client_credentials_in_form_runs_as_configured_user(sandbox: RunningSandbox) -> None:
    response = token_request(sandbox, grant_type="client_credentials", client_id="salesbridge",
                             client_secret="salesbridge-secret")
    assert response.status_code == 200
    body = response.json()
    assert body["id"].endswith("/" + admin_id(sandbox))
    userinfo = api_get(sandbox, body["access_token"], "/services/oauth2/userinfo").json()
    assert userinfo["preferred_username"] == ADMIN
    assert userinfo["organization_id"] == sandbox.org.organization_id


def test_client_credentials_with_http_basic(sandbox: RunningSandbox) -> None:
    basic = base64.b64encode(b"salesbridge:salesbridge-secret").decode()
    response = sandbox.http().post(f"{sandbox.url}/services/oauth2/token", data={"grant_type": "client_credentials"},
                                   headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 200
    assert api_get(sandbox, response.json()["access_token"]).status_code == 200


def test_client_credentials_refused_with_bad_secret_or_without_run_as_user() -> None:
    settings = OrgSettings(connected_apps=[ConnectedAppSettings("no-user", "secret")])
    running = start_in_thread(settings=settings)
    try:
        bad_secret = token_request(running, grant_type="client_credentials", client_id="no-user",
                                   client_secret="nope")
        assert bad_secret.json()["error"] == "invalid_client"
        no_user = token_request(running, grant_type="client_credentials", client_id="no-user",
                                client_secret="secret")
        assert no_user.status_code == 400
        assert no_user.json() == {"error": "invalid_grant", "error_description": "no client credentials user enabled"}
    finally:
        running.stop()


# -- refresh tokens -----------------------------------------------------------------------------------------

def refresh_app_login(sandbox: RunningSandbox) -> dict:
    response = token_request(sandbox, **password_form(client_id="salesbridge-refresh",
                                                      client_secret="salesbridge-refresh-secret"))
    assert response.status_code == 200
    return response.json()


def test_refresh_token_outlives_expired_sessions(sandbox: RunningSandbox) -> None:
    first = refresh_app_login(sandbox)
    assert first["refresh_token"]
    assert first["scope"] == "api refresh_token"
    sandbox.org.sessions.expire_all()
    assert api_get(sandbox, first["access_token"]).status_code == 401
    refreshed = token_request(sandbox, grant_type="refresh_token", refresh_token=first["refresh_token"],
                              client_id="salesbridge-refresh", client_secret="salesbridge-refresh-secret")
    assert refreshed.status_code == 200
    body = refreshed.json()
    assert "refresh_token" not in body
    assert body["access_token"] != first["access_token"]
    assert body["id"] == first["id"]
    assert api_get(sandbox, body["access_token"]).status_code == 200


def test_refresh_token_refused_for_other_client_unknown_or_revoked(sandbox: RunningSandbox) -> None:
    refresh_token = refresh_app_login(sandbox)["refresh_token"]
    other_client = token_request(sandbox, grant_type="refresh_token", refresh_token=refresh_token,
                                 client_id="salesbridge", client_secret="salesbridge-secret")
    assert other_client.json() == {"error": "invalid_grant", "error_description": "expired access/refresh token"}
    unknown = token_request(sandbox, grant_type="refresh_token", refresh_token="5Aepnope",
                            client_id="salesbridge-refresh", client_secret="salesbridge-refresh-secret")
    assert unknown.json()["error"] == "invalid_grant"
    revoke = sandbox.http().post(f"{sandbox.url}/services/oauth2/revoke", data={"token": refresh_token})
    assert revoke.status_code == 200
    revoked = token_request(sandbox, grant_type="refresh_token", refresh_token=refresh_token,
                            client_id="salesbridge-refresh", client_secret="salesbridge-refresh-secret")
    assert revoked.json()["error"] == "invalid_grant"


def test_refresh_needs_the_secret_unless_the_app_says_otherwise(sandbox: RunningSandbox) -> None:
    refresh_token = refresh_app_login(sandbox)["refresh_token"]
    without_secret = token_request(sandbox, grant_type="refresh_token", refresh_token=refresh_token,
                                   client_id="salesbridge-refresh")
    assert without_secret.json() == {"error": "invalid_client", "error_description": "invalid client credentials"}
    sandbox.org.settings.connected_app("salesbridge-refresh").require_secret_for_refresh = False
    assert token_request(sandbox, grant_type="refresh_token", refresh_token=refresh_token,
                         client_id="salesbridge-refresh").status_code == 200


def test_revoke_ends_an_access_token(sandbox: RunningSandbox) -> None:
    _, token = sandbox.login()
    assert sandbox.http().post(f"{sandbox.url}/services/oauth2/revoke", data={"token": token}).status_code == 200
    assert api_get(sandbox, token).status_code == 401
    again = sandbox.http().post(f"{sandbox.url}/services/oauth2/revoke", data={"token": token})
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_token"


# -- JWT bearer ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def jwt_keys() -> tuple[bytes, str, bytes]:
    """(private key PEM, certificate PEM, another private key PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jwt test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(1).not_valid_before(now - datetime.timedelta(days=1))
                   .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))

    def pem(private_key: rsa.RSAPrivateKey) -> bytes:
        return private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption())

    return pem(key), certificate.public_bytes(serialization.Encoding.PEM).decode(), pem(other)


@pytest.fixture
def jwt_sandbox(jwt_keys: tuple[bytes, str, bytes]) -> Iterator[RunningSandbox]:
    _, certificate, _ = jwt_keys
    settings = OrgSettings(connected_apps=[ConnectedAppSettings("jwt-app", "jwt-secret", certificate=certificate)])
    running = start_in_thread(settings=settings)
    try:
        yield running
    finally:
        running.stop()


def assertion(private_key: bytes, *, iss: str = "jwt-app", sub: str = ADMIN,
              aud: str = "https://login.salesforce.com", expires_in: float = 180) -> str:
    """Claims as simple-salesforce builds them (``exp`` is a string there)."""
    expiration = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=expires_in)
    return jwt.encode({"iss": iss, "sub": sub, "aud": aud, "exp": f"{expiration.timestamp():.0f}"}, private_key,
                      algorithm="RS256")


def jwt_request(sandbox: RunningSandbox, token: str) -> requests.Response:
    return token_request(sandbox, grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer", assertion=token)


def test_jwt_bearer_grant(jwt_sandbox: RunningSandbox, jwt_keys: tuple[bytes, str, bytes]) -> None:
    key, _, _ = jwt_keys
    response = jwt_request(jwt_sandbox, assertion(key))
    assert response.status_code == 200
    body = response.json()
    assert "refresh_token" not in body
    assert body["id"].endswith("/" + admin_id(jwt_sandbox))
    assert api_get(jwt_sandbox, body["access_token"]).status_code == 200
    # The sandbox's own URL is an accepted audience too.
    assert jwt_request(jwt_sandbox, assertion(key, aud=jwt_sandbox.url)).status_code == 200


def test_jwt_bearer_failures(jwt_sandbox: RunningSandbox, jwt_keys: tuple[bytes, str, bytes]) -> None:
    key, _, other_key = jwt_keys
    cases = [
        (assertion(other_key), "invalid_grant", "invalid assertion"),
        (assertion(key, aud="https://example.com"), "invalid_grant", "audience is invalid"),
        (assertion(key, expires_in=-60), "invalid_grant", "expired authorization code"),
        (assertion(key, iss="unknown-app"), "invalid_client_id", "client identifier invalid"),
        (assertion(key, sub="nobody@sandbox.example"), "invalid_grant", "invalid assertion"),
        ("not-a-jwt", "invalid_grant", "invalid assertion"),
    ]
    for token, error, description in cases:
        response = jwt_request(jwt_sandbox, token)
        assert response.status_code == 400
        assert response.json() == {"error": error, "error_description": description}


def test_jwt_expiry_follows_the_org_clock(jwt_sandbox: RunningSandbox, jwt_keys: tuple[bytes, str, bytes]) -> None:
    key, _, _ = jwt_keys
    token = assertion(key, expires_in=600)
    jwt_sandbox.org.clock.advance(3600)
    assert jwt_request(jwt_sandbox, token).json()["error_description"] == "expired authorization code"


# -- SOAP login ---------------------------------------------------------------------------------------------

def soap_login_body(username: str, password: str) -> str:
    """The envelope simple-salesforce 1.12 sends for username + password + security token."""
    return f"""<?xml version="1.0" encoding="utf-8" ?>
<env:Envelope
        xmlns:xsd="http://www.w3.org/2001/XMLSchema"
        xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
        xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"
        xmlns:urn="urn:partner.soap.sforce.com">
    <env:Header>
        <urn:CallOptions>
            <urn:client>simple-salesforce</urn:client>
            <urn:defaultNamespace>sf</urn:defaultNamespace>
        </urn:CallOptions>
    </env:Header>
    <env:Body>
        <n1:login xmlns:n1="urn:partner.soap.sforce.com">
            <n1:username>{username}</n1:username>
            <n1:password>{password}</n1:password>
        </n1:login>
    </env:Body>
</env:Envelope>"""


SOAP_HEADERS = {"content-type": "text/xml", "charset": "UTF-8", "SOAPAction": "login"}


def test_soap_login_as_simple_salesforce_reads_it(sandbox: RunningSandbox) -> None:
    session = sandbox.http()
    session_id, instance = soap_login(f"{sandbox.url}/services/Soap/u/62.0",
                                      soap_login_body(ADMIN, PASSWORD + SECURITY_TOKEN), SOAP_HEADERS, None,
                                      session)
    assert instance == f"127.0.0.1:{sandbox.port}"
    sf = Salesforce(session_id=session_id, instance=instance, session=session, version="62.0")
    assert sf.User.get(admin_id(sandbox))["Username"] == ADMIN


def test_soap_login_result_has_what_other_clients_read(sandbox: RunningSandbox) -> None:
    response = sandbox.http().post(f"{sandbox.url}/services/Soap/u/62.0", soap_login_body(ADMIN, PASSWORD),
                                   headers=SOAP_HEADERS)
    assert response.status_code == 200
    ns = {"soapenv": "http://schemas.xmlsoap.org/soap/envelope/", "p": "urn:partner.soap.sforce.com"}
    result = ElementTree.fromstring(response.content).find("soapenv:Body/p:loginResponse/p:result", ns)
    assert result is not None
    org_id = sandbox.org.organization_id
    assert result.findtext("p:serverUrl", namespaces=ns) == f"{sandbox.url}/services/Soap/u/62.0/{org_id[:15]}"
    assert result.findtext("p:metadataServerUrl", namespaces=ns) == \
        f"{sandbox.url}/services/Soap/m/62.0/{org_id[:15]}"
    assert result.findtext("p:passwordExpired", namespaces=ns) == "false"
    assert result.findtext("p:sandbox", namespaces=ns) == "true"
    assert result.findtext("p:userId", namespaces=ns) == admin_id(sandbox)
    assert result.findtext("p:userInfo/p:organizationId", namespaces=ns) == org_id
    assert result.findtext("p:userInfo/p:userName", namespaces=ns) == ADMIN
    assert result.findtext("p:userInfo/p:userEmail", namespaces=ns) == ADMIN
    assert result.findtext("p:userInfo/p:userFullName", namespaces=ns) == "Sandbox Admin"
    session_id = result.findtext("p:sessionId", namespaces=ns)
    assert session_id and api_get(sandbox, session_id).status_code == 200


def test_soap_enterprise_login_uses_enterprise_namespace(shared_sandbox: RunningSandbox) -> None:
    body = soap_login_body(ADMIN, PASSWORD).replace("urn:partner.soap.sforce.com", "urn:enterprise.soap.sforce.com")
    response = shared_sandbox.http().post(f"{shared_sandbox.url}/services/Soap/c/62.0", body, headers=SOAP_HEADERS)
    root = ElementTree.fromstring(response.content)
    server_url = root.findtext(".//{urn:enterprise.soap.sforce.com}serverUrl")
    assert server_url is not None and "/services/Soap/c/62.0/" in server_url


def test_soap_login_failure_is_an_invalid_login_fault(shared_sandbox: RunningSandbox) -> None:
    with pytest.raises(SalesforceAuthenticationFailed) as failure:
        soap_login(f"{shared_sandbox.url}/services/Soap/u/62.0", soap_login_body(ADMIN, "wrong"), SOAP_HEADERS,
                   None, shared_sandbox.http())
    assert failure.value.code == "INVALID_LOGIN"
    assert "Invalid username, password, security token" in failure.value.auth_message


def test_soap_refuses_doctype(shared_sandbox: RunningSandbox) -> None:
    body = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]>' + soap_login_body(ADMIN, PASSWORD).split("?>", 1)[1]
    response = shared_sandbox.http().post(f"{shared_sandbox.url}/services/Soap/u/62.0", body, headers=SOAP_HEADERS)
    assert response.status_code == 500
    assert b"DOCTYPE" in response.content


# -- expiry and persistence ---------------------------------------------------------------------------------

def test_expired_session_raises_salesforce_expired_session(sandbox: RunningSandbox, sf: Salesforce) -> None:
    user_id = admin_id(sandbox)
    assert sf.User.get(user_id)["Username"] == ADMIN
    sandbox.org.clock.advance(sandbox.org.settings.token_ttl_seconds + 1)
    with pytest.raises(SalesforceExpiredSession) as expired:
        sf.User.get(user_id)
    assert expired.value.content == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID",
                                      "fields": []}]


def test_activity_extends_a_session(sandbox: RunningSandbox) -> None:
    _, token = sandbox.login()
    ttl = sandbox.org.settings.token_ttl_seconds
    sandbox.org.clock.advance(ttl * 0.75)
    assert api_get(sandbox, token).status_code == 200
    sandbox.org.clock.advance(ttl * 0.75)
    assert api_get(sandbox, token).status_code == 200
    sandbox.org.clock.advance(ttl + 1)
    assert api_get(sandbox, token).status_code == 401


def test_admin_expire_sessions(sandbox: RunningSandbox) -> None:
    _, token = sandbox.login()
    _, other = sandbox.login("sales.manager@sandbox.example")
    response = sandbox.http().post(f"{sandbox.url}/sandbox/admin/expire-sessions",
                                   headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    for ended in (token, other):
        answer = api_get(sandbox, ended)
        assert answer.status_code == 401
        assert answer.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    _, fresh = sandbox.login()
    assert api_get(sandbox, fresh).status_code == 200


def test_token_ttl_setting_is_configurable() -> None:
    running = start_in_thread(settings=OrgSettings(token_ttl_seconds=60))
    try:
        _, token = running.login()
        running.org.clock.advance(61)
        assert api_get(running, token).status_code == 401
    finally:
        running.stop()


def test_restart_keeps_sessions_with_file_backed_store(tmp_path: Path) -> None:
    data = tmp_path / "org.db"
    first = start_in_thread(data=data)
    try:
        _, token = first.login()
        certificate = Path(first.ca_path).read_bytes()
    finally:
        first.stop()
    second = start_in_thread(data=data)
    try:
        assert Path(second.ca_path) == tmp_path / "org.db.cert.pem"
        assert Path(second.ca_path).read_bytes() == certificate
        assert api_get(second, token).status_code == 200
        assert len(second.org.store.records("User")) == 2  # users are not seeded twice
    finally:
        second.stop()


def test_identity_url_answers_the_token_owner(sandbox: RunningSandbox) -> None:
    response = token_request(sandbox, **password_form())
    body = response.json()
    identity = sandbox.http().get(body["id"], headers={"Authorization": f"Bearer {body['access_token']}"})
    assert identity.status_code == 200
    assert identity.json()["username"] == ADMIN
    other = admin_id(sandbox, "sales.manager@sandbox.example")
    foreign = sandbox.http().get(f"{sandbox.url}/id/{sandbox.org.organization_id}/{other}",
                                 headers={"Authorization": f"Bearer {body['access_token']}"})
    assert foreign.status_code == 403
