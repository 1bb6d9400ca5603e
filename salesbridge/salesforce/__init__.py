"""Talking to a Salesforce org (real or the sandbox)."""
