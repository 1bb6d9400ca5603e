"""Subscription renewals: billing's subscriptions, change orders and sales orders (``registry``), sent to
Salesforce as Subscription__c, Subscription_Change_Order__c and Opportunity records by a chain of three flows
(``recipe``)."""
