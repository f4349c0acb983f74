"""Fixtures of the flow tests: `goumai` (the five services on Postgres and Kafka, the gateway in front) and
`goumai_factory` (the same with `Cluster` options)."""

from tests.support.flow import flow_gateway_db, goumai, goumai_factory

__all__ = ["flow_gateway_db", "goumai", "goumai_factory"]
