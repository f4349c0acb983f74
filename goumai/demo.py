"""`goumai demo`: the whole cycle against a running system, through the gateway, with data from the seeds.

    goumai demo [--url http://127.0.0.1:8000] [--keys var/keys] [--bus auto|embedded|kafka|none]
                [--log var/bus.db] [--kafka HOST:PORT] [--timeout 30]

Three stories, each step printed in Chinese and English with amounts in yuan, followed by the events it caused:

1. Xi'an (seed 000): a property-management contract of a concentrated office district — catalogue item, budget
   line through two-up-two-down (二上二下), supplier registered and qualified, award, signature, monthly
   assessments; settlement = instalment × the grade's payment factor (合格: 90%, the rest withheld) and the
   budget records each payment; the withheld part is paid once the purchaser verified the supplier's
   remediation (整改验收); two failing months blacklist the supplier, its contract is flagged, a new award
   to it is refused with the reason, and its next-cycle eligibility changes.
2. Zhengzhou (seed 004): a line over 500万 — finance approval before purchase (an award before it is refused),
   the contract copy filed within 15 days.
3. Changzhou (seed 002): a single-source renewal — refused while the incumbent has no good last cycle, awarded
   after four excellent quarters (with the 10% reward).

Tokens are minted with the private key in --keys (what `goumai up` made). Events are read by a probe consumer
with its own group from the embedded log (`--log`, default: bus.db beside the keys folder) or from Kafka
(`--kafka`, or GOUMAI_BUS=kafka with GOUMAI_KAFKA_BOOTSTRAP); with `--bus none` the demo still checks every
effect through the gateway but prints no events. Every run uses fresh departments, codes and ids, so it can run
again on the same system. Exit status 0 when every step did what it should, 1 when a step failed (with what
was expected and what the system answered), 2 when the system cannot be reached.

With docker compose, run it inside the compose network, where Kafka is `kafka:9092`:
    docker compose run --rm --entrypoint goumai keys demo --url http://gateway:8000 --keys /keys \
        --bus kafka --kafka kafka:9092
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx
from stdnum.cn import uscc

from services.chassis.bus import Transport
from services.events import Envelope

T = TypeVar("T")
Json = dict[str, Any]
SHANGHAI = ZoneInfo("Asia/Shanghai")
SURVEY_ITEMS = [{"code": "q1", "text": "服务态度"}, {"code": "q2", "text": "环境卫生"},
                {"code": "q3", "text": "安全秩序"}]
EXPECT_OK = (200, 201)


class StepFailed(Exception):
    """A step did not do what it should; the message says what was expected and what came back."""


class Unreachable(Exception):
    """The gateway (or the bus) cannot be reached."""


def yuan(value: str | Decimal | int) -> str:
    return f"{Decimal(value):,.2f} 元"


def today() -> date:
    return datetime.now(SHANGHAI).date()


# ------------------------------------------------------------------ output
class Out:
    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stdout
        self.n = 0

    def line(self, text: str = "") -> None:
        print(text, file=self.stream, flush=True)

    def story(self, title: str) -> None:
        self.line()
        self.line(f"━━━━ {title} ━━━━")

    def step(self, zh: str, en: str) -> None:
        self.n += 1
        self.line(f"[{self.n:>2}] {zh} · {en}")

    def fact(self, text: str) -> None:
        self.line(f"     {text}")

    def event(self, env: Envelope) -> None:
        self.line(f"     ⇢ {env.type:<40} key={env.partitionkey[:36]:<36} {summarise(env)}")


def summarise(env: Envelope) -> str:
    """A short line for an event: the fields that tell what happened."""
    d = env.data
    t = env.type
    pick: dict[str, Callable[[Json], str]] = {
        "catalogue.item.added": lambda d: f"{d['item_code']} {d['name']} ({d['service_type']})",
        "catalogue.published": lambda d: f"{d['fiscal_year']} v{d['version']}, {d['item_count']} item(s)",
        "catalogue.item.withdrawn": lambda d: f"{d['item_code']}: {d['reason']}",
        "budget.line.approved": lambda d: (f"{yuan(d['approved_amount'])}"
                                           f"{' 一事一议' if d.get('one_off') else ''}"
                                           f"{' finance-approval' if d.get('finance_approval_required') else ''}"
                                           f"{' filing' if d.get('filing_required') else ''}"),
        "budget.funds.reserved": lambda d: f"{yuan(d['amount'])} reserved, {yuan(d['available_after'])} left",
        "budget.funds.released": lambda d: f"{yuan(d['amount'])} released: {d['reason']}",
        "budget.payment.recorded": lambda d: (f"{d.get('period') or ''} {d.get('kind') or ''} paid "
                                              f"{yuan(d['amount'])}, line paid total {yuan(d['paid_total'])}"),
        "registry.supplier.registered": lambda d: f"{d['name']} ({d['kind']})",
        "registry.supplier.qualified": lambda d: ("qualified" if d["qualified"] else
                                                  f"not qualified: {'; '.join(d['reasons'])}"),
        "registry.supplier.blacklisted": lambda d: f"{d['reason']} ({d['source']}) {d['starts_on']}..{d['ends_on']}",
        "registry.supplier.delisted": lambda d: f"{d['reason']}",
        "registry.supplier.eligibility.changed": lambda d: (
            f"{d['service_type']}: eligible={d['eligible']} single_source_renewal={d['single_source_renewal']}"
            + (f" — {'; '.join(d['reasons'])[:90]}" if d["reasons"] else "")),
        "contract.awarded": lambda d: f"{d['method']} {yuan(d['amount'])} → {d['supplier_code']}",
        "contract.signed": lambda d: (f"signed {d['signed_on']}, {d['starts_on']}..{d['ends_on']}, "
                                      f"{len(d.get('periods', []))} {d.get('schedule')} periods"
                                      + (f", filing due {d['filing_due_on']}" if d.get("filing_required") else "")),
        "contract.filed": lambda d: f"filed {d['filed_on']} (due {d['due_on']}{', late' if d['late'] else ''})",
        "contract.settlement.approved": lambda d: (
            f"{d['period']} {d['grade']}: {yuan(d['instalment'])} × {d['factor_percent']}% = {yuan(d['amount'])}, "
            f"withheld {yuan(d['withheld'])}" + (f", reward {yuan(d['reward'])}" if Decimal(d["reward"]) else "")),
        "contract.payment.made": lambda d: f"{yuan(d['amount'])} paid on {d['paid_on']}",
        "contract.withheld.released": lambda d: (f"{d['period']}: {yuan(d['amount'])} of {yuan(d['withheld'])} "
                                                 f"withheld released, remediation verified {d['verified_on']}"),
        "contract.terminated": lambda d: f"{d['reason']}",
        "contract.flagged": lambda d: f"{d.get('status', '')} contract flagged: {d['reason']}"[:120],
        "assessment.finalized": lambda d: f"{d['period']} score {d['score']} {d['grade']}"
                                          + (" (failing)" if d["failing"] else ""),
        "assessment.published": lambda d: f"{d['period']} {d['grade']} published",
    }
    try:
        return pick[t](d) if t in pick else ""
    except (KeyError, TypeError, ArithmeticError):
        return ""


# ------------------------------------------------------------------ the gateway
@dataclass(frozen=True)
class Who:
    role: str
    org: str | None = None
    region: str | None = None


class Gateway:
    """Calls through the gateway with minted tokens; waits out rate limits; fails a step on a wrong answer."""

    def __init__(self, url: str, keys: Path, run: str, *, timeout: float) -> None:
        self.url = url.rstrip("/")
        self.keys = keys
        self.run = run
        self.timeout = timeout
        self.http = httpx.AsyncClient(base_url=self.url, timeout=httpx.Timeout(30.0, connect=5.0))
        self._tokens: dict[Who, str] = {}
        self.calls = 0

    async def close(self) -> None:
        await self.http.aclose()

    def token(self, who: Who) -> str:
        if who not in self._tokens:
            from gateway.tokens import mint

            self._tokens[who] = mint(who.role, org=who.org, region=who.region, keys_dir=self.keys,
                                     subject=f"demo-{self.run}:{who.role}:{who.org or '-'}", ttl_seconds=3600,
                                     name=f"goumai demo {self.run}")
        return self._tokens[who]

    async def ready(self) -> None:
        deadline = time.monotonic() + self.timeout
        last = ""
        while time.monotonic() < deadline:
            try:
                r = await self.http.get("/readyz")
                if r.status_code == 200:
                    return
                last = f"/readyz answered {r.status_code}: {r.text[:200]}"
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}"
            await asyncio.sleep(0.3)  # polling the gateway until it is ready, with a deadline
        raise Unreachable(f"the gateway at {self.url} is not ready ({last}); is `goumai up` running?")

    async def call(self, method: str, path: str, who: Who | None, *, body: Json | None = None,
                   params: dict[str, Any] | None = None, expect: Sequence[int] = EXPECT_OK) -> httpx.Response:
        headers: dict[str, str] = {}
        if who is not None:
            headers["Authorization"] = f"Bearer {self.token(who)}"
        if method in ("POST", "PUT", "PATCH"):
            headers["Idempotency-Key"] = str(uuid.uuid4())
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                r = await self.http.request(method, f"/api/{path.lstrip('/')}", json=body, params=params,
                                            headers=headers)
            except httpx.TransportError as exc:
                raise Unreachable(f"{method} {path}: cannot reach the gateway at {self.url}: {exc}") from exc
            self.calls += 1
            if r.status_code in (429, 503) and time.monotonic() < deadline:
                wait = float(r.headers.get("retry-after", "0.5") or 0.5)
                await asyncio.sleep(min(max(wait, 0.2), max(deadline - time.monotonic(), 0.0)))
                continue
            if r.status_code not in expect:
                raise StepFailed(f"{method} /api/{path.lstrip('/')} answered {r.status_code}, expected "
                                 f"{' or '.join(map(str, expect))}: {problem_text(r)}")
            return r

    async def get(self, path: str, who: Who, **params: Any) -> Json:
        body: Json = (await self.call("GET", path, who, params=params or None)).json()
        return body

    async def post(self, path: str, who: Who, body: Json | None = None) -> Json:
        answer: Json = (await self.call("POST", path, who, body=body if body is not None else {})).json()
        return answer

    async def refused(self, path: str, who: Who, body: Json, *, status: int = 422) -> Json:
        """A POST that must be refused; returns the problem document."""
        r = await self.call("POST", path, who, body=body, expect=(status,))
        problem: Json = r.json()
        return problem

    async def poll(self, what: str, probe: Callable[[], Awaitable[T | None]]) -> T:
        """Ask until the answer is there (not None), with a deadline."""
        deadline = time.monotonic() + self.timeout
        while True:
            got = await probe()
            if got is not None:
                return got
            if time.monotonic() > deadline:
                raise StepFailed(f"waited {self.timeout:.0f} s for {what}")
            await asyncio.sleep(0.2)  # polling with a deadline


def problem_text(r: httpx.Response) -> str:
    try:
        p = r.json()
    except ValueError:
        return r.text[:300]
    if isinstance(p, dict) and "code" in p:
        reasons = p.get("reasons")
        extra = f" reasons={reasons}" if reasons else ""
        return f"{p.get('code')}: {p.get('detail') or p.get('title')}{extra}"
    return str(p)[:300]


# ------------------------------------------------------------------ the events
class EventFeed:
    """A probe consumer (its own group, from the beginning) on every goumai topic; prints what concerns this run."""

    def __init__(self, transport: Transport | None, *, prefix: str = "goumai", timeout: float = 30.0) -> None:
        self.transport = transport
        self.prefix = prefix
        self.timeout = timeout
        self.seen: list[Envelope] = []
        self.dead: list[Envelope] = []
        self._printed: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self._consumer: Any = None
        self.error: BaseException | None = None

    @property
    def on(self) -> bool:
        return self.transport is not None

    async def start(self) -> None:
        if self.transport is None:
            return
        from services.events.base import PRODUCERS, dlq_topic, topic_for

        topics = [topic_for(p, self.prefix) for p in PRODUCERS] + [dlq_topic(self.prefix)]
        try:
            await asyncio.wait_for(self._open(topics), timeout=self.timeout)
        except Exception as exc:
            raise Unreachable(f"cannot read the events ({await self.transport.describe()}): {exc}; "
                              "use --bus none to run without them") from exc
        self._task = asyncio.create_task(self._pump(), name="demo-events")

    async def _open(self, topics: list[str]) -> None:
        assert self.transport is not None
        await self.transport.start()
        await self.transport.ensure_topics(topics)
        self._consumer = self.transport.consumer(group=f"goumai-demo-{uuid.uuid4().hex}", topics=topics)
        await self._consumer.start()

    async def _pump(self) -> None:
        dlq = f"{self.prefix}.dlq"
        try:
            while True:
                for m in await self._consumer.fetch(timeout=0.5, max_records=500):
                    try:
                        env = Envelope.from_kafka(m.key, m.value, m.headers)
                    except Exception:  # not one of ours: nothing to show
                        continue
                    (self.dead if m.topic == dlq else self.seen).append(env)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.error = exc

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                await self._consumer.stop()
        if self.transport is not None:
            with contextlib.suppress(Exception):
                await self.transport.stop()

    @staticmethod
    def concerns(env: Envelope, ids: set[str]) -> bool:
        if env.partitionkey in ids or env.subject in ids:
            return True
        return any(isinstance(v, str) and v in ids for v in env.data.values())

    async def wait(self, ids: set[str], expected: Sequence[tuple[str, Callable[[Json], bool]]]) -> None:
        """Wait, with a deadline, until each expected (type, condition) has been seen."""
        if not self.on:
            return
        deadline = time.monotonic() + self.timeout
        while True:
            if self.error is not None:
                raise Unreachable(f"the event probe failed: {self.error}")
            missing = [t for t, cond in expected
                       if not any(e.type == t and self.concerns(e, ids) and cond(e.data) for e in self.seen)]
            if not missing:
                return
            if time.monotonic() > deadline:
                raise StepFailed(f"waited {self.timeout:.0f} s for the events {', '.join(missing)}")
            await asyncio.sleep(0.1)  # polling the probe's buffer with a deadline

    def fresh(self, ids: set[str]) -> list[Envelope]:
        out = []
        for env in self.seen:
            if env.id not in self._printed and self.concerns(env, ids):
                self._printed.add(env.id)
                out.append(env)
        return out

    def fresh_dead(self, ids: set[str]) -> list[Envelope]:
        out = []
        for env in self.dead:
            key = f"dlq:{env.id}"
            if key not in self._printed and self.concerns(env, ids):
                self._printed.add(key)
                out.append(env)
        return out


def event_transport(bus: str, log: Path | None, kafka: str | None, keys: Path) -> Transport | None:
    """Pick the probe's transport from the chassis settings (GOUMAI_*), overridden by the options."""
    from services.chassis.app import make_transport
    from services.chassis.settings import get_settings

    settings = get_settings()
    if bus == "none":
        return None
    if bus == "auto":
        beside = keys.parent / "bus.db"
        if log is not None or beside.exists():
            bus = "embedded"
        elif kafka is not None or os.environ.get("GOUMAI_BUS") == "kafka":
            bus = "kafka"
        elif settings.embedded_log_path.exists():
            bus = "embedded"
        else:
            return None
    update: dict[str, Any] = {"service": "gateway", "bus": bus}
    if bus == "embedded":
        path = log or (keys.parent / "bus.db" if (keys.parent / "bus.db").exists() else settings.embedded_log_path)
        if not path.exists():
            raise Unreachable(f"no embedded event log at {path}: pass --log (the bus.db of `goumai up`)")
        update["embedded_log_path"] = path
    elif kafka is not None:
        update["kafka_bootstrap"] = kafka
    return make_transport(settings.model_copy(update=update))


