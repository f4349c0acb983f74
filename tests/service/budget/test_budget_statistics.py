"""Statistics (信息统计上报) and disclosure (信息公开) on Postgres, with the catalogue service: the Xi'an 2023
table of seed 000 comes out exactly when its 16 projects are entered."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

from openpyxl import load_workbook

from services.events.contract import ContractSigned
from tests.service.budget.helpers import Dept, approved_line, catalogue_for, create_line, deliver, envelope, uid

LPC, REPAIR, AUDIT = "XA-LPC", "XA-REPAIR", "XA-AUDIT"
ITEMS = [
    (LPC, "租赁、物业及包厨服务", "property"),
    (REPAIR, "办公用房维修保养服务", "repair"),
    (AUDIT, "审计服务", "audit"),
]
NAMES = {code: name for code, name, _ in ITEMS}
# Invented per-project amounts (万元) that add up to seed 000's group totals, with its purchase methods, and the
# month each contract was signed in 2023.
PROJECTS = [
    (LPC, "2856.40", "public_tender", 1), (LPC, "1920.00", "single_source", 1), (LPC, "1210.50", "single_source", 2),
    (LPC, "860.36", "public_tender", 3), (LPC, "640.00", "single_source", 3), (LPC, "430.00", "single_source", 4),
    (LPC, "318.00", "public_tender", 5), (LPC, "206.50", "competitive_consultation", 6),
    (LPC, "138.00", "single_source", 7), (LPC, "80.00", "single_source", 8), (LPC, "50.00", "single_source", 9),
    (REPAIR, "68.00", "public_tender", 4), (REPAIR, "35.26", "competitive_consultation", 7),
    (REPAIR, "28.50", "competitive_consultation", 9), (REPAIR, "12.00", "competitive_consultation", 10),
    (AUDIT, "2.70", "inquiry", 11),
]


def _yuan(wan: str) -> str:
    return f"{Decimal(wan) * 10000:.2f}"


async def _enter_xian(c) -> tuple[Dept, list[dict]]:
    d = await catalogue_for(c, year=2023, region="xian", items=ITEMS, department=uid("XA-JZBG-"))
    lines = []
    for i, (item, wan, method, month) in enumerate(PROJECTS):
        ex_ante = "事前绩效评估报告" if Decimal(wan) >= 500 else None
        line = await approved_line(d, amount=_yuan(wan), item_code=item, method=method, ex_ante=ex_ante,
                                   name=f"2023年度{NAMES[item]}项目{i + 1}")
        await deliver(c, envelope(ContractSigned(
            contract_id=uid("ctr-"), supplier_code="91610100X", line_id=line["line_id"],
            signed_on=date(2023, month, 10), starts_on=date(2023, month, 10), ends_on=date(2023, 12, 31),
            amount=_yuan(wan)), "contract"), times=1)
        lines.append(line)
    return d, lines


async def test_xian_2023_table_reproduced(cluster) -> None:
    """000_3596027388defe7e.txt: 以2023年为例,综合管理中心购买服务项目16个,涉及经费8856.22万元 … 租赁、物业及包厨服务
    项目共11个,涉及经费8709.76万元,占98.35%;4个维修改造项目共143.76万元,占1.62%;1个审计服务项目2.7万元,占0.03%。
    按购买服务方式细分,7个为单一来源采购,4个为竞争性磋商,4个为公开招标,1个为询价采购。
    The project types are the centre's level-3 catalogue items (and, here, their service types)."""
    c = await cluster("budget", "catalogue")
    d, _ = await _enter_xian(c)
    assert sum(Decimal(w) for _, w, _, _ in PROJECTS) == Decimal("8856.22")
    b = c.clients["budget"]
    fin = d.finance(idempotency_key=False)
    for params in ({"fiscal_year": 2023, "department": d.code}, {"period": "2023", "department": d.code}):
        r = await b.get("/statistics", params=params, headers=fin)
        assert r.status_code == 200, r.text
        s = r.json()
        assert s["count"] == 16
        assert s["amount_wan"] == "8856.22"
        assert s["amount"] == "88562200.00"
        by_item = [(g["key"], g["count"], g["amount_wan"], g["share"]) for g in s["by"]["item"]]
        assert by_item == [(LPC, 11, "8709.76", "98.35"), (REPAIR, 4, "143.76", "1.62"), (AUDIT, 1, "2.70", "0.03")]
        assert s["by"]["item"][0]["label"] == "租赁、物业及包厨服务"
        by_type = [(g["key"], g["count"], g["share"]) for g in s["by"]["service_type"]]
        assert by_type == [("property", 11, "98.35"), ("repair", 4, "1.62"), ("audit", 1, "0.03")]
        methods = {g["key"]: g["count"] for g in s["by"]["method"]}
        assert methods == {"single_source": 7, "competitive_consultation": 4, "public_tender": 4, "inquiry": 1}
        labels = {g["key"]: g["label"] for g in s["by"]["method"]}
        assert labels["single_source"] == "单一来源" and labels["inquiry"] == "询价"
        for groups in s["by"].values():
            assert sum(Decimal(g["share"]) for g in groups) == Decimal("100.00")
        assert [(g["key"], g["count"]) for g in s["by"]["region"]] == [("xian", 16)]
        assert [g["count"] for g in s["by"]["department"]] == [16]


