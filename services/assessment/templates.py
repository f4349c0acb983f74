"""Indicator-system templates (考核评分细则) shipped as data, one per service type, all built on the
seed 000 dimensions: 采购价格 (price), 节约资金效果 (savings), 服务质量 (service quality), 信誉状况
(credit), 有无违法行为 (violations, a veto item), 政府采购政策执行 (policy execution), 询问质疑答复
(inquiries and complaints) and 内部监督管理制度 (internal control).

The common part weighs 40; each service type's service-quality indicators weigh 60, mostly by deduction
rules with per-rule caps (每发现一处扣x分, 本项扣完为止). Seed 000 names the Xi'an services (物业、餐饮/包厨、
租赁、保洁、审计、办公用房维修), the weekly price inquiry of catering ingredients, food sample tests,
order keeping and emergency drills; seed 002 adds security monitoring and third-party food inspection.
"""

from __future__ import annotations

from typing import Any

Rule = dict[str, Any]
Ind = dict[str, Any]


def _rule(code: str, description: str, points: str, cap: str | None = None) -> Rule:
    return {"code": code, "description": description, "points_per_item": points, "cap": cap}


def _ind(code: str, name: str, dimension: str, weight: str, method: str = "points",
         rules: list[Rule] | None = None, veto: bool = False, description: str = "") -> Ind:
    return {"code": code, "name": name, "dimension": dimension, "weight": weight, "method": method,
            "rules": rules or [], "veto": veto, "description": description}


def _common() -> list[Ind]:
    return [
        _ind("price", "采购价格合理性", "price", "10", description="价格与合同及市场询价相符"),
        _ind("savings", "节约资金效果", "savings", "5"),
        _ind("credit", "信誉状况", "credit", "5", "deduction",
             [_rule("bad_record", "出现不良信用记录", "2", "5")]),
        _ind("policy_execution", "政府采购政策执行情况", "policy_execution", "5"),
        _ind("inquiries_complaints", "询问、质疑与投诉处理", "inquiries_complaints", "10", "deduction",
             [_rule("valid_complaint", "有效投诉每起", "1", "6"),
              _rule("late_reply", "询问、质疑逾期答复每次", "0.5", "4")]),
        _ind("internal_control", "内部监督管理制度建设及执行", "internal_control", "5"),
        _ind("violation_veto", "违法违规行为（一票否决）", "violations", "0", "deduction", veto=True,
             description="有违法违规行为的，考核等次不高于不合格"),
    ]


