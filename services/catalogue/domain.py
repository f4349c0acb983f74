"""Rules of the catalogue service (no I/O): the three-level guidance catalogue, the negative list, versions,
publication.

Seeds: 004_31a27ecd68c2f343.txt (Zhengzhou: 3-level catalogue, 6 classes, 63 second-level types, a
catalogue per department, the negative list, publication within 10 working days of issue) and
001_5078ddae3d782c1e.txt (Penglai: an annual catalogue of 6 classes, adjusted during the year and
published, keeping out what the government must provide itself).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from services.chassis.calendar import BusinessCalendar, Deadline
from services.chassis.errors import Conflict, Problem, Unprocessable
from services.chassis.policy import NegativeListRule


# ---------------------------------------------------------------- reference data: levels 1 and 2
@dataclass(frozen=True)
class Level1Class:
    code: str  # "A" … "F"
    key: str  # stable machine name used in the API and in events
    name: str  # Chinese name as the seeds give it
    name_en: str


@dataclass(frozen=True)
class ServiceType:
    code: str  # "E06": the level-1 letter and a number
    key: str  # "property"
    name: str  # 物业管理服务
    name_en: str
    level1: str  # the Level1Class key


LEVEL1_CLASSES: tuple[Level1Class, ...] = (
    Level1Class("A", "basic_public_services", "基本公共服务", "basic public services"),
    Level1Class("B", "social_management", "社会管理性服务", "social management services"),
    Level1Class("C", "industry_management", "行业管理与协调服务", "industry management and coordination"),
    Level1Class("D", "technical_services", "技术性服务", "technical services"),
    Level1Class("E", "government_auxiliary", "政府履职所需辅助性服务", "auxiliary services for government duties"),
    Level1Class("F", "other", "其他服务事项", "other services"),
)

_T = ServiceType
SERVICE_TYPES: tuple[ServiceType, ...] = (
    # A 基本公共服务 (001: 就业、社保、养老; 004: 公共卫生、养老服务 listed first)
    _T("A01", "education", "公共教育服务", "public education", "basic_public_services"),
    _T("A02", "employment", "就业服务", "employment services", "basic_public_services"),
    _T("A03", "talent_services", "人才服务", "talent services", "basic_public_services"),
    _T("A04", "social_insurance", "社会保险服务", "social insurance services", "basic_public_services"),
    _T("A05", "social_assistance", "社会救助服务", "social assistance", "basic_public_services"),
    _T("A06", "elderly_care", "养老服务", "elderly care", "basic_public_services"),
    _T("A07", "child_welfare", "儿童福利服务", "child welfare", "basic_public_services"),
    _T("A08", "disability_services", "残疾人服务", "services for people with disabilities", "basic_public_services"),
    _T("A09", "veterans_services", "优抚安置服务", "veterans' services", "basic_public_services"),
    _T("A10", "public_health", "公共卫生服务", "public health", "basic_public_services"),
    _T("A11", "population_family", "人口和家庭服务", "population and family services", "basic_public_services"),
    _T("A12", "housing_security", "住房保障服务", "housing security", "basic_public_services"),
    _T("A13", "public_culture", "公共文化服务", "public culture", "basic_public_services"),
    _T("A14", "public_sports", "公共体育服务", "public sports", "basic_public_services"),
    _T("A15", "public_safety", "公共安全服务", "public safety", "basic_public_services"),
    _T("A16", "public_transport", "公共交通运输服务", "public transport", "basic_public_services"),
    _T("A17", "rural_services", "三农服务", "agriculture and rural services", "basic_public_services"),
    _T("A18", "environmental_governance", "环境治理服务", "environmental governance", "basic_public_services"),
    _T("A19", "urban_maintenance", "城市维护服务", "urban maintenance", "basic_public_services"),
    # B 社会管理性服务 (001: 社会治理、安全生产、新型城镇化)
    _T("B01", "community_governance", "社区治理服务", "community governance", "social_management"),
    _T("B02", "social_work", "社会工作服务", "social work", "social_management"),
    _T("B03", "legal_aid", "法律援助服务", "legal aid", "social_management"),
    _T("B04", "poverty_relief", "扶贫济困服务", "poverty relief", "social_management"),
    _T("B05", "disaster_prevention", "防灾救灾服务", "disaster prevention and relief", "social_management"),
    _T("B06", "mediation", "人民调解服务", "people's mediation", "social_management"),
    _T("B07", "community_correction", "社区矫正服务", "community correction", "social_management"),
    _T("B08", "migrant_services", "流动人口服务", "migrant population services", "social_management"),
    _T("B09", "volunteer_services", "志愿服务运营管理", "volunteer services", "social_management"),
    _T("B10", "work_safety", "安全生产服务", "work safety services", "social_management"),
    _T("B11", "urbanisation", "新型城镇化服务", "new urbanisation services", "social_management"),
    # C 行业管理与协调服务 (001: 产业发展、招商引资)
    _T("C01", "industry_planning", "行业规划服务", "industry planning", "industry_management"),
    _T("C02", "industry_survey", "行业调查服务", "industry surveys", "industry_management"),
    _T("C03", "industry_statistics", "行业统计分析服务", "industry statistics", "industry_management"),
    _T("C04", "industry_standards", "行业标准制修订服务", "industry standards", "industry_management"),
    _T("C05", "industry_evaluation", "行业评价评估服务", "industry evaluation", "industry_management"),
    _T("C06", "industry_complaints", "行业投诉处理服务", "industry complaints handling", "industry_management"),
    _T("C07", "industry_development", "产业发展服务", "industry development", "industry_management"),
    _T("C08", "investment_promotion", "招商引资服务", "investment promotion", "industry_management"),
    # D 技术性服务 (004: 科技推广; 001: 食品检验、安全生产技术检测、产品质量抽检、专业规划编制、投资评审)
    _T("D01", "technology_promotion", "科研和技术推广服务", "research and technology promotion", "technical_services"),
    _T("D02", "inspection_testing", "检验检疫检测服务", "inspection and testing", "technical_services"),
    _T("D03", "monitoring", "监测服务", "monitoring", "technical_services"),
    _T("D04", "planning", "规划编制服务", "plan drafting", "technical_services"),
    _T("D05", "audit", "会计审计服务", "accounting and audit", "technical_services"),
    _T("D06", "investment_review", "投资评审服务", "investment project review", "technical_services"),
    _T("D07", "information_technology", "信息化服务", "information technology services", "technical_services"),
    _T("D08", "surveying_mapping", "测绘和地理信息服务", "surveying and geographic information", "technical_services"),
    _T("D09", "meteorology", "气象服务", "meteorological services", "technical_services"),
    # E 政府履职所需辅助性服务 (000/002: 租赁、物业、餐饮、保洁、安保、绿化、会务、维修; 001: 政府法律咨询)
    _T("E01", "legal_advice", "法律服务", "legal advice", "government_auxiliary"),
    _T("E02", "research_studies", "课题研究和社会调查服务", "studies and surveys", "government_auxiliary"),
    _T("E03", "publicity", "政策宣传服务", "publicity", "government_auxiliary"),
    _T("E04", "conference", "会议服务", "conference services", "government_auxiliary"),
    _T("E05", "training", "业务培训服务", "training", "government_auxiliary"),
    _T("E06", "property", "物业管理服务", "property management", "government_auxiliary"),
    _T("E07", "catering", "餐饮服务", "catering", "government_auxiliary"),
    _T("E08", "leasing", "租赁服务", "leasing", "government_auxiliary"),
    _T("E09", "cleaning", "保洁服务", "cleaning", "government_auxiliary"),
    _T("E10", "security", "安保服务", "security", "government_auxiliary"),
    _T("E11", "repair", "维修保养服务", "repair and maintenance", "government_auxiliary"),
    _T("E12", "greening", "绿化养护服务", "greening and upkeep", "government_auxiliary"),
    _T("E13", "performance_evaluation", "绩效评价服务", "performance evaluation", "government_auxiliary"),
    _T("E14", "consulting", "咨询服务", "consulting", "government_auxiliary"),
    _T("E15", "printing", "印刷服务", "printing", "government_auxiliary"),
    _T("E16", "vehicle_services", "公务用车服务", "official vehicle services", "government_auxiliary"),
    _T("E17", "archives", "档案管理服务", "archive services", "government_auxiliary"),
    # F 其他服务事项
    _T("F01", "other", "其他服务事项", "other services", "other"),
)
del _T

_CLASS_BY = {c.code.lower(): c for c in LEVEL1_CLASSES} | {c.key: c for c in LEVEL1_CLASSES}
_TYPE_BY = {t.code.lower(): t for t in SERVICE_TYPES} | {t.key: t for t in SERVICE_TYPES}


def level1_class(key_or_code: str) -> Level1Class | None:
    return _CLASS_BY.get(key_or_code.strip().lower())


def service_type(key_or_code: str) -> ServiceType | None:
    return _TYPE_BY.get(key_or_code.strip().lower())


def service_types_of(level1: str | None) -> list[ServiceType]:
    if level1 is None:
        return list(SERVICE_TYPES)
    cls = level1_class(level1)
    return [t for t in SERVICE_TYPES if cls is not None and t.level1 == cls.key]


# ---------------------------------------------------------------- level 3: an item a department sets
ITEM_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")


@dataclass(frozen=True)
class ItemSpec:
    """A level-3 item as a department writes it."""

    code: str
    name: str
    service_type: str  # key or code of a level-2 type
    description: str = ""
    flags: tuple[str, ...] = ()

    @property
    def type(self) -> ServiceType:
        t = service_type(self.service_type)
        assert t is not None, "validate_item first"
        return t

    @property
    def level1(self) -> str:
        return self.type.level1


def validate_item(item: ItemSpec, known_flags: Iterable[str]) -> ItemSpec:
    """Shape rules for a level-3 item; returns it with the type as its key and flags sorted."""
    if not ITEM_CODE.match(item.code):
        raise Unprocessable("catalogue.item.code_invalid",
                            f"item code {item.code!r} must be 2-64 letters, digits, '.', '_' or '-'",
                            field="code", rule="item code: [A-Za-z0-9][A-Za-z0-9._-]{1,63}")
    if not item.name.strip():
        raise Unprocessable("catalogue.item.name_missing", "an item needs a name", field="name",
                            rule="item name required")
    t = service_type(item.service_type)
    if t is None:
        raise Unprocessable("catalogue.item.service_type_unknown",
                            f"{item.service_type!r} is not a level-2 service type; see GET /service-types",
                            field="service_type", rule="level 2 is the shipped list of service types (004)")
    known = set(known_flags)
    unknown = sorted(set(item.flags) - known)
    if unknown:
        raise Unprocessable("catalogue.item.flag_unknown",
                            f"unknown item flag(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}",
                            field="flags", rule="flags are those named by the negative list of the policy pack")
    return ItemSpec(code=item.code, name=item.name.strip(), service_type=t.key,
                    description=item.description.strip(), flags=tuple(sorted(set(item.flags))))


def fingerprint(item: ItemSpec) -> str:
    """What a reviewer saw when overriding: the name, content, type and flags (normalised)."""
    parts = [item.code, normalise(item.name), normalise(item.description), item.service_type,
             ",".join(sorted(item.flags))]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


# ---------------------------------------------------------------- the negative list
def normalise(text: str) -> str:
    """Full-width → half-width, case-folded, runs of white space as one space."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _contains(text: str, keyword: str) -> bool:
    kw = normalise(keyword)
    if not kw:
        return False
    if kw.isascii():
        return re.search(rf"(?<![a-z0-9]){re.escape(kw)}(?![a-z0-9])", text) is not None
    return kw.replace(" ", "") in text.replace(" ", "")


