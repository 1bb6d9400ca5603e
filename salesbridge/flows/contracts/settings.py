"""The ``contracts:`` section of salesbridge.yaml: what the contract request flow needs beyond its flow.

Kept free of other salesbridge imports: ``salesbridge.sync.config`` imports it into the one config tree.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

#: Salesforce's limit for a file sent base64-encoded in a JSON (non-multipart) request: 37.5 MB of file, which
#: is 50 MB of request text. The hub sends documents back that way (signed copies), so it keeps no file it could
#: not send back: a larger submitted file is a FILE_TOO_LARGE record error.
SALESFORCE_JSON_BLOB_LIMIT = 39_321_600


class ContractsConfig(BaseModel):
    """``flow``: the name of the Contract_Request__c flow (see the recipe); ``max_file_bytes``: the largest
    contract file the hub downloads and keeps; ``signature_webhook``: the URL told (POST, JSON) when a request
    goes Out for Signature; ``webhook_timeout_seconds``: how long that POST may take."""

    model_config = ConfigDict(extra="forbid")

    flow: str = Field(default="contracts", min_length=1)
    max_file_bytes: int = Field(default=SALESFORCE_JSON_BLOB_LIMIT, ge=1, le=SALESFORCE_JSON_BLOB_LIMIT)
    signature_webhook: str | None = Field(default=None, pattern=r"^https?://\S+$")
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