# ------------------------------------------------------------------ the walk
def credit_code(division: str) -> str:
    """A valid unified social credit code (统一社会信用代码) for an enterprise (91) of the division."""
    while True:
        base = f"91{division}{uuid.uuid4().int % 10**9:09d}"
        code = base + uscc.calc_check_digit(base)
        if uscc.is_valid(code):
            return code


@dataclass
class Place:
    """One purchasing department in a region, with its finance bureau and a third-party assessor."""

    name: str
    region: str
    department: str
    finance_org: str
    assessor_org: str

    @property
    def purchaser(self) -> Who:
        return Who("purchaser", self.department)

    @property
    def finance(self) -> Who:
        return Who("finance", self.finance_org, self.region)

    @property
    def assessor(self) -> Who:
        return Who("assessor", self.assessor_org)


@dataclass
class Grade:
    """How a period's inputs are made so that it lands in a grade band (the policy decides the grade)."""

    grade: str
    points: Decimal  # share of each points indicator's weight, on both sheets
    deduction: Decimal  # points deducted from the purchaser's score by inspection findings
    third_party_deduction: Decimal
    survey: list[str]  # one level per respondent (10 invited)


GRADES = {
    "优秀": Grade("优秀", Decimal("0.95"), Decimal("2"), Decimal("0"), ["优"] * 8 + ["较好"] * 2),
    "良好": Grade("良好", Decimal("0.85"), Decimal("8"), Decimal("0"), ["较好"] * 10),
    "合格": Grade("合格", Decimal("0.70"), Decimal("22"), Decimal("0"), ["较好"] * 5 + ["一般"] * 5),
    "不合格": Grade("不合格", Decimal("0.30"), Decimal("45"), Decimal("20"), ["一般"] * 2 + ["差"] * 8),
}


