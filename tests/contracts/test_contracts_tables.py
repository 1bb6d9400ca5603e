"""What the contracts flow adds below it: migration 0006 (tables as the registry describes them, undone by a
downgrade), the sandbox schema file, and the client's file download (``SalesforceClient.version_data``)."""

from __future__ import annotations

import base64

import pytest
from alembic import command
from sqlalchemy import inspect

from salesbridge.demo import demo_schema_file  # noqa: E402
from salesbridge.flows.contracts.recipe import sandbox_schema_file
from salesbridge.flows.contracts.registry import metadata
from salesbridge.salesforce import LoginSettings, SalesforceClient, SalesforceError
from salesbridge.sandbox.server import RunningSandbox, start_in_thread
from salesbridge.store.db import alembic_config, migrate, open_store

CONTRACT_TABLES = {"sb_company_profiles", "sb_contract_requests", "sb_contract_profiles", "sb_contract_documents"}


def test_migration_makes_the_tables_the_registry_describes_and_downgrade_removes_them(app_url: str):
    engine = open_store(app_url)
    try:
        migrate(engine)
        found = inspect(engine)
        assert set(found.get_table_names()) >= CONTRACT_TABLES
        for table in metadata.sorted_tables:
            assert {c["name"] for c in found.get_columns(table.name)} == {c.name for c in table.columns}, table.name
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "0005")
        assert not CONTRACT_TABLES & set(inspect(engine).get_table_names())
        migrate(engine)
        assert set(inspect(engine).get_table_names()) >= CONTRACT_TABLES
    finally:
        engine.dispose()


def test_schema_declares_the_request_with_lookups_and_the_status_picklist(contracts_org: RunningSandbox):
    request = contracts_org.org.schema.get("Contract_Request__c")
    assert request.field("Opportunity__c").reference_to == ["Opportunity"]
    assert request.field("Account__c").reference_to == ["Account"]
    assert request.field("Status__c").picklist_values == ["Draft", "Submitted", "In Review", "Approved", "Rejected",
                                                          "Out for Signature", "Signed", "Withdrawn"]
    assert "Contract_Request__c" in contracts_org.org.schema.get("ContentDocumentLink").field(
        "LinkedEntityId").reference_to


def test_the_schema_loads_beside_every_other_flows_schema():
    """One org can serve every ready-made flow: the example ids, deals, contracts (this file declares
    Contract_Request__c; nothing else does)."""
    from salesbridge.flows.deals.recipe import sandbox_schema_file as deals_schema_file

    running = start_in_thread(schema_files=(demo_schema_file(), deals_schema_file(), sandbox_schema_file()))
    try:
        assert running.org.schema.get("Contract_Request__c").field("Hub_Id__c").external_id
        assert running.org.schema.get("Opportunity").field("Sync_with_Hub__c") is not None
    finally:
        running.stop()


def test_version_data_downloads_the_bytes_in_one_call(contracts_org: RunningSandbox):
    client = SalesforceClient(LoginSettings(
        login_url=contracts_org.url, flow="password", client_id="salesbridge", client_secret="salesbridge-secret",
        username="admin@sandbox.example", password="sandbox-pass", verify=str(contracts_org.ca_path)))
    try:
        data = bytes(range(256)) * 3
        (version,) = client.create("ContentVersion", [{"PathOnClient": "a.bin",
                                                       "VersionData": base64.b64encode(data).decode()}])
        client.reset_counter()
        assert client.version_data(version.id) == data
        assert client.api_calls == 1
        with pytest.raises(SalesforceError) as missing:
            client.version_data("068" + "0" * 12)
        assert missing.value.error_code == "NOT_FOUND"
    finally:
        client.close()
