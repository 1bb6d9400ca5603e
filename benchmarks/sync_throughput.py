"""What a sync costs at scale: wall time, records/s and Salesforce API calls of the hub's real code path
(``Hub(config).sync()``), against the fewest calls Salesforce allows and a naive one-call-per-record loop.

Every scenario gets a fresh sandbox org (HTTPS on a loopback port, in this process, with the example schema's
``Hub_Id__c`` external ids) and a fresh SQLite app database:

1. app -> Salesforce initial load of N rows (a one-way ``to_salesforce`` flow): Bulk API 2.0 above the bulk
   threshold (default 2,000), sObject Collections (200 a call) below it; for N up to ``--collections-max`` the
   load is also run collections-only (threshold above N);
2. Salesforce -> app initial load of N records (a ``from_salesforce`` flow): query pages of 2,000;
3. after each load, a poll with nothing changed: one query per flow that reads Salesforce, none for a flow
   that only writes to it;
4. the same jobs done naively with simple-salesforce: ``sf.Account.create(...)`` per row, or
   ``sf.Account.get(id)`` per record. Above ``--naive-max`` a sample of ``--naive-sample`` records is run and
   the time extrapolated (marked ``~``); the calls are exact (one per record).

Calls are the hub client's own count (``SalesforceClient.api_calls``); the org's count (what it reports in
``Sforce-Limit-Info``) is checked against it. Logins are not API calls.

    .venv/bin/python benchmarks/sync_throughput.py [--sizes 10000,100000] [--quick] [--store memory|file]

Numbers depend on the machine; compare runs on the same one.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
from rich.console import Console
from rich.table import Table
from simple_salesforce import Salesforce

from salesbridge.demo import demo_schema_file
from salesbridge.salesforce import SalesforceClient
from salesbridge.sandbox.org import OrgSettings
from salesbridge.sandbox.server import RunningSandbox, start_in_thread
from salesbridge.sync.config import HubConfig, SyncSettings, parse_config
from salesbridge.sync.connect import login_settings
from salesbridge.sync.runs import Hub, RunReport

OBJECT = "Account"
TABLE = "accounts"
FIELDS = {"Name": "name", "Website": "website", "Industry": "industry", "Phone": "phone"}
COLLECTION_SIZE = 200
PAGE_SIZE = 2000
#: One Bulk API 2.0 job at the least: create, upload, close (UploadComplete), one status check, results.
BULK_JOB_CALLS = 5
DEFAULT_BULK_THRESHOLD = SyncSettings().bulk_threshold
DEFAULT_SIZES = (10_000, 100_000)
QUICK_SIZES = (500, 3_000)
#: The naive loops make one call per record: room for them beside the default 15,000 a day.
NAIVE_DAILY_LIMIT = 10_000_000
#: requests lets these override ``Session.verify``: a session would stop trusting the sandbox's certificate.
_CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
APP_SCHEMA = f"""CREATE TABLE {TABLE} (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    website TEXT,
    industry TEXT,
    phone TEXT,
    sf_id TEXT
)"""
INDUSTRIES = ("Retail", "Technology", "Healthcare", "Manufacturing", "Energy")


# -- results -------------------------------------------------------------------------------------------------
@dataclass
class Naive:
    """The naive loop's cost for ``size`` records, measured on ``sample`` of them."""

    size: int
    sample: int
    calls: int
    seconds: float

    @property
    def extrapolated(self) -> bool:
        return self.sample < self.size


@dataclass
class Measurement:
    """One row of the table: what the hub did, what the floor is, what the naive loop would cost."""

    scenario: str
    size: int
    path: str
    seconds: float
    api_calls: int
    floor: int
    org_calls: int
    moved: int
    naive: Naive | None = None

    @property
    def records_per_second(self) -> float | None:
        return self.moved / self.seconds if self.moved and self.seconds > 0 else None

    @property
    def counts_agree(self) -> bool:
        return self.api_calls == self.org_calls


