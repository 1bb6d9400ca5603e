"""Talking to a Salesforce org (real or the sandbox): login, counted and guarded calls, paged reads, batched
writes (sObject Collections, Bulk API 2.0) and lead conversion.

    from salesbridge.salesforce import LoginSettings, SalesforceClient

    client = SalesforceClient(LoginSettings(login_url=..., flow="client_credentials", client_id=...,
                                            client_secret=...), budget_share=0.9)
    for page in client.query("SELECT Id, Name FROM Account"):
        ...
    results = client.upsert("Contact", "External_Id__c", rows)
"""

from salesbridge.salesforce.auth import LoginSettings, Token, login
from salesbridge.salesforce.client import SalesforceClient
from salesbridge.salesforce.errors import (
    ApiLimitExceeded,
    AuthenticationError,
    BudgetExhausted,
    SalesforceError,
    SessionExpiredError,
    TransientError,
)
from salesbridge.salesforce.results import DeletedRecord, DeletedRecords, UpdatedIds, WriteResult
from salesbridge.salesforce.retry import DEFAULT_RETRY, RetryPolicy
from salesbridge.salesforce.soql import quote as soql_quote

__all__ = [
    "DEFAULT_RETRY",
    "ApiLimitExceeded",
    "AuthenticationError",
    "BudgetExhausted",
    "DeletedRecord",
    "DeletedRecords",
    "LoginSettings",
    "RetryPolicy",
    "SalesforceClient",
    "SalesforceError",
    "SessionExpiredError",
    "Token",
    "TransientError",
    "UpdatedIds",
    "WriteResult",
    "login",
    "soql_quote",
]