@dataclass(frozen=True)
class Violation:
    code: str
    label: str
    basis: str
    field: str  # name | description | flags
    matched: tuple[str, ...]
    by_flag: bool
    overridable: bool

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "label": self.label, "basis": self.basis, "field": self.field,
                "matched": list(self.matched), "by_flag": self.by_flag, "overridable": self.overridable}


def _match_text(rule: NegativeListRule, text: str) -> tuple[str, ...]:
    for phrase in rule.exceptions:
        p = normalise(phrase)
        if p:
            text = text.replace(p, " ")
    hits = [k for k in rule.keywords if _contains(text, k)]
    if hits:
        return tuple(hits)
    if rule.all_of:
        groups = [[k for k in g if _contains(text, k)] for g in rule.all_of]
        if all(groups):
            return tuple(g[0] for g in groups)
    return ()


def check_negative_list(item: ItemSpec, rules: Sequence[NegativeListRule]) -> list[Violation]:
    """Every rule of the negative list the item falls under (004 负面清单), flags first."""
    out: list[Violation] = []
    for rule in rules:
        flagged = tuple(f for f in rule.flags if f in item.flags)
        if flagged:
            out.append(Violation(rule.code, rule.label, rule.basis, "flags", flagged, True, False))
            continue
        for fld, text in (("name", item.name), ("description", item.description)):
            hits = _match_text(rule, normalise(text))
            if hits:
                out.append(Violation(rule.code, rule.label, rule.basis, fld, hits, False, rule.overridable))
                break
    return out


