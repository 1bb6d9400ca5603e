"""The sandbox server process: start and stop, TLS, settings, seeded users, SOAP convertLead, admin endpoints."""

from __future__ import annotations

import ipaddress
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest
import requests
import sqlalchemy
from cryptography import x509
from postgres_support import require_postgres
from simple_salesforce import Salesforce

from salesbridge.sandbox.org import OrgSettings, SettingsError
from salesbridge.sandbox.server import RunningSandbox, build_org, start_in_thread
from salesbridge.sandbox.tls import certificate_paths, ensure_certificate

SOAP_NS = {"soapenv": "http://schemas.xmlsoap.org/soap/envelope/", "p": "urn:partner.soap.sforce.com"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- start, users, fixtures -------------------------------------------------------------------------------

def test_sf_fixture_reads_seeded_users(sandbox: RunningSandbox, sf: Salesforce) -> None:
    for username in ("admin@sandbox.example", "sales.manager@sandbox.example"):
        record = sandbox.org.user_record(username)
        assert record is not None and record["Id"].startswith("005") and len(record["Id"]) == 18
        user = sf.User.get(record["Id"])
        assert user["Username"] == username
        assert user["IsActive"] is True


def test_login_answers_own_https_url(sandbox: RunningSandbox) -> None:
    instance_url, token = sandbox.login()
    assert instance_url == sandbox.url
    assert instance_url.startswith("https://127.0.0.1:")
    assert token.startswith(sandbox.org.organization_id[:15] + "!")


def test_stop_frees_the_server(sandbox: RunningSandbox) -> None:
    running = start_in_thread()
    url = running.url
    running.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/sandbox/admin/health", verify=running.ca_path, timeout=5)


def test_plain_http_when_tls_is_off() -> None:
    running = start_in_thread(tls=False)
    try:
        assert running.url.startswith("http://") and running.ca_path == ""
        assert requests.get(f"{running.url}/sandbox/admin/health", timeout=5).json()["status"] == "ok"
    finally:
        running.stop()


def test_schema_files_add_custom_objects() -> None:
    example = Path(__file__).parents[2] / "salesbridge/sandbox/schema/example_schema.yaml"
    contracts = Path(__file__).parents[2] / "salesbridge/flows/contracts/sandbox_schema.yaml"
    org = build_org(schema_files=[example, contracts])
    try:
        assert org.schema.get("Contract_Request__c") is not None
        assert org.schema.get("Account") is not None  # the standard objects stay
    finally:
        org.store.close()


def test_build_org_refuses_a_schema_without_users() -> None:
    from salesbridge.sandbox.schema import Schema

    with pytest.raises(ValueError, match="User"):
        build_org(schema=Schema([]))


def test_serve_runs_in_the_foreground_and_prints_how_to_trust_it(tmp_path: Path) -> None:
    data = tmp_path / "org.db"
    code = f"from salesbridge.sandbox.server import serve; serve(port=0, data={str(data)!r})"
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        banner = [process.stdout.readline() for _ in range(6)]
        url = banner[0].split()[3]
        assert url.startswith("https://127.0.0.1:")
        cert_path = str(tmp_path / "org.db.cert.pem")
        assert any(f"requests.Session().verify = '{cert_path}'" in line for line in banner)
        assert any(f"REQUESTS_CA_BUNDLE={cert_path}" in line for line in banner)
        assert requests.get(f"{url}/sandbox/admin/health", verify=cert_path, timeout=10).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=20)
    assert data.exists()


# -- TLS --------------------------------------------------------------------------------------------------

def test_tls_verifies_with_the_ca_path_and_fails_without(shared_sandbox: RunningSandbox) -> None:
    health = f"{shared_sandbox.url}/sandbox/admin/health"
    assert requests.get(health, verify=shared_sandbox.ca_path, timeout=10).status_code == 200
    session = requests.Session()
    session.verify = shared_sandbox.ca_path
    assert session.get(health, timeout=10).status_code == 200
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(health, verify=True, timeout=10)


