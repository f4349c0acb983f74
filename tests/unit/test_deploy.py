"""No Docker engine runs here, so the compose file and the Dockerfile are checked against the code:
every process, port, variable and dependency must match what the settings class and the CLI expect."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from goumai.cli import PROCESSES
from services.chassis.settings import DEFAULT_PORTS, SERVICES, Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def env_of(svc: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in (svc.get("environment") or {}).items()}


def test_every_process_runs_from_the_one_image(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in PROCESSES:
        svc = services[name]
        assert svc["command"] == ["serve", name]
        assert svc["build"]["dockerfile"] == "deploy/Dockerfile"
        port = DEFAULT_PORTS[name]
        assert env_of(svc)["GOUMAI_PORT"] == str(port)
        assert svc["ports"] == [f"{port}:{port}"]
        assert "healthcheck" in svc, f"{name} has no healthcheck"
        deps = svc["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully"
        assert deps["kafka"]["condition"] == "service_healthy"


def test_every_variable_is_a_setting_and_parses(compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    fields = set(Settings.model_fields)
    for name, svc in compose["services"].items():
        for key, value in env_of(svc).items():
            if not key.startswith("GOUMAI_"):
                continue
            assert key.removeprefix("GOUMAI_").lower() in fields, f"{name}: {key} is not a setting"
            monkeypatch.setenv(key, value)
        if name in PROCESSES:
            s = Settings()
            assert s.bus == "kafka" and s.kafka_bootstrap == "kafka:9092"
            assert s.migrate_on_start is False, "migrations run once, as the migrate job"
            assert s.resolved_port() == DEFAULT_PORTS[name]
            for other in SERVICES:
                assert s.service_url(other) == f"http://{other}:{DEFAULT_PORTS[other]}"
        for key in list(env_of(svc)):
            monkeypatch.delenv(key, raising=False)


def test_each_service_has_its_own_database(compose: dict[str, Any]) -> None:
    template = env_of(compose["services"]["migrate"])["GOUMAI_DATABASE_URL"]
    created = set(re.findall(r"CREATE DATABASE (\w+);", (ROOT / "deploy/compose/initdb.sql").read_text()))
    urls = {p: Settings(database_url=template).resolved_database_url(p) for p in PROCESSES}
    assert len(set(urls.values())) == len(PROCESSES)
    for p, url in urls.items():
        assert url.rsplit("/", 1)[1] in created, f"no database created for {p}"
    assert compose["services"]["migrate"]["command"] == ["migrate"]


def test_kafka_is_the_broker_the_tests_use(compose: dict[str, Any]) -> None:
    kafka = compose["services"]["kafka"]
    pom = (ROOT / "deploy/local/kafka/pom.xml").read_text()
    version = re.search(r"<kafka.version>([^<]+)</kafka.version>", pom)
    assert version and kafka["image"] == f"apache/kafka:{version.group(1)}"
    env = env_of(kafka)
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"


def test_the_image_runs_as_a_non_root_user() -> None:
    dockerfile = (ROOT / "deploy/Dockerfile").read_text()
    users = re.findall(r"^USER (\S+)", dockerfile, flags=re.M)
    assert users and users[-1] not in ("root", "0")
    assert 'ENTRYPOINT ["goumai"]' in dockerfile
