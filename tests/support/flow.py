"""The whole system for flow and fault tests: the five services in-process on Postgres and Kafka with the
gateway in front (`goumai` fixture), and `World`, a department that walks the purchase cycle through the
gateway's `/api/{service}/…` only — catalogue, budget line, supplier, award and contract, assessment plan and
periods — with tokens from `cluster.token(...)`. Everything after a finalised assessment flows by itself over
Kafka; read the results back through the gateway and wait with `poll` / `EventProbe.wait_for` (deadlines)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from stdnum.cn import uscc

from services.chassis.calendar import business_date, utcnow
from services.chassis.money import fen_to_yuan, yuan_to_fen
from services.chassis.policy import REVIEW_CONDITIONS
from services.chassis.settings import SERVICES
from tests.support.cluster import Cluster, poll
from tests.support.gateway import Gateway, gateway_database, gateway_in_front
from tests.support.servers import need_postgres

REGION = "changzhou"  # the contract pack: 合格 90%, 不合格 70%, a 10% reward for 优秀 (seed 002)
FINANCE = "CZCZ"  # 常州市财政局
TODAY = business_date(utcnow())
# Last year: every period of it has started (assessable today), and a failing cycle that ended in it still
# excludes the supplier from the next cycle today (12 months after the cycle's end).
YEAR = TODAY.year - 1
PROBLEM = "application/problem+json"
# Party weights of every plan here: the purchaser's sheet 70, the recipients' survey 30 (the policy's floor).
WEIGHTS = {"purchaser": "70", "recipients": "30"}
FULL_POINTS = {"price": "10", "savings": "5", "policy_execution": "5", "internal_control": "5", "sq_emergency": "5"}
NO_POINTS = dict.fromkeys(FULL_POINTS, "0")
# grade → (purchaser's points, every respondent's survey level, the composite score):
# sheet 100 or 70 (the deduction indicators keep their 70), survey 优 100 / 较好 85 / 一般 60 / 差 0.
GRADES: dict[str, tuple[dict[str, str], str, str]] = {
    "优秀": (FULL_POINTS, "优", "100.00"),  # 70 + 30
    "良好": (FULL_POINTS, "一般", "88.00"),  # 70 + 18
    "合格": (NO_POINTS, "较好", "74.50"),  # 49 + 25.5
    "不合格": (NO_POINTS, "差", "49.00"),  # 49 + 0
}
_seq = itertools.count(int(uuid.uuid4().int % 10_000_000) * 10)


def credit_code() -> str:
    """A valid unified social credit code (统一社会信用代码) no other test uses."""
    base = f"91320411{next(_seq):09d}"
    return base + uscc.calc_check_digit(base)


def fen(yuan: str) -> int:
    return yuan_to_fen(yuan)


def yuan(fen_: int) -> str:
    return fen_to_yuan(fen_)


def percent_of(fen_: int, percent: str) -> int:
    """fen × percent / 100, half-up to the fen (the settlement rule), computed here independently."""
    exact = Decimal(fen_) * Decimal(percent) / 100
    return int(exact.quantize(Decimal(1), rounding="ROUND_HALF_UP"))


def assert_problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM), r.headers
    body: dict[str, Any] = r.json()
    assert body["code"] == code, body
    return body


@dataclass
class Goumai:
    """The five services (`cluster`) and the gateway in front of them (`gw`)."""

    cluster: Cluster
    gw: Gateway

    def headers(self, role: str, *, org: str | None = None, region: str | None = None,
                key: bool = True) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.cluster.token(role, org=org, region=region)}"}
        if key:
            h["Idempotency-Key"] = uuid.uuid4().hex
        return h

    async def call(self, method: str, path: str, who: tuple[str, str | None, str | None], *,
                   json: Any = None, params: dict[str, Any] | None = None, status: int | None = 200) -> Any:
        """`method /api/…` through the gateway as `who` = (role, org, region); checks the status when given."""
        role, org, region = who
        r = await self.gw.client.request(method, path, json=json, params=params,
                                         headers=self.headers(role, org=org, region=region, key=method != "GET"))
        if status is not None:
            assert r.status_code == status, f"{method} {path} as {role}:{org}: {r.status_code} {r.text}"
            return r.json()
        return r


@dataclass
class World:
    """A department of Changzhou buying property management for YEAR, entirely through the gateway."""

    g: Goumai
    department: str = field(default_factory=lambda: f"CZ{uuid.uuid4().hex[:8].upper()}")
    catalogue_id: str = ""

    # ---------------------------------------------------------------- who
    @property
    def purchaser(self) -> tuple[str, str | None, str | None]:
        return ("purchaser", self.department, None)

    @property
    def finance(self) -> tuple[str, str | None, str | None]:
        return ("finance", FINANCE, REGION)

    @staticmethod
    def supplier(code: str) -> tuple[str, str | None, str | None]:
        return ("supplier", code, None)

    @property
    def auditor(self) -> tuple[str, str | None, str | None]:
        return ("auditor", None, None)

    async def call(self, method: str, path: str, who: tuple[str, str | None, str | None], **kw: Any) -> Any:
        return await self.g.call(method, path, who, **kw)

    # ---------------------------------------------------------------- catalogue (指导性目录)
    async def catalogue(self, *service_types: str) -> list[str]:
        """The department's catalogue for YEAR with one item per service type, issued and published."""
        cat = await self.call("POST", "/api/catalogue/catalogues", self.purchaser,
                              json={"fiscal_year": YEAR, "region": REGION}, status=201)
        self.catalogue_id = cat["id"]
        codes = []
        for st in service_types or ("property",):
            code = f"WY-{uuid.uuid4().hex[:6].upper()}"
            await self.call("POST", f"/api/catalogue/catalogues/{self.catalogue_id}/items", self.purchaser, status=201,
                            json={"code": code, "name": "机关办公区物业管理服务", "service_type": st,
                                  "description": "机关办公区物业管理服务(保洁、秩序维护、设施设备维保、会务)"})
            codes.append(code)
        rev = await self._revision()
        await self.call("POST", f"/api/catalogue/catalogues/{self.catalogue_id}/issue", self.finance,
                        json={"revision": rev, "issued_on": f"{YEAR}-01-05"})
        out = await self.call("POST", f"/api/catalogue/catalogues/{self.catalogue_id}/publish", self.finance,
                              json={"revision": await self._revision(), "published_on": f"{YEAR}-01-06"})
        assert out["version"]["status"] == "published", out
        return codes

    async def _revision(self) -> int:
        cat = await self.call("GET", f"/api/catalogue/catalogues/{self.catalogue_id}", self.purchaser)
        return int(cat["version"]["revision"])

    async def withdraw_item(self, code: str, reason: str) -> None:
        """An in-year adjustment (a new version) that withdraws the item, issued and published."""
        await self.call("POST", f"/api/catalogue/catalogues/{self.catalogue_id}/adjustments", self.purchaser,
                        json={"reason": f"年中调整:{reason}"}, status=201)
        await self.call("POST", f"/api/catalogue/catalogues/{self.catalogue_id}/items/{code}/withdraw",
                        self.purchaser, json={"revision": await self._revision(), "reason": reason})
        await self.call("POST", f"/api/catalogue/catalogues/{self.catalogue_id}/issue", self.finance,
                        json={"revision": await self._revision(), "issued_on": f"{YEAR}-07-01"})
        await self.call("POST", f"/api/catalogue/catalogues/{self.catalogue_id}/publish", self.finance,
                        json={"revision": await self._revision(), "published_on": f"{YEAR}-07-02"})

    # ---------------------------------------------------------------- budget (二上二下)
    async def line(self, item: str, amount: str, *, control: str | None = None,
                   one_off: bool = False) -> dict[str, Any]:
        """A budget line naming the item: 一上 → 一下 (control figure) → 二上 → 二下, or one-off approval
        (一事一议); then finance's approval before purchase when the line is from 100万."""
        line = await self.call("POST", "/api/budget/lines", self.purchaser, status=201, json={
            "region": REGION, "fiscal_year": YEAR, "item_code": item, "name": "行政中心物业管理服务",
            "content": "安保、保洁、会务、设施设备维保", "recipients": "市级机关干部职工", "method": "public_tender",
            "amount": amount, "ex_ante_assessment": "事前绩效评估:服务需求充分,成本测算合理"})
        lid = line["line_id"]
        assert line["status"] == "draft" and line["service_type"] == "property", line
        line = await self.call("POST", f"/api/budget/lines/{lid}/submit", self.purchaser,
                               json={"version": line["version"], "note": "一上"})
        if one_off:
            line = await self.call("POST", f"/api/budget/lines/{lid}/one-off-approval", self.finance,
                                   json={"version": line["version"], "reason": "一事一议:年度后勤保障急需"})
        else:
            line = await self.call("POST", f"/api/budget/lines/{lid}/control-figure", self.finance,
                                   json={"amount": control or amount, "note": "一下"})
            line = await self.call("POST", f"/api/budget/lines/{lid}/resubmit", self.purchaser,
                                   json={"amount": control or amount})
            line = await self.call("POST", f"/api/budget/lines/{lid}/approve", self.finance, json={})
        assert line["status"] == "approved", line
        if line["finance_approval_required"]:
            line = await self.call("POST", f"/api/budget/lines/{lid}/finance-approval", self.finance,
                                   json={"note": "同意采购"})
            assert line["finance_approved"] is True
        return dict(line)

    async def get_line(self, line_id: str) -> dict[str, Any]:
        body: dict[str, Any] = await self.call("GET", f"/api/budget/lines/{line_id}", self.purchaser)
        return body

    # ---------------------------------------------------------------- registry (承接主体库)
    async def supplier_code(self, service_types: tuple[str, ...] = ("property",)) -> str:
        """A supplier registered, through the qualification review, with a current qualification."""
        code = credit_code()
        await self.call("POST", "/api/registry/suppliers", self.finance, status=201, json={
            "credit_code": code, "name": f"常州物业服务有限公司{code[-5:]}", "kind": "enterprise",
            "contacts": [{"name": "李经理", "phone": "0519-85680000"}], "service_types": list(service_types)})
        review = await self.call("POST", f"/api/registry/suppliers/{code}/reviews", self.finance, status=201, json={
            "items": [{"condition": c, "passed": True, "evidence": f"材料 {c}", "reviewer": "王科长"}
                      for c in REVIEW_CONDITIONS]})
        assert review["qualified"] is True, review
        await self.call("POST", f"/api/registry/suppliers/{code}/qualifications", self.finance, status=201, json={
            "name": "物业服务企业资质", "number": f"ZZ-{code[-6:]}", "issuer": "常州市住建局",
            "service_types": list(service_types), "valid_from": "2020-01-01", "expires_on": "2099-12-31"})
        return code

    async def eligibility(self, code: str, **params: Any) -> dict[str, Any]:
        body: dict[str, Any] = await self.call("GET", f"/api/registry/suppliers/{code}/eligibility", self.finance,
                                               params={"service_type": "property", **params})
        return body

    # ---------------------------------------------------------------- contract (合同)
    def contract_body(self, line: dict[str, Any], supplier: str, amount: str, schedule: str,
                      **over: Any) -> dict[str, Any]:
        body = {
            "title": "行政中心物业管理服务合同", "line_id": line["line_id"], "supplier_code": supplier,
            "method": "public_tender", "amount": amount, "content": "安保、保洁、会务、设施设备维修保养",
            "starts_on": f"{YEAR}-01-01", "ends_on": f"{YEAR}-12-31",
            "quantity_standard": "保洁 3 万平方米,安保 24 小时 12 岗", "quality_standard": "《物业管理服务工作标准》",
            "pricing_method": "总价包干", "schedule": schedule, "rights_obligations": "甲方监督考核,乙方建立服务台账",
            "liability": "考核不合格按合同扣减服务费并限期整改",
            "assessment_plan": {"indicators": ["服务质量", "满意度"], "description": "定期考核", "frequency": schedule},
        }
        body.update(over)
        return body

    async def draft(self, line: dict[str, Any], supplier: str, amount: str, schedule: str = "quarterly",
                    **over: Any) -> Any:
        return await self.call("POST", "/api/contract/contracts", self.purchaser, status=201,
                               json=self.contract_body(line, supplier, amount, schedule, **over))

    async def award(self, contract: dict[str, Any], *, status: int | None = 200) -> Any:
        return await self.call("POST", f"/api/contract/contracts/{contract['id']}/award", self.purchaser,
                               json={"version": contract["version"]}, status=status)

    async def signed(self, line: dict[str, Any], supplier: str, amount: str,
                     schedule: str = "quarterly") -> dict[str, Any]:
        """Drafted, awarded (funds reserved on the line) and signed by both sides."""
        c = await self.award(await self.draft(line, supplier, amount, schedule))
        assert c["status"] == "awarded" and c["reservation_id"], c
        day = TODAY.isoformat()
        c = await self.call("POST", f"/api/contract/contracts/{c['id']}/signatures", self.purchaser,
                            json={"version": c["version"], "signed_on": day})
        c = await self.call("POST", f"/api/contract/contracts/{c['id']}/signatures", self.supplier(supplier),
                            json={"version": c["version"], "signed_on": day})
        assert c["status"] == "signed", c
        return dict(c)

    async def get_contract(self, contract_id: str) -> dict[str, Any]:
        body: dict[str, Any] = await self.call("GET", f"/api/contract/contracts/{contract_id}", self.purchaser)
        return body

    async def settlements(self, contract_id: str) -> dict[str, Any]:
        body: dict[str, Any] = await self.call("GET", f"/api/contract/contracts/{contract_id}/settlements",
                                               self.purchaser)
        return body

    async def settled(self, contract_id: str, n: int, *, timeout: float = 30) -> dict[str, Any]:
        async def enough() -> dict[str, Any] | None:
            body = await self.settlements(contract_id)
            return body if body["total"] >= n else None

        body: dict[str, Any] = await poll(enough, timeout=timeout, message=f"{n} settlements of {contract_id}")
        return body

    async def transition(self, contract: dict[str, Any], action: str, reason: str | None = None) -> Any:
        return await self.call("POST", f"/api/contract/contracts/{contract['id']}/transitions", self.purchaser,
                               json={"version": contract["version"], "action": action, "reason": reason})

    # ---------------------------------------------------------------- assessment (绩效评价)
    async def plan(self, contract: dict[str, Any], *, timeout: float = 30) -> dict[str, Any]:
        """The contract's assessment plan, made from its id once the assessment service has contract.signed
        (until then the service does not know the contract and asks for its fields: 422, nothing written)."""
        async def make() -> dict[str, Any] | None:
            r = await self.g.call("POST", "/api/assessment/plans", self.purchaser, status=None,
                                  json={"contract_id": contract["id"], "party_weights": WEIGHTS})
            if r.status_code == 201:
                body: dict[str, Any] = r.json()
                return body
            assert r.status_code == 422 and r.json()["code"] == "assessment.plan.field_missing", r.text
            return None

        plan: dict[str, Any] = await poll(make, timeout=timeout, interval=0.2,
                                          message=f"the assessment service knows contract {contract['id']}")
        assert plan["periods"] == [i["period"] for i in contract["instalments"]], plan
        return plan

    async def draft_assessment(self, plan: dict[str, Any], period: str, grade: str) -> dict[str, Any]:
        """The period's inputs (the purchaser's sheet, a satisfaction survey) and the scored draft."""
        points, level, score = GRADES[grade]
        pid = plan["id"]
        await self.call("POST", f"/api/assessment/plans/{pid}/sheets", self.purchaser, status=201,
                        json={"period": period, "points": points})
        survey = await self.call("POST", f"/api/assessment/plans/{pid}/surveys", self.purchaser, status=201, json={
            "period": period, "title": f"{period} 满意度测评", "invited": 2,
            "items": [{"code": "q1", "text": "环境卫生"}, {"code": "q2", "text": "服务态度"}]})
        for n in range(2):
            await self.call("POST", f"/api/assessment/surveys/{survey['id']}/responses", self.purchaser, status=201,
                            json={"respondent_id": f"{period}-R{n}", "answers": {"q1": level, "q2": level}})
        draft: dict[str, Any] = await self.call("POST", f"/api/assessment/plans/{pid}/assessments", self.purchaser,
                                                json={"period": period}, status=201)
        assert (draft["state"], draft["grade"], draft["score"]) == ("draft", grade, score), draft
        return draft

    async def finalize(self, draft: dict[str, Any]) -> dict[str, Any]:
        """The supplier accepts its draft within the window; the purchaser makes it final (one
        assessment.finalized on the bus)."""
        aid = draft["id"]
        await self.call("POST", f"/api/assessment/assessments/{aid}/responses", self.supplier(draft["supplier_code"]),
                        json={"accepts": True, "text": "无异议"}, status=201)
        final: dict[str, Any] = await self.call("POST", f"/api/assessment/assessments/{aid}/finalize", self.purchaser,
                                                json={})
        assert final["state"] == "final" and final["grade"] == draft["grade"], final
        return final

    async def assess(self, plan: dict[str, Any], period: str, grade: str) -> dict[str, Any]:
        return await self.finalize(await self.draft_assessment(plan, period, grade))


