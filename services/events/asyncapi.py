"""The AsyncAPI 3.0.0 document of the published language, generated from `REGISTRY`.

`build()` returns the document as a dict; `write(path)` writes it as YAML (`goumai asyncapi` writes
docs/asyncapi.yaml). The output is deterministic — sorted keys, no timestamps — so the committed file can be
compared with a fresh build in a test and never goes stale.

What it says:
- one channel per topic: `goumai.<producer>` for each producing service, and the dead-letter topic `goumai.dlq`;
- one message per event type, with its payload schema (the pydantic model, serialization mode), the CloudEvents
  Kafka binary-mode headers (`ce_*`, with `ce_type` and `ce_schemaversion` fixed for the message), the Kafka key
  (the partition-key field of the payload) and the schema version (`x-schema-version`);
- one `send` operation per producing service (and one for dead letters, sent by any consumer).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from services.events.base import (
    CONTENT_TYPE,
    DEFAULT_PREFIX,
    PRODUCERS,
    REGISTRY,
    EventSpec,
    dlq_topic,
    topic_for,
)

ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING_VERSION = "0.5.0"
# The document's version: bump the minor version for additive changes (a new field, a new event type) and the
# major version when an event type gets a new schema version (breaking changes get a new type version).
DOCUMENT_VERSION = "1.0.0"
PARTITIONS = 3  # what the services create topics with (services/chassis/bus/kafka.py)
SCHEMA_REF = "#/components/schemas/{model}"

_SERVICE_TITLES = {
    "catalogue": "guidance catalogue (指导性目录、负面清单)",
    "budget": "purchase budget lines and ledger (预算、二上二下)",
    "registry": "supplier registry, blacklist and eligibility (承接主体库、黑名单、资格)",
    "contract": "award, contracts, filing and settlement (采购方式、合同、备案、结算)",
    "assessment": "performance assessment (绩效评价、考核、满意度测评)",
}

_KEY_NAMES = {
    "contract_id": "the contract id (UUID)",
    "line_id": "the budget line id (UUID)",
    "supplier_code": "the supplier's unified social credit code (统一社会信用代码, 18 characters)",
    "catalogue_id": "the catalogue id (UUID)",
    "item_code": "the catalogue item code",
}

_DESCRIPTION = """\
Events published by Goumai (购买), the platform for government purchase of services (政府购买服务).

Every message is a CloudEvents 1.0 event in the Kafka protocol binding's **binary content mode**: the
attributes travel as Kafka headers (`ce_id`, `ce_source`, `ce_type`, `ce_subject`, `ce_time`,
`ce_specversion`, and the extensions `ce_schemaversion` and `ce_partitionkey`), `content-type` is
`application/json`, and the Kafka value is the JSON payload described here.

- One topic per producing service (`goumai.catalogue`, `goumai.budget`, `goumai.registry`, `goumai.contract`,
  `goumai.assessment`); the Kafka key is the aggregate the event is about (contract id, budget line id,
  supplier credit code, …), so events about one thing arrive in order.
- Delivery is at least once: deduplicate by `ce_id`.
- Schemas evolve additively (new optional fields; ignore fields you do not know). A breaking change gets a new
  schema version (`ce_schemaversion`) of the type.
- Money is a decimal string of yuan with two decimals ("8856.22"), never a float; dates are ISO 8601;
  periods are labelled "2025-03", "2025-Q1", "2025-H1" or "2025".
- Messages a consumer could not handle go to `goumai.dlq` with `dlq_*` headers.

