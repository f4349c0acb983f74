"""The chassis on real servers: a service starts, is ready, and an emitted event reaches Kafka."""

from __future__ import annotations

from services.events.catalogue import CatalogueItemWithdrawn


async def test_service_ready_and_outbox_reaches_kafka(cluster) -> None:
    c = await cluster("catalogue")
    r = await c.clients["catalogue"].get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json()["checks"] == {"database": "ok", "bus": "ok", "consumer": "ok"}

    async with c.probe("catalogue") as probe:
        async with c.ctx("catalogue").uow() as uow:
            uow.emit(CatalogueItemWithdrawn(catalogue_id="cat-1", department="D1", fiscal_year=2025, version=2,
                                            item_code="ZZ-01", reason="smoke"))
            await uow.commit()
        [event] = await probe.wait_for("catalogue.item.withdrawn", lambda d: d["catalogue_id"] == "cat-1")
        assert event.partitionkey == "ZZ-01"
        assert event.data["reason"] == "smoke"
