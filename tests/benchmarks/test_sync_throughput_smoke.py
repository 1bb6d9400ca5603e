"""The sync throughput benchmark at a tiny size: every scenario runs, the hub's API calls equal the floor, the
org's own count agrees, and the naive loops cost one call per record. No timings are asserted."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SIZE = 300
BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "sync_throughput.py"


def _load_benchmark() -> ModuleType:
    """benchmarks/ is a folder of scripts, not a package: load the script as a module."""
    spec = importlib.util.spec_from_file_location("sync_throughput", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


bench = _load_benchmark()


def test_floors_follow_salesforce_caps() -> None:
    assert [bench.collections_floor(n) for n in (1, 200, 201, 10_000)] == [1, 1, 2, 50]
    assert [bench.query_floor(n) for n in (0, 1, 2_000, 2_001, 100_000)] == [1, 1, 1, 2, 50]


def test_collections_load_costs_ceil_n_over_200_and_an_idle_outbound_flow_costs_nothing(tmp_path: Path) -> None:
    load, poll = bench.load_to_salesforce(SIZE, tmp_path, "memory")
    assert load.path == "collections" and load.moved == SIZE
    assert load.api_calls == load.floor == 2
    assert load.org_calls == load.api_calls
    assert poll.api_calls == poll.floor == 0
    assert poll.org_calls == 0


def test_bulk_load_costs_one_job(tmp_path: Path) -> None:
    # A threshold under the size sends it through Bulk API 2.0; a poll interval long enough for 300 records
    # makes the first status check find the job finished (the floor counts exactly one check).
    load, _poll = bench.load_to_salesforce(SIZE, tmp_path, "file", bulk_threshold=100, bulk_poll_interval=4.0)
    assert load.path.startswith("bulk") and load.moved == SIZE
    assert load.api_calls == load.floor == bench.BULK_JOB_CALLS
    assert load.org_calls == load.api_calls


def test_load_from_salesforce_pages_and_the_no_change_poll_is_one_query(tmp_path: Path) -> None:
    load, poll = bench.load_from_salesforce(SIZE, tmp_path, "memory")
    assert load.path == "query" and load.moved == SIZE
    assert load.api_calls == load.floor == 1
    assert poll.api_calls == poll.floor == 1
    assert load.org_calls == load.api_calls and poll.org_calls == poll.api_calls


@pytest.mark.parametrize("sample", [SIZE, 100])
def test_naive_loops_make_one_call_per_record(tmp_path: Path, sample: int) -> None:
    writes = bench.naive_create(SIZE, tmp_path, "memory", sample)
    assert writes.calls == SIZE
    assert writes.extrapolated is (sample < SIZE)
    reads = bench.naive_read(SIZE, tmp_path, "memory", sample)
    assert reads.calls == SIZE + 1  # one page of Ids, then one GET per record


def test_table_has_a_row_per_measurement_and_flags_calls_over_the_floor() -> None:
    naive = bench.Naive(size=SIZE, sample=100, calls=SIZE, seconds=3.0)
    rows = [bench.Measurement("app -> SF initial load", SIZE, "collections", 1.5, 2, 2, 2, SIZE, naive),
            bench.Measurement("no-change poll, from_salesforce flow", SIZE, "query", 0.1, 3, 1, 3, 0)]
    table = bench.render(rows)
    assert table.row_count == 2 and len(table.columns) == 9
    calls_column = list(table.columns[5].cells)
    assert calls_column == ["2", "[yellow]3[/yellow]"]
    assert list(table.columns[8].cells) == ["~3.0", "-"]
    assert any("equals the client's" in line for line in bench.notes(rows, 100))
