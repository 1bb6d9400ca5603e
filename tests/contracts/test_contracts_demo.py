"""``salesbridge demo --flow contracts`` plays the whole story and prints it."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from salesbridge.cli import app
from salesbridge.flows.contracts.demo import run_contracts_demo


def test_demo_flow_contracts_plays_the_story(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--flow", "contracts", "--workdir", str(tmp_path / "demo")],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "company profile made: True); Acme support approved (company profile made: False)" in result.output
    assert "webhook delivered: the receiver got event contract_request.out_for_signature" in result.output
    assert "Opportunity 'Acme platform' now has 2 files" in result.output


def test_demo_answers_the_end_state_of_both_sides(tmp_path: Path) -> None:
    state = run_contracts_demo(tmp_path, Console(file=io.StringIO()))
    assert state["salesforce"] == {"CR-00001": "Signed", "CR-00002": "Approved", "CR-00003": "Rejected",
                                   "CR-00004": "Submitted", "CR-00005": "Submitted", "CR-00006": "Submitted",
                                   "CR-00007": "Withdrawn"}
    assert state["companies"] == ["Acme Corp"] and state["opportunity_files"] == 2 and state["webhook_calls"] == 1
    assert sorted(state["errors"]) == ["FILE_TOO_LARGE", "MISSING_ACCOUNT", "MISSING_DOCUMENT", "UNMAPPED_VALUE"]