# -------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
async def flow_gateway_db() -> AsyncIterator[str]:
    """A database for the flow tests' gateways (their audit trails)."""
    async with gateway_database(need_postgres(), uuid.uuid4().hex[:8]) as url:
        yield url


GoumaiFactory = Callable[..., Awaitable[Goumai]]


@pytest.fixture
async def goumai_factory(pg_urls: dict[str, str], kafka_bootstrap: str, keys_dir: Path,
                         flow_gateway_db: str) -> AsyncIterator[GoumaiFactory]:
    """`g = await goumai_factory(wrap_transport=…)`: the five services on Postgres and Kafka (topics of their own
    for this test; `Cluster` options passed on) and the gateway in front; all stopped after the test."""
    async with AsyncExitStack() as stack:

        async def make(**options: Any) -> Goumai:
            c = Cluster(db_urls=pg_urls, bus="kafka", kafka=kafka_bootstrap, log_path=None, keys=keys_dir, **options)
            stack.push_async_callback(c.stop)
            await c.start(*SERVICES)
            gw = await gateway_in_front(stack, c, flow_gateway_db)
            return Goumai(c, gw)

        yield make


@pytest.fixture
async def goumai(goumai_factory: GoumaiFactory) -> Goumai:
    """The five services on Postgres and Kafka and the gateway in front."""
    return await goumai_factory()