async def test_half_year_reports_exports_and_disclosure(cluster) -> None:
    """004_31a27ecd68c2f343.txt: 每年1月及7月分两次报送 (the July report covers the first half, January the
    second half of the year before); 各部门政府购买服务年度计划…公开内容包括:项目的名称、类别、内容、服务对象、
    购买方式、预算金额. A project counts in the half-year its contract was signed."""
    c = await cluster("budget", "catalogue")
    d, _ = await _enter_xian(c)
    b = c.clients["budget"]
    fin = d.finance(idempotency_key=False)
    h1_wan = sum(Decimal(w) for _, w, _, m in PROJECTS if m <= 6)
    r = await b.get("/statistics/reports/2023-07", params={"department": d.code}, headers=fin)
    assert r.status_code == 200, r.text
    assert (r.json()["period"], r.json()["count"], r.json()["amount_wan"]) == ("2023-H1", 9, f"{h1_wan:.2f}")
    r = await b.get("/statistics/reports/2024-01", params={"department": d.code}, headers=fin)
    assert (r.json()["period"], r.json()["count"]) == ("2023-H2", 7)
    r = await b.get("/statistics/reports/2024-03", params={"department": d.code}, headers=fin)
    assert r.status_code == 422
    assert r.json()["code"] == "budget.statistics.not_a_report_month"
    r = await b.get("/statistics", params={"from": "2023-03-01", "to": "2023-04-30", "department": d.code},
                    headers=fin)
    assert r.json()["count"] == 4
    r = await b.get("/statistics", params={"period": "2023-H7"}, headers=fin)
    assert r.status_code == 422 and r.json()["field"] == "period"
    # scope: finance of another region is refused for this region; a purchaser sees only its department
    r = await b.get("/statistics", params={"region": "xian"}, headers=c.auth("finance", region="zhengzhou"))
    assert r.status_code == 403
    r = await b.get("/statistics", params={"fiscal_year": 2023}, headers=d.purchaser(idempotency_key=False))
    assert (r.json()["count"], r.json()["department"]) == (16, d.code)
    r = await b.get("/statistics", params={"fiscal_year": 2023})
    assert r.status_code == 401

    # CSV and XLSX exports carry the same figures
    r = await b.get("/statistics/export", params={"format": "csv", "fiscal_year": 2023, "department": d.code},
                    headers=fin)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["dimension", "key", "label", "count"]
    assert rows[1][3:6] == ["16", "88562200.00", "8856.22"]
    items = {row[1]: row for row in rows if row[0] == "item"}
    assert (items[LPC][3], items[LPC][5], items[LPC][6]) == ("11", "8709.76", "98.35")
    assert (items[AUDIT][3], items[AUDIT][5], items[AUDIT][6]) == ("1", "2.70", "0.03")
    r = await b.get("/statistics/export", params={"format": "xlsx", "fiscal_year": 2023, "department": d.code},
                    headers=fin)
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content)).active
    sheet = [[cell.value for cell in row] for row in ws.iter_rows()]
    assert sheet[1][3] == 16 and sheet[1][5] == "8856.22"
    repair = next(row for row in sheet if row[0] == "item" and row[1] == REPAIR)
    assert (repair[3], repair[5], repair[6]) == (4, "143.76", "1.62")
    methods = {row[1]: row[3] for row in sheet if row[0] == "method"}
    assert methods == {"single_source": 7, "competitive_consultation": 4, "public_tender": 4, "inquiry": 1}

    # the annual plan is public (no token): approved lines only, with the disclosed fields
    await create_line(d, amount="10000.00", item_code=AUDIT, method="inquiry", name="草稿项目")
    r = await b.get(f"/plans/{d.code}/2023")
    assert r.status_code == 200, r.text
    plan = r.json()
    assert (plan["count"], plan["total"]) == (16, "88562200.00")
    first = plan["items"][0]
    assert set(first) >= {"name", "level1_class", "service_type", "content", "recipients", "method", "amount"}
    assert (first["amount"], first["method_label"]) == ("28564000.00", "公开招标")
    assert "草稿项目" not in {i["name"] for i in plan["items"]}
