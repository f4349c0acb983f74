"""The closed loop on Kafka and Postgres: assessment.finalized → budget.payment.recorded, beside a bare two-hop
Kafka round trip measured in the same run.

Setup (through the services' HTTP APIs, in-process, as `tests.support.cluster.Cluster` runs them): catalogue
items, approved budget lines (Changzhou, 2025), qualified suppliers, and `--contracts` contracts awarded and
signed on those lines, each with a monthly settlement schedule of 12 periods. Each service has its own database
(created on the server from GOUMAI_TEST_PG and dropped after) and uses the Kafka broker at GOUMAI_TEST_KAFKA.
Then the services catalogue, budget, registry and contract are measured as they are deployed: each its own
`goumai serve SERVICE` process (relay and consumer inside), going on from the offsets the setup committed
(`--in-process` keeps them in this process, one event loop, as before).

Then assessment.finalized events for those (contract, period) pairs are put on the assessment topic as
CloudEvents envelopes (binary mode, as the assessment service's relay publishes them), and a probe consumer reads
budget.payment.recorded from the budget topic. Each event travels assessment.finalized → contract (settlement =
instalment × factor) → contract.settlement.approved → budget (payment against the reservation) →
budget.payment.recorded; registry and budget also handle each assessment.finalized (performance history,
eligibility; the line's results).

1. **latency**: events paced at `--rate` per second (100) for `--seconds`; p50/p99 from the produce of
   assessment.finalized to the probe reading the budget.payment.recorded of that contract and period.
2. **throughput**: the remaining pairs put on the topic at once; assessments per second from the first produce
   to the last payment read (sustained: the whole backlog drains at that rate).
3. **baseline**: a bare two-hop round trip on the same broker — aiokafka produce → a group consumer that
   produces each record on → a probe consumer — paced at the same rate (p50/p99), and with a backlog of the
   same size (per second).

    .venv/bin/python bench/flow.py [--contracts 300] [--rate 100] [--seconds 10] [--keep]

Targets: p99 ≤ 250 ms at 100 assessments/s; ≥ 500 assessments/s sustained.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import logging
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy.engine import make_url
from stdnum.cn import uscc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlib import BASE_URL, KAFKA, admin, fresh_database, paced, pct, stop_task

from services.chassis.auth import generate_keypair
from services.chassis.calendar import business_date, utcnow
from services.chassis.policy import REVIEW_CONDITIONS
from services.events import Envelope
from services.events.assessment import AssessmentFinalized
from tests.support.cluster import Cluster

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("catalogue", "budget", "registry", "contract")
REGION, YEAR = "changzhou", 2025
PERIODS = [f"{YEAR}-{m:02d}" for m in range(1, 13)]
GRADES = {"优秀": "95", "良好": "85", "合格": "70"}  # passing grades: every period pays something
CONTRACT_AMOUNT = "120000.00"  # 12 × 10000.00
CONTRACTS_PER_LINE = 6
LINE_AMOUNT = "900000.00"  # 6 × 120000 = 720000, room for the 优秀 rewards; under the 100万 finance approval
_seq = itertools.count(random.randrange(10_000_000) * 10)


def db_name(service: str) -> str:
    return f"gbench_flow_{service}"


async def create_databases() -> dict[str, str]:
    urls = {}
    for s in SERVICES:
        urls[s] = await fresh_database(db_name(s), s)
    return urls


def credit_code() -> str:
    base = f"91320411{next(_seq):09d}"
    return base + uscc.calc_check_digit(base)


async def bounded(n: int, jobs: list[Callable[[], Awaitable[Any]]]) -> list[Any]:
    sem = asyncio.Semaphore(n)

    async def one(job: Callable[[], Awaitable[Any]]) -> Any:
        async with sem:
            return await job()

    return list(await asyncio.gather(*(one(j) for j in jobs)))


def ok(r: httpx.Response, status: int = 200) -> dict[str, Any]:
    if r.status_code != status:
        raise RuntimeError(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text[:400]}")
    body: dict[str, Any] = r.json()
    return body


# ------------------------------------------------------------------ setup through the services' APIs
@dataclass
class Setup:
    c: Cluster
    department: str

    def purchaser(self) -> dict[str, str]:
        return self.c.auth("purchaser", org=self.department)

    def finance(self) -> dict[str, str]:
        return self.c.auth("finance", org="CZCZ", region=REGION)

    async def catalogue_item(self) -> str:
        cat = self.c.clients["catalogue"]
        body = ok(await cat.post("/catalogues", json={"fiscal_year": YEAR, "region": REGION},
                                 headers=self.purchaser()), 201)
        code = f"IT-{uuid.uuid4().hex[:6].upper()}"
        ok(await cat.post(f"/catalogues/{body['id']}/items",
                          json={"code": code, "name": "机关后勤服务", "service_type": "property"},
                          headers=self.purchaser()), 201)
        rev = ok(await cat.get(f"/catalogues/{body['id']}", headers=self.purchaser()))["version"]
        ok(await cat.post(f"/catalogues/{body['id']}/issue", json={"revision": rev["revision"],
                                                                   "issued_on": "2025-01-06"},
                          headers=self.finance()))
        return code

    async def line(self, item: str) -> dict[str, Any]:
        budget = self.c.clients["budget"]
        line = ok(await budget.post("/lines", json={
            "region": REGION, "fiscal_year": YEAR, "item_code": item, "name": "行政中心物业服务",
            "content": "安保、保洁、会务、设施设备维保", "recipients": "市级机关干部职工", "method": "public_tender",
            "amount": LINE_AMOUNT, "ex_ante_assessment": "事前绩效评估报告:服务需求充分,成本测算合理"},
            headers=self.purchaser()), 201)
        r = ok(await budget.post(f"/lines/{line['line_id']}/submit", json={"version": line["version"]},
                                 headers=self.purchaser()))
        line = ok(await budget.post(f"/lines/{line['line_id']}/one-off-approval",
                                    json={"version": r["version"], "reason": "年度后勤保障急需"},
                                    headers=self.finance()))
        if line["finance_approval_required"]:
            line = ok(await budget.post(f"/lines/{line['line_id']}/finance-approval",
                                        json={"version": line["version"]}, headers=self.finance()))
        return line

    async def supplier(self) -> str:
        reg = self.c.clients["registry"]
        code = credit_code()
        ok(await reg.post("/suppliers", json={
            "credit_code": code, "name": f"常州物业服务有限公司{code[-4:]}", "kind": "enterprise",
            "contacts": [{"name": "李经理", "phone": "0519-85680000"}], "service_types": ["property"]},
            headers=self.finance()), 201)
        ok(await reg.post(f"/suppliers/{code}/reviews", json={"items": [
            {"condition": c, "passed": True, "evidence": f"材料 {c}", "reviewer": "王科长"}
            for c in REVIEW_CONDITIONS]}, headers=self.finance()), 201)
        ok(await reg.post(f"/suppliers/{code}/qualifications", json={
            "name": "物业服务企业资质", "number": f"ZZ-{code[-6:]}", "issuer": "住建局", "service_types": ["property"],
            "valid_from": "2020-01-01", "expires_on": "2099-12-31"}, headers=self.finance()), 201)
        return code

    async def contract(self, line: dict[str, Any], supplier: str) -> dict[str, Any]:
        api = self.c.clients["contract"]
        draft = ok(await api.post("/contracts", json={
            "title": "行政中心物业管理服务合同", "line_id": line["line_id"], "supplier_code": supplier,
            "method": "public_tender", "amount": CONTRACT_AMOUNT,
            "content": "安保、保洁、会务、设施设备维修保养", "starts_on": f"{YEAR}-01-01", "ends_on": f"{YEAR}-12-31",
            "quantity_standard": "保洁 3 万平方米,安保 24 小时 12 岗", "quality_standard": "《物业管理服务工作标准》",
            "pricing_method": "总价包干", "schedule": "monthly", "rights_obligations": "甲方监督考核,乙方建立服务台账",
            "liability": "考核不合格按合同扣减服务费并限期整改",
            "assessment_plan": {"indicators": ["服务质量", "满意度", "安全管理"], "description": "月度考核",
                                "frequency": "monthly"}}, headers=self.purchaser()), 201)
        awarded = ok(await api.post(f"/contracts/{draft['id']}/award", json={"version": draft["version"]},
                                    headers=self.purchaser()))
        day = business_date(utcnow()).isoformat()
        r = ok(await api.post(f"/contracts/{draft['id']}/signatures",
                              json={"version": awarded["version"], "signed_on": day}, headers=self.purchaser()))
        signed = ok(await api.post(f"/contracts/{draft['id']}/signatures",
                                   json={"version": r["version"], "signed_on": day},
                                   headers=self.c.auth("supplier", org=supplier)))
        assert signed["status"] == "signed", signed
        return signed


async def build_contracts(c: Cluster, n: int, concurrency: int) -> list[dict[str, Any]]:
    n_lines = -(-n // CONTRACTS_PER_LINE)
    depts = [Setup(c, f"CZ{uuid.uuid4().hex[:8].upper()}") for _ in range(max(1, n_lines // 10))]
    items = await bounded(concurrency, [d.catalogue_item for d in depts])
    line_jobs = [(depts[i % len(depts)], items[i % len(depts)]) for i in range(n_lines)]
    lines = await bounded(concurrency, [lambda d=d, it=it: d.line(it) for d, it in line_jobs])
    suppliers = await bounded(concurrency, [depts[0].supplier for _ in range(max(1, n // 15))])
    jobs = []
    for i in range(n):
        k = i // CONTRACTS_PER_LINE
        d = line_jobs[k][0]
        jobs.append(lambda d=d, line=lines[k], s=suppliers[i % len(suppliers)]: d.contract(line, s))
    return await bounded(concurrency, jobs)


# ------------------------------------------------------------------ the services as their own processes
class Processes:
    """Each service as a `goumai serve SERVICE` process (as a container runs it) on the databases and topics
    the setup made; its consumer group goes on from the offsets the in-process setup committed."""

    def __init__(self, urls: dict[str, str], prefix: str, keys: Path, pool: int, base_port: int) -> None:
        self.ports = {s: base_port + i for i, s in enumerate(SERVICES)}
        self.env = {
            "GOUMAI_BUS": "kafka", "GOUMAI_KAFKA_BOOTSTRAP": KAFKA, "GOUMAI_TOPIC_PREFIX": prefix,
            "GOUMAI_JWT_PUBLIC_KEYS_DIR": str(keys), "GOUMAI_MIGRATE_ON_START": "false",
            "GOUMAI_DB_POOL_SIZE": str(pool), "GOUMAI_LOG_LEVEL": "WARNING",
            **{f"GOUMAI_{s.upper()}_URL": f"http://127.0.0.1:{p}" for s, p in self.ports.items()},
        }
        self.urls = urls
        self.procs: list[asyncio.subprocess.Process] = []

    async def start(self) -> None:
        for s, port in self.ports.items():
            env = {**os.environ, **self.env, "GOUMAI_DATABASE_URL": self.urls[s]}
            self.procs.append(await asyncio.create_subprocess_exec(
                sys.executable, "-m", "goumai.cli", "serve", s, "--port", str(port), cwd=ROOT, env=env,
                stdout=asyncio.subprocess.DEVNULL))
        async with httpx.AsyncClient(timeout=2) as http:
            for s, port in self.ports.items():
                deadline = time.monotonic() + 60
                while True:
                    with contextlib.suppress(httpx.HTTPError):
                        if (await http.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                            break
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{s} did not become ready on :{port}")
                    await asyncio.sleep(0.2)  # polling a starting server, not waiting for a result

    async def stop(self) -> None:
        for p in self.procs:
            if p.returncode is None:
                p.terminate()
        for p in self.procs:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(p.wait(), 30)
            if p.returncode is None:
                p.kill()


# ------------------------------------------------------------------ Kafka helpers
async def ensure_topics(topics: list[str]) -> None:
    adm = AIOKafkaAdminClient(bootstrap_servers=KAFKA, client_id="bench-flow")
    await adm.start()
    try:
        existing = set(await adm.list_topics())
        new = [NewTopic(t, 3, 1) for t in topics if t not in existing]
        if new:
            with contextlib.suppress(Exception):
                await adm.create_topics(new)
    finally:
        await adm.close()


class Probe:
    """Reads a topic in its own group and resolves the arrival time of each awaited key."""

    def __init__(self, topic: str, key_of: Callable[[Any], str | None]) -> None:
        self.consumer = AIOKafkaConsumer(topic, bootstrap_servers=KAFKA, group_id=f"probe-{uuid.uuid4().hex}",
                                         client_id="bench-probe", auto_offset_reset="latest")
        self.key_of = key_of
        self.arrived: dict[str, float] = {}
        self.waiting: dict[str, asyncio.Future[float]] = {}
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        self.task = asyncio.create_task(self._run())
        deadline = time.monotonic() + 30
        while not self.consumer.assignment():  # in the group, with its partitions, before anything is sent
            if time.monotonic() > deadline:
                raise RuntimeError("the probe got no partitions")
            await asyncio.sleep(0.05)
        for tp in self.consumer.assignment():
            await self.consumer.position(tp)

    async def _run(self) -> None:
        while True:
            batches = await self.consumer.getmany(timeout_ms=500, max_records=2000)
            now = time.perf_counter()
            for records in batches.values():
                for rec in records:
                    key = self.key_of(rec)
                    if key is None or key in self.arrived:
                        continue
                    self.arrived[key] = now
                    fut = self.waiting.pop(key, None)
                    if fut is not None and not fut.done():
                        fut.set_result(now)

    def expect(self, key: str) -> asyncio.Future[float]:
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        if key in self.arrived:
            fut.set_result(self.arrived[key])
        else:
            self.waiting[key] = fut
        return fut

    async def stop(self) -> None:
        await stop_task(self.task)
        await self.consumer.stop()


def payment_key(rec: Any) -> str | None:
    headers = dict(rec.headers or ())
    if headers.get("ce_type") != b"budget.payment.recorded":
        return None
    data = json.loads(rec.value)
    return f"{data.get('contract_id')}/{data.get('period')}"


# ------------------------------------------------------------------ the system under test
class Flow:
    def __init__(self, c: Cluster, contracts: list[dict[str, Any]]) -> None:
        self.c = c
        self.topic = f"{c.prefix}.assessment"
        self.pairs = [(ct, i, p) for i, p in enumerate(PERIODS) for ct in contracts]  # period by period
        self.next = 0
        self.rnd = random.Random(7)
        self.producer = AIOKafkaProducer(bootstrap_servers=KAFKA, client_id="bench-assessment", acks="all",
                                         enable_idempotence=True, linger_ms=0)
        self.probe = Probe(f"{c.prefix}.budget", payment_key)

    async def start(self) -> None:
        await ensure_topics([self.topic, f"{self.c.prefix}.budget"])
        await self.producer.start()
        await self.probe.start()

    async def stop(self) -> None:
        await self.probe.stop()
        await self.producer.stop()

    def take(self, n: int) -> list[tuple[dict[str, Any], int, str]]:
        out = self.pairs[self.next:self.next + n]
        self.next += len(out)
        return out

    def message(self, ct: dict[str, Any], index: int, period: str) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
        grade = self.rnd.choice(list(GRADES))
        payload = AssessmentFinalized(
            assessment_id=str(uuid.uuid4()), contract_id=ct["id"], supplier_code=ct["supplier_code"],
            service_type=ct["service_type"], department=ct["department"], line_id=ct["line_id"], period=period,
            period_index=index + 1, score=Decimal(GRADES[grade]), grade=grade, failing=False,
            policy="changzhou@2024.1")
        return Envelope.wrap(payload, source="/goumai/assessment").to_kafka()

    async def one(self, pair: tuple[dict[str, Any], int, str]) -> float:
        ct, index, period = pair
        key, value, headers = self.message(ct, index, period)
        fut = self.probe.expect(f"{ct['id']}/{period}")
        t0 = time.perf_counter()
        await self.producer.send_and_wait(self.topic, value, key=key, headers=headers)
        return (await asyncio.wait_for(fut, 120) - t0) * 1000

    async def latency(self, n: int, rate: float) -> list[float]:
        pairs = self.take(n)
        return await paced(lambda i: self.one(pairs[i]), len(pairs), rate)

    async def throughput(self, n: int) -> tuple[int, float]:
        pairs = self.take(n)
        futs = [self.probe.expect(f"{ct['id']}/{p}") for ct, _, p in pairs]
        msgs = [self.message(*pair) for pair in pairs]
        t0 = time.perf_counter()
        sends = [await self.producer.send(self.topic, v, key=k, headers=h) for k, v, h in msgs]
        await asyncio.gather(*sends)
        done = await asyncio.wait_for(asyncio.gather(*futs), 600)
        return len(pairs), max(done) - t0


# ------------------------------------------------------------------ the bare two-hop baseline
class TwoHop:
    def __init__(self, prefix: str) -> None:
        self.hop1, self.hop2 = f"{prefix}.hop1", f"{prefix}.hop2"
        self.producer = AIOKafkaProducer(bootstrap_servers=KAFKA, client_id="bench-hop", acks="all",
                                         enable_idempotence=True, linger_ms=0)
        self.bouncer_out = AIOKafkaProducer(bootstrap_servers=KAFKA, client_id="bench-bouncer", acks="all",
                                            enable_idempotence=True, linger_ms=0)
        self.bouncer = AIOKafkaConsumer(self.hop1, bootstrap_servers=KAFKA, group_id=f"{prefix}.bouncer",
                                        client_id="bench-bouncer", auto_offset_reset="earliest",
                                        enable_auto_commit=False)
        self.probe = Probe(self.hop2, lambda rec: rec.value.decode())
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await ensure_topics([self.hop1, self.hop2])
        await self.producer.start()
        await self.bouncer_out.start()
        await self.bouncer.start()
        await self.probe.start()
        self.task = asyncio.create_task(self._bounce())
        await asyncio.wait_for(self.one(0), 60)

    async def _bounce(self) -> None:
        while True:
            batches = await self.bouncer.getmany(timeout_ms=500, max_records=500)
            sends = [await self.bouncer_out.send(self.hop2, r.value, key=r.key)
                     for records in batches.values() for r in records]
            if sends:
                await asyncio.gather(*sends)
                await self.bouncer.commit()

    async def stop(self) -> None:
        await stop_task(self.task)
        await self.probe.stop()
        await self.bouncer.stop()
        await self.bouncer_out.stop()
        await self.producer.stop()

    async def one(self, i: int) -> float:
        mid = uuid.uuid4().hex
        fut = self.probe.expect(mid)
        t0 = time.perf_counter()
        await self.producer.send_and_wait(self.hop1, mid.encode(), key=str(i % 64).encode())
        return (await asyncio.wait_for(fut, 60) - t0) * 1000

    async def throughput(self, n: int) -> tuple[int, float]:
        mids = [uuid.uuid4().hex for _ in range(n)]
        futs = [self.probe.expect(m) for m in mids]
        t0 = time.perf_counter()
        sends = [await self.producer.send(self.hop1, m.encode(), key=str(i % 64).encode())
                 for i, m in enumerate(mids)]
        await asyncio.gather(*sends)
        done = await asyncio.wait_for(asyncio.gather(*futs), 300)
        return n, max(done) - t0


# ------------------------------------------------------------------ main
async def run(args: argparse.Namespace) -> dict[str, Any]:
    keys = Path(tempfile.mkdtemp(prefix="gbench-keys-"))
    generate_keypair(keys, kid="bench-key-1")
    t = time.perf_counter()
    urls = await create_databases()
    c = Cluster(db_urls=urls, bus="kafka", kafka=KAFKA, log_path=None, keys=keys, prefix=f"bflow{uuid.uuid4().hex[:6]}",
                extra={"db_pool_size": args.pool})
    await c.start(*SERVICES)
    out: dict[str, Any] = {}
    procs: Processes | None = None
    try:
        contracts = await build_contracts(c, args.contracts, args.concurrency)
        print(f"  setup: {len(contracts)} contracts signed on {-(-len(contracts) // CONTRACTS_PER_LINE)} lines, "
              f"{len(contracts) * 12} (contract, period) pairs, in {time.perf_counter() - t:.1f}s", flush=True)
        if not args.in_process:
            await c.stop()  # relays and consumers drained and their offsets committed
            procs = Processes(urls, c.prefix, keys, args.pool, args.base_port)
            await procs.start()
            print(f"  services as processes on :{min(procs.ports.values())}-{max(procs.ports.values())}",
                  flush=True)
        flow = Flow(c, contracts)
        hop = TwoHop(c.prefix)
        await flow.start()
        await hop.start()
        try:
            warm = min(args.warmup, len(flow.pairs) // 10)
            await asyncio.gather(*(flow.one(p) for p in flow.take(warm)))  # consumers joined and warm
            for _ in range(warm):
                await hop.one(0)
            n_paced = int(args.rate * args.seconds)
            out["flow_latency"] = await flow.latency(n_paced, args.rate)
            print(f"  flow paced: p50 {pct(out['flow_latency'], .5):.1f} ms", flush=True)
            out["hop_latency"] = await paced(hop.one, n_paced, args.rate)
            print(f"  two-hop paced: p50 {pct(out['hop_latency'], .5):.1f} ms", flush=True)
            left = len(flow.pairs) - flow.next
            out["flow_tput"] = await flow.throughput(left)
            print(f"  flow backlog: {out['flow_tput'][0] / out['flow_tput'][1]:.0f}/s", flush=True)
            out["hop_tput"] = await hop.throughput(out["flow_tput"][0])
        finally:
            await hop.stop()
            await flow.stop()
    finally:
        if procs is not None:
            await procs.stop()
        else:
            await c.stop()
        if not args.keep:
            for s in SERVICES:
                await admin(f'DROP DATABASE IF EXISTS "{db_name(s)}" WITH (FORCE)')
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--contracts", type=int, default=300, help="contracts signed (12 monthly periods each)")
    ap.add_argument("--rate", type=float, default=100.0, help="assessments per second in the latency run")
    ap.add_argument("--seconds", type=float, default=10.0, help="length of the latency run")
    ap.add_argument("--warmup", type=int, default=100, help="unrecorded assessments first")
    ap.add_argument("--concurrency", type=int, default=8, help="concurrent API calls in the setup")
    ap.add_argument("--pool", type=int, default=10, help="database pool size per service")
    ap.add_argument("--keep", action="store_true", help="keep the databases after the run")
    ap.add_argument("--in-process", action="store_true",
                    help="run the four services in this process (one event loop) instead of as processes")
    ap.add_argument("--base-port", type=int, default=18101, help="first port of the service processes")
    args = ap.parse_args()
    if args.contracts * 12 < args.warmup + args.rate * args.seconds + 100:
        ap.error("too few contracts for the warm-up, the latency run and a backlog")
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("services").setLevel(logging.WARNING)
    print(f"flow bench: Kafka {KAFKA}, Postgres {make_url(BASE_URL).render_as_string(hide_password=True)}; "
          f"services {', '.join(SERVICES)} "
          f"{'in this process, one event loop' if args.in_process else 'as goumai serve processes'}")
    out = asyncio.run(run(args))
    fl, hl = out["flow_latency"], out["hop_latency"]
    (fn, fs), (hn, hs) = out["flow_tput"], out["hop_tput"]
    print()
    print(f"{'path':<58}{'n':>6}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'per s':>9}")
    print(f"{f'assessment.finalized → budget.payment.recorded @{args.rate:g}/s':<58}{len(fl):>6}"
          f"{pct(fl, .5):>9.1f}{pct(fl, .99):>9.1f}{max(fl):>9.1f}{'':>9}")
    print(f"{f'bare two-hop Kafka round trip @{args.rate:g}/s':<58}{len(hl):>6}"
          f"{pct(hl, .5):>9.1f}{pct(hl, .99):>9.1f}{max(hl):>9.1f}{'':>9}")
    print(f"{'assessments, backlog drained (sustained)':<58}{fn:>6}{'':>27}{fn / fs:>9.0f}")
    print(f"{'bare two-hop, backlog drained':<58}{hn:>6}{'':>27}{hn / hs:>9.0f}")
    print(f"ratio flow/two-hop latency: p50 {pct(fl, .5) / pct(hl, .5):.1f}, p99 {pct(fl, .99) / pct(hl, .99):.1f}")
    print(f"ratio flow/two-hop throughput: {(fn / fs) / (hn / hs):.3f}")
    print(f"target p99 <= 250 ms at {args.rate:g}/s: {'met' if pct(fl, .99) <= 250 else 'MISSED'}; "
          f"target >= 500 assessments/s sustained: {'met' if fn / fs >= 500 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
