"""The published language of Goumai: CloudEvents envelopes and one payload module per producer."""

from services.events import assessment, budget, catalogue, contract, registry
from services.events.base import (
    REGISTRY,
    Envelope,
    EventPayload,
    EventSpec,
    dlq_topic,
    event,
    topic_for,
)

__all__ = [
    "REGISTRY",
    "Envelope",
    "EventPayload",
    "EventSpec",
    "assessment",
    "budget",
    "catalogue",
    "contract",
    "dlq_topic",
    "event",
    "registry",
    "topic_for",
]