def collections_floor(size: int) -> int:
    return math.ceil(size / COLLECTION_SIZE)


def query_floor(size: int) -> int:
    """A query answers at least one page, even an empty one."""
    return max(1, math.ceil(size / PAGE_SIZE))


# -- environment ---------------------------------------------------------------------------------------------
@contextmanager
def fresh_org(workdir: Path, store: str, settings: OrgSettings | None = None) -> Iterator[RunningSandbox]:
    """A new sandbox org for one scenario, stopped afterwards; ``store`` is ``memory`` or ``file``."""
    data = ":memory:" if store == "memory" else str(Path(tempfile.mkdtemp(dir=workdir)) / "sandbox.db")
    running = start_in_thread(data=data, schema_files=(demo_schema_file(),), settings=settings)
    try:
        yield running
    finally:
        running.stop()


def app_row(index: int) -> tuple[str, str, str, str]:
    return (f"Benchmark Account {index:06d}", f"https://account{index}.example",
            INDUSTRIES[index % len(INDUSTRIES)], f"+1 555 {index % 10_000:04d}")


def app_database(workdir: Path, rows: int) -> str:
    """A new SQLite app database with ``rows`` accounts (created before the hub sees it: existing data)."""
    path = Path(tempfile.mkdtemp(dir=workdir)) / "app.db"
    with sqlite3.connect(path) as connection:
        connection.execute(APP_SCHEMA)
        connection.executemany(f"INSERT INTO {TABLE} (name, website, industry, phone) VALUES (?, ?, ?, ?)",
                               (app_row(index) for index in range(rows)))
    connection.close()
    return f"sqlite:///{path}"


def seed_salesforce(org: RunningSandbox, size: int) -> None:
    """Put ``size`` accounts in the org through its write path, in-process (no API calls to count)."""
    user_id = org.org.user_record("admin@sandbox.example")["Id"]
    with org.org.store.transaction():
        for index in range(size):
            name, website, industry, phone = app_row(index)
            org.org.records.create(OBJECT, {"Name": name, "Website": website, "Industry": industry,
                                            "Phone": phone}, user_id)


def hub_config(org: RunningSandbox, app_url: str, direction: str, bulk_threshold: int) -> HubConfig:
    key = {"salesforce_id_column": "sf_id"}
    if direction == "to_salesforce":
        key["external_id"] = "Hub_Id__c"  # creates go through upsert: a retried load cannot duplicate
    return parse_config({
        "connections": {
            "salesforce": {"login_url": org.url, "client_id": "salesbridge",
                           "client_secret": "salesbridge-secret", "username": "admin@sandbox.example",
                           "password": "sandbox-pass", "verify": str(org.ca_path)},
            "app": {"url": app_url},
        },
        "settings": {"bulk_threshold": bulk_threshold},
        "flows": [{"name": TABLE, "salesforce": OBJECT, "table": TABLE, "direction": direction, "key": key,
                   "fields": FIELDS}],
    }, "sync_throughput.yaml")


@contextmanager
def open_hub(config: HubConfig, bulk_poll_interval: float | None = None) -> Iterator[Hub]:
    """The hub as ``salesbridge sync`` builds it; ``bulk_poll_interval`` only changes how often a Bulk job's
    state is checked (tests set it so that a small job is finished at the first check)."""
    client = None
    if bulk_poll_interval is not None:
        client = SalesforceClient(login_settings(config.connections.salesforce),
                                  api_version=config.connections.salesforce.api_version,
                                  bulk_threshold=config.settings.bulk_threshold,
                                  budget_share=config.settings.budget_share,
                                  bulk_poll_interval=bulk_poll_interval)
    hub = Hub(config, client=client)
    try:
        hub.client.login()  # logins are not API calls; keep the first one out of the timings
        yield hub
    finally:
        hub.client.close()
        hub.engine.dispose()


