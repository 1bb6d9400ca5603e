"""SqlTable: reflection, key rules, value conversion, reads by key and by page, writes in the caller's
transaction. Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Engine,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
    text,
)
from sqlalchemy.orm import Session

from salesbridge.connectors.sql import SqlTable, TableShapeError, ValueConversionError
from salesbridge.store.db import open_store

if TYPE_CHECKING:
    from tests.connectors.conftest import Database


def make_leads(engine: Engine) -> Table:
    """An app's table: generated integer key, mapped columns of several types, and columns we do not map
    (``owner`` is NOT NULL without a default: a partial update must never need it)."""
    metadata = MetaData()
    leads = Table(
        "leads", metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("last_name", String(40), nullable=False),
        Column("company", String(80)),
        Column("amount", Numeric(12, 2)),
        Column("score", Integer),
        Column("active", Boolean),
        Column("since", Date),
        Column("touched_at", DateTime),
        Column("owner", String(40), nullable=False),
        Column("notes", Text, nullable=False, server_default=""),
        Column("sf_id", String(18), unique=True),
    )
    metadata.create_all(engine)
    return leads


@pytest.fixture
def leads(engine: Engine) -> SqlTable:
    make_leads(engine)
    return SqlTable(engine, "leads")


def row(number: int, **values: object) -> dict[str, object]:
    return {"id": number, "last_name": f"Name {number}", "owner": "ann", **values}


# -- reflection and keys ------------------------------------------------------------------------------------


def test_reflection_finds_the_primary_key_and_column_types(leads: SqlTable) -> None:
    assert leads.key_column == "id"
    assert isinstance(leads.columns["amount"].type, Numeric)
    assert isinstance(leads.columns["since"].type, Date)
    assert set(leads.columns) >= {"last_name", "owner", "notes", "sf_id"}


def test_a_unique_column_can_be_the_key_but_not_any_column(engine: Engine, leads: SqlTable) -> None:
    assert SqlTable(engine, "leads", key_column="sf_id").key_column == "sf_id"
    with pytest.raises(TableShapeError, match="'company' is neither the primary key nor unique"):
        SqlTable(engine, "leads", key_column="company")
    with pytest.raises(TableShapeError, match="no column 'nope'"):
        SqlTable(engine, "leads", key_column="nope")


def test_tables_without_a_single_column_key_are_refused_clearly(engine: Engine) -> None:
    metadata = MetaData()
    Table("lines", metadata, Column("order_no", Integer, primary_key=True),
          Column("line_no", Integer, primary_key=True))
    Table("loose", metadata, Column("code", String(10)), Column("label", String(20)),
          UniqueConstraint("code"))
    metadata.create_all(engine)
    with pytest.raises(TableShapeError, match=r"'lines' has a composite primary key \(order_no, line_no\)"):
        SqlTable(engine, "lines")
    with pytest.raises(TableShapeError, match="'loose' has no primary key"):
        SqlTable(engine, "loose")
    assert SqlTable(engine, "loose", key_column="code").key_column == "code"
    with pytest.raises(TableShapeError, match="'missing' does not exist"):
        SqlTable(engine, "missing")


# -- conversion ---------------------------------------------------------------------------------------------


def test_values_from_salesforce_are_converted_to_the_column_types(leads: SqlTable) -> None:
    converted = leads.convert_row({
        "id": "17", "amount": "1250.50", "score": 3.0, "active": "true", "since": "2024-05-08",
        "touched_at": "2013-05-08T21:20:00.000+0200", "company": 42, "last_name": Decimal("1.10"),
    })
    assert converted == {
        "id": 17, "amount": Decimal("1250.50"), "score": 3, "active": True, "since": date(2024, 5, 8),
        # A column without a time zone holds UTC.
        "touched_at": datetime(2013, 5, 8, 19, 20), "company": "42", "last_name": "1.10",
    }
    assert leads.convert("active", False) is False
    assert leads.convert("amount", None) is None


@pytest.mark.parametrize(("column", "value"), [
    ("score", "twelve"),
    ("score", 2.5),
    ("score", True),
    ("amount", "12,50"),
    ("amount", float("nan")),
    ("active", "maybe"),
    ("since", "08/05/2024"),
    ("since", datetime(2024, 5, 8, 10, 0)),
    ("touched_at", "yesterday"),
    ("last_name", "x" * 41),
    ("company", object()),
])
def test_conversion_errors_name_table_column_and_value(leads: SqlTable, column: str, value: object) -> None:
    with pytest.raises(ValueConversionError) as caught:
        leads.convert(column, value)
    error = caught.value
    assert (error.table, error.column, error.value) == ("leads", column, value)
    assert "'leads'" in str(error) and repr(column) in str(error) and repr(value) in str(error)


def test_unknown_columns_are_named(leads: SqlTable) -> None:
    with pytest.raises(TableShapeError, match="'leads' has no column 'Company'"):
        leads.convert_row({"Company": "Acme"})


def test_write_paths_convert_and_report_bad_values(engine: Engine, leads: SqlTable) -> None:
    with Session(engine) as session, pytest.raises(ValueConversionError, match="'score'.*'lots'"):
        leads.upsert(session, [row(1, score="lots")])
    with Session(engine) as session, pytest.raises(ValueConversionError, match="'id'.*None"):
        leads.upsert(session, [{"id": None, "last_name": "x", "owner": "ann"}])


# -- writes ---------------------------------------------------------------------------------------------------


def test_insert_returns_the_key_the_database_generated(engine: Engine, leads: SqlTable) -> None:
    with Session(engine) as session, session.begin():
        first = leads.insert(session, {"last_name": "Ada", "owner": "ann", "amount": "10"})
        second = leads.insert(session, {"id": None, "last_name": "Bob", "owner": "ann"})
        explicit = leads.insert(session, {"id": "100", "last_name": "Cy", "owner": "ann"})
    assert isinstance(first, int) and second == first + 1 and explicit == 100
    assert leads.read([first])[first]["amount"] == Decimal("10.00")


def test_upsert_inserts_new_keys_and_updates_only_the_given_columns_of_existing_ones(
        engine: Engine, leads: SqlTable) -> None:
    with Session(engine) as session, session.begin():
        leads.upsert(session, [row(1, company="Acme", notes="keep me"), row(2)])
    with Session(engine) as session, session.begin():
        # Row 1 exists: only company changes; owner (NOT NULL, not given) is neither needed nor touched.
        result = leads.upsert(session, [{"id": 1, "company": "Acme Ltd"}, row(3, company="New")])
    assert result.updated == [1] and result.inserted == [3]
    rows = leads.read([1, 2, 3])
    assert rows[1]["company"] == "Acme Ltd" and rows[1]["owner"] == "ann" and rows[1]["notes"] == "keep me"
    assert rows[3]["company"] == "New" and rows[2]["company"] is None


def test_upsert_merges_repeated_keys_instead_of_failing(engine: Engine, leads: SqlTable) -> None:
    with Session(engine) as session, session.begin():
        result = leads.upsert(session, [row(5, company="A"), {"id": "5", "score": "7"}])
    assert result.inserted == [5]
    assert (leads.read([5])[5]["company"], leads.read([5])[5]["score"]) == ("A", 7)


def test_upsert_by_a_unique_non_primary_key(engine: Engine, leads: SqlTable) -> None:
    by_sf_id = SqlTable(engine, "leads", key_column="sf_id")
    with Session(engine) as session, session.begin():
        by_sf_id.upsert(session, [{"sf_id": "00Q000000000001AAA", "last_name": "A", "owner": "o"}])
    with Session(engine) as session, session.begin():
        result = by_sf_id.upsert(session, [{"sf_id": "00Q000000000001AAA", "company": "Co"}])
    assert result.updated == ["00Q000000000001AAA"]
    assert list(by_sf_id.read(["00Q000000000001AAA"]).values())[0]["company"] == "Co"


def test_update_and_delete(engine: Engine, leads: SqlTable) -> None:
    with Session(engine) as session, session.begin():
        leads.upsert(session, [row(1), row(2), row(3)])
    with Session(engine) as session, session.begin():
        assert leads.update(session, "2", {"score": "9"}) is True
        assert leads.update(session, 99, {"score": 1}) is False
        assert leads.delete(session, ["1", 3, 404]) == 2
    assert list(leads.keys()) == ["2"]
    assert leads.read_one(None, "2")["score"] == 9  # type: ignore[index]


def test_writes_stay_in_the_callers_transaction(engine: Engine, leads: SqlTable) -> None:
    with Session(engine) as session:
        leads.insert(session, {"last_name": "x", "owner": "o"})
        leads.upsert(session, [row(1000)])
        session.rollback()
    assert list(leads.keys()) == []


# -- reads ----------------------------------------------------------------------------------------------------


def test_read_by_text_keys_answers_by_the_keys_given(engine: Engine, leads: SqlTable) -> None:
    with Session(engine) as session, session.begin():
        leads.upsert(session, [row(1, active=True), row(2, active=False), row(3)])
    found = leads.read(["1", "2", "404"])
    assert set(found) == {"1", "2"}
    assert found["1"]["last_name"] == "Name 1"
    assert set(leads.read(["1", "2"], where="active = true")) == {"1"}
    assert leads.read_one(None, "404") is None


def test_read_all_and_keys_page_through_every_row_in_key_order(engine: Engine, leads: SqlTable) -> None:
    with Session(engine) as session, session.begin():
        leads.upsert(session, [row(n, score=n % 3) for n in range(1, 26)])
    assert [r["id"] for r in leads.read_all(page_size=10)] == list(range(1, 26))
    assert [r["id"] for r in leads.read_all("score = 0", page_size=4)] == [3, 6, 9, 12, 15, 18, 21, 24]
    assert list(leads.keys(page_size=7)) == [str(n) for n in range(1, 26)]
    assert list(leads.keys("score = 1", page_size=3)) == [str(n) for n in range(1, 26) if n % 3 == 1]
    with Session(engine) as session:
        assert len(list(leads.read_all(session=session, page_size=10))) == 25


def test_text_keys_are_kept_as_text(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE accounts (code VARCHAR(20) PRIMARY KEY, name VARCHAR(50))"))
    accounts = SqlTable(engine, "accounts")
    with Session(engine) as session, session.begin():
        accounts.upsert(session, [{"code": "007", "name": "Bond"}, {"code": 12, "name": "Twelve"}])
    assert list(accounts.keys()) == ["007", "12"]
    assert accounts.read(["007"])["007"]["name"] == "Bond"


def test_aware_datetimes_are_read_and_coerced_in_utc(postgres_database: Database) -> None:
    """PostgreSQL answers timestamptz in the session's time zone; a hash must not depend on it."""
    engine = open_store(postgres_database.with_options("-ctimezone=Asia/Kolkata"))
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE events (id INTEGER PRIMARY KEY, at TIMESTAMPTZ)"))
        events = SqlTable(engine, "events")
        with Session(engine) as session, session.begin():
            events.upsert(session, [{"id": 1, "at": "2024-05-08T21:20:00.000+0000"}])
        read = events.read([1])[1]["at"]
        assert read == datetime(2024, 5, 8, 21, 20, tzinfo=UTC) and read.utcoffset().total_seconds() == 0
        coerced = events.coerce({"at": "2024-05-09T02:50:00+05:30"})["at"]
        assert coerced.isoformat() == read.isoformat()
        with engine.connect() as connection:  # the raw answer really is in the session's zone
            raw = connection.execute(select(events.table.c.at)).scalar_one()
            assert raw.utcoffset().total_seconds() == 5.5 * 3600
    finally:
        engine.dispose()
