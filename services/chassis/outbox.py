"""Outbox rows handed from a commit to the relay in the same process, and when it may publish them at once.

The relay publishes unsent rows in id order, read back from the table. When the committing UnitOfWork is in
the process whose relay leads, it can hand its rows over instead, saving the relay a read on the event's
path. Publishing them at once must not put them ahead of an earlier event for the same key. An event that
must come first was committed before this transaction wrote its outbox rows: the services take their locks
on the domain's rows first, and the UnitOfWork writes the outbox rows last, just before COMMIT. So the INSERT
also returns the unsent rows it could see (READ COMMITTED: a statement sees what was committed before it
began). The relay publishes the handed rows at once only if it has published every one of those itself;
otherwise it reads the table in id order, as without a handover.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from services.chassis.bus import OutMessage
from services.chassis.db import pg_insert
from services.chassis.schema import outbox

NOTIFY_CHANNEL = "goumai_outbox"

# At most this many unsent rows are returned; more means a backlog, which the relay reads in id order anyway.
UNSENT_SEEN_LIMIT = 64


@dataclass(frozen=True)
class Handover:
    """Rows a transaction committed, as the relay publishes them, and the unsent rows its INSERT saw."""

    ids: tuple[int, ...]
    messages: tuple[OutMessage, ...]
    unsent_seen: tuple[int, ...]
    unsent_complete: bool  # unsent_seen is every unsent row, not cut off at UNSENT_SEEN_LIMIT
    read_committed: bool  # the INSERT's snapshot was taken at the statement, so it saw every earlier commit

    def may_go_before_a_read(self, published: Any) -> bool:
        """True when publishing these rows now keeps the order: every unsent row the INSERT saw was already
        published by this relay (`published`: ids it published lately, `in`-testable)."""
        return self.read_committed and self.unsent_complete and all(i in published for i in self.unsent_seen)


# Rows committed before this INSERT: the outer query does not see what the CTE inserts (one snapshot).
_SEEN = (
    " RETURNING id, event_id) "
    "SELECT ARRAY(SELECT id FROM new ORDER BY id) AS ids, ARRAY(SELECT event_id FROM new ORDER BY id) AS events,"
    f" ARRAY(SELECT id FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT {UNSENT_SEEN_LIMIT + 1}) AS unsent,"
    " current_setting('transaction_isolation') AS isolation"
)
# More rows in one commit are inserted as usual and read back by the relay (and stay under Postgres's
# 32767 parameters per statement).
HANDOVER_MAX_ROWS = 1000


async def insert_for_handover(pg: Any, rows: list[dict[str, Any]]) -> Handover:
    """Insert UnitOfWork outbox rows on the asyncpg connection `pg` (inside the caller's transaction) in one
    statement, and return them as a Handover for the relay once the transaction has committed."""
    insert, args = pg_insert(outbox, rows)
    result = await pg.fetchrow(f"WITH new AS ({insert}{_SEEN}", *args)
    by_event = {r["event_id"]: r for r in rows}
    unsent = tuple(result["unsent"])
    return Handover(
        ids=tuple(result["ids"]),
        messages=tuple(as_message(by_event[e]) for e in result["events"]),
        unsent_seen=unsent[:UNSENT_SEEN_LIMIT],
        unsent_complete=len(unsent) <= UNSENT_SEEN_LIMIT,
        read_committed=result["isolation"] == "read committed",
    )


def as_message(row: Any) -> OutMessage:
    """An outbox row (its topic, key, headers and payload columns) as the message the relay publishes."""
    headers = row["headers"]
    if isinstance(headers, str | bytes):
        headers = json.loads(headers)
    return OutMessage(
        topic=row["topic"],
        key=row["key"].encode(),
        value=row["payload"].encode(),
        headers=tuple((k, v.encode()) for k, v in headers),
    )
