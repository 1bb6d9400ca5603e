"""Next-run computation as pure functions: intervals, cron, starting times, and daylight saving in a named zone.

Europe/Berlin changed to summer time on 2026-03-29 at 02:00 (CET +01:00 -> CEST +02:00) and back on 2026-10-25
at 03:00 (CEST -> CET).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from salesbridge.sync.config import ConfigError, parse_config
from salesbridge.triggers.config import ScheduleConfig
from salesbridge.triggers.cron import parse_cron
from salesbridge.triggers.schedules import compile_schedule, next_run_after, upcoming

BERLIN = ZoneInfo("Europe/Berlin")


def schedule(**options):
    return compile_schedule(ScheduleConfig(**options))


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def local(runs: list[datetime], zone: ZoneInfo = BERLIN) -> list[str]:
    return [run.astimezone(zone).strftime("%m-%d %H:%M %Z") for run in runs]


def test_daily_at_eight_berlin_stays_at_eight_local_across_both_changes():
    daily = schedule(every="1d", starting="2026-03-27T08:00", timezone="Europe/Berlin")

    spring = upcoming(daily, utc(2026, 3, 26), 4)
    assert local(spring) == ["03-27 08:00 CET", "03-28 08:00 CET", "03-29 08:00 CEST", "03-30 08:00 CEST"]
    assert [run.hour for run in spring] == [7, 7, 6, 6]  # in UTC the run moves, in Berlin it does not

    autumn = upcoming(daily, utc(2026, 10, 23), 4)
    assert local(autumn) == ["10-23 08:00 CEST", "10-24 08:00 CEST", "10-25 08:00 CET", "10-26 08:00 CET"]
    assert autumn[2] - autumn[1] == timedelta(hours=25)


def test_hourly_counts_elapsed_time_through_the_change():
    hourly = schedule(every="1h", timezone="Europe/Berlin")
    runs = upcoming(hourly, utc(2026, 3, 29, 0, 30), 3)
    assert local(runs) == ["03-29 03:00 CEST", "03-29 04:00 CEST", "03-29 05:00 CEST"]
    assert [b - a for a, b in zip(runs, runs[1:], strict=False)] == [timedelta(hours=1)] * 2

    autumn = upcoming(hourly, utc(2026, 10, 24, 23, 30), 4)
    assert local(autumn) == ["10-25 02:00 CEST", "10-25 02:00 CET", "10-25 03:00 CET", "10-25 04:00 CET"]


def test_a_skipped_local_time_runs_as_much_later_and_a_repeated_one_runs_once():
    at_half_past_two = schedule(every="1d", starting="2026-03-27T02:30", timezone="Europe/Berlin")
    assert local(upcoming(at_half_past_two, utc(2026, 3, 28, 12), 2)) == ["03-29 03:30 CEST", "03-30 02:30 CEST"]
    assert local(upcoming(at_half_past_two, utc(2026, 10, 24, 12), 2)) == ["10-25 02:30 CEST", "10-26 02:30 CET"]


def test_every_fifteen_minutes_is_aligned_to_the_quarter_hour_without_a_starting_time():
    quarter = schedule(every="15m")
    assert upcoming(quarter, utc(2026, 5, 4, 10, 7, 12), 3) == [
        utc(2026, 5, 4, 10, 15), utc(2026, 5, 4, 10, 30), utc(2026, 5, 4, 10, 45)]
    assert next_run_after(quarter, utc(2026, 5, 4, 10, 15)) == utc(2026, 5, 4, 10, 30), "strictly after"


def test_weekly_defaults_to_monday_midnight_and_follows_its_starting_day():
    assert local(upcoming(schedule(every="1w", timezone="Europe/Berlin"), utc(2026, 5, 6), 2)) == [
        "05-11 00:00 CEST", "05-18 00:00 CEST"]
    friday = schedule(every="1w", starting="2026-05-08T17:30", timezone="Europe/Berlin")
    assert local(upcoming(friday, utc(2026, 5, 9), 1)) == ["05-15 17:30 CEST"]


def test_nothing_runs_before_the_starting_time():
    later = schedule(every="1h", starting="2026-12-01T08:00", timezone="Europe/Berlin")
    assert next_run_after(later, utc(2026, 5, 1)) == utc(2026, 12, 1, 7)
    weekly_cron = schedule(cron="0 9 * * MON", starting="2026-12-01T00:00", timezone="Europe/Berlin")
    assert local([next_run_after(weekly_cron, utc(2026, 5, 1))]) == ["12-07 09:00 CET"]


def test_a_restart_computes_the_same_next_run_from_any_moment_before_it():
    daily = schedule(every="1d", starting="2026-12-01T08:00", timezone="Europe/Berlin")
    before_stop = next_run_after(daily, utc(2026, 12, 3, 9, 15))
    after_restart = next_run_after(daily, utc(2026, 12, 4, 6, 59, 59))
    assert before_stop == after_restart == utc(2026, 12, 4, 7)
    cron = schedule(cron="*/20 8-17 * * MON-FRI", timezone="America/New_York")
    # Friday 17:45 EST, after the last run at 17:40 -> Monday 08:00, by then EDT (the US changed on 8 March).
    assert next_run_after(cron, utc(2026, 3, 6, 22, 45)) == next_run_after(cron, utc(2026, 3, 9, 11, 59)) == \
        utc(2026, 3, 9, 12)


def test_cron_in_local_time_across_the_spring_change():
    at_two_thirty = schedule(cron="30 2 * * *", timezone="Europe/Berlin")
    assert local(upcoming(at_two_thirty, utc(2026, 3, 27, 12), 3)) == [
        "03-28 02:30 CET", "03-29 03:30 CEST", "03-30 02:30 CEST"]
    autumn = upcoming(at_two_thirty, utc(2026, 10, 24, 12), 2)
    assert local(autumn) == ["10-25 02:30 CEST", "10-26 02:30 CET"], "the repeated 02:30 runs once"


def test_cron_day_of_month_or_day_of_week_when_both_are_given():
    first_or_monday = schedule(cron="0 6 1 * MON")
    runs = upcoming(first_or_monday, utc(2026, 5, 28), 3)
    assert runs == [utc(2026, 6, 1, 6), utc(2026, 6, 8, 6), utc(2026, 6, 15, 6)]  # 1 June is a Monday
    assert upcoming(first_or_monday, utc(2026, 6, 28), 2) == [utc(2026, 6, 29, 6), utc(2026, 7, 1, 6)]
    leap_day = schedule(cron="0 0 29 2 *")
    assert next_run_after(leap_day, utc(2026, 3, 1)) == utc(2028, 2, 29)


@pytest.mark.parametrize(("text", "message"), [
    ("0 8 * *", "5 fields"),
    ("61 8 * * *", "minute: 61 is outside 0-59"),
    ("0 8 * * FUNDAY", "day of week: 'FUNDAY' is not a number or a name"),
    ("0 17-9 * * *", "range '17-9' runs backwards"),
    ("0 0 31 2 *", "never runs"),
])
def test_cron_mistakes_are_named(text, message):
    with pytest.raises(ValueError, match=message):
        parse_cron(text)


def test_cron_names_steps_and_sunday_as_seven():
    expression = parse_cron("*/15 9-17/4 * jan,JUL 7")
    assert expression.minutes == (0, 15, 30, 45) and expression.hours == (9, 13, 17)
    assert expression.months == {1, 7} and expression.weekdays == {0}


BASE = {
    "connections": {"salesforce": {"login_url": "https://127.0.0.1:8787", "client_id": "c", "client_secret": "s",
                                   "username": "u@example.com", "password": "p"},
                    "app": {"url": "sqlite:///app.db"}},
    "flows": [{"name": "leads", "salesforce": "Lead", "table": "leads", "fields": {"LastName": "last_name"}}],
}


def with_schedule(value) -> dict:
    return {**BASE, "flows": [{**BASE["flows"][0], "schedule": value}]}


def test_a_schedule_in_yaml_terms_is_parsed_with_its_zone():
    config = parse_config(with_schedule({"every": "1d", "starting": "2026-12-01T08:00",
                                         "timezone": "Europe/Berlin"}))
    flow_schedule = config.flow("leads").schedule
    assert flow_schedule.starting == datetime(2026, 12, 1, 8)
    assert flow_schedule.spec() == "every 1d from 2026-12-01T08:00 Europe/Berlin"
    with_offset = parse_config(with_schedule({"every": "1h", "starting": "2026-12-01T07:00:00+00:00",
                                              "timezone": "Europe/Berlin"}))
    assert with_offset.flow("leads").schedule.starting == datetime(2026, 12, 1, 8), "kept as Berlin wall time"


@pytest.mark.parametrize(("value", "key", "message"), [
    ({"every": "fortnightly"}, "flows[0].schedule.every", "'fortnightly' is not an interval"),
    ({"every": "0m"}, "flows[0].schedule.every", "is not an interval"),
    ({"cron": "0 25 * * *"}, "flows[0].schedule.cron", "hour: 25 is outside 0-23"),
    ({"every": "1d", "timezone": "Mars/Olympus"}, "flows[0].schedule.timezone", "unknown time zone"),
    ({"every": "1d", "cron": "0 8 * * *"}, "flows[0].schedule", "exactly one of 'every'"),
    ({"every": "1d", "at": "08:00"}, "flows[0].schedule.at", "Extra inputs are not permitted"),
])
def test_schedule_mistakes_name_the_key(value, key, message):
    with pytest.raises(ConfigError) as caught:
        parse_config(with_schedule(value), "hub.yaml")
    assert caught.value.key == key
    assert message in caught.value.expected
