"""The renewal story against the sandbox, on SQLite and PostgreSQL: subscriptions, a renewal change order and
its sales order reach Salesforce through the chain subscriptions -> change_orders -> sales_orders, sales order
edits follow to the Opportunity; a missing Account and an unmapped status fail alone and are retried."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesbridge.flows.renewals import registry
from salesbridge.flows.renewals.recipe import EVENT_RULE, renewals_recipe, shipped_recipe
from salesbridge.flows.renewals.registry import NewChangeOrder, NewSubscription, RenewalError, SalesOrderChange
from salesbridge.sandbox.ids import make_id
from salesbridge.store.models import RecordError, Run
from salesbridge.sync.runs import Hub, RunReport
from salesbridge.triggers.service import TriggerService

#: An Account Id that no record has: well formed, with its checksum, never created.
MISSING_ACCOUNT = make_id("001", 987654)


def subscribe(hub: Hub, account_id: str, name: str, quantity: int = 10) -> dict[str, Any]:
    return registry.create_subscription(hub.engine, NewSubscription(
        name=name, account_id=account_id, plan="Pro", quantity=quantity, unit_price=120,
        start_date=date(2026, 1, 1)))


def tree(report: RunReport) -> list[tuple[str, ...]]:
    """The runs of a report and its chained runs, depth first: (flows..., written, failed, api calls)."""
    rows = [(*(r.flow for r in report.results), report.written, report.failed, report.api_calls)]
    for child in report.chained:
        rows.extend(tree(child))
    return rows


def open_errors(hub: Hub) -> list[tuple[str, str, str]]:
    with Session(hub.engine) as session:
        rows = session.scalars(select(RecordError).where(RecordError.status != "resolved")
                               .order_by(RecordError.id))
        return [(error.flow, error.app_key, error.error_code) for error in rows]


def test_shipped_recipe_yaml_is_the_default_recipe() -> None:
    assert shipped_recipe() == renewals_recipe()


def test_renewal_story_through_the_chain(hub: Hub) -> None:
    client = hub.client
    (globex,) = client.create("Account", [{"Name": "Globex"}])
    current = subscribe(hub, globex.id, "Globex Pro")
    orphan = subscribe(hub, MISSING_ACCOUNT, "Initech Pro", quantity=5)

    # 1. The subscriptions go; the one whose Account is missing fails alone with Salesforce's error.
    first = hub.sync(["subscriptions"])
    assert tree(first)[0] == ("subscriptions", 1, 1, 1), "two subscriptions, one collection call"
    assert tree(first)[1:] == [("change_orders", 0, 0, 0)], "the chain runs on, with nothing to send"
    assert open_errors(hub) == [("subscriptions", str(orphan["id"]), "INVALID_CROSS_REFERENCE_KEY")]
    sent = client.get("Subscription__c", registry.get_subscription(hub.engine, current["id"])["sf_id"])
    assert (sent["Name"], sent["Account__c"], sent["Status__c"], sent["Quantity__c"]) == ("Globex Pro", globex.id,
                                                                                         "Active", 10)
    assert (sent["Start_Date__c"], sent["End_Date__c"], sent["Hub_Id__c"]) == ("2026-01-01", "2026-12-31",
                                                                               str(current["id"]))

    # 2. Renewals: each makes a draft subscription and a sales order; a second renewal is refused.
    renewal = registry.create_change_order(hub.engine, NewChangeOrder(current["id"], "Renewal", quantity=12))
    orphan_renewal = registry.create_change_order(hub.engine, NewChangeOrder(orphan["id"], "Renewal"))
    try:
        registry.create_change_order(hub.engine, NewChangeOrder(current["id"], "Renewal"))
        raise AssertionError("a second renewal was accepted")
    except RenewalError as refused:
        assert refused.code == "RENEWAL_EXISTS" and refused.existing_id == renewal["id"]

    # 3. One run of the head: the chain writes the renewal subscription, the change order, the Opportunity.
    second = hub.sync(["subscriptions"])
    assert second.status == "partial"
    assert tree(second) == [("subscriptions", 1, 1, 1), ("change_orders", 1, 1, 1), ("sales_orders", 1, 1, 1)]
    assert [child.results[0].flow for child in second.chained] == ["change_orders"]
    with Session(hub.engine) as session:
        chained = session.scalars(select(Run).where(Run.parent_run_id.is_not(None)).order_by(Run.id)).all()
    assert [(run.trigger, run.cause["path"]) for run in chained][-2:] == [
        ("chain", ["subscriptions", "change_orders"]), ("chain", ["subscriptions", "change_orders", "sales_orders"])]
    assert open_errors(hub) == [
        ("subscriptions", str(orphan["id"]), "INVALID_CROSS_REFERENCE_KEY"),
        ("subscriptions", str(orphan_renewal["renewal_subscription_id"]), "INVALID_CROSS_REFERENCE_KEY"),
        ("change_orders", str(orphan_renewal["id"]), "UNLINKED_REFERENCE"),
        ("sales_orders", str(orphan_renewal["sales_order_id"]), "UNLINKED_REFERENCE")]

    subscription_ids = {row["id"]: row["sf_id"] for row in registry.list_subscriptions(hub.engine)}
    draft = client.get("Subscription__c", subscription_ids[renewal["renewal_subscription_id"]])
    assert (draft["Status__c"], draft["Quantity__c"], draft["Account__c"]) == ("Draft", 12, globex.id)
    assert (draft["Start_Date__c"], draft["End_Date__c"]) == ("2027-01-01", "2027-12-31")
    change = client.get("Subscription_Change_Order__c", registry.get_change_order(hub.engine, renewal["id"])["sf_id"])
    assert (change["Subscription__c"], change["Renewal_Subscription__c"]) == (
        subscription_ids[current["id"]], subscription_ids[renewal["renewal_subscription_id"]])
    assert (change["Order_Type__c"], change["Transaction_Type__c"], change["Status__c"]) == (
        "Renewal", "Sales Order", "Open")
    assert change["Name"].startswith("SCO-")
    order_id = renewal["sales_order_id"]
    opportunity_id = registry.get_sales_order(hub.engine, order_id)["sf_id"]
    opportunity = client.get("Opportunity", opportunity_id)
    assert (opportunity["AccountId"], opportunity["StageName"], opportunity["Amount"]) == (globex.id, "Prospecting",
                                                                                         1440)
    assert (opportunity["Type"], opportunity["CloseDate"], opportunity["Name"]) == (
        "Existing Customer - Replacement", "2026-12-31", "Globex Pro renewal 2027-01")
    assert (opportunity["Subscription__c"], opportunity["Sales_Order_Id__c"]) == (
        subscription_ids[renewal["renewal_subscription_id"]], str(order_id))

    # 4. Billing edits the sales order; its schedule sends it, in one call, and the Opportunity follows (the
    # orphan's sales order is tried again: its subscription is still not in Salesforce).
    registry.update_sales_order(hub.engine, order_id, SalesOrderChange(amount=1500, status="Quoted",
                                                                       close_date=date(2026, 12, 15)))
    scheduled = TriggerService(hub).run_scheduled("sales_orders")
    assert tree(scheduled) == [("sales_orders", 1, 1, 1)]
    opportunity = client.get("Opportunity", opportunity_id)
    assert (opportunity["Amount"], opportunity["StageName"], opportunity["CloseDate"]) == (
        1500, "Proposal/Price Quote", "2026-12-15")

    # 5. A status without a stage fails alone (UNMAPPED_VALUE); the Opportunity keeps its stage.
    registry.update_sales_order(hub.engine, order_id, SalesOrderChange(status="On Hold"))
    held = hub.sync(["sales_orders"])
    assert tree(held) == [("sales_orders", 0, 2, 0)]
    assert ("sales_orders", str(order_id), "UNMAPPED_VALUE") in open_errors(hub)
    assert client.get("Opportunity", opportunity_id)["StageName"] == "Proposal/Price Quote"

    # 6. The Account is created and the subscription moved to it: the retry and the chain send the rest.
    (initech,) = client.create("Account", [{"Name": "Initech"}])
    registry.move_account(hub.engine, orphan["id"], initech.id)
    registry.update_sales_order(hub.engine, order_id, SalesOrderChange(status="Booked"))
    fixed = hub.sync()
    assert fixed.status == "succeeded", (fixed.errors, open_errors(hub))
    assert [(r.flow, r.written_to_salesforce, r.api_calls) for r in fixed.results] == [
        ("subscriptions", 2, 1), ("change_orders", 2, 2), ("sales_orders", 2, 2)], "a create call, an update call"
    assert open_errors(hub) == []
    assert registry.get_change_order(hub.engine, renewal["id"])["status"] == "Completed"
    assert client.get("Opportunity", opportunity_id)["StageName"] == "Closed Won"
    assert client.get("Subscription_Change_Order__c", change["Id"])["Status__c"] == "Completed"

    # Both sides hold the same records, each once.
    assert sorted(r["Hub_Id__c"] for r in client.query_all("SELECT Hub_Id__c FROM Subscription__c")) == ["1", "2",
                                                                                                       "3", "4"]
    assert len(client.query_all("SELECT Id FROM Subscription_Change_Order__c")) == 2
    opportunities = client.query_all("SELECT AccountId, Sales_Order_Id__c, Amount FROM Opportunity "
                                     "ORDER BY Sales_Order_Id__c")
    assert [(o["AccountId"], o["Sales_Order_Id__c"], o["Amount"]) for o in opportunities] == [
        (globex.id, str(order_id), 1500), (initech.id, str(orphan_renewal["sales_order_id"]), 600)]
    assert all(row["sf_id"] for row in registry.list_subscriptions(hub.engine))
    assert all(row["sf_id"] for row in registry.list_sales_orders(hub.engine))
    assert hub.sync().written == 0 and hub.client.api_calls == 0, "nothing left: idle runs cost no API call"


def test_the_event_rule_sends_a_renewal_sales_order_when_its_change_order_is_created(
        make_hub: Callable[..., Hub], app_url: str) -> None:
    hub = make_hub(app_url, edit=lambda config: config["flows"][1].pop("chain"))
    (account,) = hub.client.create("Account", [{"Name": "Globex"}])
    current = subscribe(hub, account.id, "Globex Pro")
    renewal = registry.create_change_order(hub.engine, NewChangeOrder(current["id"], "Renewal"))
    report = hub.sync(["subscriptions"])
    assert tree(report) == [("subscriptions", 2, 0, 1), ("change_orders", 1, 0, 1)]
    assert registry.get_sales_order(hub.engine, renewal["sales_order_id"])["sf_id"] is None, "no chain to it"

    started = TriggerService(hub).poll_events()

    assert [tree(run) for run in started] == [[("sales_orders", 1, 0, 1)]]
    with Session(hub.engine) as session:
        run = session.get(Run, started[0].run_id)
        assert run.trigger == "event" and run.cause["rules"] == [EVENT_RULE]
    sold = registry.get_sales_order(hub.engine, renewal["sales_order_id"])
    assert hub.client.get("Opportunity", sold["sf_id"])["AccountId"] == account.id


def test_api_calls_stay_per_batch_whatever_the_number_of_renewals(hub: Hub) -> None:
    (account,) = hub.client.create("Account", [{"Name": "Globex"}])
    subscriptions = [subscribe(hub, account.id, f"Globex seat pack {n}") for n in range(60)]
    for row in subscriptions:
        registry.create_change_order(hub.engine, NewChangeOrder(row["id"], "Renewal"))

    report = hub.sync(["subscriptions"])

    assert tree(report) == [("subscriptions", 120, 0, 1), ("change_orders", 60, 0, 1), ("sales_orders", 60, 0, 1)]
    assert len(hub.client.query_all("SELECT Id FROM Opportunity WHERE Subscription__c != null")) == 60


def test_an_account_missing_in_salesforce_fails_the_subscription_and_opportunity_writes_alone(hub: Hub) -> None:
    client = hub.client
    globex, umbrella = client.create("Account", [{"Name": "Globex"}, {"Name": "Umbrella"}])
    moved = subscribe(hub, globex.id, "Globex Pro")
    other = subscribe(hub, umbrella.id, "Umbrella Pro")
    for row in (moved, other):
        registry.create_change_order(hub.engine, NewChangeOrder(row["id"], "Renewal"))
    assert hub.sync(["subscriptions"]).status == "succeeded"

    # Billing moves one customer to an Account Id Salesforce does not have; the other customer's edit goes on.
    registry.move_account(hub.engine, moved["id"], MISSING_ACCOUNT)
    registry.update_sales_order(hub.engine, 2, SalesOrderChange(amount=999))
    report = hub.sync()

    assert [(r.flow, r.written_to_salesforce, r.failed) for r in report.results] == [
        ("subscriptions", 0, 2), ("change_orders", 0, 0), ("sales_orders", 1, 1)]
    with Session(hub.engine) as session:
        errors = session.scalars(select(RecordError).order_by(RecordError.id)).all()
        assert {(e.flow, e.app_key, e.error_code) for e in errors} == {
            ("subscriptions", "1", "INVALID_CROSS_REFERENCE_KEY"),
            ("subscriptions", "3", "INVALID_CROSS_REFERENCE_KEY"), ("sales_orders", "1", "INVALID_CROSS_REFERENCE_KEY")}
        opportunity_error = next(e for e in errors if e.flow == "sales_orders")
        assert opportunity_error.payload["AccountId"] == MISSING_ACCOUNT and opportunity_error.fields == ["AccountId"]
    assert client.get("Opportunity", registry.get_sales_order(hub.engine, 2)["sf_id"])["Amount"] == 999
    assert client.get("Opportunity", registry.get_sales_order(hub.engine, 1)["sf_id"])["AccountId"] == globex.id

    retried = hub.retry()
    assert retried.failed == 3, "still missing: retried, failed again, kept open"
    (merged,) = client.create("Account", [{"Name": "Globex Group"}])
    registry.move_account(hub.engine, moved["id"], merged.id)
    assert hub.sync().status == "succeeded"
    assert open_errors(hub) == []
    assert client.get("Opportunity", registry.get_sales_order(hub.engine, 1)["sf_id"])["AccountId"] == merged.id
    assert {r["Account__c"] for r in client.query_all(
        f"SELECT Account__c FROM Subscription__c WHERE Hub_Id__c IN ('{moved['id']}', '3')")} == {merged.id}