def timed_sync(hub: Hub, org: RunningSandbox) -> tuple[RunReport, float, int]:
    """One ``hub.sync()``: its report, wall seconds, and the calls the org counted meanwhile."""
    before = org.org.api_usage.used
    started = time.perf_counter()
    report = hub.sync()
    seconds = time.perf_counter() - started
    if report.status != "succeeded":
        raise RuntimeError(f"sync {report.status}: {report.errors or f'{report.failed} records failed'}")
    return report, seconds, org.org.api_usage.used - before


# -- hub scenarios -------------------------------------------------------------------------------------------
def load_to_salesforce(size: int, workdir: Path, store: str, bulk_threshold: int = DEFAULT_BULK_THRESHOLD,
                       bulk_poll_interval: float | None = None) -> list[Measurement]:
    """App -> Salesforce initial load of ``size`` rows, then a poll with nothing changed."""
    bulk = size > bulk_threshold
    path, floor = ("bulk (1 job)", BULK_JOB_CALLS) if bulk else ("collections", collections_floor(size))
    with fresh_org(workdir, store) as org:
        config = hub_config(org, app_database(workdir, size), "to_salesforce", bulk_threshold)
        with open_hub(config, bulk_poll_interval) as hub:
            report, seconds, org_calls = timed_sync(hub, org)
            written = report.results[0].written_to_salesforce
            in_org = len(org.org.store.records(OBJECT))
            if written != size or in_org != size:
                raise RuntimeError(f"load to Salesforce wrote {written} records, the org holds {in_org}; "
                                   f"expected {size}")
            load = Measurement("app -> SF initial load", size, path, seconds, report.api_calls, floor,
                               org_calls, written)
            poll_report, poll_seconds, poll_org_calls = timed_sync(hub, org)
            poll = Measurement("no-change poll, to_salesforce flow", size, "none",
                               poll_seconds, poll_report.api_calls, 0, poll_org_calls, 0)
    return [load, poll]


def load_from_salesforce(size: int, workdir: Path, store: str) -> list[Measurement]:
    """Salesforce -> app initial load of ``size`` records, then a poll with nothing changed."""
    with fresh_org(workdir, store) as org:
        seed_salesforce(org, size)
        config = hub_config(org, app_database(workdir, 0), "from_salesforce", DEFAULT_BULK_THRESHOLD)
        with open_hub(config) as hub:
            report, seconds, org_calls = timed_sync(hub, org)
            written = report.results[0].written_to_app
            if written != size:
                raise RuntimeError(f"load from Salesforce wrote {written} rows; expected {size}")
            load = Measurement("SF -> app initial load", size, "query", seconds, report.api_calls,
                               query_floor(size), org_calls, written)
            poll_report, poll_seconds, poll_org_calls = timed_sync(hub, org)
            reread = poll_report.results[0].records_read
            poll = Measurement("no-change poll, from_salesforce flow", size, f"query ({reread:,} re-read)",
                               poll_seconds, poll_report.api_calls, 1, poll_org_calls, 0)
    return [load, poll]


# -- naive baselines -----------------------------------------------------------------------------------------
def naive_client(org: RunningSandbox) -> Salesforce:
    """simple-salesforce as a hand-written integration would use it."""
    instance_url, token = org.login()
    session = requests.Session()
    session.verify = org.ca_path
    return Salesforce(instance_url=instance_url, session_id=token, session=session, version="62.0")


def naive_create(size: int, workdir: Path, store: str, sample: int) -> Naive:
    """Read each app row, ``sf.Account.create`` it, store the new Id back in the row: one call per record."""
    with fresh_org(workdir, store, OrgSettings(daily_api_limit=NAIVE_DAILY_LIMIT)) as org:
        sf = naive_client(org)
        app_path = app_database(workdir, sample).removeprefix("sqlite:///")
        before = org.org.api_usage.used
        started = time.perf_counter()
        with sqlite3.connect(app_path) as connection:
            rows = connection.execute(f"SELECT id, name, website, industry, phone FROM {TABLE}").fetchall()
            for row_id, name, website, industry, phone in rows:
                created = sf.Account.create({"Name": name, "Website": website, "Industry": industry,
                                             "Phone": phone, "Hub_Id__c": str(row_id)})
                connection.execute(f"UPDATE {TABLE} SET sf_id = ? WHERE id = ?", (created["id"], row_id))
        seconds = time.perf_counter() - started
        connection.close()
        calls = org.org.api_usage.used - before
    return _scaled(size, sample, calls, seconds, lambda records: records)