def test_certificate_names_loopback_and_localhost(shared_sandbox: RunningSandbox) -> None:
    certificate = x509.load_pem_x509_certificate(Path(shared_sandbox.ca_path).read_bytes())
    constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.value.ca is True and constraints.critical
    san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    assert ipaddress.ip_address("127.0.0.1") in san.get_values_for_type(x509.IPAddress)
    by_name = f"https://localhost:{shared_sandbox.port}/sandbox/admin/health"
    assert requests.get(by_name, verify=shared_sandbox.ca_path, timeout=10).status_code == 200


def test_certificate_is_kept_beside_the_data_file_and_reused(tmp_path: Path) -> None:
    data = str(tmp_path / "org.db")
    first = ensure_certificate(data)
    assert first.cert_path == tmp_path / "org.db.cert.pem" and first.key_path == tmp_path / "org.db.key.pem"
    content = first.cert_path.read_bytes()
    assert ensure_certificate(data).cert_path.read_bytes() == content
    assert oct(first.key_path.stat().st_mode & 0o777) == "0o600"
    # A host the certificate does not name yet makes a new one that names it.
    ensure_certificate(data, ("sandbox.internal",))
    renewed = x509.load_pem_x509_certificate(first.cert_path.read_bytes())
    san = renewed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "sandbox.internal" in san.get_values_for_type(x509.DNSName)


def test_memory_orgs_share_one_certificate_in_a_temp_dir() -> None:
    paths = certificate_paths(":memory:")
    assert paths == certificate_paths(":memory:")
    assert paths.cert_path.parent.name.startswith("salesbridge-sandbox-")


# -- settings ---------------------------------------------------------------------------------------------

def test_settings_from_yaml(tmp_path: Path) -> None:
    config = tmp_path / "sandbox.yaml"
    config.write_text("""
daily_api_limit: 100
token_ttl_seconds: 600
users:
  - {username: ops@example.com, password: secret, security_token: tok, first_name: Op, last_name: Erator}
connected_apps:
  - {client_id: hub, client_secret: hub-secret, run_as: ops@example.com, issue_refresh_token: true}
faults: {lock_rate: 0.25, seed: 3}
""")
    settings = OrgSettings.from_yaml(config)
    assert (settings.daily_api_limit, settings.token_ttl_seconds) == (100, 600)
    assert settings.user("OPS@example.com").password_matches("secrettok")
    assert settings.connected_app("hub").issue_refresh_token is True
    assert settings.faults.lock_rate == 0.25
    running = start_in_thread(settings=settings)
    try:
        instance_url, _ = running.login("ops@example.com", "secret", "hub", "hub-secret")
        assert instance_url == running.url
        assert running.org.user_record("ops@example.com")["Name"] == "Op Erator"
    finally:
        running.stop()


def test_certificate_file_is_read_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()
    certificate = Path(ensure_certificate(str(tmp_path / "keys" / "app")).cert_path)
    config = tmp_path / "sandbox.yaml"
    config.write_text(f"connected_apps:\n  - {{client_id: jwt, client_secret: s, "
                      f"certificate_file: keys/{certificate.name}}}\n")
    settings = OrgSettings.from_yaml(config)
    assert settings.connected_app("jwt").certificate == certificate.read_text()


@pytest.mark.parametrize(("text", "message"), [
    ("daily_api_limt: 5\n", "unknown setting daily_api_limt"),
    ("users:\n  - {username: a@b.c, pasword: x}\n", "unknown setting users.pasword"),
    ("faults: {error_rate: 3}\n", "error_rate must be a number between 0 and 1"),
    ("- just a list\n", "expected a mapping"),
])
def test_bad_settings_name_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(text)
    with pytest.raises(SettingsError) as error:
        OrgSettings.from_yaml(config)
    assert str(config) in str(error.value)
    assert message in str(error.value)


# -- SOAP convertLead -------------------------------------------------------------------------------------