def sheet_points(system: Json, share: Decimal) -> dict[str, str]:
    return {i["code"]: str((Decimal(i["weight"]) * share).quantize(Decimal("0.01"), rounding=ROUND_FLOOR))
            for i in system["indicators"] if i["method"] == "points" and Decimal(i["weight"]) > 0}


def findings_for(system: Json, total: Decimal) -> list[Json]:
    """Inspection findings that deduct `total` points, spread over the deduction rules within their caps."""
    out: list[Json] = []
    left = total
    for ind in system["indicators"]:
        if ind["method"] != "deduction" or ind["veto"] or Decimal(ind["weight"]) <= 0 or left <= 0:
            continue
        room = Decimal(ind["weight"])
        for rule in ind["rules"]:
            per = Decimal(rule["points_per_item"])
            cap = min(Decimal(rule["cap"]) if rule["cap"] is not None else room, room)
            count = int(min(left, cap) // per)
            if count <= 0 or per <= 0:
                continue
            out.append({"indicator": ind["code"], "rule": rule["code"], "count": count,
                        "description": f"{ind['name']}: {rule['description'] or rule['code']} × {count}"})
            left -= per * count
            room -= per * count
            if left <= 0:
                break
    return out


@dataclass
class Demo:
    gw: Gateway
    events: EventFeed
    out: Out
    run: str
    ids: set[str] = field(default_factory=set)

    def watch(self, *values: str | None) -> None:
        self.ids.update(v for v in values if v)

    async def followed(self, *expected: tuple[str, Callable[[Json], bool]]) -> None:
        """Wait for the expected events, then print every event of this run not printed yet."""
        await self.events.wait(self.ids, expected)
        for env in sorted(self.events.fresh(self.ids), key=lambda e: e.time):
            self.out.event(env)
        for env in self.events.fresh_dead(self.ids):
            self.out.line(f"     ⚠ dead letter: {env.type} {env.id}")

    # ---------------------------------------------------------------- building blocks
    async def catalogue(self, p: Place, year: int, items: list[tuple[str, str, str]]) -> Json:
        """Open the department's catalogue for the year, add its items, issue and publish it; waits for
        catalogue.published. The answer has the added items under `added`."""
        cat = await self.gw.post("catalogue/catalogues", p.purchaser, {"fiscal_year": year, "region": p.region})
        self.watch(cat["id"], *(code for code, _, _ in items))
        added = []
        for code, name, stype in items:
            added.append(await self.gw.post(f"catalogue/catalogues/{cat['id']}/items", p.purchaser,
                                            {"code": code, "name": name, "service_type": stype,
                                             "description": f"{name}(服务内容详见年度购买服务计划)"}))
        rev = (await self.gw.get(f"catalogue/catalogues/{cat['id']}", p.finance))["version"]["revision"]
        issued = await self.gw.post(f"catalogue/catalogues/{cat['id']}/issue", p.finance,
                                    {"revision": rev, "issued_on": f"{year}-01-06"})
        published = await self.gw.post(f"catalogue/catalogues/{cat['id']}/publish", p.finance,
                                       {"revision": issued["version"]["revision"], "published_on": f"{year}-01-08"})
        await self.events.wait(self.ids, [("catalogue.published", lambda d: d["catalogue_id"] == cat["id"])])
        return {**published, "added": added}

    async def line(self, p: Place, year: int, item: str, name: str, amount: str, *, method: str,
                   control: str | None = None, one_off: str | None = None, ex_ante: str | None = None,
                   content: str = "", recipients: str = "市级机关干部职工") -> Json:
        """A purchase budget line: 二上二下 (一上 → 一下 control figure → 二上 → 二下), or 一事一议."""
        body = {"region": p.region, "fiscal_year": year, "item_code": item, "name": name,
                "content": content or name, "recipients": recipients, "method": method, "amount": amount}
        if ex_ante:
            body["ex_ante_assessment"] = ex_ante
        line = await self.gw.post("budget/lines", p.purchaser, body)
        lid = line["line_id"]
        self.watch(lid)
        line = await self.gw.post(f"budget/lines/{lid}/submit", p.purchaser, {"version": line["version"]})
        if one_off is not None:
            return await self.gw.post(f"budget/lines/{lid}/one-off-approval", p.finance,
                                      {"version": line["version"], "reason": one_off})
        line = await self.gw.post(f"budget/lines/{lid}/control-figure", p.finance,
                                  {"version": line["version"], "amount": control or amount, "note": "一下控制数"})
        line = await self.gw.post(f"budget/lines/{lid}/resubmit", p.purchaser, {"version": line["version"]})
        return await self.gw.post(f"budget/lines/{lid}/approve", p.finance, {"version": line["version"]})

    async def supplier(self, p: Place, division: str, name: str, service_types: list[str]) -> str:
        code = credit_code(division)
        self.watch(code)
        await self.gw.post("registry/suppliers", p.finance, {
            "credit_code": code, "name": name, "kind": "enterprise", "region": p.region,
            "contacts": [{"name": "项目经理", "phone": "029-88880000"}], "service_types": service_types})
        from services.chassis.policy import REVIEW_CONDITIONS

        review = await self.gw.post(f"registry/suppliers/{code}/reviews", p.finance, {"items": [
            {"condition": c, "passed": True, "evidence": f"审核材料:{c}", "reviewer": "资格审查小组"}
            for c in REVIEW_CONDITIONS]})
        if not review["qualified"]:
            raise StepFailed(f"the qualification review of {code} did not qualify it: {review['reasons']}")
        await self.gw.post(f"registry/suppliers/{code}/qualifications", p.finance, {
            "name": "服务企业资质证书", "number": f"ZZ-{code[-8:]}", "issuer": "行业主管部门",
            "service_types": service_types, "valid_from": "2020-01-01", "expires_on": f"{today().year + 5}-12-31"})
        return code

    def contract_body(self, p: Place, line: Json, supplier: str, *, title: str, amount: str, method: str,
                      starts_on: str, ends_on: str, schedule: str, renewal_of: str | None = None) -> Json:
        body: Json = {
            "title": title, "line_id": line["line_id"], "supplier_code": supplier, "method": method,
            "amount": amount, "content": line["content"], "starts_on": starts_on, "ends_on": ends_on,
            "quantity_standard": "按服务方案配置人员与频次", "quality_standard": "《考核评分细则》及行业服务标准",
            "pricing_method": "总价包干,按考核结果结算", "schedule": schedule,
            "rights_obligations": "甲方监督考核,乙方建立服务台账并接受检查",
            "liability": "考核不合格按政策扣减服务费并限期整改;连续不合格列入黑名单",
            "assessment_plan": {"indicators": ["服务质量", "满意度", "安全管理"], "assessor_org": p.assessor_org,
                                "description": "日常监督与定期考核相结合"},
        }
        if renewal_of:
            body["renewal_of"] = renewal_of
        return body

    async def award(self, p: Place, draft: Json) -> Json:
        awarded = await self.gw.post(f"contract/contracts/{draft['id']}/award", p.purchaser,
                                     {"version": draft["version"]})
        self.watch(awarded.get("reservation_id"))
        return awarded

    async def sign(self, p: Place, awarded: Json) -> Json:
        draft = awarded
        day = today().isoformat()
        c = await self.gw.post(f"contract/contracts/{draft['id']}/signatures", p.purchaser,
                               {"version": awarded["version"], "signed_on": day})
        supplier = Who("supplier", draft["supplier_code"])
        signed = await self.gw.post(f"contract/contracts/{draft['id']}/signatures", supplier,
                                    {"version": c["version"], "signed_on": day})
        if signed["status"] != "signed":
            raise StepFailed(f"contract {draft['id']} is {signed['status']} after both signatures")
        return signed

    async def award_and_sign(self, p: Place, draft: Json) -> Json:
        return await self.sign(p, await self.award(p, draft))

    async def plan(self, p: Place, contract_id: str) -> tuple[Json, Json]:
        """The assessment plan, once the assessment service has the signed contract (contract.signed)."""

        async def make() -> Json | None:
            r = await self.gw.call("POST", "assessment/plans", p.purchaser,
                                   body={"contract_id": contract_id, "assessor_org": p.assessor_org},
                                   expect=(201, 422))
            body: Json = r.json()
            if r.status_code == 201:
                return body
            if body.get("code") != "assessment.plan.field_missing":
                raise StepFailed(f"POST /api/assessment/plans answered 422: {problem_text(r)}")
            return None

        plan = await self.gw.poll("the assessment service to know the signed contract", make)
        system = await self.gw.get(f"assessment/indicator-systems/{plan['indicator_system_id']}", p.purchaser)
        return plan, system

    async def assess(self, p: Place, plan: Json, system: Json, period: str, grade: str, supplier: str) -> Json:
        """One period: inspections, both parties' sheets, the recipients' survey, the draft, the supplier's
        acceptance, finalisation and publication."""
        g = GRADES[grade]
        pid = plan["id"]
        day = _inspection_day(period)
        for who, total in ((p.purchaser, g.deduction), (p.assessor, g.third_party_deduction)):
            found = findings_for(system, total)
            if found:
                await self.gw.post(f"assessment/plans/{pid}/inspections", who, {
                    "kind": "inspection" if who.role == "purchaser" else "unannounced_visit",
                    "inspector": "日常巡查组" if who.role == "purchaser" else "第三方评价机构",
                    "inspected_at": day, "location": "办公区", "findings": found})
        await self.gw.post(f"assessment/plans/{pid}/sheets", p.purchaser,
                           {"period": period, "points": sheet_points(system, g.points)})
        await self.gw.post(f"assessment/plans/{pid}/sheets", p.assessor,
                           {"period": period, "points": sheet_points(system, g.points)})
        survey = await self.gw.post(f"assessment/plans/{pid}/surveys", p.purchaser, {
            "period": period, "title": f"{period} 服务对象满意度测评", "items": SURVEY_ITEMS, "invited": len(g.survey)})
        for n, level in enumerate(g.survey):
            await self.gw.post(f"assessment/surveys/{survey['id']}/responses", p.purchaser, {
                "respondent_id": f"{self.run}-{period}-{n:02d}", "answers": {i["code"]: level for i in SURVEY_ITEMS}})
        draft = await self.gw.post(f"assessment/plans/{pid}/assessments", p.purchaser, {"period": period})
        if draft["grade"] != grade:
            raise StepFailed(f"{period} was drafted {draft['score']} {draft['grade']}, the demo meant {grade}")
        await self.gw.post(f"assessment/assessments/{draft['id']}/responses", Who("supplier", supplier),
                           {"accepts": True, "text": "无异议"})
        final = await self.gw.post(f"assessment/assessments/{draft['id']}/finalize", p.purchaser, {})
        if final["state"] != "final":
            raise StepFailed(f"assessment {draft['id']} is {final['state']} after finalisation")
        await self.gw.post(f"assessment/assessments/{draft['id']}/publish", p.purchaser)
        comps = ", ".join(f"{c['party']} {c['score']}" for c in final["result"].get("components", []))
        self.out.fact(f"{period}: score {final['score']} → {final['grade']} ({comps}; survey "
                      f"{(final.get('survey') or {}).get('satisfaction_rate', '-')}% satisfied); "
                      f"the supplier accepted the draft; final and published")
        self.watch(final["id"])
        return final

    async def settlement(self, p: Place, contract_id: str, period: str) -> Json:
        async def find() -> Json | None:
            body = await self.gw.get(f"contract/contracts/{contract_id}/settlements", p.purchaser)
            return next((s for s in body["items"] if s["period"] == period), None)

        return await self.gw.poll(f"the settlement of {period}", find)

    async def line_paid(self, p: Place, line_id: str, at_least: Decimal) -> Json:
        async def paid() -> Json | None:
            line = await self.gw.get(f"budget/lines/{line_id}", p.purchaser)
            return line if Decimal(line["paid"]) >= at_least else None

        return await self.gw.poll(f"the budget line {line_id} to record {at_least} paid", paid)

    # ---------------------------------------------------------------- the stories
    async def xian(self, year: int) -> None:
        """Seed 000: 西安市集中办公区 — property management, monthly assessments tied to payment, blacklist."""
        out, gw = self.out, self.gw
        p = Place("西安市集中办公区综合管理中心", "xian", f"XA-JZBG-{self.run}", "XA-CZJ", f"XA-PJ-{self.run}")
        out.story(f"西安 Xi'an · {p.name} · 物业管理服务 (seed 000) · fiscal year {year}")
        item = f"XA-WY-{self.run}"
        out.step("指导性目录", "catalogue item")
        cat = await self.catalogue(p, year, [(item, "集中办公区物业管理服务", "property")])
        it = cat["added"][0]
        out.fact(f"{p.department} {year} catalogue v{cat['version']['version']}: {item} 集中办公区物业管理服务 "
                 f"({it['level1_class_name']} / {it['service_type_name']}); issued "
                 f"{cat['version']['issued_on']}, published {cat['version']['published_on']} "
                 f"(due {cat['version']['publication_due']})")
        await self.followed(("catalogue.item.added", lambda d: d["item_code"] == item),
                            ("catalogue.published", lambda d: d["catalogue_id"] == cat["id"]))

        out.step("预算(二上二下)", "budget line through two-up-two-down")
        line = await self.line(p, year, item, "集中办公区B区物业管理服务", "980000.00", control="960000.00",
                               method="public_tender", content="秩序维护、保洁、设施设备维保、会务服务")
        out.fact(f"一上 asked {yuan(line['requested_amount'])}; 一下 control figure {yuan(line['control_amount'])}; "
                 f"二上 resubmitted; 二下 approved {yuan(line['approved_amount'])} ({line['status']}, "
                 f"finance approval needed: {line['finance_approval_required']})")
        await self.followed(("budget.line.approved", lambda d: d["line_id"] == line["line_id"]))

        out.step("承接主体入库与资格审查", "supplier registered and qualified")
        supplier = await self.supplier(p, "610100", f"西安秦岭物业服务有限公司(演示{self.run})", ["property"])
        out.fact(f"{supplier}: 8 review conditions passed, 物业服务企业资质 valid")
        await self.followed(("registry.supplier.registered", lambda d: d["supplier_code"] == supplier),
                            ("registry.supplier.qualified", lambda d: d["supplier_code"] == supplier))

        out.step("公开招标授予", "award (public tender), funds reserved")
        draft = await gw.post("contract/contracts", p.purchaser, self.contract_body(
            p, line, supplier, title="集中办公区B区物业管理服务合同", amount="900000.00", method="public_tender",
            starts_on=f"{year}-01-01", ends_on=f"{year}-12-31", schedule="monthly"))
        cid = draft["id"]
        self.watch(cid)
        awarded = await self.award(p, draft)
        out.fact(f"contract {cid}: {yuan(awarded['amount'])} to {supplier}; the registry answered eligible="
                 f"{awarded['eligibility']['eligible']} at award; {yuan(awarded['amount'])} reserved on the line")
        await self.followed(("contract.awarded", lambda d: d["contract_id"] == cid),
                            ("budget.funds.reserved", lambda d: d.get("contract_id") == cid))
        out.step("合同签订", "contract signed by both parties")
        contract = await self.sign(p, awarded)
        out.fact(f"signed {contract['signed_on']}; 12 monthly instalments of "
                 f"{yuan(contract['instalments'][0]['amount'])}, each paid by its month's assessment")
        await self.followed(("contract.signed", lambda d: d["contract_id"] == cid))

        out.step("考核方案", "assessment plan (purchaser 50 · recipients 30 · third party 20)")
        plan, system = await self.plan(p, cid)
        out.fact(f"plan {plan['id']}: {len(plan['periods'])} monthly periods, weights {plan['party_weights']}, "
                 f"indicator system {system['ref']}, third party {p.assessor_org}")

        paid = Decimal(0)
        for period, grade in ((f"{year}-01", "良好"), (f"{year}-02", "合格")):
            out.step(f"月度考核 {period}", f"monthly assessment {period} → settlement and budget payment")
            final = await self.assess(p, plan, system, period, grade, supplier)
            s = await self.settlement(p, cid, period)
            paid += Decimal(s["amount"])
            budget_line = await self.line_paid(p, line["line_id"], paid)
            out.fact(f"settlement {period} ({s['grade']}): {yuan(s['instalment'])} × {s['factor_percent']}% = "
                     f"{yuan(s['amount'])}; withheld {yuan(s['withheld'])}"
                     + (f" — {s['withheld_reason']}" if s["withheld_reason"] else ""))
            out.fact(f"budget line: paid {yuan(budget_line['paid'])} of {yuan(budget_line['approved_amount'])} "
                     f"(reserved {yuan(budget_line['reserved'])}, available {yuan(budget_line['available'])})")
            if grade == "合格" and s["factor_percent"] != "90":
                raise StepFailed(f"合格 settled at {s['factor_percent']}%, the policy says 90%")
            self.watch(s["id"])
            await self.followed(*period_events(final["id"], cid, period))

        out.step("国库支付", "finance confirms the payment of a settlement")
        s = await self.settlement(p, cid, f"{year}-02")
        pay = await gw.post(f"contract/contracts/{cid}/settlements/{s['id']}/payment", p.finance,
                            {"paid_on": today().isoformat(), "reference": f"国库集中支付 {self.run}-02"})
        out.fact(f"{year}-02 paid {yuan(pay['amount'])} on {pay['paid_on']} ({pay['status']})")
        await self.followed(("contract.payment.made", lambda d: d["settlement_id"] == s["id"]))

        out.step("整改验收", f"the supplier put {year}-02 right, the purchaser verified it: the withheld part is paid")
        rel = await gw.post(f"contract/contracts/{cid}/settlements/{s['id']}/remediation", p.purchaser,
                            {"remediation": "保洁频次与巡查记录已按合同补齐,经采购人复查验收合格",
                             "verified_on": today().isoformat()})
        paid += Decimal(rel["released"])
        budget_line = await self.line_paid(p, line["line_id"], paid)
        out.fact(f"{year}-02: withheld {yuan(rel['withheld'])}, released {yuan(rel['released'])} after the remediation "
                 f"verified on {rel['remediation_verified_on']}; budget line: paid {yuan(budget_line['paid'])}")
        await self.followed(
            ("contract.withheld.released", lambda d: d["settlement_id"] == s["id"]),
            ("budget.payment.recorded", lambda d: d.get("contract_id") == cid and d.get("kind") == "release"))

        for period in (f"{year}-03", f"{year}-04"):
            out.step(f"月度考核 {period} 不合格", f"monthly assessment {period}: failing")
            final = await self.assess(p, plan, system, period, "不合格", supplier)
            s = await self.settlement(p, cid, period)
            out.fact(f"settlement {period}: {yuan(s['instalment'])} × {s['factor_percent']}% = {yuan(s['amount'])}; "
                     f"withheld {yuan(s['withheld'])}")
            self.watch(s["id"])
            await self.followed(*period_events(final["id"], cid, period))

        out.step("列入黑名单", "two failing periods in a row: blacklisted, live contract flagged")

        async def entry() -> Json | None:
            body = await gw.get("registry/blacklist", p.finance, supplier_code=supplier)
            items = [e for e in body.get("items", []) if e["supplier_code"] == supplier]
            return items[0] if items else None

        black = await gw.poll("the registry to blacklist the supplier", entry)
        out.fact(f"黑名单 {black['reason']} ({black['source']}, rule {black['rule']}): {black['starts_on']} .. "
                 f"{black['ends_on']}, {black['status']}")

        async def flagged() -> Json | None:
            c = await gw.get(f"contract/contracts/{cid}", p.purchaser)
            return c if c["flagged"] else None

        c = await gw.poll("the contract service to flag the contract", flagged)
        out.fact(f"contract {cid} flagged for termination review: {c['flag_reason']}")
        await self.followed(
            ("registry.supplier.blacklisted", lambda d: d["supplier_code"] == supplier),
            ("contract.flagged", lambda d: d["contract_id"] == cid))

        out.step("新授予被拒", "a new award to the blacklisted supplier is refused")
        before = await gw.get(f"budget/lines/{line['line_id']}", p.purchaser)
        new = await gw.post("contract/contracts", p.purchaser, self.contract_body(
            p, line, supplier, title="集中办公区会务保障服务合同", amount="60000.00", method="designated",
            starts_on=f"{year}-07-01", ends_on=f"{year}-12-31", schedule="quarterly"))
        self.watch(new["id"])
        problem = await gw.refused(f"contract/contracts/{new['id']}/award", p.purchaser, {"version": new["version"]})
        after = await gw.get(f"budget/lines/{line['line_id']}", p.purchaser)
        if after["reserved"] != before["reserved"]:
            raise StepFailed(f"a refused award changed the reservations: {before['reserved']} → {after['reserved']}")
        out.fact(f"422 {problem['code']}: {problem.get('detail')}")
        for r in problem.get("reasons") or []:
            out.fact(f"  reason {r.get('code')}: {r.get('message')}")
        out.fact(f"nothing reserved: the line still has {yuan(after['available'])} available")

        out.step("下一周期资格变化", "next-cycle eligibility changed")
        elig = await gw.get(f"registry/suppliers/{supplier}/eligibility", p.purchaser, service_type="property")
        if elig["eligible"]:
            raise StepFailed(f"the blacklisted supplier {supplier} is still eligible: {elig}")
        out.fact(f"eligible: {elig['eligible']} ({elig['policy']})")
        for r in elig["reasons"]:
            out.fact(f"  {r['code']}: {r['message']}" + (f" (until {r['until']})" if r.get("until") else ""))
        await self.followed(("registry.supplier.eligibility.changed",
                             lambda d: d["supplier_code"] == supplier and not d["eligible"]))

    async def zhengzhou(self, year: int) -> None:
        """Seed 004: 郑州 — a line of 500万 and more: finance approval before purchase, the contract copy filed."""
        out, gw = self.out, self.gw
        p = Place("郑州市民政局", "zhengzhou", f"ZZ-MZJ-{self.run}", "ZZ-CZJ", f"ZZ-PJ-{self.run}")
        out.story(f"郑州 Zhengzhou · {p.name} · 居家和社区养老服务 (seed 004) · fiscal year {year}")
        item = f"ZZ-YL-{self.run}"
        out.step("指导性目录", "catalogue item (基本公共服务 / 养老服务)")
        cat = await self.catalogue(p, year, [(item, "居家和社区养老服务", "elderly_care")])
        out.fact(f"{item} 居家和社区养老服务 ({cat['added'][0]['level1_class_name']} / "
                 f"{cat['added'][0]['service_type_name']}) in {p.department}'s {year} catalogue, "
                 f"published {cat['version']['published_on']} "
                 f"(due {cat['version']['publication_due']}: 10 working days after issue)")
        await self.followed(("catalogue.published", lambda d: d["catalogue_id"] == cat["id"]))

        out.step("预算(二上二下) 500万以上", "a budget line over 500万 through two-up-two-down")
        line = await self.line(p, year, item, "居家和社区养老服务项目", "6800000.00", control="6500000.00",
                               method="public_tender", content="为辖区老年人提供助餐、助洁、助医、巡访关爱服务",
                               recipients="辖区60周岁以上老年人",
                               ex_ante="事前绩效评估报告:需求充分、成本测算合理、绩效目标明确")
        out.fact(f"approved {yuan(line['approved_amount'])}: finance approval required "
                 f"{line['finance_approval_required']} (≥100万), filing required {line['filing_required']} (≥500万)")
        await self.followed(("budget.line.approved", lambda d: d["line_id"] == line["line_id"]))

        out.step("承接主体", "supplier registered and qualified")
        supplier = await self.supplier(p, "410100", f"郑州颐养社会服务有限公司(演示{self.run})", ["elderly_care"])
        out.fact(f"{supplier}: qualification review passed, 养老服务 qualification on record")
        await self.followed(("registry.supplier.qualified", lambda d: d["supplier_code"] == supplier))

        out.step("财政审批前不得采购", "no purchase before the finance bureau approves (≥100万)")
        draft = await gw.post("contract/contracts", p.purchaser, self.contract_body(
            p, line, supplier, title="居家和社区养老服务合同", amount="6500000.00", method="public_tender",
            starts_on=f"{year}-01-01", ends_on=f"{year}-12-31", schedule="quarterly"))
        cid = draft["id"]
        self.watch(cid)
        problem = await gw.refused(f"contract/contracts/{cid}/award", p.purchaser, {"version": draft["version"]})
        out.fact(f"award refused: 422 {problem['code']}: {problem.get('detail')}")
        approved = await gw.post(f"budget/lines/{line['line_id']}/finance-approval", p.finance,
                                 {"version": line["version"], "note": "经市财政局审批同意采购"})
        out.fact(f"市财政局审批 finance approved: {approved['finance_approved']}")

        out.step("授予与签订", "award and signature; the filing duty starts")
        draft = await gw.get(f"contract/contracts/{cid}", p.purchaser)
        contract = await self.award_and_sign(p, draft)
        out.fact(f"contract {cid}: {yuan(contract['amount'])} signed {contract['signed_on']}; contract copy to be "
                 f"filed by {contract['filing_due_on']} (15 days)")
        await self.followed(("contract.awarded", lambda d: d["contract_id"] == cid),
                            ("contract.signed", lambda d: d["contract_id"] == cid and d["filing_required"]))

        out.step("合同备案", "contract copy filed with the finance bureau")

        async def duties() -> list[Json] | None:
            body = await gw.get("budget/filings", p.purchaser, line_id=line["line_id"])
            return body["items"] or None

        for duty in await gw.poll("the budget's filing duties", duties):
            out.fact(f"budget duty {duty['kind']}: due {duty['due_on']} ({duty['policy']})")
            if duty["kind"] == "contract_copy":
                done = await gw.post(f"budget/filings/{duty['filing_id']}/file", p.purchaser,
                                     {"document": f"合同副本 {cid}.pdf"})
                out.fact(f"  filed {done['filed_on']} (late: {done['late']})")
        filed = await gw.post(f"contract/contracts/{cid}/filing", p.purchaser, {
            "version": contract["version"], "filed_on": today().isoformat(), "filed_with": "郑州市财政局",
            "document": {"name": "居家和社区养老服务合同副本.pdf", "sha256": "0" * 64, "size_bytes": 482113}})
        out.fact(f"contract filed {filed['filed_on']} with 郑州市财政局 (late: {filed['filing_late']})")
        await self.followed(("contract.filed", lambda d: d["contract_id"] == cid))

    async def changzhou(self, year: int) -> None:
        """Seed 002: 常州 — over 50万: public tender first, single-source renewal only after a good last cycle."""
        out, gw = self.out, self.gw
        p = Place("常州市机关事务管理局", "changzhou", f"CZ-JGSW-{self.run}", "CZ-CZJ", f"CZ-PJ-{self.run}")
        out.story(f"常州 Changzhou · {p.name} · 行政中心安保服务 (seed 002) · {year} and its renewal in {year + 1}")
        item = f"CZ-AB-{self.run}"
        out.step("指导性目录", f"catalogue items for {year} and {year + 1}")
        for y in (year, year + 1):
            await self.catalogue(p, y, [(item, "行政中心安保服务", "security")])
        out.fact(f"{item} 行政中心安保服务 in {p.department}'s {year} and {year + 1} catalogues")

        out.step("预算(一事一议)", "budget lines approved one by one (一事一议)")
        # the contract price and room for Changzhou's 10% reward for 优秀, which is paid out of the line's free funds
        first_line = await self.line(p, year, item, "行政中心安保服务", "968000.00", method="public_tender",
                                     one_off="行政中心安保服务合同到期,需保障连续运行;含优秀上浮10%")
        next_line = await self.line(p, year + 1, item, "行政中心安保服务(续期)", "960000.00",
                                    method="single_source", one_off="上一合同周期考核优秀,拟单一来源续期")
        out.fact(f"{year}: {yuan(first_line['approved_amount'])}; {year + 1}: {yuan(next_line['approved_amount'])}")
        await self.followed(("budget.line.approved", lambda d: d["line_id"] == next_line["line_id"]))

        out.step("首期公开招标", "first cycle by public tender (≥50万), signed")
        supplier = await self.supplier(p, "320400", f"常州龙城保安服务有限公司(演示{self.run})", ["security"])
        draft = await gw.post("contract/contracts", p.purchaser, self.contract_body(
            p, first_line, supplier, title="行政中心安保服务合同", amount="880000.00", method="public_tender",
            starts_on=f"{year}-01-01", ends_on=f"{year}-12-31", schedule="quarterly"))
        first = draft["id"]
        self.watch(first)
        contract = await self.award_and_sign(p, draft)
        out.fact(f"contract {first}: {yuan(contract['amount'])}, 4 quarterly instalments of "
                 f"{yuan(contract['instalments'][0]['amount'])}")
        await self.followed(("contract.signed", lambda d: d["contract_id"] == first))

        out.step("单一来源续期被拒", "single-source renewal refused: no good last cycle yet")
        renewal = await gw.post("contract/contracts", p.purchaser, self.contract_body(
            p, next_line, supplier, title="行政中心安保服务合同(续期)", amount="960000.00", method="single_source",
            starts_on=f"{year + 1}-01-01", ends_on=f"{year + 1}-12-31", schedule="quarterly", renewal_of=first))
        self.watch(renewal["id"])
        problem = await gw.refused(f"contract/contracts/{renewal['id']}/award", p.purchaser,
                                   {"version": renewal["version"]})
        out.fact(f"422 {problem['code']}: {problem.get('detail')}")

        out.step("季度考核", "four quarterly assessments, all excellent (优秀: 10% reward in Changzhou)")
        plan, system = await self.plan(p, first)
        for q in range(1, 5):
            period = f"{year}-Q{q}"
            final = await self.assess(p, plan, system, period, "优秀", supplier)
            s = await self.settlement(p, first, period)
            self.watch(s["id"])
            out.fact(f"  settlement {period}: {yuan(s['instalment'])} × {s['factor_percent']}% = {yuan(s['amount'])}"
                     f" + reward {yuan(s['reward'])}")
            await self.followed(*period_events(final["id"], first, period))
        paid = await self.line_paid(p, first_line["line_id"], Decimal("968000.00"))
        out.fact(f"budget line: paid {yuan(paid['paid'])} (the price and four rewards) of "
                 f"{yuan(paid['approved_amount'])}")

        out.step("续期资格", "the registry now confirms the single-source renewal")

        async def renewable() -> Json | None:
            e = await gw.get(f"registry/suppliers/{supplier}/eligibility", p.purchaser, service_type="security",
                             method="single_source")
            return e if e["single_source_renewal"] else None

        elig = await gw.poll("the registry to confirm the single-source renewal", renewable)
        last = elig.get("last_cycle") or {}
        out.fact(f"last cycle {last.get('contract_id', '')}: average {last.get('average')} ({last.get('grade')}) "
                 f"over {last.get('periods')} periods; single_source_renewal = {elig['single_source_renewal']}")
        await self.followed(("registry.supplier.eligibility.changed",
                             lambda d: d["supplier_code"] == supplier and d["single_source_renewal"]))

        out.step("单一来源续期授予", "single-source renewal awarded")
        current = await gw.get(f"contract/contracts/{renewal['id']}", p.purchaser)
        awarded = await gw.post(f"contract/contracts/{renewal['id']}/award", p.purchaser,
                                {"version": current["version"]})
        decision = awarded.get("method_decision") or {}
        out.fact(f"contract {renewal['id']} awarded by single source, within policy: {decision.get('within_policy')}"
                 f" — {'; '.join(decision.get('reasons', []))[:140]}")
        await self.followed(("contract.awarded", lambda d: d["contract_id"] == renewal["id"]),
                            ("budget.funds.reserved", lambda d: d.get("contract_id") == renewal["id"]))


Expectation = tuple[str, Callable[[Json], bool]]


def having(**want: Any) -> Callable[[Json], bool]:
    """An event condition: the payload has these values."""
    return lambda d: all(d.get(k) == v for k, v in want.items())


def period_events(assessment_id: str, contract_id: str, period: str) -> list[Expectation]:
    """What a final assessment sets off: finalized and published, the settlement, the budget's payment."""
    return [("assessment.finalized", having(assessment_id=assessment_id)),
            ("assessment.published", having(assessment_id=assessment_id)),
            ("contract.settlement.approved", having(contract_id=contract_id, period=period)),
            ("budget.payment.recorded", having(contract_id=contract_id, period=period))]


def _inspection_day(period: str) -> str:
    """A working morning inside the period (10:00 in Shanghai), for its inspections."""
    if "-Q" in period:
        y, q = period.split("-Q")
        start = date(int(y), (int(q) - 1) * 3 + 1, 1)
    else:
        y, m = period.split("-")
        start = date(int(y), int(m), 1)
    day = start + timedelta(days=9)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return f"{day.isoformat()}T02:00:00Z"


# ------------------------------------------------------------------ entry point
def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="goumai demo", description="Walk the whole cycle against a running system.")
    p.add_argument("--url", default="http://127.0.0.1:8000", help="the gateway (default http://127.0.0.1:8000)")
    p.add_argument("--keys", type=Path, default=Path("var/keys"), help="the signing keys (default var/keys)")
    p.add_argument("--bus", choices=["auto", "embedded", "kafka", "none"], default="auto",
                   help="where to read the events from (default: the embedded log beside the keys, else Kafka "
                        "when GOUMAI_BUS=kafka or --kafka, else none)")
    p.add_argument("--log", type=Path, help="the embedded event log (default: bus.db beside the keys folder)")
    p.add_argument("--kafka", help="Kafka bootstrap servers (default GOUMAI_KAFKA_BOOTSTRAP)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for each effect (default 30)")
    p.add_argument("--only", choices=["xian", "zhengzhou", "changzhou"], action="append",
                   help="run only these stories (repeatable)")
    return p


