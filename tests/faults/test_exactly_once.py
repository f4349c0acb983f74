"""Exactly once under faults, end to end through the gateway on Postgres and Kafka (DESIGN: delivery is at least
once, effects exactly once — outbox, inbox, partition by aggregate): every event delivered twice; a consumer
service crashed and started again mid-flow; the Kafka broker stopped for 10 s mid-flow. Each time the cycle of
`scenario` closes — nothing lost, nothing done twice — and every amount adds up to the fen.

The broker test stops the shared local broker (deploy/local/kafka.sh) and is last in this module."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.faults.scenario import (
    PERIODS,
    DoublingTransport,
    assess,
    check_closed_once,
    prepare,
    settled_and_paid,
    terminate,
)
from tests.support.servers import IN_CI

ROOT = Path(__file__).resolve().parents[2]
# The broker deploy/local/kafka.sh runs (its default port, below the ephemeral range; KAFKA_PORT overrides it).
LOCAL_BROKER = f"127.0.0.1:{os.environ.get('KAFKA_PORT', '29092')}"


async def test_every_event_delivered_twice_is_handled_once(goumai_factory) -> None:
    doubled: list[DoublingTransport] = []

    def double(inner):
        t = DoublingTransport(inner)
        doubled.append(t)
        return t

    g = await goumai_factory(wrap_transport=double)
    assert len(doubled) == 5
    cycle = await prepare(g)
    await assess(cycle, *PERIODS)
    await settled_and_paid(cycle)
    await terminate(cycle)
    async with g.cluster.probe("assessment", "contract", "budget", "registry", "catalogue") as probe:
        await check_closed_once(cycle, probe, copies=2)
    assert all(t.published > 0 for t in doubled if t.name)  # every service's relay went through the doubling


@pytest.mark.parametrize("service", ["contract", "budget", "registry"])
async def test_a_consumer_service_restarted_mid_flow_loses_nothing_and_repeats_nothing(goumai, service) -> None:
    """The service's app is stopped as a crash would stop it (relay and consumer cancelled wherever they are,
    events for it in flight), the flow goes on without it, and a new app for the same service starts on the same
    database and consumer group."""
    cycle = await prepare(goumai)
    await assess(cycle, *PERIODS[:2])  # their events are on their way to the service …
    await goumai.cluster.halt(service)  # … which goes down at once
    await assess(cycle, *PERIODS[2:])  # the rest of the cycle happens while it is down
    await goumai.cluster.resume(service)
    await settled_and_paid(cycle)
    await terminate(cycle)
    async with goumai.cluster.probe("assessment", "contract", "budget", "registry") as probe:
        await check_closed_once(cycle, probe)
    consumer = goumai.cluster.ctx(service).consumer
    assert consumer is not None and consumer.handled > 0  # the new app caught up with what it missed


# ------------------------------------------------------------------------- the broker (last in this module)
def _kafka_sh(action: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP"}
    return subprocess.run([str(ROOT / "deploy/local/kafka.sh"), action], env=env, timeout=180, capture_output=True,
                          text=True, check=False)


def _starting_elsewhere() -> bool:
    """Another run sharing the broker (scripts/with-servers.sh) started it during the outage: its pid is alive.
    A second broker process on the same data directory would damage the metadata log: never start one then."""
    pidfile = ROOT / "var/local/kafka/kafka.pid"
    try:
        os.kill(int(pidfile.read_text().strip()), 0)
    except (OSError, ValueError):
        return False
    return True


def _start_broker(host: str, port: int) -> None:
    """Start the local broker again (keeping its data), unless another run sharing it already has."""
    if not _listening(host, port) and not _starting_elsewhere():
        done = _kafka_sh("start")
        assert done.returncode == 0 or _listening(host, port), f"the broker did not start again: {done.stderr[-2000:]}"
    deadline = time.monotonic() + 120
    while not _listening(host, port):
        assert time.monotonic() < deadline, "the broker is not listening again within 120 s"
        time.sleep(0.5)  # poll with a deadline (in a worker thread): the broker started elsewhere comes up


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


async def test_the_broker_stopped_for_ten_seconds_mid_flow_loses_nothing(goumai, kafka_bootstrap) -> None:
    if kafka_bootstrap != LOCAL_BROKER:
        reason = f"the broker outage test stops only the local test broker ({LOCAL_BROKER}), not {kafka_bootstrap}"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    host, port = LOCAL_BROKER.split(":")
    cycle = await prepare(goumai)
    await assess(cycle, *PERIODS[:2])  # their events are on their way through contract, budget and registry
    try:
        stopped = await asyncio.to_thread(_kafka_sh, "stop")
        assert stopped.returncode == 0, stopped.stderr
        assert not _listening(host, int(port)), "the broker is not one deploy/local/kafka.sh manages"
        await assess(cycle, *PERIODS[2:])  # through the gateway while the broker is down: outboxes fill up
        await asyncio.sleep(10)  # wait-ok: the fault is a 10 s outage
    finally:
        await asyncio.to_thread(_start_broker, host, int(port))
    await settled_and_paid(cycle, timeout=120)
    await terminate(cycle)
    async with goumai.cluster.probe("assessment", "contract", "budget", "registry") as probe:
        await check_closed_once(cycle, probe)
