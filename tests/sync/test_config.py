"""Configuration errors name the file, the key path and what was expected."""

from __future__ import annotations

import pytest

from salesbridge.sync.config import ConfigError, Direction, load_config, parse_config

BASE = {
    "connections": {
        "salesforce": {"login_url": "https://127.0.0.1:8787", "client_id": "salesbridge",
                       "client_secret": "${SF_SECRET}", "username": "u@example.com", "password": "pw"},
        "app": {"url": "sqlite:///app.db"},
    },
    "flows": [{"name": "leads", "salesforce": "Lead", "table": "leads", "direction": "both",
               "fields": {"LastName": "last_name", "Status": {"app": "stage", "values": "pipeline"}}}],
    "value_maps": {"pipeline": {"New": "Open - Not Contacted", "Won": "Closed - Converted"}},
}


def test_valid_config_with_secret_from_environment():
    config = parse_config(BASE, "hub.yaml", environ={"SF_SECRET": "s3cret"})
    assert config.connections.salesforce.client_secret.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(config)
    flow = config.flow("leads")
    assert flow.direction is Direction.BOTH
    assert [(f.salesforce, f.app, f.values) for f in flow.fields] == [
        ("LastName", "last_name", None), ("Status", "stage", "pipeline")]
    assert config.value_maps["pipeline"].from_salesforce["Closed - Converted"] == "Won"


def test_unset_environment_variable_names_the_key():
    with pytest.raises(ConfigError) as caught:
        parse_config(BASE, "hub.yaml", environ={})
    assert str(caught.value) == ("hub.yaml: connections.salesforce.client_secret: environment variable "
                                 "SF_SECRET is not set")


def test_default_for_environment_variable():
    data = {**BASE, "connections": {**BASE["connections"], "app": {"url": "${APP_URL:-sqlite:///x.db}"}}}
    config = parse_config(data, "hub.yaml", environ={"SF_SECRET": "x"})
    assert config.connections.app.url == "sqlite:///x.db"


@pytest.mark.parametrize(
    ("change", "key", "expected"),
    [
        (lambda d: d["flows"][0].update(direction="sideways"), "flows[0].direction", "to_salesforce"),
        (lambda d: d["flows"][0]["fields"]["Status"].update(values="stages"), "flows[0].fields.Status.values",
         "value map 'stages' is not defined"),
        (lambda d: d["flows"][0]["fields"]["Status"].update(transform="shout"), "flows[0].fields.Status.transform",
         "'lower'"),
        (lambda d: d["connections"]["salesforce"].pop("username"), "connections.salesforce",
         "login flow 'password' needs username"),
        (lambda d: d["flows"].append(dict(d["flows"][0])), "flows[1].name", "used twice"),
        (lambda d: d["value_maps"].update(bad={"A": "X", "B": "X"}), "value_maps.bad",
         "Salesforce value 'X' is mapped from both 'A' and 'B'"),
        (lambda d: d["flows"][0].update(colour="red"), "flows[0].colour", "Extra inputs are not permitted"),
    ],
)
def test_errors_are_located(change, key, expected):
    import copy

    data = copy.deepcopy(BASE)
    change(data)
    with pytest.raises(ConfigError) as caught:
        parse_config(data, "hub.yaml", environ={"SF_SECRET": "x"})
    assert caught.value.path == "hub.yaml"
    assert caught.value.key == key
    assert expected in caught.value.expected


def test_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("flows: [\n  - name: x\n    table: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: <top level>: not valid YAML \(line"):
        load_config(bad)
