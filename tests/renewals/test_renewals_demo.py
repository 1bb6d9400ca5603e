"""``salesbridge demo --flow renewals`` plays the whole story and prints it."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from salesbridge.cli import app
from salesbridge.flows.renewals.demo import run_renewals_demo


def test_demo_flow_renewals_plays_the_story(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--flow", "renewals", "--workdir", str(tmp_path / "demo")],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "refused RENEWAL_EXISTS: subscription 1 already has an open renewal: change order 1" in result.output
    assert "UNMAPPED_VALUE: value 'On Hold' of column status" in result.output
    final = result.output.rsplit("Opportunities in Salesforce", 1)[1]
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in final.splitlines() if line.startswith("│")]
    assert [row[2:5] for row in rows] == [["Globex", "Closed Won", "15000.0"], ["Initech", "Prospecting", "6000.0"]]


def test_demo_returns_the_rows_and_records_at_the_end(tmp_path: Path) -> None:
    outcome = run_renewals_demo(tmp_path, Console(file=io.StringIO(), width=200))
    assert all(row["sf_id"] for row in outcome.subscriptions + outcome.change_orders + outcome.sales_orders)
    assert {row["status"] for row in outcome.change_orders} == {"Completed", "Open"}
    assert any("INVALID_CROSS_REFERENCE_KEY" in line for line in outcome.errors_seen)
    assert [o["StageName"] for o in outcome.opportunities] == ["Closed Won", "Prospecting"]