def _check_keys(keys: Path) -> None:
    if not keys.is_dir() or not any(keys.glob("*.key.pem")):
        raise Unreachable(f"no signing key in {keys}: pass --keys with the keys folder of the running system "
                          "(`goumai up` keeps it in var/keys)")


async def _main(args: argparse.Namespace, out: Out) -> int:
    keys: Path = args.keys
    run = uuid.uuid4().hex[:6].upper()
    gw = Gateway(args.url, keys, run, timeout=args.timeout)
    from services.chassis.settings import get_settings

    events = EventFeed(event_transport(args.bus, args.log, args.kafka, keys), timeout=args.timeout,
                       prefix=get_settings().topic_prefix)  # the system's topics (GOUMAI_TOPIC_PREFIX)
    demo = Demo(gw, events, out, run)
    started = time.monotonic()
    try:
        await gw.ready()
        await events.start()
        source = await events.transport.describe() if events.transport is not None else "none (--bus none)"
        year = today().year - 1
        out.line(f"goumai demo run {run} against {gw.url}; events from {source}")
        out.line(f"(the first cycles are in fiscal year {year}, so every period can be assessed today)")
        stories = args.only or ["xian", "zhengzhou", "changzhou"]
        for name in ("xian", "zhengzhou", "changzhou"):
            if name in stories:
                await getattr(demo, name)(year)
    finally:
        await events.stop()
        await gw.close()
    out.line()
    out.line(f"✓ demo run {run} complete: {out.n} steps, {gw.calls} API calls, {len(events._printed)} events "
             f"shown, {time.monotonic() - started:.1f} s")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(list(argv or []))
    out = Out()
    try:
        _check_keys(args.keys)
        return asyncio.run(_main(args, out))
    except StepFailed as exc:
        print(f"\n✗ goumai demo: step {out.n} failed: {exc}", file=sys.stderr)
        return 1
    except Unreachable as exc:
        print(f"\n✗ goumai demo: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ngoumai demo: interrupted", file=sys.stderr)
        return 130
