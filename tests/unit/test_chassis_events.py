"""The published language: every event is a CloudEvent with a schema version and a partition key."""

from __future__ import annotations

from services.events import REGISTRY, Envelope
from services.events.contract import ContractTerminated


def test_every_event_names_a_key_field_and_topic() -> None:
    assert len(REGISTRY) >= 21
    for spec in REGISTRY.values():
        assert spec.key_field in spec.payload.model_fields
        assert spec.topic() == f"goumai.{spec.producer}"
        assert spec.summary, f"{spec.type} needs a docstring: integrators read it"


def test_binary_mode_round_trip_keeps_attributes_and_money_as_yuan() -> None:
    payload = ContractTerminated(contract_id="c-1", line_id="l-1", reservation_id="r-1", supplier_code="S",
                                 reason="breach", terminated_on="2025-06-30")  # type: ignore[arg-type]
    env = Envelope.wrap(payload, source="/goumai/contract")
    key, value, headers = env.to_kafka()
    h = dict(headers)
    assert key == b"c-1" and h["ce_type"] == b"contract.terminated" and h["ce_specversion"] == b"1.0"
    assert h["content-type"] == b"application/json" and h["ce_schemaversion"] == b"1"
    back = Envelope.from_kafka(key, value, headers)
    assert back.id == env.id and back.payload() == payload


def test_consumers_ignore_fields_added_later() -> None:
    env = Envelope.wrap(ContractTerminated(contract_id="c", line_id="l", reservation_id="r", supplier_code="S",
                                           reason="x", terminated_on="2025-01-01"),  # type: ignore[arg-type]
                        source="/t")
    richer = env.model_copy(update={"data": {**env.data, "a_new_field": 1}})
    assert richer.payload() == env.payload()
