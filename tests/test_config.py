"""The settings read from the environment: INGEST_* values checked, a bad one said in one line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import fsspec
import pytest
from helpers import cli

from ingest.config import InvalidSetting, Settings, s3_filesystem_options, settings_from
from ingest.listing import open_filesystem
from ingest.transform import dbt_filesystems

INGEST_VARS = ("INGEST_BATCH_MB", "INGEST_BATCH_OBJECTS", "INGEST_COMMIT_RECORDS", "INGEST_THREADS")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No SOURCE, WAREHOUSE or INGEST_* from the caller's environment."""
    for name in ("SOURCE", "WAREHOUSE", *INGEST_VARS):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, {}),
        ({"INGEST_BATCH_MB": "16"}, {"batch_bytes": 16 * 2**20}),
        ({"INGEST_BATCH_OBJECTS": "1"}, {"batch_objects": 1}),
        ({"INGEST_COMMIT_RECORDS": " 500 "}, {"commit_records": 500}),
        ({"INGEST_THREADS": "2"}, {"read_threads": 2}),
        ({"INGEST_THREADS": ""}, {}),  # empty counts as unset, as for SOURCE and WAREHOUSE
        ({"RAW_LAKE": "s3://lake/raw"}, {"lake": "s3://lake/raw"}),
        ({"RAW_LAKE": ""}, {}),
    ],
)
def test_valid_settings_are_read(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: dict[str, int | str]
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = settings_from("s3://bucket/prefix", "wh.duckdb")
    assert settings == Settings(
        source="s3://bucket/prefix", warehouse=Path("wh.duckdb"), **expected
    )


def test_the_lake_option_wins_over_raw_lake(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAW_LAKE", "s3://lake/raw")
    assert settings_from(None, None, "/data/lake").lake == "/data/lake"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("INGEST_THREADS", "0", "INGEST_THREADS='0' is not a whole number of at least 1 (objects fetched and decompressed at once)"),
        ("INGEST_THREADS", "-2", "INGEST_THREADS='-2' is not a whole number of at least 1 (objects fetched and decompressed at once)"),
        ("INGEST_BATCH_MB", "1.5", "INGEST_BATCH_MB='1.5' is not a whole number of at least 1 (MiB of JSON parsed at once)"),
        ("INGEST_BATCH_OBJECTS", "many", "INGEST_BATCH_OBJECTS='many' is not a whole number of at least 1 (objects parsed at once)"),
        ("INGEST_COMMIT_RECORDS", "0", "INGEST_COMMIT_RECORDS='0' is not a whole number of at least 1 (records parsed before a commit)"),
    ],
)  # fmt: skip
def test_invalid_settings_name_the_variable_the_value_and_what_is_accepted(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(InvalidSetting) as raised:
        settings_from(None, None)
    assert str(raised.value) == message


@pytest.mark.e2e
def test_the_cli_says_an_invalid_setting_in_one_line_and_exits_2(tmp_path: Path) -> None:
    wh = tmp_path / "wh.duckdb"
    env = {**os.environ, "INGEST_THREADS": "0"}
    result = cli("ingest", "--source", tmp_path, "--warehouse", wh, env=env)
    assert result.returncode == 2
    assert result.stderr == (
        "not started: INGEST_THREADS='0' is not a whole number of at least 1"
        " (objects fetched and decompressed at once)\n"
    )
    assert not wh.exists()


def test_the_lake_filesystem_is_made_alike_for_the_ingest_and_for_dbt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    assert s3_filesystem_options()["endpoint_url"] == "http://127.0.0.1:9"
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:10")
    ours = open_filesystem("s3://lake/raw")
    (spec,) = json.loads(json.dumps(dbt_filesystems("s3://lake/raw")))  # as dbt gets it
    theirs = fsspec.filesystem(spec.pop("fs"), **spec)  # what dbt-duckdb does with it
    assert type(theirs) is type(ours) and theirs is not ours
    for attribute in ("endpoint_url", "config_kwargs"):
        assert getattr(theirs, attribute) == getattr(ours, attribute), attribute
    assert ours.endpoint_url == "http://127.0.0.1:10"
    assert dbt_filesystems("/data/lake") == dbt_filesystems(None) == []
