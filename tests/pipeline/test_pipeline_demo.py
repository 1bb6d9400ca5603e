"""``salesbridge demo --flow pipeline`` plays the whole story and prints it."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from salesbridge.flows.pipeline.demo import run_pipeline_demo


def test_demo_plays_the_story_both_ways(tmp_path: Path) -> None:
    console = Console(record=True, width=200)
    result = run_pipeline_demo(tmp_path / "demo", console)
    output = console.export_text()

    leads = {row["first_name"] or row["last_name"]: row for row in result["leads"]}
    assert {name: (row["stage"], row["sf_object"]) for name, row in leads.items()} == {
        "Lee": ("Qualified", "Lead"), "Wen": ("Won", "Contact"), "Lou": ("Lost", "Lead"),
        "Sam": ("Proposal", "Lead"), "Cora": ("Won", "Contact"), "Stray": ("New", None)}
    assert (leads["Lee"]["owner_email"], leads["Sam"]["owner_email"]) == ("admin@sandbox.example",
                                                                        "sales.manager@sandbox.example")
    seen = {(e["kind"], e["origin"]) for e in result["events"]}
    assert {("won", "app"), ("won", "salesforce"), ("converted", "app"), ("converted", "salesforce"),
            ("lost", "app"), ("deleted", "app"), ("deleted", "salesforce"), ("owner_changed", "app"),
            ("owner_changed", "salesforce")} <= seen
    assert [e["error_code"] for e in result["errors"]] == ["UNKNOWN_USER"]
    assert "record error pipeline_leads 7: UNKNOWN_USER" in output
    assert "transferred │ leads 1     │ the tool" in output
    assert (tmp_path / "demo" / "salesbridge.yaml").is_file()
