"""Field mapping and hashing, both directions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from salesbridge.sync.config import FlowConfig, ValueMap
from salesbridge.sync.mapping import Mapper, MappingError, canonical, values_hash


def mapper() -> Mapper:
    flow = FlowConfig.model_validate({
        "name": "contacts", "salesforce": "Contact", "table": "contacts",
        "fields": {"LastName": "last_name", "Email": {"app": "email", "transform": "lower"},
                   "Description": {"app": "notes", "direction": "to_salesforce"},
                   "Title": {"app": "title", "direction": "from_salesforce"},
                   "LeadSource": {"app": "source", "values": "sources"}}})
    return Mapper(flow, {"sources": ValueMap.model_validate({"web": "Web", "fair": "Trade Show"})})


def test_both_directions_respect_per_field_direction_and_transforms():
    m = mapper()
    row = {"last_name": "Lovelace", "email": "ADA@Example.com", "notes": "n", "title": "t", "source": "fair"}
    assert m.to_salesforce(row) == {"LastName": "Lovelace", "Email": "ada@example.com", "Description": "n",
                                    "LeadSource": "Trade Show"}
    record = {"LastName": "Lovelace", "Email": "X@Y.org", "Description": "ignored", "Title": "Countess",
              "LeadSource": "Web"}
    assert m.to_app(record) == {"last_name": "Lovelace", "email": "x@y.org", "title": "Countess", "source": "web"}


def test_null_values_pass_through_value_maps():
    assert mapper().to_app({"LeadSource": None})["source"] is None


def test_unmapped_value_raises_naming_value_map_and_field():
    with pytest.raises(MappingError) as caught:
        mapper().to_salesforce({"source": "phone"})
    assert caught.value.error_code == "UNMAPPED_VALUE"
    assert caught.value.fields == ["LeadSource"]
    assert "'phone'" in caught.value.message and "'sources'" in caught.value.message


def test_hash_is_equal_for_equal_data_of_other_types():
    assert canonical(100) == canonical(100.0) == canonical(Decimal("100.00"))
    assert values_hash({"d": date(2026, 1, 2), "n": 1}) == values_hash({"n": Decimal("1.0"), "d": "2026-01-02"})
    assert values_hash({"a": "x"}) != values_hash({"a": "y"})