def naive_read(size: int, workdir: Path, store: str, sample: int) -> Naive:
    """List the Ids, then ``sf.Account.get(id)`` each record and insert it in the app: a call per record."""
    with fresh_org(workdir, store, OrgSettings(daily_api_limit=NAIVE_DAILY_LIMIT)) as org:
        seed_salesforce(org, sample)
        sf = naive_client(org)
        app_path = app_database(workdir, 0).removeprefix("sqlite:///")
        before = org.org.api_usage.used
        started = time.perf_counter()
        with sqlite3.connect(app_path) as connection:
            for listed in sf.query_all_iter(f"SELECT Id FROM {OBJECT}"):
                record = sf.Account.get(listed["Id"])
                values = tuple(record[name] for name in ("Name", "Website", "Industry", "Phone", "Id"))
                connection.execute(f"INSERT INTO {TABLE} (name, website, industry, phone, sf_id) "
                                   "VALUES (?, ?, ?, ?, ?)", values)
        seconds = time.perf_counter() - started
        connection.close()
        calls = org.org.api_usage.used - before
    return _scaled(size, sample, calls, seconds, lambda records: query_floor(records) + records)


def _scaled(size: int, sample: int, calls: int, seconds: float, calls_for: Callable[[int], int]) -> Naive:
    """The sample's time scaled to ``size``, and the loop's exact call count for ``size`` records
    (``calls_for``), checked against what the org counted for the sample."""
    if calls != calls_for(sample):
        raise RuntimeError(f"naive loop: {calls} calls for {sample} records, expected {calls_for(sample)}")
    return Naive(size, sample, calls_for(size), seconds * size / sample)


# -- the run -------------------------------------------------------------------------------------------------
def run(sizes: list[int], workdir: Path, *, store: str = "memory", collections_max: int = 10_000,
        naive_max: int = 10_000, naive_sample: int = 2_000,
        announce: Callable[[str], None] = lambda _message: None) -> list[Measurement]:
    """Every scenario at every size, in table order."""
    rows: list[Measurement] = []
    for size in sizes:
        sample = size if size <= naive_max else min(naive_sample, size)
        announce(f"N={size:,}: naive sf.Account.create loop over {sample:,} records")
        naive_writes = naive_create(size, workdir, store, sample)
        announce(f"N={size:,}: app -> Salesforce load (bulk threshold {DEFAULT_BULK_THRESHOLD:,})")
        to_sf = load_to_salesforce(size, workdir, store)
        to_sf[0].naive = naive_writes
        rows += to_sf
        if size <= collections_max:
            announce(f"N={size:,}: app -> Salesforce load, collections only")
            collections = load_to_salesforce(size, workdir, store, bulk_threshold=size + 1)[0]
            collections.scenario += ", collections only"
            collections.naive = naive_writes
            rows.append(collections)
        announce(f"N={size:,}: naive sf.Account.get loop over {sample:,} records")
        naive_reads = naive_read(size, workdir, store, sample)
        announce(f"N={size:,}: Salesforce -> app load")
        from_sf = load_from_salesforce(size, workdir, store)
        from_sf[0].naive = naive_reads
        rows += from_sf
    return rows


