"""Settings: the table, config.json, the environment, and values that cannot be read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from protocol.settings import (
    BadSetting,
    Setting,
    defaults,
    environment_values,
    parse_setting,
    read_config_file,
    settings_table,
    switched_on,
)

TABLE = (
    Setting("PORT", 8700, "Port to listen on."),
    Setting("TIMEOUT", 20.0, "Seconds to wait."),
    Setting("SCHEDULER", True, "Run the jobs."),
    Setting("HOST", "127.0.0.1", "Address to listen on."),
    Setting("DATABASE", None, "SQLite file."),
    Setting("YEAR_BASIS", {}, "Year basis per series."),
    Setting("METHODS", ["ไปรษณีย์"], "Dispatch methods."),
)
BY_NAME = {s.name: s for s in TABLE}


def test_defaults_and_the_readme_table_come_from_one_table() -> None:
    assert defaults(TABLE)["PORT"] == 8700
    assert settings_table(TABLE)[0] == ("PORT", 8700, "Port to listen on.")
    assert len(settings_table(TABLE)) == len(TABLE)


def test_only_the_prefixed_variables_of_known_settings_are_read() -> None:
    env = {"SARABAN_HUB_PORT": "9000", "SARABAN_NODE_PORT": "1", "SARABAN_HUB_OTHER": "x"}
    assert environment_values(TABLE, "SARABAN_HUB_", env) == {"PORT": "9000"}


READABLE = {
    "whole_number": ("PORT", "9000", 9000),
    "decimal": ("TIMEOUT", "2.5", 2.5),
    "switch_off": ("SCHEDULER", "Off", False),
    "switch_on": ("SCHEDULER", " yes ", True),
    "switch_as_json": ("SCHEDULER", False, False),
    "text": ("HOST", "0.0.0.0", "0.0.0.0"),
    "path_without_default": ("DATABASE", "/srv/hub.sqlite", "/srv/hub.sqlite"),
    "mapping_as_json_text": ("YEAR_BASIS", '{"ส่ง": "fiscal"}', {"ส่ง": "fiscal"}),
    "list_as_json": ("METHODS", ["โทรสาร"], ["โทรสาร"]),
}


@pytest.mark.parametrize("case", sorted(READABLE))
def test_a_value_is_read_as_the_type_of_its_default(case: str) -> None:
    name, value, expected = READABLE[case]
    assert parse_setting(BY_NAME[name], value) == expected


UNREADABLE = {
    "word_for_a_number": ("PORT", "many", "PORT: "),
    "unknown_switch_word": ("SCHEDULER", "maybe", "SCHEDULER must be on or off"),
    "list_for_a_mapping": ("YEAR_BASIS", "[1]", "YEAR_BASIS: expected a JSON object"),
    "numbers_for_a_list_of_text": ("METHODS", "[1, 2]", "METHODS: expected a JSON list of text"),
    "broken_json": ("YEAR_BASIS", "{", "YEAR_BASIS: "),
}


@pytest.mark.parametrize("case", sorted(UNREADABLE))
def test_a_value_that_cannot_be_read_names_its_setting(case: str) -> None:
    name, value, message = UNREADABLE[case]
    with pytest.raises(BadSetting, match=f"^{message}"):
        parse_setting(BY_NAME[name], value)


def test_a_bad_setting_is_still_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_setting(BY_NAME["PORT"], "many")


def test_the_hubs_lenient_switch_reads_any_other_word_as_off() -> None:
    assert switched_on("ON") and switched_on("1")
    assert not switched_on("") and not switched_on("maybe")


def test_config_file_is_optional(tmp_path: Path) -> None:
    assert read_config_file(tmp_path / "config.json") == {}


def test_config_file_is_read_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"PORT": "9000", "UNKNOWN": 1}), encoding="utf-8")
    assert read_config_file(path) == {"PORT": "9000", "UNKNOWN": 1}


@pytest.mark.parametrize(
    ("text", "message"),
    [("{not json", "is not valid JSON"), ("[1, 2]", "must hold a JSON object")],
    ids=["broken", "not_an_object"],
)
def test_a_bad_config_file_is_refused_naming_it(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "config.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BadSetting, match=message) as e:
        read_config_file(path)
    assert str(path) in str(e.value)
