"""How fast the sandbox's REST API answers: single-record reads, 200-record collection writes, 2,000-record pages.

Starts a sandbox in this process (HTTPS on a loopback port, in-memory org), drives it over HTTP with one
keep-alive ``requests`` session, as an integration would, and prints a table of requests per second.

    .venv/bin/python benchmarks/sandbox_throughput.py [--seconds 5] [--query-records 20000] [--no-tls]

Numbers depend on the machine; compare runs on the same one. Each scenario runs for about ``--seconds``.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests
from rich.console import Console
from rich.table import Table

from salesbridge.sandbox.server import RunningSandbox, start_in_thread

API = "/services/data/v62.0"
COLLECTION_SIZE = 200
PAGE_SIZE = 2000
#: requests lets these override ``Session.verify``, which would stop the session trusting the sandbox's certificate.
_CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


@dataclass
class Measurement:
    scenario: str
    requests: int
    records: int
    seconds: float

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def records_per_second(self) -> float:
        return self.records / self.seconds


def timed(scenario: str, seconds: float, step: Callable[[], tuple[int, int]]) -> Measurement:
    """Repeat ``step`` (answering requests and records it handled) for about ``seconds``."""
    step()  # warm-up: imports, connection, TLS handshake
    total_requests = total_records = 0
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        done_requests, done_records = step()
        total_requests += done_requests
        total_records += done_records
    return Measurement(scenario, total_requests, total_records, elapsed)


def checked(answer: requests.Response) -> requests.Response:
    if answer.status_code >= 300:
        raise RuntimeError(f"{answer.request.method} {answer.url} -> {answer.status_code}: {answer.text[:300]}")
    return answer


def api_session(sandbox: RunningSandbox) -> requests.Session:
    _, token = sandbox.login()
    session = sandbox.http()
    session.headers.update({"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    return session


def single_reads(sandbox: RunningSandbox, session: requests.Session, seconds: float) -> Measurement:
    record_id = checked(session.post(f"{sandbox.url}{API}/sobjects/Account/", json={"Name": "Read me"})).json()["id"]
    url = f"{sandbox.url}{API}/sobjects/Account/{record_id}"

    def read() -> tuple[int, int]:
        checked(session.get(url))
        return 1, 1

    return timed("single-record read (GET sobjects/Account/<id>)", seconds, read)


def collection_writes(sandbox: RunningSandbox, session: requests.Session, seconds: float) -> Measurement:
    url = f"{sandbox.url}{API}/composite/sobjects"
    counter = iter(range(10**9))

    def write() -> tuple[int, int]:
        batch = next(counter)
        records = [{"attributes": {"type": "Contact"}, "LastName": f"Bench {batch}-{index}"}
                   for index in range(COLLECTION_SIZE)]
        results = checked(session.post(url, json={"allOrNone": False, "records": records})).json()
        if not all(result["success"] for result in results):
            raise RuntimeError(f"collection write failed: {results[0]}")
        return 1, COLLECTION_SIZE

    return timed(f"{COLLECTION_SIZE}-record collection write (POST composite/sobjects)", seconds, write)


def query_pages(sandbox: RunningSandbox, session: requests.Session, seconds: float, records: int) -> Measurement:
    org = sandbox.org
    user_id = org.user_record("admin@sandbox.example")["Id"]
    for index in range(records):
        org.records.create("Account", {"Name": f"Paged {index:06d}"}, user_id)
    first_url = f"{sandbox.url}{API}/query/"
    query = {"q": "SELECT Id, Name, CreatedDate FROM Account"}

    def read_all_pages() -> tuple[int, int]:
        page = checked(session.get(first_url, params=query)).json()
        pages, rows = 1, len(page["records"])
        while not page["done"]:
            page = checked(session.get(sandbox.url + page["nextRecordsUrl"])).json()
            pages += 1
            rows += len(page["records"])
        return pages, rows

    return timed(f"{PAGE_SIZE}-record query page (query + nextRecordsUrl, {records:,} records)", seconds,
                 read_all_pages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="time spent on each scenario")
    parser.add_argument("--query-records", type=int, default=20_000, help="records the query scenario pages over")
    parser.add_argument("--no-tls", action="store_true", help="serve plain HTTP (shows what TLS costs)")
    options = parser.parse_args()
    for name in _CA_BUNDLE_VARIABLES:
        os.environ.pop(name, None)

    console = Console()
    sandbox = start_in_thread(tls=not options.no_tls)
    try:
        session = api_session(sandbox)
        console.print(f"sandbox at {sandbox.url}; {options.seconds:g} s per scenario")
        measurements = [
            single_reads(sandbox, session, options.seconds),
            collection_writes(sandbox, session, options.seconds),
            query_pages(sandbox, session, options.seconds, options.query_records),
        ]
    finally:
        sandbox.stop()

    table = Table(title="salesbridge sandbox REST throughput (one client, keep-alive)")
    table.add_column("scenario")
    table.add_column("requests", justify="right")
    table.add_column("requests/s", justify="right")
    table.add_column("records/s", justify="right")
    table.add_column("ms/request", justify="right")
    for item in measurements:
        table.add_row(item.scenario, f"{item.requests:,}", f"{item.requests_per_second:,.1f}",
                      f"{item.records_per_second:,.0f}", f"{1000 / item.requests_per_second:,.2f}")
    console.print(table)


if __name__ == "__main__":
    main()
