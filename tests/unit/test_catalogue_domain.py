"""Catalogue rules without I/O: the three levels, the negative list, versions, publication deadlines,
and the purchasable answer."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from services.catalogue import domain
from services.catalogue.domain import ItemSpec, OverrideGrant, Status, VersionFacts
from services.chassis.calendar import BusinessCalendar, calendar_from_tables
from services.chassis.errors import Conflict, Problem, Unprocessable
from services.chassis.policy import NegativeListRule, PolicyBook, PolicyError

POLICIES = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture(scope="module")
def zhengzhou():
    return PolicyBook.load(POLICIES).pack("zhengzhou")


@pytest.fixture(scope="module")
def rules(zhengzhou):
    return zhengzhou.catalogue.negative_list


def item(name: str, *, code: str = "ZZ-001", description: str = "", type_: str = "property",
         flags: tuple[str, ...] = ()) -> ItemSpec:
    return ItemSpec(code=code, name=name, service_type=type_, description=description, flags=flags)


def codes(violations) -> list[str]:
    return [v.code for v in violations]


# ---------------------------------------------------------------- levels 1 and 2
def test_level1_is_the_six_classes_of_the_seeds() -> None:
    """004_31a27ecd68c2f343.txt and 001_5078ddae3d782c1e.txt: the first level has six classes."""
    assert [c.name for c in domain.LEVEL1_CLASSES] == [
        "基本公共服务", "社会管理性服务", "行业管理与协调服务", "技术性服务", "政府履职所需辅助性服务", "其他服务事项"]


def test_level2_ships_the_types_the_seeds_name() -> None:
    """004 (education, employment, public health, elderly care, technology promotion), 001 (legal advice,
    greening upkeep, audit/review), 000/002 (property, catering, leasing, cleaning, security, repair, conference)."""
    for key in ("property", "catering", "leasing", "cleaning", "security", "repair", "audit", "conference",
                "greening", "education", "employment", "elderly_care", "public_health", "technology_promotion",
                "legal_advice"):
        t = domain.service_type(key)
        assert t is not None, key
        assert domain.level1_class(t.level1) is not None
        assert t.code[0] == domain.level1_class(t.level1).code  # the code starts with its class letter
        assert t.name  # a Chinese name
    assert len({t.code for t in domain.SERVICE_TYPES}) == len(domain.SERVICE_TYPES)
    assert len({t.key for t in domain.SERVICE_TYPES}) == len(domain.SERVICE_TYPES)
    assert domain.service_type("E06") == domain.service_type("property")  # by code or key


def test_item_shape_rules(rules) -> None:
    flags = {f for r in rules for f in r.flags}
    ok = domain.validate_item(item(" 机关办公区物业管理服务 ", type_="E06"), flags)
    assert ok.service_type == "property" and ok.level1 == "government_auxiliary" and ok.name == "机关办公区物业管理服务"
    with pytest.raises(Unprocessable) as e:
        domain.validate_item(item("x", type_="no_such_type"), flags)
    assert e.value.field == "service_type"
    with pytest.raises(Unprocessable) as e:
        domain.validate_item(item("x", code="bad code!"), flags)
    assert e.value.field == "code"
    with pytest.raises(Unprocessable) as e:
        domain.validate_item(item("x", flags=("made_up",)), flags)
    assert e.value.field == "flags" and "labour_dispatch" in e.value.detail


# ---------------------------------------------------------------- the negative list
def test_posts_are_refused(rules) -> None:
    """004_31a27ecd68c2f343.txt: 坚决杜绝以政府购买服务名义"购人"、"购岗"."""
    v = domain.check_negative_list(item("窗口服务购岗项目", type_="consulting"), rules)
    assert codes(v) == ["hire_people_or_posts"]
    assert v[0].field == "name" and v[0].matched == ("购岗",) and v[0].overridable


def test_labour_dispatch_is_refused_by_keyword_and_by_flag(rules) -> None:
    """004 负面清单 (财政部令第102号 第十条(五)): labour dispatch is hiring people, not buying a service."""
    v = domain.check_negative_list(item("辅助人员", description="以劳务派遣方式提供窗口辅助人员"), rules)
    assert codes(v) == ["hire_people_or_posts"] and v[0].field == "description"
    flagged = domain.check_negative_list(item("窗口辅助服务", flags=("labour_dispatch",)), rules)
    assert codes(flagged) == ["hire_people_or_posts"]
    assert flagged[0].by_flag and not flagged[0].overridable  # a declared fact is never overridden


def test_works_and_services_bundle_is_refused(rules) -> None:
    """004 负面清单: works, and projects bundling works with services, are not services."""
    v = domain.check_negative_list(item("办公楼装修改造工程及后续物业服务", type_="property"), rules)
    assert "works_services_bundle" in codes(v)
    epc = domain.check_negative_list(item("园区EPC总承包", type_="other"), rules)
    assert "works_services_bundle" in codes(epc)


def test_services_about_works_are_not_works(rules) -> None:
    """Exceptions: 工程监理、工程造价 (001: 政府投资项目评审 is a purchased service) are services."""
    assert domain.check_negative_list(item("政府投资项目工程造价审核服务", type_="investment_review"), rules) == []
    assert domain.check_negative_list(item("市政工程监理服务", type_="consulting"), rules) == []
    # but naming works next to them still counts
    assert domain.check_negative_list(item("工程监理及道路工程施工", type_="consulting"), rules)


def test_ordinary_services_pass(rules) -> None:
    """004: 公共卫生、养老服务、科技推广 are listed first; 001: 法律咨询, 绿化带养护."""
    for name, t in [("社区居家养老服务", "elderly_care"), ("公共卫生健康教育服务", "public_health"),
                    ("农业科技推广服务", "technology_promotion"), ("政府法律顾问咨询服务", "legal_advice"),
                    ("公路绿化带养护服务", "greening"), ("政府采购人员业务培训", "training"),
                    ("机关食堂餐饮服务", "catering"), ("会议服务", "conference")]:
        assert domain.check_negative_list(item(name, type_=t), rules) == [], name


def test_other_rules_of_the_list(rules) -> None:
    """004 负面清单: duties the government must perform itself, goods, financing, outside duties, by law."""
    cases = {"行政处罚决定辅助": "inherent_government_duty", "办公设备购置": "goods_or_works",
             "项目融资服务": "financing", "职工福利发放": "outside_government_duties",
             "法律禁止事项": "prohibited_by_law"}
    for name, code in cases.items():
        assert code in codes(domain.check_negative_list(item(name, type_="other"), rules)), name


def test_matching_ignores_width_and_case(rules) -> None:
    assert codes(domain.check_negative_list(item("Labour  Dispatch services"), rules)) == ["hire_people_or_posts"]
    assert codes(domain.check_negative_list(item("ＥＰＣ项目"), rules)) == ["works_services_bundle"]
    assert domain.check_negative_list(item("recepción"), rules) == []  # ASCII keywords match whole words


def test_refusal_names_the_rule(rules) -> None:
    spec = item("窗口岗位外包", code="ZZ-9")
    p = domain.refusal(spec, domain.check_negative_list(spec, rules), "zhengzhou@2020.1")
    body = p.body()
    assert p.status == 422 and body["code"] == "catalogue.item.negative_list"
    assert body["rule"] == "hire_people_or_posts" and "购岗" in body["rule_label"]
    assert "004_31a27ecd68c2f343.txt" in body["rule_basis"] and body["field"] == "name"
    assert body["violations"][0]["matched"] == ["岗位外包"] and body["policy"] == "zhengzhou@2020.1"


def test_override_covers_only_the_item_as_reviewed(rules) -> None:
    spec = item("事业单位公开招聘考试考务组织服务", description="人员招聘考试的考场组织", type_="consulting")
    v = domain.check_negative_list(spec, rules)
    assert codes(v) == ["hire_people_or_posts"]
    grant = OverrideGrant("o1", spec.code, domain.fingerprint(spec), ("hire_people_or_posts",))
    assert domain.remaining_violations(spec, v, [grant]) == ([], ["o1"])
    changed = ItemSpec(spec.code, spec.name, spec.service_type, spec.description + "及劳务派遣", ())
    left, used = domain.remaining_violations(changed, domain.check_negative_list(changed, rules), [grant])
    assert codes(left) == ["hire_people_or_posts"] and used == []


def test_override_validation(rules) -> None:
    spec = item("人员招聘考务服务", type_="consulting")
    v = domain.check_negative_list(spec, rules)
    domain.validate_override(spec, v, ["hire_people_or_posts"], "考务组织是服务,不是购岗;经科室复核")
    with pytest.raises(Unprocessable, match="justification"):
        domain.validate_override(spec, v, ["hire_people_or_posts"], "ok")
    with pytest.raises(Unprocessable) as e:
        domain.validate_override(spec, v, ["financing"], "this rule is not hit at all here")
    assert e.value.code == "catalogue.override.not_needed"
    flagged = item("窗口服务", flags=("labour_dispatch",))
    with pytest.raises(Unprocessable) as e:
        domain.validate_override(flagged, domain.check_negative_list(flagged, rules), ["hire_people_or_posts"],
                                 "a long enough justification")
    assert e.value.code == "catalogue.override.not_allowed"
    by_law = item("法律禁止事项")
    with pytest.raises(Unprocessable) as e:
        domain.validate_override(by_law, domain.check_negative_list(by_law, rules), ["prohibited_by_law"],
                                 "a long enough justification")
    assert e.value.code == "catalogue.override.not_allowed"


def test_rules_are_policy_data() -> None:
    """A pack's rule needs something to match; codes are unique."""
    with pytest.raises(ValueError, match="needs keywords"):
        NegativeListRule(code="empty", label="x", basis="y")
    rule = NegativeListRule(code="local_rule", label="本地规定", basis="local", keywords=["测试禁用"])
    assert codes(domain.check_negative_list(item("测试禁用事项"), [rule])) == ["local_rule"]


