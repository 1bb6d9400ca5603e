"""``salesbridge demo --flow deals`` plays the whole story and prints it."""

from __future__ import annotations

from typer.testing import CliRunner

from salesbridge.cli import app


def test_demo_flow_deals_plays_the_story(tmp_path) -> None:  # noqa: ANN001
    result = CliRunner().invoke(app, ["demo", "--flow", "deals", "--workdir", str(tmp_path / "demo")],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "refused DUPLICATE_DEAL: deal 1 (Acme Resellers AR-1" in result.output
    assert "imported 1 Opportunity as deal(s) [4]" in result.output
    final_table = result.output.rsplit("deals: hub <-> Salesforce", 1)[1]
    rows = [line for line in final_table.splitlines() if line.startswith("│")]
    objects = [[cell.strip() for cell in row.split("│")][5:7] for row in rows]
    assert objects == [["Won", "Opportunity"], ["Approved", "Lead"], ["Approved", "Opportunity"],
                       ["Pre-Approved", "Opportunity"]]


def test_demo_of_an_unknown_flow_is_refused(tmp_path) -> None:  # noqa: ANN001
    result = CliRunner().invoke(app, ["demo", "--flow", "nope", "--workdir", str(tmp_path)])
    assert result.exit_code == 2 and "no demo for flow 'nope'" in result.output
