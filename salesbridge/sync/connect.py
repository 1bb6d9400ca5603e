"""From configuration to live connections: the Salesforce client for a hub config."""

from __future__ import annotations

from salesbridge.salesforce import LoginSettings, SalesforceClient
from salesbridge.sync.config import HubConfig, SalesforceConnection


def _secret(value) -> str | None:  # noqa: ANN001 - SecretStr | None
    return value.get_secret_value() if value is not None else None


def login_settings(connection: SalesforceConnection) -> LoginSettings:
    return LoginSettings(
        login_url=connection.login_url,
        flow=connection.flow,
        client_id=connection.client_id,
        client_secret=_secret(connection.client_secret),
        username=connection.username,
        password=_secret(connection.password),
        security_token=_secret(connection.security_token),
        private_key=connection.private_key,
        verify=connection.verify,
    )


def salesforce_client(config: HubConfig) -> SalesforceClient:
    connection = config.connections.salesforce
    return SalesforceClient(login_settings(connection), api_version=connection.api_version,
                            bulk_threshold=config.settings.bulk_threshold, budget_share=config.settings.budget_share)
