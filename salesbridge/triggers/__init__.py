"""Triggers: what starts a sync besides a person typing ``salesbridge sync``.

- ``config``: the YAML models (``schedule`` and ``chain`` on a flow, the top-level ``triggers`` list).
- ``cron`` and ``schedules``: pure next-run computation in a named time zone (daylight saving safe).
- ``rules``: pure matching of recorded events (``sb_events``) against event rules, and the loop guard.
- ``targets``: which records a triggered flow runs for (all, the same record, related records).
- ``chains``: flows that run after another flow's writes (called by ``Hub`` at the end of every run).
- ``events``: the event loop that reads finished runs' events and runs the flows the rules name.
- ``schedule_state``: the ``sb_schedules`` table, so that next and last run times survive restarts.
- ``service``: ``salesbridge run``: the scheduler (APScheduler) and the event loop in one process.

This package's ``__init__`` imports nothing: ``salesbridge.sync.config`` imports ``triggers.config`` while the
hub's own modules import the rest, and neither may pull the other in a cycle.
"""
