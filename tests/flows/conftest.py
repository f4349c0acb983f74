"""Fixtures of the flow tests: `goumai` (the five services on Postgres and Kafka, the gateway in front)."""

from tests.support.flow import flow_gateway_db, goumai

__all__ = ["flow_gateway_db", "goumai"]
