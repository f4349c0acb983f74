"""goumai up | serve SERVICE | migrate [SERVICE…] | asyncapi | token | keys | dlq list|replay | demo"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from services.chassis.settings import SERVICES, get_settings

PROCESSES = ("gateway", *SERVICES)


def _up(args: argparse.Namespace) -> int:
    from goumai.up import run

    run(Path(args.var), host=args.host, jurisdiction=args.jurisdiction, base_port=args.port)
    return 0


def _serve(args: argparse.Namespace) -> int:
    """One process for a container: settings from GOUMAI_* environment variables."""
    import importlib

    import uvicorn

    from services.chassis.logging import configure_logging

    base = get_settings()
    settings = base.model_copy(update={"service": args.service})
    configure_logging(settings.log_level, json=settings.log_json)
    if args.service == "gateway":
        from gateway.app import create_app as create_gateway

        app = create_gateway(settings)
    else:
        app = importlib.import_module(f"services.{args.service}.app").create_app(settings)
    uvicorn.run(app, host=args.host or settings.host, port=args.port or settings.resolved_port(),
                log_level=settings.log_level.lower(), proxy_headers=True, forwarded_allow_ips="*")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from services.chassis.migrations import upgrade

    settings = get_settings()
    for name in args.services or PROCESSES:
        url = settings.resolved_database_url(name)
        print(f"migrating {name} …", file=sys.stderr)
        upgrade(name, url)
    return 0


def _asyncapi(args: argparse.Namespace) -> int:
    from services.events.asyncapi import write

    path = write(Path(args.out))
    print(f"wrote {path}", file=sys.stderr)
    return 0


def _keys(args: argparse.Namespace) -> int:
    from services.chassis.auth import generate_keypair

    kid = generate_keypair(Path(args.dir))
    print(kid)
    return 0


def _dlq(args: argparse.Namespace) -> int:
    """List the dead letters, or replay one consumer's once their cause is fixed (services.chassis.dlq)."""
    import asyncio

    from services.chassis import dlq
    from services.chassis.app import make_transport
    from services.chassis.db import make_engine, make_session_factory

    settings = get_settings()
    prefix = settings.topic_prefix

    def service_of(group: str) -> str | None:
        name = group.removeprefix(f"{prefix}.")
        return name if name in SERVICES else None

    async def run() -> int:
        transport = make_transport(settings)
        await transport.start()
        try:
            letters = dlq.latest(await dlq.read(transport, prefix))
            if args.consumer:
                letters = [x for x in letters if x.consumer == args.consumer]
            if args.event_id:
                letters = [x for x in letters if x.event_id in set(args.event_id)]
            by_consumer: dict[str, list[dlq.DeadLetter]] = {}
            for x in letters:
                by_consumer.setdefault(x.consumer, []).append(x)
            replayed = 0
            for group, mine in sorted(by_consumer.items()):
                service = service_of(group)
                if service is None:
                    print(f"{group}: not a Goumai service's consumer group; skipped", file=sys.stderr)
                    continue
                engine = make_engine(settings.resolved_database_url(service))
                try:
                    sessions = make_session_factory(engine)
                    if args.action == "replay":
                        done = await dlq.replay(transport, sessions, mine)
                        replayed += len(done)
                        for x in done:
                            print(f"replayed {x.event_id} {x.event_type} → {x.topic} for {group}")
                    else:
                        states = await dlq.states(sessions, group, [x.event_id for x in mine])
                        for x in mine:
                            state = states.get(x.event_id, "replayed, not yet handled")
                            print(f"{x.event_id}  {x.event_type:<40} {group:<24} {state:<8} {x.error[:100]}")
                finally:
                    await engine.dispose()
            if args.action == "replay":
                print(f"{replayed} dead letter(s) replayed", file=sys.stderr)
            elif not letters:
                print("no dead letters", file=sys.stderr)
            return 0
        finally:
            await transport.stop()

    return asyncio.run(run())


def _demo(args: argparse.Namespace) -> int:
    from goumai.demo import main as demo_main

    return int(demo_main(args.rest))


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["token"]:
        from gateway.tokens import mint_cli

        return mint_cli(argv[1:])
    if argv[:1] == ["demo"]:  # its options go to the demo's own parser (REMAINDER drops leading options)
        from goumai.demo import main as demo_main

        return demo_main(argv[1:])
    p = argparse.ArgumentParser(prog="goumai", description="Goumai (购买): government purchase of services")
    sub = p.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="the whole system on the embedded default (SQLite + embedded log)")
    up.add_argument("--var", default="var", help="where state lives (default ./var)")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=int, default=8000, help="the gateway's port; services take the next five")
    up.add_argument("--jurisdiction", default="national", help="the policy pack in force")
    up.set_defaults(fn=_up)

    serve = sub.add_parser("serve", help="one service (or the gateway), configured by GOUMAI_* variables")
    serve.add_argument("service", choices=PROCESSES)
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(fn=_serve)

    mig = sub.add_parser("migrate", help="apply each service's Alembic history to its database")
    mig.add_argument("services", nargs="*", help=f"some of: {', '.join(PROCESSES)} (default: all)")
    mig.set_defaults(fn=_migrate)

    api = sub.add_parser("asyncapi", help="write docs/asyncapi.yaml from the event models")
    api.add_argument("--out", default="docs/asyncapi.yaml")
    api.set_defaults(fn=_asyncapi)

    sub.add_parser("token", help="mint a JWT: goumai token --role finance --org F1 --region R1 (see --help)")

    keys = sub.add_parser("keys", help="make a new signing key pair (rotation)")
    keys.add_argument("--dir", default="var/keys")
    keys.set_defaults(fn=_keys)

    dead = sub.add_parser("dlq", help="list the dead letters, or replay them once their cause is fixed")
    dead.add_argument("action", choices=("list", "replay"))
    dead.add_argument("--consumer", help="only this consumer group's, e.g. goumai.contract")
    dead.add_argument("--event-id", action="append", help="only this event (repeatable)")
    dead.set_defaults(fn=_dlq)

    demo = sub.add_parser("demo", help="walk the whole cycle against a running system")
    demo.add_argument("rest", nargs=argparse.REMAINDER)
    demo.set_defaults(fn=_demo)

    args = p.parse_args(argv)
    return int(args.fn(args))


if __name__ == "__main__":
    raise SystemExit(main())
