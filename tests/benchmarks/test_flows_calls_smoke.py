"""The business-flow call benchmark at two tiny sizes: every step runs, the org's count equals the client's, and
the calls do not grow with the batch, but for the contract downloads (one per file). No timings are asserted."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "flows_calls.py"


def _load_benchmark() -> ModuleType:
    """benchmarks/ is a folder of scripts, not a package: load the script as a module."""
    spec = importlib.util.spec_from_file_location("flows_calls", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_every_flow_step_costs_per_batch_and_the_org_agrees() -> None:
    rows = _load_benchmark().run([2, 6])
    by_step: dict[tuple[str, str], dict[int, int]] = {}
    for row in rows:
        assert row.org_calls == row.calls, row
        by_step.setdefault((row.flow, row.step), {})[row.size] = row.calls
    assert {flow for flow, _ in by_step} == {"contracts", "deals", "pipeline", "renewals"}
    for (flow, step), calls in by_step.items():
        if "download" in step:
            assert calls[6] - calls[2] == 4, (step, calls)  # one download per file, the rest per batch
        else:
            assert calls[2] == calls[6], (flow, step, calls)