@dataclass(frozen=True)
class OverrideGrant:
    """A reviewer's recorded, justified override of named rules for one item as it was reviewed."""

    id: str
    item_code: str
    fingerprint: str
    rule_codes: tuple[str, ...]


def remaining_violations(item: ItemSpec, violations: Sequence[Violation],
                         grants: Iterable[OverrideGrant]) -> tuple[list[Violation], list[str]]:
    """Violations left after the overrides that cover this exact item; and the ids of the overrides used."""
    fp = fingerprint(item)
    usable = [g for g in grants if g.item_code == item.code and g.fingerprint == fp]
    left: list[Violation] = []
    used: list[str] = []
    for v in violations:
        grant = next((g for g in usable if v.code in g.rule_codes), None) if v.overridable else None
        if grant is None:
            left.append(v)
        elif grant.id not in used:
            used.append(grant.id)
    return left, used


def refusal(item: ItemSpec, violations: Sequence[Violation], policy_ref: str) -> Problem:
    """The 422 for an item on the negative list: names the first rule (code, label, basis) and lists all."""
    first = violations[0]
    how = f"declares {', '.join(first.matched)}" if first.by_flag else f"mentions {'+'.join(first.matched)}"
    overridable = all(v.overridable for v in violations)
    hint = (" A finance reviewer may record a justified override (POST /catalogues/{id}/overrides)."
            if overridable else " This cannot be overridden.")
    return Unprocessable(
        "catalogue.item.negative_list",
        f"item {item.code} ({item.name}) is on the negative list (负面清单): {first.label} — its {first.field} "
        f"{how}; basis: {first.basis}.{hint}",
        title="The item is on the negative list",
        field=first.field,
        rule=first.code,
        rule_label=first.label,
        rule_basis=first.basis,
        violations=[v.as_dict() for v in violations],
        overridable=overridable,
        policy=policy_ref,
    )


