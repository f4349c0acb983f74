"""Eligibility latency on Postgres: 100k suppliers and 1M performance rows beside the same query on 1k suppliers.

Creates two databases on the server from GOUMAI_TEST_PG (default postgresql+asyncpg://postgres@127.0.0.1:25432),
`gbench_registry` (large) and `gbench_registry_1k` (small), migrates them with
`services.chassis.migrations.upgrade`, bulk-loads them with COPY (asyncpg `copy_records_to_table`), measures the
registry's eligibility service function (`services.registry.service.eligibility`, the code behind
`GET /suppliers/{code}/eligibility`) in alternating rounds, prints p50/p99 and the ratio, and drops both.

    .venv/bin/python bench/eligibility.py [--calls 4000] [--keep]

Targets: p99 ≤ 10 ms with 100k suppliers, p99 ratio (100k / 1k) ≤ 1.5.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url
from stdnum.cn import uscc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlib import BASE_URL, admin, db_url, fresh_database, pct

from services.chassis.auth import Principal
from services.chassis.db import make_engine, make_session_factory
from services.chassis.policy import REVIEW_CONDITIONS, PolicyBook
from services.chassis.settings import Settings
from services.chassis.uow import UnitOfWork
from services.registry import domain, service

TYPES = [f"type{i:02d}" for i in range(20)]
NOW = datetime.now(UTC)
TODAY = service.today()


def code_of(i: int) -> str:
    base = f"91320400{i:09d}"
    return base + uscc.calc_check_digit(base)


class BenchCtx:
    """What the eligibility function needs from a ServiceContext: the policy pack in force."""

    def __init__(self) -> None:
        self.policies = PolicyBook.load(Settings().policy_dir)

    def policy(self, on: date | None = None, *, pack: str | None = None) -> Any:
        return self.policies.pack(pack or "national", on)


def quarters_back(n: int) -> list[str]:
    """The last n quarter labels that ended before today, oldest first."""
    y, q = TODAY.year, (TODAY.month - 1) // 3  # the current quarter is q+1; the last finished is q
    out = []
    for _ in range(n):
        if q == 0:
            y, q = y - 1, 4
        out.append(f"{y}-Q{q}")
        q -= 1
    return list(reversed(out))


def rows_for(n_suppliers: int, periods_per_supplier: int, seed: int) -> dict[str, list[tuple[Any, ...]]]:
    rnd = random.Random(seed)
    review_items = json.dumps([{"condition": c, "passed": True} for c in REVIEW_CONDITIONS])
    contacts = json.dumps([{"name": "联系人", "phone": "0519-00000000"}], ensure_ascii=False)
    labels = quarters_back(periods_per_supplier)
    bounds = [domain.period_bounds(lb) for lb in labels]
    out: dict[str, list[tuple[Any, ...]]] = {k: [] for k in (
        "suppliers", "supplier_service_types", "qualification_reviews", "qualifications", "blacklist_entries",
        "credit_records", "performance_records")}
    for i in range(n_suppliers):
        code = code_of(i)
        t1, t2 = rnd.sample(TYPES, 2)
        qualified = rnd.random() > 0.05
        review_id = str(uuid.uuid4())
        out["suppliers"].append((code, f"承接主体{i}", "enterprise", None, None, None, contacts,
                                 json.dumps([t1, t2]), review_id, qualified, "[]", NOW, NOW, NOW, 1))
        out["supplier_service_types"] += [(t1, code), (t2, code)]
        out["qualification_reviews"].append((review_id, code, qualified, "[]", review_items, "bench", NOW,
                                             "national@2020.1"))
        expires = TODAY + timedelta(days=rnd.randint(-200, 900))
        out["qualifications"].append((str(uuid.uuid4()), code, "专业资质", f"Z{i}", "住建局", json.dumps([t1, t2]),
                                      date(2020, 1, 1), expires, "", "bench", NOW))
        if rnd.random() < 0.03:  # blacklisted, some entries expired already (and delisted)
            start = TODAY - timedelta(days=rnd.randint(10, 1500))
            end = domain.blacklist_end(start, rnd.choice([1, 2, 3]))
            expired = end is not None and end < TODAY
            out["blacklist_entries"].append((
                str(uuid.uuid4()), code, f"承接主体{i}", "连续两期考核不合格", "assessment", "consecutive_failing", "",
                start, end, "active", None, None, None, None, None, None, None, None, "national@2020.1", "system",
                NOW, NOW if expired else None, 1))
        if rnd.random() < 0.02:
            out["credit_records"].append((str(uuid.uuid4()), code, rnd.choice(["breach", "false_materials"]),
                                          "违约", "bench", TODAY - timedelta(days=rnd.randint(10, 2000)), None,
                                          "bench", NOW))
        # history: two contracts for t1 (earlier and last), the rest for t2
        half = periods_per_supplier // 2
        for k, (label, (start, end)) in enumerate(zip(labels, bounds, strict=True)):
            if k < half - 1:
                contract, st, idx = f"C{i}-a", t1, k + 1
            elif k < periods_per_supplier - 2:
                contract, st, idx = f"C{i}-b", t1, k - half + 2
            else:
                contract, st, idx = f"C{i}-c", t2, k - periods_per_supplier + 3
            score = Decimal(rnd.randint(4500, 10000)) / 100
            failing = score < 60
            grade = "优秀" if score >= 90 else "良好" if score >= 80 else "合格" if score >= 60 else "不合格"
            out["performance_records"].append((
                str(uuid.uuid4()), code, st, contract, "D01", label, idx, start, end, score, grade, failing, "[]",
                False, False, "national@2020.1", str(uuid.uuid4()), end + timedelta(days=15), NOW))
    return out






async def load(name: str, n_suppliers: int, periods: int, seed: int) -> float:
    await fresh_database(name, "registry")
    started = time.perf_counter()
    data = await asyncio.to_thread(rows_for, n_suppliers, periods, seed)
    url = make_url(db_url(name))
    conn = await asyncpg.connect(host=url.host, port=url.port, user=url.username, password=url.password,
                                 database=name)
    try:
        for table, records in data.items():
            if not records:
                continue
            cols = [r["attname"] for r in await conn.fetch(
                "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 "
                "AND NOT attisdropped ORDER BY attnum", table)]
            for i in range(0, len(records), 200_000):
                await conn.copy_records_to_table(table, records=records[i:i + 200_000], columns=cols)
        await conn.execute("ANALYZE")
        counts = {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in data}
    finally:
        await conn.close()
    print(f"  {name}: loaded in {time.perf_counter() - started:.1f}s: "
          + ", ".join(f"{t}={n}" for t, n in counts.items()), flush=True)
    return time.perf_counter() - started


class Target:
    def __init__(self, name: str, n: int, seed: int) -> None:
        self.name = name
        self.n = n
        self.rnd = random.Random(seed)
        self.engine = make_engine(db_url(name), pool_size=4)
        self.sessions = make_session_factory(self.engine)
        self.ctx = BenchCtx()
        self.principal = Principal(subject="bench", role="service", org="contract")
        self.samples: list[float] = []
        self.eligible = 0
        self.offered: dict[str, list[str]] = {}

    async def prepare(self) -> None:
        url = make_url(db_url(self.name))
        conn = await asyncpg.connect(host=url.host, port=url.port, user=url.username, password=url.password,
                                     database=self.name)
        try:
            self.offered = {r["code"]: json.loads(r["service_types"])
                            for r in await conn.fetch("SELECT code, service_types FROM suppliers")}
        finally:
            await conn.close()

    async def call(self, record: bool) -> None:
        i = self.rnd.randrange(self.n + self.n // 50)  # ~2% unknown suppliers
        code = code_of(i)
        offered = self.offered.get(code)
        # mostly a type the supplier offers (the contract asks about the one it awards), sometimes any type
        st = self.rnd.choice(offered) if offered and self.rnd.random() < 0.8 else self.rnd.choice(TYPES)
        method = self.rnd.choice([None, None, "single_source", "public_tender"])
        t0 = time.perf_counter()
        async with UnitOfWork(self.sessions, service="registry") as uow:
            e = await service.eligibility(uow=uow, ctx=self.ctx, principal=self.principal, code=code,  # type: ignore[arg-type]
                                          service_type=st, method=method, as_of=None)
        dt = time.perf_counter() - t0
        if record:
            self.samples.append(dt * 1000)
            self.eligible += e.eligible

    def pct(self, q: float) -> float:
        return pct(self.samples, q)


async def measure(calls: int) -> tuple[Target, Target]:
    small = Target("gbench_registry_1k", 1_000, 1)
    large = Target("gbench_registry", 100_000, 2)
    try:
        for t in (small, large):
            await t.prepare()
            for _ in range(300):
                await t.call(record=False)
        rounds = 10
        for _ in range(rounds):
            for t in (small, large):
                for _ in range(calls // rounds):
                    await t.call(record=True)
    finally:
        await small.engine.dispose()
        await large.engine.dispose()
    return small, large


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--calls", type=int, default=4000, help="measured calls per dataset")
    ap.add_argument("--keep", action="store_true", help="keep the databases after the run")
    ap.add_argument("--reuse", action="store_true", help="measure databases kept by an earlier --keep run")
    args = ap.parse_args()
    print(f"eligibility bench on {make_url(BASE_URL).render_as_string(hide_password=True)} (as_of {TODAY})")
    try:
        if not args.reuse:
            await load("gbench_registry_1k", 1_000, 10, 11)
            await load("gbench_registry", 100_000, 10, 12)
        small, large = await measure(args.calls)
        print()
        print(f"{'dataset':<34}{'calls':>7}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}{'eligible':>10}")
        for label, t in (("1k suppliers, 10k history rows", small), ("100k suppliers, 1M history rows", large)):
            print(f"{label:<34}{len(t.samples):>7}{t.pct(0.50):>9.2f}{t.pct(0.99):>9.2f}"
                  f"{statistics.fmean(t.samples):>9.2f}{t.eligible / len(t.samples):>10.0%}")
        ratio50 = large.pct(0.50) / small.pct(0.50)
        ratio99 = large.pct(0.99) / small.pct(0.99)
        ok99 = large.pct(0.99) <= 10.0
        ok_ratio = ratio99 <= 1.5
        print(f"ratio 100k/1k: p50 {ratio50:.2f}, p99 {ratio99:.2f}")
        print(f"target p99 <= 10 ms: {'met' if ok99 else 'MISSED'}; target ratio <= 1.5: "
              f"{'met' if ok_ratio else 'MISSED'}")
    finally:
        if not args.keep:
            for name in ("gbench_registry", "gbench_registry_1k"):
                await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    asyncio.run(main())