def convert_envelope(session_id: str, *lead_converts: dict[str, str]) -> str:
    converts = "".join(
        "<urn:leadConverts>" + "".join(f"<urn:{k}>{v}</urn:{k}>" for k, v in convert.items()) + "</urn:leadConverts>"
        for convert in lead_converts)
    return f"""<?xml version="1.0" encoding="utf-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="urn:partner.soap.sforce.com">
  <soapenv:Header><urn:SessionHeader><urn:sessionId>{session_id}</urn:sessionId></urn:SessionHeader></soapenv:Header>
  <soapenv:Body><urn:convertLead>{converts}</urn:convertLead></soapenv:Body>
</soapenv:Envelope>"""


def post_soap(sandbox: RunningSandbox, body: str) -> requests.Response:
    return sandbox.http().post(f"{sandbox.url}/services/Soap/u/62.0/{sandbox.org.organization_id[:15]}", body,
                               headers={"content-type": "text/xml", "SOAPAction": "convertLead"})


def test_soap_convert_lead(sandbox: RunningSandbox, sf: Salesforce) -> None:
    lead_id = sf.Lead.create({"LastName": "Doe", "Company": "Acme"})["id"]
    _, token = sandbox.login()
    used_before = sandbox.org.api_usage.used
    response = post_soap(sandbox, convert_envelope(token, {"leadId": lead_id, "convertedStatus": "Closed - Converted",
                                                           "doNotCreateOpportunity": "false"},
                                                   {"leadId": lead_id, "convertedStatus": "Closed - Converted"}))
    assert response.status_code == 200
    assert sandbox.org.api_usage.used == used_before + 1
    root = ElementTree.fromstring(response.content)
    first, second = root.findall("soapenv:Body/p:convertLeadResponse/p:result", SOAP_NS)
    assert first.findtext("p:success", namespaces=SOAP_NS) == "true"
    assert first.findtext("p:leadId", namespaces=SOAP_NS) == lead_id
    account_id = first.findtext("p:accountId", namespaces=SOAP_NS)
    opportunity_id = first.findtext("p:opportunityId", namespaces=SOAP_NS)
    assert account_id and account_id.startswith("001")
    assert opportunity_id and opportunity_id.startswith("006")
    lead = sf.Lead.get(lead_id)
    assert lead["IsConverted"] is True and lead["ConvertedAccountId"] == account_id
    # Converting the same lead again fails for that lead only, with Salesforce's error shape.
    assert second.findtext("p:success", namespaces=SOAP_NS) == "false"
    assert second.findtext("p:errors/p:statusCode", namespaces=SOAP_NS) == "CANNOT_UPDATE_CONVERTED_LEAD"
    assert second.find("p:accountId", SOAP_NS).get("{http://www.w3.org/2001/XMLSchema-instance}nil") == "true"
    limit = root.find("soapenv:Header/p:LimitInfoHeader/p:limitInfo", SOAP_NS)
    assert limit is not None and limit.findtext("p:type", namespaces=SOAP_NS) == "API REQUESTS"


def test_soap_call_with_a_bad_session_is_a_fault(shared_sandbox: RunningSandbox) -> None:
    response = post_soap(shared_sandbox, convert_envelope("00Dbogus!token", {"leadId": "00Q000000000000"}))
    assert response.status_code == 500
    root = ElementTree.fromstring(response.content)
    assert root.findtext(".//faultcode") == "sf:INVALID_SESSION_ID"
    assert root.findtext(".//{urn:fault.partner.soap.sforce.com}exceptionCode") == "INVALID_SESSION_ID"


def test_unknown_soap_operation(shared_sandbox: RunningSandbox) -> None:
    body = convert_envelope("x").replace("convertLead", "describeEverything")
    response = post_soap(shared_sandbox, body)
    assert response.status_code == 500
    assert "No operation available" in ElementTree.fromstring(response.content).findtext(".//faultstring")


# -- admin endpoints --------------------------------------------------------------------------------------

