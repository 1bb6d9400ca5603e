"""Org-level REST resources: the resources of a version and ``limits``."""

from __future__ import annotations

import math

from salesbridge.sandbox.rest_common import RestAnswer, RestContext

#: Salesforce counts about 2 KB of data storage per record.
RECORD_STORAGE_KB = 2
DEFAULT_DATA_STORAGE_MB = 1024
DEFAULT_FILE_STORAGE_MB = 1024
DAILY_BULK_V2_QUERY_JOBS = 10_000
DAILY_BULK_API_BATCHES = 15_000


def version_resources(ctx: RestContext) -> RestAnswer:
    """``GET /services/data/v62.0/``: the resources this version serves, by name."""
    names = ("sobjects", "query", "queryAll", "composite", "limits")
    body = {name: f"{ctx.base}/{name}" for name in names}
    body["jobs"] = f"{ctx.base}/jobs"
    return RestAnswer(200, body)


def composite_resources(ctx: RestContext) -> RestAnswer:
    """``GET composite``: the composite resources the sandbox serves."""
    return RestAnswer(200, {"sobjects": f"{ctx.base}/composite/sobjects"})


def _data_storage_used_mb(ctx: RestContext) -> int:
    records = sum(ctx.org.store.count(object_def.name) for object_def in ctx.org.schema.objects)
    return math.ceil(records * RECORD_STORAGE_KB / 1024)


def limits(ctx: RestContext) -> RestAnswer:
    """``GET limits/``: Max and Remaining of the org's limits, integers as Salesforce answers them."""
    settings = ctx.org.settings
    usage = ctx.org.api_usage
    storage_max = int(getattr(settings, "data_storage_mb", DEFAULT_DATA_STORAGE_MB))
    file_max = int(getattr(settings, "file_storage_mb", DEFAULT_FILE_STORAGE_MB))

    def limit(maximum: int, used: int = 0) -> dict[str, int]:
        return {"Max": maximum, "Remaining": max(0, maximum - used)}

    return RestAnswer(200, {
        "DailyApiRequests": {"Max": usage.maximum, "Remaining": usage.remaining},
        "DailyBulkApiBatches": limit(DAILY_BULK_API_BATCHES),
        "DailyBulkV2QueryFileStorageMB": limit(976_562),
        "DailyBulkV2QueryJobs": limit(DAILY_BULK_V2_QUERY_JOBS),
        "DataStorageMB": limit(storage_max, _data_storage_used_mb(ctx)),
        "FileStorageMB": limit(file_max),
    })