def validate_override(item: ItemSpec, violations: Sequence[Violation], rule_codes: Sequence[str],
                      justification: str, min_justification: int = 10) -> None:
    """A reviewer may override only rules the item actually hits, only keyword matches, only overridable rules."""
    if len(justification.strip()) < min_justification:
        raise Unprocessable("catalogue.override.justification_missing",
                            f"an override needs a justification of at least {min_justification} characters",
                            field="justification", rule="overrides are justified and listed for audit")
    if not rule_codes:
        raise Unprocessable("catalogue.override.rules_missing", "name the negative-list rules to override",
                            field="rule_codes", rule="an override names the rules it sets aside")
    by_code = {v.code: v for v in violations}
    for code in rule_codes:
        v = by_code.get(code)
        if v is None:
            raise Unprocessable("catalogue.override.not_needed",
                                f"item {item.code} does not fall under rule {code!r}; hits: "
                                f"{', '.join(by_code) or 'none'}",
                                field="rule_codes", rule="only a rule the item falls under may be overridden")
        if v.by_flag:
            raise Unprocessable("catalogue.override.not_allowed",
                                f"item {item.code} declares {', '.join(v.matched)}, which is {v.label} by definition",
                                field="flags", rule=f"{code}: a declared flag cannot be overridden")
        if not v.overridable:
            raise Unprocessable("catalogue.override.not_allowed", f"rule {code} ({v.label}) cannot be overridden",
                                field="rule_codes", rule=f"{code}: not overridable by policy")


