"""docs/asyncapi.yaml: generated from the event models, valid against the official AsyncAPI 3.0.0 JSON Schema
(tests/data/asyncapi-3.0.0.schema.json, from @asyncapi/specs, resolved offline), complete, and not stale."""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from services.events import REGISTRY, Envelope
from services.events.asyncapi import build, dump, write
from services.events.contract import ContractSettlementApproved

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "tests" / "data" / "asyncapi-3.0.0.schema.json"
COMMITTED = ROOT / "docs" / "asyncapi.yaml"


@cache
def validator() -> Draft7Validator:
    schema = json.loads(SPEC.read_text(encoding="utf-8"))
    # The bundled schema holds every definition under its own $id: crawl it, and retrieve nothing from the
    # network (a Registry without `retrieve` raises on any unknown URI).
    registry: Registry[Any] = Registry().with_resource(
        schema["$id"], Resource.from_contents(schema, default_specification=DRAFT7)).crawl()
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema, registry=registry)


def errors(doc: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in validator().iter_errors(doc)]


def resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for raw in ref[2:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"dangling $ref {ref}"
        node = node[part]
    return node


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in refs(v)]
    return []


def test_the_official_schema_is_the_3_0_0_one() -> None:
    schema = json.loads(SPEC.read_text(encoding="utf-8"))
    assert schema["$id"] == "http://asyncapi.com/definitions/3.0.0/asyncapi.json"
    assert schema["properties"]["asyncapi"]["const"] == "3.0.0"
    assert "@asyncapi/specs" in (SPEC.parent / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("source", ["build", "docs/asyncapi.yaml"])
def test_document_is_valid_asyncapi_3(source: str) -> None:
    doc = build() if source == "build" else yaml.safe_load(COMMITTED.read_text(encoding="utf-8"))
    assert doc["asyncapi"] == "3.0.0"
    assert errors(doc) == []
    for ref in refs(doc):  # the JSON Schema does not check that references resolve: we do
        resolve(doc, ref)


def test_every_event_type_has_its_message_channel_and_operation() -> None:
    doc = build()
    messages = doc["components"]["messages"]
    for event_type, spec in REGISTRY.items():
        topic = spec.topic()
        message = messages[event_type]
        assert message["x-schema-version"] == spec.version
        assert message["x-partition-key"] == spec.key_field
        assert spec.key_field in message["bindings"]["kafka"]["key"]["description"]
        payload = resolve(doc, message["payload"]["$ref"])
        assert set(payload["properties"]) == set(spec.payload.model_fields), event_type
        assert spec.key_field in payload["required"]
        fixed = message["headers"]["allOf"][1]["properties"]
        assert fixed["ce_type"]["const"] == event_type and fixed["ce_schemaversion"]["const"] == str(spec.version)
        channel = doc["channels"][topic]
        assert channel["address"] == topic and event_type in channel["messages"]
        operation = doc["operations"][f"{spec.producer}.send"]
        assert operation["action"] == "send" and operation["channel"]["$ref"] == f"#/channels/{topic}"
        assert {"$ref": f"#/channels/{topic}/messages/{event_type}"} in operation["messages"]
    assert set(doc["channels"]) == {"goumai.catalogue", "goumai.budget", "goumai.registry", "goumai.contract",
                                    "goumai.assessment", "goumai.dlq"}
    dlq_headers = resolve(doc, doc["components"]["messages"]["dead-letter"]["headers"]["$ref"])
    assert {"dlq_error", "dlq_consumer", "dlq_topic", "dlq_partition", "dlq_offset"} <= set(dlq_headers["required"])
    assert doc["servers"]["production"]["protocol"] == "kafka"


def test_headers_schema_matches_what_the_envelope_puts_on_the_wire() -> None:
    doc = build()
    payload = ContractSettlementApproved(
        contract_id="c1", settlement_id="s1", line_id="l1", reservation_id="r1", supplier_code="91320411MA1X",
        period="2025-01", grade="合格", instalment=833334, factor_percent="90", amount=750001, withheld=83333,
        assessment_id="a1", policy="changzhou@2024.1")
    key, value, headers = Envelope.wrap(payload, source="/goumai/contract").to_kafka()
    header_schema = resolve(doc, "#/components/schemas/CloudEventsKafkaHeaders")
    wire = {k: v.decode() for k, v in headers}
    assert set(wire) == set(header_schema["properties"])
    assert set(header_schema["required"]) <= set(wire)
    assert key.decode() == "c1" and json.loads(value)["amount"] == "7500.01"


def test_committed_file_is_what_build_makes() -> None:
    """Regenerate with `goumai asyncapi` (and commit docs/asyncapi.yaml) when the event models change."""
    assert COMMITTED.read_text(encoding="utf-8") == dump(build()), "docs/asyncapi.yaml is stale: run goumai asyncapi"
    assert yaml.safe_load(COMMITTED.read_text(encoding="utf-8")) == build()


def test_build_is_deterministic_and_write_round_trips(tmp_path: Path) -> None:
    assert dump(build()) == dump(build())
    path = write(tmp_path / "out" / "asyncapi.yaml")
    assert yaml.safe_load(path.read_text(encoding="utf-8")) == build()


@pytest.mark.parametrize("breakage", [
    "wrong version", "unknown action", "channel without address map", "bad binding", "extra field on message",
])
def test_validation_catches_a_broken_document(breakage: str) -> None:
    doc = copy.deepcopy(build())
    if breakage == "wrong version":
        doc["asyncapi"] = "2.6.0"
    elif breakage == "unknown action":
        doc["operations"]["budget.send"]["action"] = "publish"
    elif breakage == "channel without address map":
        doc["channels"]["goumai.budget"]["messages"] = ["budget.line.approved"]
    elif breakage == "bad binding":
        doc["channels"]["goumai.budget"]["bindings"]["kafka"]["partitions"] = 0
    else:
        doc["components"]["messages"]["budget.line.approved"]["kafka"] = {"key": "line_id"}
    assert errors(doc), breakage


def test_dangling_reference_is_caught() -> None:
    doc = copy.deepcopy(build())
    doc["components"]["messages"]["budget.line.approved"]["payload"]["$ref"] = "#/components/schemas/Nope"
    with pytest.raises(AssertionError, match="dangling"):
        for ref in refs(doc):
            resolve(doc, ref)


def test_message_ids_are_valid_component_keys() -> None:
    for name in build()["components"]["messages"]:
        assert re.fullmatch(r"[\w\d.\-_]+", name)