def render(rows: list[Measurement]) -> Table:
    table = Table(title="salesbridge sync throughput: Hub(config).sync() against the sandbox")
    for column, justify in (("scenario", "left"), ("N", "right"), ("path", "left"), ("wall s", "right"),
                            ("records/s", "right"), ("API calls", "right"), ("floor", "right"),
                            ("naive calls", "right"), ("naive wall s", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        rate = row.records_per_second
        calls = f"{row.api_calls:,}" if row.api_calls <= row.floor else f"[yellow]{row.api_calls:,}[/yellow]"
        naive_calls = naive_seconds = "-"
        if row.naive is not None:
            mark = "~" if row.naive.extrapolated else ""
            naive_calls = f"{row.naive.calls:,}"
            naive_seconds = f"{mark}{row.naive.seconds:,.1f}"
        table.add_row(row.scenario, f"{row.size:,}", row.path, f"{row.seconds:,.2f}",
                      f"{rate:,.0f}" if rate else "-", calls, f"{row.floor:,}", naive_calls, naive_seconds)
    return table


def notes(rows: list[Measurement], naive_sample: int) -> list[str]:
    lines = []
    disagreeing = [row for row in rows if not row.counts_agree]
    if disagreeing:
        lines += [f"[red]org counted {row.org_calls} calls, the client {row.api_calls}: {row.scenario} "
                  f"N={row.size:,}[/red]" for row in disagreeing]
    else:
        lines.append("The org's own count (Sforce-Limit-Info) equals the client's on every row.")
    lines += [
        f"floor: collections ceil(N/{COLLECTION_SIZE}); Bulk API 2.0 {BULK_JOB_CALLS} calls a job (create, "
        "upload, close, one status check, results; each further status check while the job runs is one more "
        "call); "
        f"query ceil(N/{PAGE_SIZE}); no-change poll 1 query per flow that reads Salesforce.",
        "naive: sf.Account.create per row (writes), SELECT Id pages + sf.Account.get per record (reads); "
        f"'~' = time extrapolated from a sample of {naive_sample:,} records, calls exact.",
        "Calls above the floor are yellow.",
    ]
    return lines


def parse_sizes(text: str) -> list[int]:
    sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    if not sizes or any(size <= 0 for size in sizes):
        raise argparse.ArgumentTypeError("sizes are positive whole numbers, comma separated")
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=parse_sizes, default=list(DEFAULT_SIZES),
                        help="record counts, comma separated (default 10000,100000)")
    parser.add_argument("--quick", action="store_true", help=f"a fast check at {QUICK_SIZES} records")
    parser.add_argument("--store", choices=("memory", "file"), default="memory",
                        help="the sandbox's SQLite store: in memory or a file in the work directory")
    parser.add_argument("--collections-max", type=int, default=10_000,
                        help="also run a collections-only load for sizes up to this")
    parser.add_argument("--naive-max", type=int, default=10_000,
                        help="run the naive loops on every record up to this size, on a sample above it")
    parser.add_argument("--naive-sample", type=int, default=2_000, help="records in the naive loops' sample")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (databases) afterwards")
    options = parser.parse_args()
    for name in _CA_BUNDLE_VARIABLES:
        os.environ.pop(name, None)

    console = Console()
    if not console.is_terminal:
        console = Console(width=150)  # a table printed to a file or pipe stays one line a row
    sizes = list(QUICK_SIZES) if options.quick else options.sizes
    workdir = Path(tempfile.mkdtemp(prefix="salesbridge-sync-bench-"))
    try:
        started, load_before = time.perf_counter(), os.getloadavg()[0]
        rows = run(sizes, workdir, store=options.store, collections_max=options.collections_max,
                   naive_max=options.naive_max, naive_sample=options.naive_sample,
                   announce=lambda message: console.log(message))
        console.print(render(rows))
        for line in notes(rows, options.naive_sample):
            console.print(line)
        console.print(f"total {time.perf_counter() - started:,.0f} s; sandbox store: {options.store}; "
                      f"load average {load_before:.1f} at start, {os.getloadavg()[0]:.1f} at end, "
                      f"{os.cpu_count()} CPUs")
    finally:
        if options.keep:
            console.print(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