def test_admin_needs_a_session_except_health(shared_sandbox: RunningSandbox) -> None:
    http = shared_sandbox.http()
    assert http.get(f"{shared_sandbox.url}/sandbox/admin/health").json()["status"] == "ok"
    for method, action in (("GET", "settings"), ("POST", "faults"), ("POST", "reset"), ("POST", "advance-clock")):
        answer = http.request(method, f"{shared_sandbox.url}/sandbox/admin/{action}", json={})
        assert answer.status_code == 401
        assert answer.json()[0]["errorCode"] == "INVALID_SESSION_ID"


def test_admin_reset_keeps_users_and_sessions(sandbox: RunningSandbox, sf: Salesforce) -> None:
    account_id = sf.Account.create({"Name": "Gone soon"})["id"]
    _, token = sandbox.login()
    answer = sandbox.http().post(f"{sandbox.url}/sandbox/admin/reset", headers=bearer(token))
    assert answer.status_code == 200 and answer.json()["deleted_records"] >= 1
    assert sandbox.org.store.get(account_id) is None
    assert sandbox.org.api_usage.used == 0
    assert sf.User.get(sandbox.org.user_record("admin@sandbox.example")["Id"])["IsActive"] is True
    assert sf.Account.create({"Name": "New"})["id"] != account_id  # ids are not reused


def test_admin_advance_clock_moves_record_stamps(sandbox: RunningSandbox, sf: Salesforce) -> None:
    _, token = sandbox.login()
    before = sf.Account.get(sf.Account.create({"Name": "Then"})["id"])["CreatedDate"]
    answer = sandbox.http().post(f"{sandbox.url}/sandbox/admin/advance-clock", json={"seconds": 86400 * 400},
                                 headers=bearer(token))
    assert answer.status_code == 200
    # The session was idle for "400 days": log in again.
    sf2 = Salesforce(instance_url=sandbox.url, session_id=sandbox.login()[1], session=sandbox.http(),
                     version="62.0")
    after = sf2.Account.get(sf2.Account.create({"Name": "Now"})["id"])["CreatedDate"]
    assert int(after[:4]) - int(before[:4]) in (1, 2)
    bad = sandbox.http().post(f"{sandbox.url}/sandbox/admin/advance-clock", json={"seconds": "soon"},
                              headers=bearer(sandbox.login()[1]))
    assert bad.status_code == 400


def test_admin_settings_report_usage_and_refuse_bad_values(sandbox: RunningSandbox) -> None:
    _, token = sandbox.login()
    status = sandbox.http().get(f"{sandbox.url}/sandbox/admin/settings", headers=bearer(token)).json()
    assert status["settings"]["users"] == ["admin@sandbox.example", "sales.manager@sandbox.example"]
    assert "password" not in str(status) and "secret" not in str(status)
    assert status["api_usage"]["maximum"] == 15000
    for bad in ({"token_ttl_seconds": 0}, {"daily_api_limit": "many"}, {"daily_api_limit": True}):
        answer = sandbox.http().post(f"{sandbox.url}/sandbox/admin/settings", json=bad, headers=bearer(token))
        assert answer.status_code == 400, bad
    answer = sandbox.http().post(f"{sandbox.url}/sandbox/admin/settings", json={"token_ttl_seconds": 30},
                                 headers=bearer(token))
    assert answer.json()["settings"]["token_ttl_seconds"] == 30
    sandbox.org.clock.advance(31)
    assert sandbox.http().get(f"{sandbox.url}/sandbox/admin/settings", headers=bearer(token)).status_code == 401


# -- fixtures ---------------------------------------------------------------------------------------------

@pytest.mark.postgres
def test_postgres_url_fixture_connects(postgres_url: str) -> None:
    engine = sqlalchemy.create_engine(postgres_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(sqlalchemy.text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


def test_unreachable_postgres_fails_instead_of_skipping() -> None:
    with pytest.raises(pytest.fail.Exception, match="PostgreSQL is required"):
        require_postgres("postgresql+psycopg://postgres@127.0.0.1:1/test")
