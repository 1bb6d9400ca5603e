"""``query`` and ``queryAll`` with ``nextRecordsUrl`` paging.

The query is evaluated once; its records are kept in a cursor (``cursors.py``) and served a page at a time, so
that reading 100,000 records costs one evaluation, not one per page. Pages hold 2,000 records unless the client
asks for another size with ``Sforce-Query-Options: batchSize=N`` (200 to 2,000; Salesforce treats the size as a
hint and so does the sandbox, clamping it into that range).
"""

from __future__ import annotations

from salesbridge.sandbox.cursors import QueryCursor, cursor_store, invalid_locator, split_locator
from salesbridge.sandbox.errors import SandboxApiError
from salesbridge.sandbox.files import check_link_query
from salesbridge.sandbox.rest_common import RestAnswer, RestContext
from salesbridge.sandbox.soql import execute, parse

DEFAULT_BATCH_SIZE = 2000
MIN_BATCH_SIZE = 200
MAX_BATCH_SIZE = 2000


def batch_size(ctx: RestContext) -> int:
    """The page size asked for in ``Sforce-Query-Options``, clamped to 200..2000; 2,000 by default."""
    options = ctx.header("Sforce-Query-Options") or ""
    for option in options.split(","):
        name, _, value = option.partition("=")
        if name.strip().lower() == "batchsize" and value.strip().isdigit():
            return max(MIN_BATCH_SIZE, min(MAX_BATCH_SIZE, int(value.strip())))
    return DEFAULT_BATCH_SIZE


def _page_answer(ctx: RestContext, cursor: QueryCursor, offset: int) -> RestAnswer:
    records, next_offset = cursor.page(offset)
    body: dict = {"totalSize": cursor.total_size, "done": next_offset is None}
    if next_offset is not None:
        body["nextRecordsUrl"] = f"{ctx.base}/{cursor.resource}/{cursor.cursor_id}-{next_offset}"
    body["records"] = records
    return RestAnswer(200, body)


def _run(ctx: RestContext, resource: str, include_deleted: bool) -> RestAnswer:
    text = ctx.query.get("q")
    if text is None or not text.strip():
        raise SandboxApiError("MALFORMED_QUERY", "A query string has to be specified")
    check_link_query(parse(text))
    result = execute(text, ctx.org.schema, ctx.org.store, include_deleted=include_deleted,
                     api_version=ctx.version, now=ctx.org.clock.now())
    size = batch_size(ctx)
    records = list(result.records)
    if len(records) <= size:
        return RestAnswer(200, {"totalSize": result.total_size, "done": True, "records": records})
    cursor = cursor_store(ctx.org).open(ctx.user_id, resource, records, result.total_size, size)
    return _page_answer(ctx, cursor, 0)


def query(ctx: RestContext) -> RestAnswer:
    return _run(ctx, "query", include_deleted=False)


def query_all(ctx: RestContext) -> RestAnswer:
    """Like ``query`` but deleted (``IsDeleted = true``) records are included, as queryAll documents."""
    return _run(ctx, "queryAll", include_deleted=True)


def next_page(ctx: RestContext, locator: str) -> RestAnswer:
    """``query/<cursor>-<offset>``: the page at that offset of a kept result."""
    cursor_id, offset = split_locator(locator)
    cursor = cursor_store(ctx.org).get(cursor_id, ctx.user_id)
    if cursor is None or offset >= max(len(cursor.records), 1):
        raise invalid_locator(locator)
    return _page_answer(ctx, cursor, offset)