TEMPLATES: dict[str, dict[str, Any]] = {
    "property_management": {
        "name": "物业服务考核评分细则",
        "aliases": ["物业服务", "物业管理", "property"],
        "quality": [
            _ind("sq_security", "安全保卫", "service_quality", "12", "deduction",
                 [_rule("post_absent", "门岗脱岗每次", "1", "6"),
                  _rule("patrol_missed", "巡查未按时每次", "0.5", "6")]),
            _ind("sq_cleaning", "环境卫生", "service_quality", "12", "deduction",
                 [_rule("unclean_spot", "卫生不达标每处", "0.5", "12")]),
            _ind("sq_facilities", "设施设备维修保养", "service_quality", "12", "deduction",
                 [_rule("repair_late", "报修超时每次", "1", "6"), _rule("inspection_gap", "巡检缺漏每次", "0.5", "6")]),
            _ind("sq_greening", "绿化养护", "service_quality", "6", "deduction",
                 [_rule("greening_defect", "绿化养护不到位每处", "0.5", "6")]),
            _ind("sq_meeting", "会务服务", "service_quality", "8", "deduction",
                 [_rule("meeting_error", "会务保障差错每次", "1", "8")]),
            _ind("sq_staff", "人员管理（持证上岗、着装规范）", "service_quality", "5", "deduction",
                 [_rule("staff_nonconforming", "人员不规范每人次", "0.5", "5")]),
            _ind("sq_emergency", "应急演练", "service_quality", "5"),
        ],
    },
    "catering": {
        "name": "餐饮（包厨）服务考核评分细则",
        "aliases": ["餐饮服务", "包厨服务", "包厨", "机关食堂", "catering"],
        "quality": [
            _ind("food_safety_veto", "食品安全事故（一票否决）", "violations", "0", "deduction", veto=True),
            _ind("sq_food_safety", "食品安全与食材抽检", "service_quality", "15", "deduction",
                 [_rule("sample_failed", "食材抽检不合格每批次", "3", "15"),
                  _rule("retention_missing", "留样不规范每次", "1", "5")]),
            _ind("sq_dish_quality", "菜品质量", "service_quality", "15", "deduction",
                 [_rule("dish_defect", "菜品质量问题每次", "0.5", "15")]),
            _ind("sq_kitchen_hygiene", "后厨卫生", "service_quality", "10", "deduction",
                 [_rule("hygiene_defect", "卫生不达标每处", "0.5", "10")]),
            _ind("sq_cost_control", "原材料成本与外卖价格（每周询价）", "service_quality", "10", "deduction",
                 [_rule("above_inquiry", "价格高于询价每项", "1", "10")]),
            _ind("sq_food_waste", "反食品浪费", "service_quality", "5"),
            _ind("sq_service_manner", "服务态度", "service_quality", "5", "deduction",
                 [_rule("manner_complaint", "服务态度问题每次", "0.5", "5")]),
        ],
    },
    "leasing": {
        "name": "租赁服务考核评分细则",
        "aliases": ["租赁服务", "房屋租赁", "leasing"],
        "quality": [
            _ind("sq_premises", "房屋及设施完好", "service_quality", "20", "deduction",
                 [_rule("premises_defect", "设施损坏未修复每处", "1", "20")]),
            _ind("sq_repair_response", "报修响应", "service_quality", "15", "deduction",
                 [_rule("repair_late", "报修超时每次", "1", "15")]),
            _ind("sq_fire_safety", "安全及消防", "service_quality", "15", "deduction",
                 [_rule("fire_hazard", "消防安全隐患每处", "2", "15")]),
            _ind("sq_service", "服务响应与配合", "service_quality", "10"),
        ],
    },
    "cleaning": {
        "name": "保洁服务考核评分细则",
        "aliases": ["保洁服务", "卫生保洁", "cleaning"],
        "quality": [
            _ind("sq_public_areas", "公共区域保洁", "service_quality", "20", "deduction",
                 [_rule("unclean_spot", "不达标每处", "0.5", "20")]),
            _ind("sq_offices", "办公室与会议室保洁", "service_quality", "15", "deduction",
                 [_rule("unclean_room", "不达标每间", "0.5", "15")]),
            _ind("sq_waste_sorting", "垃圾分类", "service_quality", "10", "deduction",
                 [_rule("sorting_error", "分类不规范每次", "1", "10")]),
            _ind("sq_restrooms", "卫生间保洁", "service_quality", "10", "deduction",
                 [_rule("unclean_restroom", "不达标每处", "0.5", "10")]),
            _ind("sq_materials", "耗材与工具管理", "service_quality", "5"),
        ],
    },
    "security": {
        "name": "安保服务考核评分细则",
        "aliases": ["安保服务", "安全保卫", "security"],
        "quality": [
            _ind("security_incident_veto", "重大安全责任事故（一票否决）", "violations", "0", "deduction", veto=True),
            _ind("sq_guard", "门岗值守", "service_quality", "20", "deduction",
                 [_rule("post_absent", "脱岗、睡岗每次", "2", "20")]),
            _ind("sq_patrol", "巡逻巡查", "service_quality", "15", "deduction",
                 [_rule("patrol_missed", "漏巡每次", "1", "15")]),
            _ind("sq_monitoring", "安防监控值守", "service_quality", "10", "deduction",
                 [_rule("monitor_unattended", "监控无人值守每次", "1", "10")]),
            _ind("sq_drills", "应急演练", "service_quality", "10"),
            _ind("sq_order", "秩序维护", "service_quality", "5", "deduction",
                 [_rule("order_issue", "秩序维护不到位每次", "0.5", "5")]),
        ],
    },
    "repair": {
        "name": "办公用房维修改造考核评分细则",
        "aliases": ["维修改造", "办公用房维修", "维修服务", "repair"],
        "quality": [
            _ind("sq_schedule", "工期", "service_quality", "15", "deduction",
                 [_rule("day_late", "每延误一日", "1", "15")]),
            _ind("sq_workmanship", "施工质量", "service_quality", "20", "deduction",
                 [_rule("defect", "质量缺陷每处", "2", "20")]),
            _ind("sq_site_safety", "现场安全文明施工", "service_quality", "15", "deduction",
                 [_rule("site_hazard", "安全文明问题每次", "1", "15")]),
            _ind("sq_acceptance", "验收资料完整", "service_quality", "10"),
        ],
    },
    "audit": {
        "name": "审计服务考核评分细则",
        "aliases": ["审计服务", "audit"],
        "quality": [
            _ind("sq_report_quality", "审计报告质量", "service_quality", "25"),
            _ind("sq_timeliness", "按期提交", "service_quality", "15", "deduction",
                 [_rule("day_late", "每逾期一日", "1", "15")]),
            _ind("sq_independence", "独立性与保密", "service_quality", "10", "deduction",
                 [_rule("breach", "违反独立性或保密要求每次", "5", "10")]),
            _ind("sq_communication", "沟通配合", "service_quality", "10"),
        ],
    },
}


def template_indicators(key: str) -> list[Ind]:
    t = TEMPLATES[key]
    quality: list[Ind] = t["quality"]
    return [*_common(), *quality]


def template_for_service_type(service_type: str) -> str | None:
    """The template key for a service type (its key or one of its aliases, case-insensitive)."""
    s = service_type.strip().lower()
    for key, t in TEMPLATES.items():
        if s == key or s in (a.lower() for a in t["aliases"]):
            return key
    return None
