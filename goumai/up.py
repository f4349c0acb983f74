"""`goumai up`: the whole system in one process on the embedded default.

The gateway on :8000 in front of the five services (:8001-:8005), each with its own SQLite database
under ./var, all sharing one embedded event log (var/bus.db). Ctrl-C stops everything cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from services.chassis.auth import KeyRing, generate_keypair, mint_token
from services.chassis.bus.embedded import EmbeddedTransport
from services.chassis.logging import configure_logging
from services.chassis.settings import DEFAULT_PORTS, SERVICES, Settings


class _Server(uvicorn.Server):
    """Signals are handled once for all servers, not by each."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def embedded_settings(var: Path, *, host: str = "127.0.0.1", jurisdiction: str = "national",
                      base_port: int = 8000) -> dict[str, Settings]:
    ports = {name: base_port + (p - 8000) for name, p in DEFAULT_PORTS.items()}
    common: dict[str, Any] = dict(
        host=host,
        var_dir=var,
        database_url=f"sqlite+aiosqlite:///{var.resolve()}/{{service}}.db",
        bus="embedded",
        embedded_log_path=var / "bus.db",
        jwt_public_keys_dir=var / "keys",
        jurisdiction=jurisdiction,
        log_json=False,
        **{f"{s}_url": f"http://{host}:{ports[s]}" for s in SERVICES},
    )
    return {name: Settings(service=name, port=ports[name], **common) for name in ("gateway", *SERVICES)}


async def _until_started(servers: list[_Server], tasks: list[asyncio.Task[None]]) -> None:
    """uvicorn sets `started` once it listens; a task that ends first failed to start."""
    # uvicorn exposes a flag, not an event, so look at it briefly and often.
    while not all(s.started for s in servers) and not any(t.done() for t in tasks):  # noqa: ASYNC110
        await asyncio.sleep(0.05)


def ensure_keys(folder: Path) -> None:
    if not list(folder.glob("*.key.pem")):
        generate_keypair(folder)


async def serve_all(var: Path, *, host: str = "127.0.0.1", jurisdiction: str = "national",
                    base_port: int = 8000) -> None:
    settings = embedded_settings(var, host=host, jurisdiction=jurisdiction, base_port=base_port)
    ensure_keys(settings["gateway"].jwt_public_keys_dir)
    bus = EmbeddedTransport(settings["gateway"].embedded_log_path)
    await bus.start()
    apps: dict[str, FastAPI] = {}
    for s in SERVICES:
        module = importlib.import_module(f"services.{s}.app")
        apps[s] = module.create_app(settings[s], transport=bus)
    from gateway.app import create_app as create_gateway

    apps["gateway"] = create_gateway(settings["gateway"])
    servers = {
        name: _Server(uvicorn.Config(app, host=host, port=settings[name].resolved_port(), log_level="warning",
                                     lifespan="on", access_log=False))
        for name, app in apps.items()
    }
    loop = asyncio.get_running_loop()

    def stop() -> None:
        print("\ngoumai: stopping …", file=sys.stderr)
        for server in servers.values():
            server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)

    # Services first, so the gateway finds them ready.
    tasks = {name: asyncio.create_task(servers[name].serve(), name=name) for name in SERVICES}
    await _until_started([servers[s] for s in SERVICES], list(tasks.values()))
    tasks["gateway"] = asyncio.create_task(servers["gateway"].serve(), name="gateway")
    await _until_started([servers["gateway"]], [tasks["gateway"]])
    failed = [n for n, t in tasks.items() if t.done()]
    if failed:
        stop()
    else:
        gw = settings["gateway"]
        ops = mint_token(KeyRing(gw.jwt_public_keys_dir), role="ops", subject="ops:console")
        print(
            f"goumai is up on the embedded default (state in {var}/):\n"
            f"  gateway  http://{host}:{gw.resolved_port()}   (API under /api/…, docs at /docs, portal at /portal/)\n"
            + "".join(f"  {s:<9} http://{host}:{settings[s].resolved_port()}\n" for s in SERVICES)
            + f"  ready?   curl http://{host}:{gw.resolved_port()}/readyz\n"
            f"  a token: goumai token --role finance --org FIN-1 --region national\n"
            f"  the demo: goumai demo\n"
            f"  ops token (8 h): {ops}\n"
            "Ctrl-C stops.",
            file=sys.stderr,
        )
    results = await asyncio.gather(*tasks.values(), return_exceptions=True)
    await bus.stop()
    errors = [r for r in results if isinstance(r, BaseException)]
    if failed or errors:
        raise SystemExit(f"goumai up: {', '.join(failed) or 'a server'} failed to start: {errors or ''}")


def run(var: Path, *, host: str = "127.0.0.1", jurisdiction: str = "national", base_port: int = 8000) -> None:
    configure_logging("WARNING", json=False)
    asyncio.run(serve_all(var, host=host, jurisdiction=jurisdiction, base_port=base_port))