See docs/integrating.md for how to subscribe, replay and handle dead letters."""


def _cloudevents_headers() -> dict[str, Any]:
    """The headers schema every event message carries (CloudEvents Kafka binding, binary mode)."""
    text = {"type": "string"}
    return {
        "type": "object",
        "title": "CloudEventsKafkaHeaders",
        "description": "CloudEvents 1.0 attributes as Kafka headers (binary content mode), UTF-8 encoded.",
        "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "content-type"],
        "properties": {
            "ce_specversion": {**text, "const": "1.0", "description": "The CloudEvents version."},
            "ce_id": {**text, "format": "uuid",
                      "description": "The event id: unique per event, the same on a redelivery. Deduplicate by it."},
            "ce_source": {**text, "examples": ["/goumai/contract"],
                          "description": "The producing service, as a URI reference."},
            "ce_type": {**text, "description": "The event type, e.g. assessment.finalized."},
            "ce_subject": {**text, "description": "What the event is about (by default the partition key)."},
            "ce_time": {**text, "format": "date-time", "description": "When it happened, UTC (RFC 3339, Z)."},
            "ce_schemaversion": {**text, "pattern": "^[1-9][0-9]*$",
                                 "description": "Extension: the payload's schema version for this type."},
            "ce_partitionkey": {**text,
                                "description": "Extension (CloudEvents partitioning): the Kafka key, as text."},
            "content-type": {**text, "const": CONTENT_TYPE, "description": "The payload's media type."},
        },
    }


def _dead_letter_headers() -> dict[str, Any]:
    text = {"type": "string"}
    return {
        "type": "object",
        "title": "DeadLetterHeaders",
        "description": "The original message's headers (the ce_* headers when it was a CloudEvent) and the "
                       "consumer's dlq_* headers saying why and where from.",
        "required": ["dlq_error", "dlq_consumer", "dlq_topic", "dlq_partition", "dlq_offset"],
        "properties": {
            **_cloudevents_headers()["properties"],
            "dlq_error": {**text, "description": "The error of the last attempt (exception type and message)."},
            "dlq_consumer": {**text, "examples": ["goumai.contract"],
                             "description": "The consumer group that gave up on the message."},
            "dlq_topic": {**text, "examples": ["goumai.assessment"], "description": "Where it was read."},
            "dlq_partition": {**text, "pattern": "^[0-9]+$", "description": "Its partition there."},
            "dlq_offset": {**text, "pattern": "^[0-9]+$", "description": "Its offset there."},
        },
    }


def _collect_schemas(spec: EventSpec, schemas: dict[str, Any]) -> str:
    """Put the payload schema (and the models it uses) into components/schemas; returns its name."""
    schema = spec.payload.model_json_schema(mode="serialization", ref_template=SCHEMA_REF)
    defs = schema.pop("$defs", {})
    name = spec.payload.__name__
    for def_name, definition in [*defs.items(), (name, schema)]:
        if def_name in schemas and schemas[def_name] != definition:
            raise ValueError(f"two different schemas are named {def_name}")
        schemas[def_name] = definition
    return name


def _message_id(spec: EventSpec) -> str:
    return spec.type


def _message(spec: EventSpec, schema_name: str) -> dict[str, Any]:
    key_desc = _KEY_NAMES.get(spec.key_field, spec.key_field)
    return {
        "name": spec.type,
        "title": f"{spec.type} (schema version {spec.version})",
        "summary": spec.summary.splitlines()[0] if spec.summary else spec.type,
        "description": (
            f"{spec.summary}\n\nTopic `{spec.topic()}`; Kafka key = `{spec.key_field}` ({key_desc}); "
            f"headers `ce_type: {spec.type}`, `ce_schemaversion: {spec.version}`."
        ),
        "contentType": CONTENT_TYPE,
        "headers": {
            "allOf": [
                {"$ref": "#/components/schemas/CloudEventsKafkaHeaders"},
                {"type": "object", "properties": {
                    "ce_type": {"type": "string", "const": spec.type},
                    "ce_schemaversion": {"type": "string", "const": str(spec.version)},
                }},
            ],
        },
        "payload": {"$ref": SCHEMA_REF.format(model=schema_name)},
        "correlationId": {"description": "The CloudEvents id: unique per event, repeated on redelivery.",
                          "location": "$message.header#/ce_id"},
        "bindings": {"kafka": {
            "key": {"type": "string",
                    "description": f"The partition key: the payload's `{spec.key_field}`, {key_desc}."},
            "bindingVersion": KAFKA_BINDING_VERSION,
        }},
        "tags": [{"name": spec.producer}],
        "x-schema-version": spec.version,
        "x-partition-key": spec.key_field,
    }


def _channel(address: str, description: str, message_ids: Iterable[str]) -> dict[str, Any]:
    return {
        "address": address,
        "title": address,
        "description": description,
        "messages": {m: {"$ref": f"#/components/messages/{m}"} for m in message_ids},
        "bindings": {"kafka": {"topic": address, "partitions": PARTITIONS, "bindingVersion": KAFKA_BINDING_VERSION}},
    }


def build(prefix: str = DEFAULT_PREFIX) -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document for every event type in REGISTRY (a fresh dict each call)."""
    schemas: dict[str, Any] = {
        "CloudEventsKafkaHeaders": _cloudevents_headers(),
        "DeadLetterHeaders": _dead_letter_headers(),
        "DeadLetterPayload": {
            "description": "The original Kafka value, unchanged (for a CloudEvent: its JSON payload; a message "
                           "that could not be decoded is passed on as it came).",
        },
    }
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    by_producer: dict[str, list[EventSpec]] = {p: [] for p in PRODUCERS}
    for spec in sorted(REGISTRY.values(), key=lambda s: s.type):
        by_producer[spec.producer].append(spec)
        messages[_message_id(spec)] = _message(spec, _collect_schemas(spec, schemas))

    for producer, specs in by_producer.items():
        if not specs:
            continue
        topic = topic_for(producer, prefix)
        keys = sorted({s.key_field for s in specs})
        channels[topic] = _channel(
            topic,
            f"Events of the {producer} service — {_SERVICE_TITLES.get(producer, producer)}. "
            f"Kafka key: {', '.join(f'`{k}`' for k in keys)}; order is guaranteed per key.",
            [_message_id(s) for s in specs],
        )
        operations[f"{producer}.send"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{topic}"},
            "title": f"The {producer} service publishes its events",
            "summary": f"{producer} publishes to {topic} through its transactional outbox (at least once).",
            "messages": [{"$ref": f"#/channels/{topic}/messages/{_message_id(s)}"} for s in specs],
            "tags": [{"name": producer}],
        }

    dlq = dlq_topic(prefix)
    messages["dead-letter"] = {
        "name": "dead-letter",
        "title": "A message a consumer gave up on",
        "summary": "The original key, value and headers, plus dlq_* headers with the error and the origin.",
        "description": "After its retries a consumer publishes the message here unchanged, with `dlq_error`, "
                       "`dlq_consumer`, `dlq_topic`, `dlq_partition` and `dlq_offset`, records the event id as "
                       "dead in its inbox, and goes on with the partition. To replay one: fix the cause, remove "
                       "the dead inbox row of `dlq_consumer`, and publish the key, value and ce_* headers back to "
                       "`dlq_topic`; the event id is the same, so consumers that did handle it skip it "
                       "(docs/integrating.md).",
        "contentType": CONTENT_TYPE,
        "headers": {"$ref": "#/components/schemas/DeadLetterHeaders"},
        "payload": {"$ref": "#/components/schemas/DeadLetterPayload"},
        "bindings": {"kafka": {
            "key": {"type": "string", "description": "The original message's key."},
            "bindingVersion": KAFKA_BINDING_VERSION,
        }},
        "tags": [{"name": "dlq"}],
    }
    channels[dlq] = _channel(dlq, "Dead letters: messages a consumer could not handle after its retries.",
                             ["dead-letter"])
    operations["dlq.send"] = {
        "action": "send",
        "channel": {"$ref": f"#/channels/{dlq}"},
        "title": "A consuming service dead-letters a message",
        "summary": "Any consuming service publishes here what it could not handle.",
        "messages": [{"$ref": f"#/channels/{dlq}/messages/dead-letter"}],
        "tags": [{"name": "dlq"}],
    }

    doc: dict[str, Any] = {
        "asyncapi": ASYNCAPI_VERSION,
        "id": "urn:goumai:events",
        "info": {
            "title": "Goumai events (购买 · 政府购买服务)",
            "version": DOCUMENT_VERSION,
            "description": _DESCRIPTION,
            "tags": [{"name": p, "description": _SERVICE_TITLES[p]} for p in PRODUCERS]
            + [{"name": "dlq", "description": "dead letters"}],
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "production": {
                "host": "kafka:9092",
                "protocol": "kafka",
                "protocolVersion": "4.1",
                "title": "Apache Kafka",
                "description": "The Kafka cluster beside the services (docker-compose: `kafka:9092`; set by "
                               "GOUMAI_KAFKA_BOOTSTRAP). PLAINTEXT inside the deployment's network.",
            },
        },
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }
    # a plain-JSON copy: no shared sub-objects (YAML anchors) and only JSON types
    result: dict[str, Any] = json.loads(json.dumps(doc, sort_keys=True))
    return result


def dump(doc: dict[str, Any]) -> str:
    """The YAML text of a document: sorted keys, Chinese kept readable, no aliases."""

    class _NoAliases(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    header = "# Generated by `goumai asyncapi` from services/events (REGISTRY). Do not edit by hand.\n"
    return header + yaml.dump(doc, Dumper=_NoAliases, sort_keys=True, allow_unicode=True, width=110,
                              default_flow_style=False)


def write(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump(build()), encoding="utf-8")
    return path
