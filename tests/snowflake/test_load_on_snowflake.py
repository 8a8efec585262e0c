"""The raw loader's unit suite (tests/unit/test_load.py), run against Snowflake: the same
files give the same raw rows, quarantine rows (reasons, columns, details, row numbers) and
ledger rows, idempotently, and a failed load leaves nothing behind."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from journeymap.snowflake import SnowflakeWarehouse
from tests.unit.test_load import *  # noqa: F403 - every loader test, on Snowflake

pytestmark = pytest.mark.snowflake


@pytest.fixture
def warehouse(snowflake_emulator) -> Iterator[SnowflakeWarehouse]:  # noqa: F811
    database = f"LOAD_{uuid.uuid4().hex[:8].upper()}"
    with SnowflakeWarehouse(env=snowflake_emulator.env(database)) as warehouse:
        yield warehouse
