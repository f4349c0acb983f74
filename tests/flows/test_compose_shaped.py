"""The system as docker-compose.yml runs it, on this machine's PostgreSQL and Kafka (no Docker engine here).

Each service is started with its compose command and environment, host names mapped to the local servers: the
databases that deploy/compose/initdb.sql creates, the `keys` job, the `migrate` job, then the five services and
the gateway as `goumai serve` processes. `goumai demo --bus kafka` must then walk the whole cycle clean, reading
the events from Kafka, as `docker compose run … demo --bus kafka` would. The only variable added to compose's is
GOUMAI_TOPIC_PREFIX, so this run's topics and consumer groups are its own on a shared broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
import yaml
from sqlalchemy.engine import make_url

from tests.support.servers import need_kafka, need_postgres

ROOT = Path(__file__).resolve().parents[2]
GOUMAI = [sys.executable, "-m", "goumai.cli"]


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data["services"]


def compose_databases() -> list[str]:
    return re.findall(r"CREATE DATABASE (\w+);", (ROOT / "deploy/compose/initdb.sql").read_text())


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class Localised:
    """Compose's environment with its host names mapped to this machine."""

    def __init__(self, *, pg: str, kafka: str, keys: Path, db_prefix: str, topic_prefix: str,
                 ports: dict[str, int]) -> None:
        self.pg = make_url(pg)
        self.kafka, self.keys, self.ports = kafka, keys, ports
        self.db_prefix, self.topic_prefix = db_prefix, topic_prefix

    def env(self, service: str, environment: dict[str, Any]) -> dict[str, str]:
        out = {}
        for key, raw in environment.items():
            value = str(raw)
            if key == "GOUMAI_DATABASE_URL":  # as text: the database name holds the {service} placeholder
                scheme, database = re.fullmatch(r"([\w+]+)://[^/]*/(.+)", value).groups()  # type: ignore[union-attr]
                server = self.pg.set(drivername=scheme, database=None).render_as_string(hide_password=False)
                value = f"{server}/{self.db_prefix}{database}"
            elif key == "GOUMAI_KAFKA_BOOTSTRAP":
                value = self.kafka
            elif key == "GOUMAI_JWT_PUBLIC_KEYS_DIR":
                value = str(self.keys)
            elif key == "GOUMAI_HOST":
                value = "127.0.0.1"
            elif key == "GOUMAI_PORT":
                value = str(self.ports[service])
            elif key.endswith("_URL") and value.startswith("http://"):
                host = urlsplit(value).hostname
                assert host in self.ports, f"{service}: {key} points to {host}, which compose does not run"
                value = f"http://127.0.0.1:{self.ports[host]}"
            out[key] = value
        return {**os.environ, **out, "GOUMAI_TOPIC_PREFIX": self.topic_prefix, "PYTHONPATH": str(ROOT)}


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, dict[str, str]]]:
    pg, kafka = need_postgres(), need_kafka()
    services = compose()
    goumai = {name: spec for name, spec in services.items() if spec.get("image") == "goumai:latest"
              and spec.get("command", [None])[0] == "serve"}
    assert set(goumai) == {"catalogue", "budget", "registry", "contract", "assessment", "gateway"}
    run = uuid.uuid4().hex[:6]
    work = tmp_path_factory.mktemp("compose")
    keys = work / "keys"
    ports = dict(zip(goumai, free_ports(len(goumai)), strict=True))
    local = Localised(pg=pg, kafka=kafka, keys=keys, db_prefix=f"gc{run}_", topic_prefix=f"gc{run}", ports=ports)
    databases = [f"gc{run}_{name}" for name in compose_databases()]
    procs: list[subprocess.Popen[bytes]] = []
    logs = {}

    async def admin(*statements: str) -> None:
        url = make_url(pg)
        conn = await asyncpg.connect(host=url.host, port=url.port, user=url.username, password=url.password,
                                     database="postgres")
        try:
            for sql in statements:
                await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(*(f'CREATE DATABASE "{d}"' for d in databases)))  # what initdb.sql does
    try:
        # the `keys` job makes a key pair; the `migrate` job applies every service's migrations, once
        subprocess.run([*GOUMAI, "keys", "--dir", str(keys)], check=True, cwd=work, capture_output=True)
        migrate = services["migrate"]
        done = subprocess.run([*GOUMAI, *migrate["command"]], check=False, cwd=work, capture_output=True, text=True,
                              env=local.env("migrate", migrate["environment"]), timeout=300)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        for name, spec in goumai.items():
            logs[name] = work / f"{name}.log"
            procs.append(subprocess.Popen([*GOUMAI, *spec["command"]], cwd=work,
                                          env=local.env(name, spec["environment"]),
                                          stdout=logs[name].open("w"), stderr=subprocess.STDOUT))
        gateway = f"http://127.0.0.1:{ports['gateway']}"
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{gateway}/readyz", timeout=3).status_code == 200:
                    break
            dead = [n for n, p in zip(goumai, procs, strict=True) if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                tails = "\n".join(f"--- {n}\n{logs[n].read_text()[-1500:]}" for n in (dead or goumai))
                raise RuntimeError(f"not ready (exited: {dead}):\n{tails}")
            time.sleep(0.3)  # polling the processes until the gateway answers, with a deadline
        yield gateway, keys, local.env("gateway", goumai["gateway"]["environment"])
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        asyncio.run(admin(*(f'DROP DATABASE IF EXISTS "{d}" WITH (FORCE)' for d in databases)))


def test_every_service_is_ready_with_compose_settings(deployed: tuple[str, Path, dict[str, str]]) -> None:
    gateway, _, _ = deployed
    body = httpx.get(f"{gateway}/readyz", timeout=5).json()
    assert body["status"] == "ready", body
    assert set(body["services"]) == {"catalogue", "budget", "registry", "contract", "assessment"}, body


def test_demo_on_kafka_walks_the_whole_cycle(deployed: tuple[str, Path, dict[str, str]]) -> None:
    gateway, keys, env = deployed
    done = subprocess.run([*GOUMAI, "demo", "--url", gateway, "--keys", str(keys), "--bus", "kafka",
                           "--kafka", env["GOUMAI_KAFKA_BOOTSTRAP"], "--timeout", "30"],
                          check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    out = done.stdout
    assert done.returncode == 0, out[-4000:] + done.stderr[-2000:]
    assert "events from kafka" in out and "✓ demo run" in out
    assert "75,000.00 元 × 90% = 67,500.00 元; withheld 7,500.00 元" in out
    assert "budget line: paid 142,500.00 元 of 960,000.00 元" in out
    for event_type in ("contract.settlement.approved", "budget.payment.recorded", "contract.withheld.released",
                       "registry.supplier.blacklisted", "contract.flagged", "registry.supplier.eligibility.changed"):
        assert f"⇢ {event_type} " in out, event_type
    assert "dead letter" not in out
