"""The planning rules as pure functions: echoes, conflicts under each policy, deletes as tombstones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from salesbridge.sync.changes import AppChange, SalesforceChange, collect_salesforce_changes, newest_stamp
from salesbridge.sync.config import ConflictPolicy, Direction, FlowConfig, ValueMap
from salesbridge.sync.conflicts import Side
from salesbridge.sync.mapping import Mapper, values_hash
from salesbridge.sync.plan import LinkState, plan_flow

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
SF_ID = "00Q8d0000000001AAA"


def make_flow(**overrides) -> FlowConfig:
    data = {"name": "leads", "salesforce": "Lead", "table": "leads",
            "fields": {"LastName": "last_name", "Status": {"app": "stage", "values": "pipeline"}}}
    data.update(overrides)
    return FlowConfig.model_validate(data)


MAPS = {"pipeline": ValueMap.model_validate({"New": "Open - Not Contacted", "Won": "Closed - Converted"})}


def identity(values):
    return dict(values)


def sf_change(last_name: str, status: str = "Open - Not Contacted", at: datetime = T0, deleted: bool = False):
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    record = {"Id": SF_ID, "SystemModstamp": stamp, "LastModifiedDate": stamp, "IsDeleted": deleted,
              "LastName": last_name, "Status": status}
    return SalesforceChange(SF_ID, stamp, at, deleted, record)


def app_change(last_name: str | None, stage: str = "New", at: datetime = T0, key: str = "1"):
    row = None if last_name is None else {"id": 1, "last_name": last_name, "stage": stage}
    return AppChange(key, at, [10, 11], deleted=row is None, row=row)


def link(flow: FlowConfig, last_name: str, stage: str = "New", deleted: bool = False) -> LinkState:
    mapper = Mapper(flow, MAPS)
    row = {"last_name": last_name, "stage": stage}
    return LinkState("1", SF_ID, values_hash(mapper.app_view(row, Direction.TO_SALESFORCE)),
                     values_hash(mapper.app_view(row, Direction.FROM_SALESFORCE)), deleted)


def plan(flow, sf=(), app=None, links=()):
    mapper = Mapper(flow, MAPS)
    by_sf = {state.sf_id: state for state in links}
    by_app = {state.app_key: state for state in links}
    return plan_flow(flow, mapper, list(sf), app or {}, by_sf, by_app, identity)


def test_new_salesforce_record_is_inserted_in_the_app_with_values_mapped():
    result = plan(make_flow(), sf=[sf_change("Ada")])
    assert len(result.to_app) == 1
    assert result.to_app[0].app_key is None
    assert result.to_app[0].values == {"last_name": "Ada", "stage": "New"}


def test_new_app_row_is_created_in_salesforce():
    result = plan(make_flow(), app={"1": app_change("Ada", "Won")})
    assert [(w.sf_id, w.values) for w in result.to_salesforce] == [
        (None, {"LastName": "Ada", "Status": "Closed - Converted"})]


def test_echo_of_our_own_write_is_dropped_on_both_sides():
    flow = make_flow()
    result = plan(flow, sf=[sf_change("Ada")], app={"1": app_change("Ada")}, links=[link(flow, "Ada")])
    assert not result.to_app and not result.to_salesforce and not result.conflicts
    assert result.unchanged_sf == 1
    assert result.settled_log_ids == [10, 11]


def test_unmapped_value_is_a_record_error_naming_value_and_map():
    result = plan(make_flow(), sf=[sf_change("Ada", "Working - Contacted")])
    assert not result.to_app
    (error,) = result.errors
    assert error.error_code == "UNMAPPED_VALUE"
    assert "'Working - Contacted'" in error.message and "'pipeline'" in error.message
    assert error.direction is Direction.FROM_SALESFORCE


def test_value_map_default_is_used_instead_of_an_error():
    maps = {"pipeline": ValueMap.model_validate({"to_salesforce": {"New": "Open - Not Contacted"},
                                                 "from_salesforce": {"Open - Not Contacted": "New"},
                                                 "default_from_salesforce": "Other"})}
    flow = make_flow()
    result = plan_flow(flow, Mapper(flow, maps), [sf_change("Ada", "Working - Contacted")], {}, {}, {}, identity)
    assert result.to_app[0].values["stage"] == "Other"


@pytest.mark.parametrize(
    ("policy", "app_newer", "winner"),
    [
        (ConflictPolicy.LAST_MODIFIED_WINS, True, Side.APP),
        (ConflictPolicy.LAST_MODIFIED_WINS, False, Side.SALESFORCE),
        (ConflictPolicy.SALESFORCE_WINS, True, Side.SALESFORCE),
        (ConflictPolicy.APP_WINS, False, Side.APP),
    ],
)
def test_conflict_is_settled_by_policy_and_recorded_with_both_versions(policy, app_newer, winner):
    flow = make_flow(conflict=policy)
    app_time = T0 + timedelta(minutes=5 if app_newer else -5)
    result = plan(flow, sf=[sf_change("FromSF")], app={"1": app_change("FromApp", at=app_time)},
                  links=[link(flow, "Original")])
    (conflict,) = result.conflicts
    assert conflict.winner is winner
    assert conflict.sf_values["LastName"] == "FromSF" and conflict.app_values["last_name"] == "FromApp"
    if winner is Side.APP:
        assert [w.values["LastName"] for w in result.to_salesforce] == ["FromApp"]
        assert not result.to_app
    else:
        assert [w.values["last_name"] for w in result.to_app] == ["FromSF"]
        assert result.to_app[0].log_ids == [10, 11]  # the losing app change is acknowledged with the write
        assert not result.to_salesforce


def test_same_values_on_both_sides_is_not_a_conflict():
    flow = make_flow()
    result = plan(flow, sf=[sf_change("Same")], app={"1": app_change("Same")}, links=[link(flow, "Original")])
    assert not result.conflicts
    assert not result.to_salesforce


def test_salesforce_delete_wins_over_an_app_update():
    flow = make_flow()
    result = plan(flow, sf=[sf_change("Ada", deleted=True, at=T0)],
                  app={"1": app_change("Changed", at=T0 + timedelta(hours=1))}, links=[link(flow, "Ada")])
    (deletion,) = result.deletions
    assert deletion.origin is Side.SALESFORCE and deletion.app_key == "1" and deletion.log_ids == [10, 11]
    assert not result.to_salesforce
    assert result.conflicts[0].winner is Side.SALESFORCE


def test_app_delete_wins_over_a_salesforce_update():
    flow = make_flow()
    result = plan(flow, sf=[sf_change("Changed", at=T0 + timedelta(hours=1))], app={"1": app_change(None)},
                  links=[link(flow, "Ada")])
    (deletion,) = result.deletions
    assert deletion.origin is Side.APP and deletion.sf_id == SF_ID
    assert not result.to_app


def test_tombstoned_link_ignores_later_changes_of_the_salesforce_record():
    flow = make_flow()
    result = plan(flow, sf=[sf_change("Back")], links=[link(flow, "Ada", deleted=True)])
    assert not result.to_app and not result.to_salesforce and not result.deletions


def test_row_present_under_a_tombstoned_key_is_a_new_record():
    # The tombstone's row was deleted: a row under its key now was inserted since (a re-used key).
    flow = make_flow()
    result = plan(flow, sf=[sf_change("Back")], app={"1": app_change("Grace")},
                  links=[link(flow, "Ada", deleted=True)])
    assert not result.to_app and not result.deletions
    assert [(w.sf_id, w.values) for w in result.to_salesforce] == [
        (None, {"LastName": "Grace", "Status": "Open - Not Contacted"})]


def test_deleted_on_both_sides_only_closes_the_link():
    flow = make_flow()
    result = plan(flow, sf=[sf_change("Ada", deleted=True)], app={"1": app_change(None)}, links=[link(flow, "Ada")])
    (deletion,) = result.deletions
    assert deletion.twin_already_gone


def test_one_way_flow_ignores_the_other_side():
    flow = make_flow(direction="from_salesforce")
    result = plan(flow, sf=[sf_change("Ada")], app={"2": app_change("Bob", key="2")})
    assert len(result.to_app) == 1 and not result.to_salesforce
    assert result.settled_log_ids == [10, 11]
    flow = make_flow(direction="to_salesforce")
    result = plan(flow, sf=[sf_change("Ada")], app={"2": app_change("Bob", key="2")})
    assert not result.to_app and len(result.to_salesforce) == 1


def test_deletes_not_propagated_when_the_flow_says_so():
    flow = make_flow(deletes=False)
    result = plan(flow, sf=[sf_change("Ada", deleted=True)], links=[link(flow, "Ada")])
    assert not result.deletions


def test_polled_records_are_deduplicated_by_id_keeping_the_newest_stamp():
    older, newer = sf_change("Old", at=T0), sf_change("New", at=T0 + timedelta(seconds=1))
    changes = collect_salesforce_changes([newer.record, older.record])
    assert [c.record["LastName"] for c in changes] == ["New"]
    assert newest_stamp(changes, older.modstamp) == newer.modstamp
    assert newest_stamp([], newer.modstamp) == newer.modstamp


def test_a_quiet_poll_moves_the_watermark_to_what_has_settled():
    stamp = sf_change("Old", at=T0).modstamp
    settled = T0 + timedelta(minutes=10)
    assert newest_stamp([], stamp, settled) == settled.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    assert newest_stamp([], stamp, T0 - timedelta(minutes=10)) == stamp, "never backwards"
    assert newest_stamp([], None, settled) is None, "a flow that never saw a record keeps reading everything"
