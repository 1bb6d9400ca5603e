"""The renewal flows' recipe: three flows chained head to tail, an event rule and the value maps.

Billing owns subscriptions, so the flows only send (``to_salesforce``): a no-change poll costs no API call.
``subscriptions`` -> Subscription__c heads the chain; after it wrote records it runs ``change_orders`` ->
Subscription_Change_Order__c, which runs ``sales_orders`` -> Opportunity. Lookups between them are
``reference`` fields: the app column holds the key of a row of another flow, sent as the Id linked to it. Each
flow also has a schedule, so that an edit that does not start at the head of the chain (a sales order's amount)
is sent too, and an event rule runs the sales order of a renewal change order as soon as the change order is
created in Salesforce (``salesbridge run``).
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml

SUBSCRIPTIONS = "subscriptions"
CHANGE_ORDERS = "change_orders"
SALES_ORDERS = "sales_orders"
FLOW_NAMES = (SUBSCRIPTIONS, CHANGE_ORDERS, SALES_ORDERS)
SUBSCRIPTIONS_TABLE = "sb_subscriptions"
CHANGE_ORDERS_TABLE = "sb_subscription_change_orders"
SALES_ORDERS_TABLE = "sb_sales_orders"
EVENT_RULE = "renewal-change-orders-send-sales-orders"

SUBSCRIPTION_STATUSES = ("Draft", "Active", "Cancelled", "Expired")
ORDER_TYPES = ("New", "Upgrade", "Downgrade", "Renewal", "Cancellation")
#: What a change order produces: a sales order (an Opportunity to win), or an amendment of the subscription
#: made in billing without a sale.
TRANSACTION_TYPES = ("Sales Order", "Amendment")
CHANGE_ORDER_STATUSES = ("Open", "Completed", "Cancelled")
SALES_ORDER_STATUSES = ("Draft", "Quoted", "Submitted", "On Hold", "Booked", "Cancelled")
#: On Hold has no stage on purpose: sending it is a record error (UNMAPPED_VALUE) until the sales team decides
#: what a held order is in their pipeline, rather than a guess that moves the forecast.
OPPORTUNITY_STAGES = {"Draft": "Prospecting", "Quoted": "Proposal/Price Quote", "Submitted": "Negotiation/Review",
                      "Booked": "Closed Won", "Cancelled": "Closed Lost"}
#: The standard Opportunity Type value for business with an existing customer that replaces its ending term.
OPPORTUNITY_TYPE = "Existing Customer - Replacement"
#: Opportunity's external id for sales orders: Hub_Id__c may already carry the keys of another flow (deals).
SALES_ORDER_EXTERNAL_ID = "Sales_Order_Id__c"


def renewals_recipe(*, every: str = "15m", owner: str | None = None,
                    opportunity_type: str = OPPORTUNITY_TYPE) -> dict[str, Any]:
    """The config pieces of the renewal flows: ``{"flows": [...], "value_maps": {...}, "triggers": [...]}``.

    ``every`` is the schedule of each flow; ``owner`` (a Salesforce username or email) owns the records made.
    """
    owned: dict[str, Any] = {"OwnerId": {"user": owner}} if owner else {}
    schedule = {"every": every}
    subscriptions = {
        "name": SUBSCRIPTIONS, "salesforce": "Subscription__c", "table": SUBSCRIPTIONS_TABLE,
        "direction": "to_salesforce", "deletes": False,
        "key": {"salesforce_id_column": "sf_id", "external_id": "Hub_Id__c"},
        "fields": {"Name": "name", "Account__c": "account_id", "Plan__c": "plan", "Quantity__c": "quantity",
                   "Unit_Price__c": "unit_price", "Term_Months__c": "term_months", "Start_Date__c": "start_date",
                   "End_Date__c": "end_date", "Status__c": "status"},
        "defaults": dict(owned), "schedule": dict(schedule),
        "chain": {"events": ["created", "updated"], "then": [CHANGE_ORDERS]},
    }
    change_orders = {
        "name": CHANGE_ORDERS, "salesforce": "Subscription_Change_Order__c", "table": CHANGE_ORDERS_TABLE,
        "direction": "to_salesforce", "deletes": False,
        "key": {"salesforce_id_column": "sf_id", "external_id": "Hub_Id__c"},
        "fields": {"Subscription__c": {"app": "subscription_id", "reference": SUBSCRIPTIONS},
                   "Renewal_Subscription__c": {"app": "renewal_subscription_id", "reference": SUBSCRIPTIONS},
                   "Order_Type__c": "order_type", "Transaction_Type__c": "transaction_type",
                   "Effective_Date__c": "effective_date", "Status__c": "status"},
        "defaults": dict(owned), "schedule": dict(schedule),
        "chain": {"events": ["created", "updated"], "then": [SALES_ORDERS]},
    }
    sales_orders = {
        "name": SALES_ORDERS, "salesforce": "Opportunity", "table": SALES_ORDERS_TABLE,
        "direction": "to_salesforce", "deletes": False,
        "key": {"salesforce_id_column": "sf_id", "external_id": SALES_ORDER_EXTERNAL_ID},
        "fields": {"Name": "name", "AccountId": "account_id", "Amount": "amount", "CloseDate": "close_date",
                   "StageName": {"app": "status", "values": "sales_order_stages"},
                   "Subscription__c": {"app": "subscription_id", "reference": SUBSCRIPTIONS}},
        "defaults": {"Type": opportunity_type, **owned}, "schedule": dict(schedule),
    }
    rule = {"name": EVENT_RULE,
            "on": {"flow": CHANGE_ORDERS, "event": "created", "field": "order_type", "becomes": "Renewal",
                   "side": "app"},
            "run": [{"flow": SALES_ORDERS, "for": "related", "via": "change_order_id"}]}
    for flow in (subscriptions, change_orders):
        if not flow["defaults"]:
            del flow["defaults"]
    return {"flows": [subscriptions, change_orders, sales_orders],
            "value_maps": {"sales_order_stages": {"to_salesforce": dict(OPPORTUNITY_STAGES)}},
            "triggers": [rule]}


def shipped_recipe() -> dict[str, Any]:
    """``recipe.yaml`` as shipped (the default recipe, to copy into salesbridge.yaml)."""
    return yaml.safe_load((resources.files("salesbridge.flows.renewals") / "recipe.yaml").read_text("utf-8"))


def sandbox_schema_file() -> str:
    """The sandbox schema file the recipe needs: Subscription__c, Subscription_Change_Order__c and the
    Opportunity fields (Sales_Order_Id__c, Subscription__c)."""
    return str(resources.files("salesbridge.flows.renewals") / "sandbox_schema.yaml")


def with_renewals(config: dict[str, Any], **options: Any) -> dict[str, Any]:
    """A copy of a config dict with the renewal flows, value maps and event rule added."""
    recipe = renewals_recipe(**options)
    return {**config, "flows": [*config.get("flows", []), *recipe["flows"]],
            "value_maps": {**config.get("value_maps", {}), **recipe["value_maps"]},
            "triggers": [*config.get("triggers", []), *recipe["triggers"]]}