# ---------------------------------------------------------------- versions and publication
class Status(StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"  # 正式印发
    PUBLISHED = "published"  # 向社会公开


@dataclass
class VersionFacts:
    """What the rules need to know about one version of a department catalogue."""

    number: int
    status: Status
    issued_on: date | None = None
    published_on: date | None = None
    publication_due: date | None = None
    item_codes: frozenset[str] = field(default_factory=frozenset)


def require_draft(v: VersionFacts) -> None:
    if v.status != Status.DRAFT:
        raise Conflict("catalogue.version.not_draft",
                       f"version {v.number} is {v.status}; items change only in a draft — start an in-year "
                       "adjustment (POST /catalogues/{id}/adjustments) for a new version",
                       field="version", rule="issued and published versions are kept unchanged as history")


def require_revision(expected: int, actual: int) -> None:
    if expected != actual:
        raise Conflict("catalogue.revision.mismatch",
                       f"the catalogue changed (revision {actual}, you sent {expected}); read it again",
                       field="revision", rule="optimistic concurrency")


def check_issue(v: VersionFacts, *, issued_on: date, today: date, fiscal_year: int, item_count: int) -> None:
    require_draft(v)
    if item_count == 0:
        raise Unprocessable("catalogue.issue.empty", "a catalogue without items cannot be issued",
                            field="items", rule="a catalogue lists at least one level-3 item")
    if issued_on > today:
        raise Unprocessable("catalogue.issue.date_future", f"issued_on {issued_on} is after today ({today})",
                            field="issued_on", rule="an issue is recorded when it happens")
    if not fiscal_year - 1 <= issued_on.year <= fiscal_year:
        raise Unprocessable("catalogue.issue.date_outside_year",
                            f"issued_on {issued_on} is outside fiscal year {fiscal_year} (or the year before)",
                            field="issued_on", rule="the catalogue of a fiscal year is issued in that year or before")


def check_publish(v: VersionFacts, *, published_on: date, today: date) -> None:
    if v.status == Status.DRAFT:
        raise Conflict("catalogue.publish.not_issued", f"version {v.number} is a draft; issue it first",
                       field="version", rule="draft → issued → published")
    if v.status == Status.PUBLISHED:
        raise Conflict("catalogue.publish.already", f"version {v.number} was already published on {v.published_on}",
                       field="version", rule="draft → issued → published")
    assert v.issued_on is not None
    if published_on < v.issued_on:
        raise Unprocessable("catalogue.publish.before_issue",
                            f"published_on {published_on} is before the issue ({v.issued_on})",
                            field="published_on", rule="a catalogue is published after it is issued")
    if published_on > today:
        raise Unprocessable("catalogue.publish.date_future", f"published_on {published_on} is after today ({today})",
                            field="published_on", rule="a publication is recorded when it happens")


def check_adjustment(latest: VersionFacts, reason: str) -> None:
    if len(reason.strip()) < 4:
        raise Unprocessable("catalogue.adjustment.reason_missing", "an in-year adjustment needs a reason",
                            field="reason", rule="adjustments are made with a recorded reason (001 动态调整)")
    if latest.status == Status.DRAFT:
        raise Conflict("catalogue.adjustment.draft_open",
                       f"version {latest.number} is still a draft; edit it instead",
                       field="version", rule="one draft at a time")
    if latest.status != Status.PUBLISHED:
        raise Conflict("catalogue.adjustment.not_published",
                       f"version {latest.number} is issued but not yet published; publish it first",
                       field="version", rule="every issued version is published (004: within 10 working days)")


def publication_deadline(calendar: BusinessCalendar, issued_on: date, working_days: int) -> Deadline:
    """004: published within N working days of issue (public holidays and make-up workdays count)."""
    return calendar.add_workdays(issued_on, working_days)


def is_overdue(due: date, published_on: date | None, as_of: date) -> bool:
    """Late when published after the due date, or not published and the due date has passed."""
    if published_on is not None:
        return published_on > due
    return as_of > due


def working_days_late(calendar: BusinessCalendar, due: date, published_on: date | None, as_of: date) -> int:
    end = published_on or as_of
    return calendar.workdays_between(due, end) if end > due else 0


def in_force(versions: Sequence[VersionFacts], as_of: date | None = None) -> VersionFacts | None:
    """The version in force: the latest issued (or published) one, issued on or before `as_of`."""
    candidates = [v for v in versions if v.status != Status.DRAFT and v.issued_on is not None
                  and (as_of is None or v.issued_on <= as_of)]
    return max(candidates, key=lambda v: v.number, default=None)


def effective_to(versions: Sequence[VersionFacts], v: VersionFacts) -> date | None:
    """The day before the next issued version took effect (None while in force)."""
    later = [w.issued_on for w in versions if w.number > v.number and w.issued_on is not None
             and w.status != Status.DRAFT]
    if not later:
        return None
    return min(later) - timedelta(days=1)


@dataclass(frozen=True)
class Change:
    added: list[str]
    withdrawn: list[str]


def diff(previous: frozenset[str] | None, new: frozenset[str]) -> Change:
    """Items that enter and leave with a newly issued version (events catalogue.item.added / withdrawn)."""
    prev = previous or frozenset()
    return Change(sorted(new - prev), sorted(prev - new))


# ---------------------------------------------------------------- purchasable?
@dataclass(frozen=True)
class Answer:
    purchasable: bool
    reasons: list[str]


def purchasable(*, item_code: str, department: str, fiscal_year: int, has_catalogue: bool,
                versions: Sequence[VersionFacts], item_violations: Sequence[Violation] = (),
                withdrawn_reason: str | None = None) -> Answer:
    """May a budget line name this item (004 先有预算、后购买服务: only items of the department's catalogue)."""
    if not has_catalogue:
        return Answer(False, [f"department {department} has no guidance catalogue for fiscal year {fiscal_year}"])
    current = in_force(versions)
    if current is None:
        return Answer(False, [f"the {fiscal_year} catalogue of department {department} has not been issued"])
    if item_code not in current.item_codes:
        draft = next((v for v in versions if v.status == Status.DRAFT and item_code in v.item_codes), None)
        reasons = [f"item {item_code} is not in version {current.number} of the {fiscal_year} catalogue of "
                   f"department {department}"]
        if withdrawn_reason:
            reasons.append(f"it was withdrawn: {withdrawn_reason}")
        if draft is not None:
            reasons.append(f"it is in draft version {draft.number}, which has not been issued")
        return Answer(False, reasons)
    if item_violations:
        return Answer(False, [f"item {item_code} now falls under the negative list: {v.code} ({v.label}); "
                              f"basis: {v.basis}" for v in item_violations])
    reasons = [f"item {item_code} is in version {current.number} of the {fiscal_year} catalogue of department "
               f"{department}, issued on {current.issued_on}"]
    if current.status == Status.ISSUED:
        reasons.append(f"the catalogue is not yet published (due by {current.publication_due})")
    return Answer(True, reasons)
