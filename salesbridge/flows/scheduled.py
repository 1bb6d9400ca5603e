"""The mail and contacts flows run by the scheduler (``salesbridge run``): with the hub's Salesforce client and
database, answering the ``RunReport`` the trigger service and ``print_report`` expect of every run."""

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