def test_a_broken_pack_is_refused_on_load(tmp_path) -> None:
    (tmp_path / "x.yaml").write_text(
        "pack: x\nname: x\nversion: '1'\neffective_from: 2020-01-01\n"
        "catalogue:\n  negative_list:\n    - {code: a_rule, label: l, basis: b, keywords: [k]}\n"
        "    - {code: a_rule, label: l, basis: b, keywords: [k]}\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="unique"):
        PolicyBook.load(tmp_path)


# ---------------------------------------------------------------- publication deadline
def test_deadline_spans_national_day_and_make_up_saturday() -> None:
    """004_31a27ecd68c2f343.txt: published within 10 working days of issue. Issued Fri 2025-09-26: Sun 9-28 is a
    make-up workday, Oct 1-8 the National Day holiday, Sat 10-11 a make-up workday → due Thu 2025-10-16."""
    cal = BusinessCalendar()
    assert cal.is_workday(date(2025, 9, 28)) and cal.is_workday(date(2025, 10, 11))
    assert not any(cal.is_workday(date(2025, 10, d)) for d in range(1, 9))
    d = domain.publication_deadline(cal, date(2025, 9, 26), 10)
    assert d.due == date(2025, 10, 16) and not d.provisional
    # counting weekends alone would give 2025-10-10 — the calendar matters
    weekends_only = calendar_from_tables({2025: ((), ())})
    assert domain.publication_deadline(weekends_only, date(2025, 9, 26), 10).due == date(2025, 10, 10)


def test_deadline_into_an_unknown_year_is_provisional() -> None:
    """DESIGN.md conventions: a year no table knows counts weekends only and is marked provisional."""
    cal = BusinessCalendar()
    last = max(y for y in range(2020, 2100) if cal.is_known(date(y, 6, 1)))
    d = domain.publication_deadline(cal, date(last, 12, 24), 10)
    assert d.provisional and d.years_unknown == (last + 1,)
    # a pack's own table for that year makes it firm
    known = calendar_from_tables({last + 1: ((date(last + 1, 1, 1),), ())})
    assert not domain.publication_deadline(known, date(last + 1, 1, 1), 3).provisional


def test_overdue() -> None:
    due = date(2025, 10, 16)
    assert not domain.is_overdue(due, None, date(2025, 10, 16))
    assert domain.is_overdue(due, None, date(2025, 10, 17))
    assert not domain.is_overdue(due, date(2025, 10, 16), date(2026, 1, 1))
    assert domain.is_overdue(due, date(2025, 10, 17), date(2025, 10, 17))
    cal = BusinessCalendar()
    assert domain.working_days_late(cal, due, None, date(2025, 10, 20)) == 2  # Fri 17 and Mon 20


# ---------------------------------------------------------------- versions
def v(number: int, status: Status, issued: date | None = None, published: date | None = None,
      codes_: tuple[str, ...] = ()) -> VersionFacts:
    return VersionFacts(number, status, issued, published, None, frozenset(codes_))


def test_lifecycle_draft_issued_published() -> None:
    """004: 正式印发 then 向社会公开; 001: adjusted during the year (动态调整) and published again."""
    draft = v(1, Status.DRAFT)
    today = date(2025, 12, 1)
    with pytest.raises(Unprocessable, match="without items"):
        domain.check_issue(draft, issued_on=date(2025, 3, 1), today=today, fiscal_year=2025, item_count=0)
    with pytest.raises(Unprocessable) as e:
        domain.check_issue(draft, issued_on=date(2025, 12, 2), today=today, fiscal_year=2025, item_count=1)
    assert e.value.field == "issued_on"
    with pytest.raises(Unprocessable, match="outside fiscal year"):
        domain.check_issue(draft, issued_on=date(2023, 12, 2), today=today, fiscal_year=2025, item_count=1)
    domain.check_issue(draft, issued_on=date(2024, 12, 20), today=today, fiscal_year=2025, item_count=1)
    issued = v(1, Status.ISSUED, date(2025, 3, 3))
    with pytest.raises(Conflict):
        domain.check_issue(issued, issued_on=date(2025, 3, 3), today=today, fiscal_year=2025, item_count=1)
    with pytest.raises(Conflict):
        domain.check_publish(draft, published_on=today, today=today)
    with pytest.raises(Unprocessable, match="before the issue"):
        domain.check_publish(issued, published_on=date(2025, 3, 2), today=today)
    domain.check_publish(issued, published_on=date(2025, 3, 5), today=today)
    with pytest.raises(Conflict, match="already"):
        domain.check_publish(v(1, Status.PUBLISHED, date(2025, 3, 3), date(2025, 3, 5)), published_on=today,
                             today=today)


def test_adjustment_rules() -> None:
    with pytest.raises(Conflict, match="publish it first"):
        domain.check_adjustment(v(1, Status.ISSUED, date(2025, 3, 3)), "new service needed")
    with pytest.raises(Conflict, match="still a draft"):
        domain.check_adjustment(v(2, Status.DRAFT), "new service needed")
    with pytest.raises(Unprocessable) as e:
        domain.check_adjustment(v(1, Status.PUBLISHED, date(2025, 3, 3), date(2025, 3, 5)), " ")
    assert e.value.field == "reason"
    domain.check_adjustment(v(1, Status.PUBLISHED, date(2025, 3, 3), date(2025, 3, 5)), "新增养老服务项目")
    with pytest.raises(Conflict) as c:
        domain.require_draft(v(1, Status.PUBLISHED, date(2025, 3, 3)))
    assert c.value.code == "catalogue.version.not_draft"
    with pytest.raises(Conflict):
        domain.require_revision(3, 4)


def test_version_in_force_on_a_date_and_history() -> None:
    vs = [v(1, Status.PUBLISHED, date(2025, 3, 3), date(2025, 3, 5), ("A",)),
          v(2, Status.PUBLISHED, date(2025, 7, 1), date(2025, 7, 2), ("A", "B")),
          v(3, Status.DRAFT, codes_=("B",))]
    assert domain.in_force(vs, date(2025, 3, 2)) is None
    assert domain.in_force(vs, date(2025, 6, 30)).number == 1
    assert domain.in_force(vs, date(2025, 7, 1)).number == 2
    assert domain.in_force(vs).number == 2  # a draft is never in force
    assert domain.effective_to(vs, vs[0]) == date(2025, 6, 30)
    assert domain.effective_to(vs, vs[1]) is None
    change = domain.diff(vs[1].item_codes, vs[2].item_codes)
    assert change.added == [] and change.withdrawn == ["A"]
    assert domain.diff(None, frozenset({"X"})).added == ["X"]


def test_purchasable_answers() -> None:
    """004: 先有预算、后购买服务 — a budget line names an item of the department's catalogue in force."""
    no = domain.purchasable(item_code="A", department="D1", fiscal_year=2025, has_catalogue=False, versions=[])
    assert not no.purchasable and "no guidance catalogue" in no.reasons[0]
    only_draft = [v(1, Status.DRAFT, codes_=("A",))]
    a = domain.purchasable(item_code="A", department="D1", fiscal_year=2025, has_catalogue=True, versions=only_draft)
    assert not a.purchasable and "not been issued" in a.reasons[0]
    vs = [v(1, Status.ISSUED, date(2025, 3, 3), codes_=("A",))]
    a = domain.purchasable(item_code="A", department="D1", fiscal_year=2025, has_catalogue=True, versions=vs)
    assert a.purchasable and any("not yet published" in r for r in a.reasons)
    a = domain.purchasable(item_code="B", department="D1", fiscal_year=2025, has_catalogue=True, versions=vs,
                           withdrawn_reason="merged into A")
    assert not a.purchasable and "merged into A" in a.reasons[1]
    hit = domain.Violation("financing", "融资行为", "basis", "name", ("融资",), False, True)
    a = domain.purchasable(item_code="A", department="D1", fiscal_year=2025, has_catalogue=True, versions=vs,
                           item_violations=[hit])
    assert not a.purchasable and "financing" in a.reasons[0]


def test_problem_codes_follow_the_convention() -> None:
    """CONTRIBUTING: codes are service.thing.reason."""
    with pytest.raises(Problem) as e:
        domain.require_revision(1, 2)
    assert e.value.code.split(".")[0] == "catalogue" and len(e.value.code.split(".")) == 3
