"""Flows run by the scheduler (``salesbridge run``) beyond a plain sync: mail, contacts and the contract
request round, with the hub's Salesforce client and database, answering the ``RunReport`` the trigger service
and ``print_report`` expect of every run."""

from __future__ import annotations

from salesbridge.flows._runtime import FlowReport
from salesbridge.flows.contacts import sync_contacts
from salesbridge.flows.mail import sync_mail
from salesbridge.sync.engine import FlowResult
from salesbridge.sync.runs import Hub, RunReport

#: Counts of each flow's report that are writes, by the side written to.
_TO_SALESFORCE = {
    "mail": ("saved", "leads_created"),
    "contacts": ("created_in_salesforce", "updated_in_salesforce"),
}
_TO_APP = {"mail": (), "contacts": ("cards_created", "cards_updated", "cards_deleted")}


def run_source(hub: Hub, name: str, trigger: str = "schedule") -> RunReport:
    """One run of the ``mail`` or ``contacts`` flow of ``hub``'s config."""
    if name == "mail":
        report = sync_mail(hub.config, client=hub.client, engine=hub.engine, trigger=trigger)
    elif name == "contacts":
        report = sync_contacts(hub.config, client=hub.client, engine=hub.engine, trigger=trigger)
    else:
        raise ValueError(f"'{name}' is neither 'mail' nor 'contacts'")
    return as_run_report(report)


def run_table_flow(hub: Hub, name: str, trigger: str = "schedule") -> RunReport:
    """One scheduled run of a table flow: a whole round for the contract request flow (its sync, the pickup of
    submitted requests and the documents; see flows.contracts.runner), otherwise the flow's sync."""
    if hub.config.contracts is not None and hub.config.contracts.flow == name:
        from salesbridge.flows.contracts.runner import run_contracts

        round_ = run_contracts(hub, trigger=trigger)
        first = round_.syncs[0]
        return RunReport(first.run_id, round_.status, [r for s in round_.syncs for r in s.results],
                         round_.api_calls, round_.errors, [c for s in round_.syncs for c in s.chained])
    return hub.sync([name], trigger=trigger)


def as_run_report(report: FlowReport) -> RunReport:
    result = FlowResult(
        report.flow,
        records_read=report.records_read,
        written_to_salesforce=sum(report.count(name) for name in _TO_SALESFORCE[report.flow]),
        written_to_app=sum(report.count(name) for name in _TO_APP[report.flow]),
        failed=len(report.problems),
        conflicts=report.count("conflicts"),
        api_calls=report.api_calls,
    )
    errors = {report.flow: report.error} if report.error else {}
    assert report.run_id is not None
    return RunReport(report.run_id, report.status, [result], report.api_calls, errors)
