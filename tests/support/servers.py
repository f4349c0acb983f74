"""Where the real test servers are: set by `make test` (deploy/local/*.sh start them)."""

from __future__ import annotations

import os

import pytest

PG = os.environ.get("GOUMAI_TEST_PG")  # e.g. postgresql+asyncpg://postgres@127.0.0.1:25432
KAFKA = os.environ.get("GOUMAI_TEST_KAFKA")  # e.g. 127.0.0.1:29092
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need_postgres() -> str:
    if not PG:
        if IN_CI:
            pytest.fail("GOUMAI_TEST_PG is not set: CI must run the suite on PostgreSQL (make test)")
        pytest.skip("PostgreSQL test server not running (GOUMAI_TEST_PG unset; run `make test`)")
    return PG


def need_kafka() -> str:
    if not KAFKA:
        if IN_CI:
            pytest.fail("GOUMAI_TEST_KAFKA is not set: CI must run the suite on Kafka (make test)")
        pytest.skip("Kafka test broker not running (GOUMAI_TEST_KAFKA unset; run `make test`)")
    return KAFKA
