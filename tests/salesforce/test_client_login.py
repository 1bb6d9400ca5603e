"""Every login flow against the sandbox over HTTPS, and what a refused login says."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sf_helpers import ADMIN, PASSWORD, SECURITY_TOKEN, password_settings

from salesbridge.salesforce import AuthenticationError, LoginSettings, SalesforceClient, login
from salesbridge.salesforce.auth import instance_url_of, jwt_assertion
from salesbridge.sandbox.org import ConnectedAppSettings
from salesbridge.sandbox.server import RunningSandbox


def _http(sandbox: RunningSandbox) -> requests.Session:
    return sandbox.http()


def _assert_usable(sandbox: RunningSandbox, client: SalesforceClient) -> None:
    """The token works for the REST API and runs as the admin user."""
    users = client.query_all(f"SELECT Username FROM User WHERE Username = '{ADMIN}'")
    assert [user["Username"] for user in users] == [ADMIN]
    assert client.token.instance_url == sandbox.url


def test_password_flow(sandbox: RunningSandbox, make_client: Callable[..., SalesforceClient]) -> None:
    client = make_client(password_settings(sandbox))
    _assert_usable(sandbox, client)
    assert client.logins == 1


def test_password_flow_appends_the_security_token(sandbox: RunningSandbox,
                                                  make_client: Callable[..., SalesforceClient]) -> None:
    client = make_client(password_settings(sandbox, security_token=SECURITY_TOKEN))
    _assert_usable(sandbox, client)


def test_client_credentials_flow(sandbox: RunningSandbox, make_client: Callable[..., SalesforceClient]) -> None:
    settings = LoginSettings(login_url=sandbox.url, flow="client_credentials", client_id="salesbridge",
                             client_secret="salesbridge-secret", verify=sandbox.ca_path)
    _assert_usable(sandbox, make_client(settings))


def test_soap_flow_needs_no_connected_app(sandbox: RunningSandbox,
                                          make_client: Callable[..., SalesforceClient]) -> None:
    settings = LoginSettings(login_url=sandbox.url, flow="soap", username=ADMIN, password=PASSWORD,
                             security_token=SECURITY_TOKEN, verify=sandbox.ca_path)
    _assert_usable(sandbox, make_client(settings))


def test_soap_login_failure_carries_the_exception_code(sandbox: RunningSandbox) -> None:
    settings = LoginSettings(login_url=sandbox.url, flow="soap", username=ADMIN, password="wrong",
                             verify=sandbox.ca_path)
    with pytest.raises(AuthenticationError) as caught:
        login(settings, _http(sandbox))
    assert caught.value.error_code == "INVALID_LOGIN"
    assert "Invalid username, password" in caught.value.message


def test_oauth_failure_carries_error_and_description(sandbox: RunningSandbox) -> None:
    with pytest.raises(AuthenticationError) as caught:
        login(password_settings(sandbox, password="wrong"), _http(sandbox))
    assert (caught.value.error_code, caught.value.message, caught.value.status) == (
        "invalid_grant", "authentication failure", 400)
    with pytest.raises(AuthenticationError) as caught:
        login(password_settings(sandbox, client_id="nobody"), _http(sandbox))
    assert caught.value.error_code == "invalid_client_id"


def test_a_refused_login_surfaces_from_the_first_call(sandbox: RunningSandbox,
                                                      make_client: Callable[..., SalesforceClient]) -> None:
    client = make_client(password_settings(sandbox, client_secret="wrong"))
    with pytest.raises(AuthenticationError) as caught:
        client.query_all("SELECT Id FROM Account")
    assert caught.value.error_code == "invalid_client"
    assert client.api_calls == 0


@pytest.fixture
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _public_pem(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def test_jwt_bearer_flow_with_key_text_and_key_file(sandbox: RunningSandbox, rsa_key: rsa.RSAPrivateKey,
                                                    tmp_path, make_client: Callable[..., SalesforceClient]) -> None:
    sandbox.org.settings.connected_apps.append(
        ConnectedAppSettings("jwt-app", "jwt-secret", certificate=_public_pem(rsa_key)))
    settings = LoginSettings(login_url=sandbox.url, flow="jwt", client_id="jwt-app", username=ADMIN,
                             private_key=_pem(rsa_key), verify=sandbox.ca_path)
    _assert_usable(sandbox, make_client(settings))

    key_file = tmp_path / "server.key"
    key_file.write_text(_pem(rsa_key))
    from_file = LoginSettings(login_url=sandbox.url, flow="jwt", client_id="jwt-app", username=ADMIN,
                              private_key=str(key_file), verify=sandbox.ca_path)
    _assert_usable(sandbox, make_client(from_file))


def test_jwt_signed_with_another_key_is_refused(sandbox: RunningSandbox, rsa_key: rsa.RSAPrivateKey) -> None:
    sandbox.org.settings.connected_apps.append(
        ConnectedAppSettings("jwt-app", "jwt-secret", certificate=_public_pem(rsa_key)))
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    settings = LoginSettings(login_url=sandbox.url, flow="jwt", client_id="jwt-app", username=ADMIN,
                             private_key=_pem(stranger), verify=sandbox.ca_path)
    with pytest.raises(AuthenticationError) as caught:
        login(settings, _http(sandbox))
    assert caught.value.error_code == "invalid_grant"


def test_jwt_assertion_claims(rsa_key: rsa.RSAPrivateKey) -> None:
    import jwt

    settings = LoginSettings(login_url="https://login.salesforce.com/", flow="jwt", client_id="key",
                             username="u@example.com", private_key=_pem(rsa_key))
    claims = jwt.decode(jwt_assertion(settings, now=1_000_000.0), rsa_key.public_key(), algorithms=["RS256"],
                        audience="https://login.salesforce.com", options={"verify_exp": False})
    assert claims == {"iss": "key", "sub": "u@example.com", "aud": "https://login.salesforce.com",
                      "exp": 1_000_180}


def test_refresh_token_flow(sandbox: RunningSandbox, make_client: Callable[..., SalesforceClient]) -> None:
    first = login(password_settings(sandbox, client_id="salesbridge-refresh",
                                    client_secret="salesbridge-refresh-secret"), _http(sandbox))
    assert first.refresh_token
    settings = LoginSettings(login_url=sandbox.url, flow="refresh_token", client_id="salesbridge-refresh",
                             client_secret="salesbridge-refresh-secret", refresh_token=first.refresh_token,
                             verify=sandbox.ca_path)
    client = make_client(settings)
    _assert_usable(sandbox, client)
    assert client.token.access_token != first.access_token
    assert client.token.refresh_token == first.refresh_token


def test_session_flow_uses_the_given_token(sandbox: RunningSandbox,
                                           make_client: Callable[..., SalesforceClient]) -> None:
    instance_url, access_token = sandbox.login()
    settings = LoginSettings(flow="session", access_token=access_token, instance_url=instance_url,
                             verify=sandbox.ca_path)
    _assert_usable(sandbox, make_client(settings))


def test_settings_refuse_missing_credentials_and_hide_secrets() -> None:
    with pytest.raises(ValueError, match="login flow 'jwt' needs username, private_key"):
        LoginSettings(flow="jwt", client_id="key")
    with pytest.raises(ValueError, match="unknown login flow"):
        LoginSettings(flow="magic")  # type: ignore[arg-type]
    settings = LoginSettings(client_id="id", client_secret="s3cret-value", username="u", password="pa55-value",
                             security_token="tok-value")
    shown = repr(settings) + str(settings)
    for secret in ("s3cret-value", "pa55-value", "tok-value"):
        assert secret not in shown
    assert "client_id='id'" in shown and "client_secret='***'" in shown


def test_instance_url_from_soap_server_url() -> None:
    assert instance_url_of("https://na1-api.salesforce.com/services/Soap/u/62.0/00D") == "https://na1.salesforce.com"
    assert instance_url_of("https://my-api-org.my.salesforce.com/services/Soap/u/62.0") == \
        "https://my-api-org.my.salesforce.com"
    assert instance_url_of("https://127.0.0.1:8787/services/Soap/u/62.0/00D") == "https://127.0.0.1:8787"
