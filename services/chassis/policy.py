"""Jurisdiction policy packs: rules that differ between places are data (policies/*.yaml).

A pack file is one version of one pack. `extends:` names a pack whose same-dated version it builds
on (deep-merged, the child wins). Validation is strict: an unknown key or a bad value is refused with
the file, the key and the reason. Decisions record `pack.ref` ("changzhou@2024.1").

Each service owns its section's model below; add fields there, with defaults where the national
default has an answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

from services.chassis.calendar import BusinessCalendar, YearTable
from services.chassis.money import yuan_to_fen


class PolicyError(ValueError):
    pass


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _fen(value: Any) -> Any:
    """Amounts in packs are yuan strings ("1000000.00") or 万 with a suffix ("100万")."""
    if value is None:
        return value
    if not isinstance(value, str):
        raise ValueError('write amounts as yuan strings such as "500000.00" or "50万"')
    if isinstance(value, str) and value.endswith("万"):
        return int(Decimal(value[:-1]) * 1_000_000)
    return yuan_to_fen(value)


Fen = Annotated[int, BeforeValidator(_fen)]


# ---------------------------------------------------------------- catalogue
class NegativeListRule(_Strict):
    """One entry of the negative list (负面清单). An item is refused when its name or content holds one of
    `keywords`, or a keyword of every group in `all_of` (e.g. works + services = a bundle), or it declares
    one of `flags`. Phrases in `exceptions` are removed from the text before matching (工程监理 is a
    service, not works). A finance reviewer may record a justified override for a keyword match when the
    rule is `overridable`; a declared flag is a fact about the item and is never overridden."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")  # machine code, e.g. "hire_people_or_posts"
    label: str  # 购人、购岗
    basis: str  # where the rule comes from (seed file, regulation)
    keywords: list[str] = []  # matched in item name/content, case- and width-insensitive
    all_of: list[list[str]] = []  # every group must match (a combination such as works + services)
    exceptions: list[str] = []  # phrases removed before matching, e.g. "工程监理"
    flags: list[str] = []  # item attributes that trigger the rule directly, e.g. "labour_dispatch"
    overridable: bool = True

    @model_validator(mode="after")
    def _matches_something(self) -> NegativeListRule:
        if not (self.keywords or self.all_of or self.flags):
            raise ValueError(f"negative-list rule {self.code!r} needs keywords, all_of or flags")
        if any(not group for group in self.all_of):
            raise ValueError(f"negative-list rule {self.code!r}: an all_of group is empty")
        return self


class CatalogueSection(_Strict):
    publication_working_days: int = Field(10, ge=1, le=60)
    negative_list: list[NegativeListRule] = []

    @field_validator("negative_list")
    @classmethod
    def _unique_codes(cls, v: list[NegativeListRule]) -> list[NegativeListRule]:
        codes = [r.code for r in v]
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        if dupes:
            raise ValueError(f"negative-list rule codes must be unique; repeated: {', '.join(dupes)}")
        return v


# ---------------------------------------------------------------- budget
class BudgetSection(_Strict):
    finance_approval_from_fen: Fen = Field(100 * 1_000_000, alias="finance_approval_from")
    filing_from_fen: Fen = Field(500 * 1_000_000, alias="filing_from")
    ex_ante_assessment_from_fen: Fen = Field(500 * 1_000_000, alias="ex_ante_assessment_from")
    contract_copy_filing_days: int = Field(15, ge=1, le=90)
    evaluation_report_filing_days: int = Field(30, ge=1, le=180)
    statistics_report_months: list[int] = [1, 7]

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)



# ---------------------------------------------------------------- contract
PURCHASE_METHODS = (
    "public_tender", "invited_tender", "competitive_negotiation", "competitive_consultation",
    "single_source", "inquiry", "price_comparison", "designated",
)


class MethodBand(_Strict):
    """Methods allowed for amounts in [from, below); `renewal` lists what a next cycle may use."""

    from_fen: Fen = Field(0, alias="from")
    below_fen: Fen | None = Field(None, alias="below")
    service_types: list[str] = []  # empty = every type
    first_cycle: list[str]
    renewal: list[str] = []
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


    @field_validator("first_cycle", "renewal")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        for m in v:
            if m not in PURCHASE_METHODS:
                raise ValueError(f"unknown purchase method {m!r}; known: {', '.join(PURCHASE_METHODS)}")
        return v


class ContractSection(_Strict):
    method_bands: list[MethodBand] = []
    max_term_months: int = 12
    max_term_months_continuous: int = 36
    filing_from_fen: Fen = Field(500 * 1_000_000, alias="filing_from")
    filing_days: int = 15
    payment_factor_percent: dict[str, Decimal] = {"优秀": Decimal(100), "良好": Decimal(100),
                                                  "合格": Decimal(90), "不合格": Decimal(70)}
    excellent_reward_percent: Decimal = Decimal(0)
    reward_grade: str = "优秀"  # the grade the reward goes to (seed 002: 优秀 suppliers get 10% more)
    # Share of a period's withheld amount paid once the purchaser has verified the supplier's remediation
    # (整改验收); 0 makes withheld amounts final deductions.
    remediation_release_percent: Decimal = Decimal(100)
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _check_contract(self) -> ContractSection:
        for b in self.method_bands:
            if b.below_fen is not None and b.below_fen <= b.from_fen:
                raise ValueError(f"method band from {b.from_fen} fen must end above where it starts")
        for grade, pct in self.payment_factor_percent.items():
            if not Decimal(0) <= pct <= Decimal(100):
                raise ValueError(f"payment_factor_percent[{grade}] must be between 0 and 100")
        if not Decimal(0) <= self.excellent_reward_percent <= Decimal(100):
            raise ValueError("excellent_reward_percent must be between 0 and 100")
        if not Decimal(0) <= self.remediation_release_percent <= Decimal(100):
            raise ValueError("remediation_release_percent must be between 0 and 100")
        if self.max_term_months_continuous < self.max_term_months:
            raise ValueError("max_term_months_continuous must be at least max_term_months")
        return self



# ---------------------------------------------------------------- assessment
class GradeBand(_Strict):
    grade: str
    min_score: Decimal = Field(ge=0, le=100)
    failing: bool = False


class AssessmentSection(_Strict):
    grade_bands: list[GradeBand] = [
        GradeBand(grade="优秀", min_score=Decimal(90)),
        GradeBand(grade="良好", min_score=Decimal(80)),
        GradeBand(grade="合格", min_score=Decimal(60)),
        GradeBand(grade="不合格", min_score=Decimal(0), failing=True),
    ]
    party_weights: dict[str, Decimal] = {"purchaser": Decimal(50), "recipients": Decimal(30),
                                         "third_party": Decimal(20)}
    survey_level_points: dict[str, Decimal] = {"优": Decimal(100), "较好": Decimal(85),
                                               "一般": Decimal(60), "差": Decimal(0)}
    satisfied_levels: list[str] = ["优", "较好"]
    min_response_rate_percent: Decimal = Decimal(95)
    response_window_days: int = Field(5, ge=0, le=60)
    # How the supplier's response window is counted: Chinese working days (with make-up workdays) or
    # calendar days; the draft day itself is not counted.
    response_window_kind: Literal["working", "calendar"] = "working"
    veto_grade: str = "不合格"

    @model_validator(mode="after")
    def _check(self) -> AssessmentSection:
        mins = [b.min_score for b in self.grade_bands]
        if mins != sorted(mins, reverse=True) or not mins or mins[-1] != 0:
            raise ValueError("grade_bands must run from the highest min_score down to 0")
        if sum(self.party_weights.values()) != 100:
            raise ValueError("party_weights must add up to 100")
        if set(self.party_weights) - {"purchaser", "recipients", "third_party"}:
            raise ValueError("party_weights names only purchaser, recipients and third_party")
        if self.veto_grade not in {b.grade for b in self.grade_bands}:
            raise ValueError("veto_grade must be one of the grade bands")
        if set(self.satisfied_levels) - set(self.survey_level_points):
            raise ValueError("satisfied_levels must be levels of survey_level_points")
        return self


# ---------------------------------------------------------------- registry
REVIEW_CONDITIONS = (
    "independent_civil_liability",  # 独立承担民事责任的能力
    "governance_internal_control",  # 治理结构健全、内部管理和监督制度完善
    "finance_accounting",  # 健全的财务会计和资产管理制度
    "facilities_staff_expertise",  # 提供服务所必需的设施、人员和专业技术能力
    "professional_qualifications",  # 相关专业资质
    "tax_social_security",  # 依法缴纳税收和社会保障资金的良好记录
    "no_major_violation",  # 前三年内无重大违法记录
    "not_abnormal_or_dishonest",  # 未列入经营异常名录或严重违法失信名单
)
CREDIT_RECORD_KINDS = (
    "false_materials",  # 提供虚假材料
    "breach",  # 违约前科
    "major_violation",  # 重大违法违规
    "serious_dishonesty",  # 严重违法失信名单
    "abnormal_operation",  # 经营异常名录
    "fraud",  # 弄虚作假、冒领财政资金
)


class BlacklistRule(_Strict):
    """Blacklisting from assessment results. `consecutive_failing`: `consecutive_failing_periods`
    failing periods in a row of one contract; `serious_violation` / `fraud`: the flag on
    assessment.finalized; any rule also fires when one of `violations` appears in the event's list.
    `years` None = indefinite."""

    code: str  # consecutive_failing | serious_violation | fraud | false_claim | …
    consecutive_failing_periods: int | None = Field(None, ge=1)
    years: int | None = Field(None, ge=1, le=3)  # None = indefinite
    source: str = "assessment"
    label: str = ""
    violations: list[str] = []  # violation codes in assessment.finalized.violations that fire it


BLACKLIST_SOURCES = ("assessment", "fraud", "false_claim", "violation", "authority")


class RegistrySection(_Strict):
    blacklist_rules: list[BlacklistRule] = [
        BlacklistRule(code="consecutive_failing", consecutive_failing_periods=2, years=1),
        BlacklistRule(code="serious_violation", years=2, source="violation"),
        BlacklistRule(code="fraud", years=3, source="fraud"),
        BlacklistRule(code="false_claim", years=3, source="false_claim", violations=["false_claim"]),
    ]
    blacklist_min_years: int = Field(1, ge=1)
    blacklist_max_years: int = Field(3, ge=1)
    blacklist_indefinite_allowed: bool = True
    renewal_min_average: Decimal = Decimal(85)
    renewal_min_periods: int = Field(1, ge=1)  # periods the last cycle needs before it can justify renewal
    failing_cycle_excludes_next: bool = True
    failing_cycle_exclusion_months: int = Field(12, ge=1, le=60)  # "the next cycle", from the failing one's end
    violation_lookback_years: int = Field(3, ge=1, le=10)  # no major violation in the last three years
    history_window_years: int = Field(3, ge=1, le=10)  # history read for the last cycle
    veto_record_kinds: list[str] = list(CREDIT_RECORD_KINDS)  # one-vote veto (一票否决)
    review_conditions: list[str] = list(REVIEW_CONDITIONS)
    qualification_required: bool = True  # a current professional qualification per service type
    qualification_exempt_service_types: list[str] = []
    directory_recent_periods: int = Field(4, ge=1, le=24)  # ranking by the average of the last N periods

    @model_validator(mode="after")
    def _check(self) -> RegistrySection:
        if self.blacklist_min_years > self.blacklist_max_years:
            raise ValueError("blacklist_min_years must not exceed blacklist_max_years")
        for r in self.blacklist_rules:
            if r.years is None and not self.blacklist_indefinite_allowed:
                raise ValueError(f"blacklist rule {r.code}: indefinite, but blacklist_indefinite_allowed is false")
            if r.years is not None and not self.blacklist_min_years <= r.years <= self.blacklist_max_years:
                raise ValueError(f"blacklist rule {r.code}: years must be within "
                                 f"{self.blacklist_min_years}..{self.blacklist_max_years}")
            if r.source not in BLACKLIST_SOURCES:
                raise ValueError(f"blacklist rule {r.code}: unknown source {r.source!r}")
            if r.code == "consecutive_failing" and not r.consecutive_failing_periods:
                raise ValueError("blacklist rule consecutive_failing needs consecutive_failing_periods")
        for k in self.veto_record_kinds:
            if k not in CREDIT_RECORD_KINDS:
                raise ValueError(f"unknown veto record kind {k!r}; known: {', '.join(CREDIT_RECORD_KINDS)}")
        for c in self.review_conditions:
            if c not in REVIEW_CONDITIONS:
                raise ValueError(f"unknown review condition {c!r}; known: {', '.join(REVIEW_CONDITIONS)}")
        return self


# ---------------------------------------------------------------- the pack
class CalendarYear(_Strict):
    holidays: list[date] = []
    workdays: list[date] = []


class PolicyPack(_Strict):
    pack: str
    name: str
    version: str
    effective_from: date
    effective_to: date | None = None
    extends: str | None = None
    sources: list[str] = []  # seed files and documents the figures come from
    calendar_years: dict[int, CalendarYear] = {}
    catalogue: CatalogueSection = CatalogueSection()
    budget: BudgetSection = BudgetSection()
    contract: ContractSection = ContractSection()
    assessment: AssessmentSection = AssessmentSection()
    registry: RegistrySection = RegistrySection()

    @property
    def ref(self) -> str:
        return f"{self.pack}@{self.version}"

    def covers(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)

    def business_calendar(self) -> BusinessCalendar:
        return BusinessCalendar(
            {y: YearTable(frozenset(t.holidays), frozenset(t.workdays)) for y, t in self.calendar_years.items()}
        )


def _merge(base: Mapping[str, Any], child: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in child.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _format_errors(path: Path, exc: ValidationError) -> str:
    parts = []
    for e in exc.errors():
        key = ".".join(str(p) for p in e["loc"])
        parts.append(f"{path.name}: {key}: {e['msg']}")
    return "; ".join(parts)


class PolicyBook:
    """All packs in a folder, validated on load; look up the version in force on a date."""

    def __init__(self, packs: list[PolicyPack]) -> None:
        self._packs: dict[str, list[PolicyPack]] = {}
        for p in packs:
            self._packs.setdefault(p.pack, []).append(p)
        for versions in self._packs.values():
            versions.sort(key=lambda p: p.effective_from)

    @classmethod
    def load(cls, folder: Path) -> PolicyBook:
        raw: dict[Path, dict[str, Any]] = {}
        for path in sorted(folder.glob("*.yaml")):
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8"))
            except yaml.YAMLError as exc:
                raise PolicyError(f"{path.name}: not valid YAML: {exc}") from exc
            if not isinstance(data, dict):
                raise PolicyError(f"{path.name}: a policy pack is a mapping")
            raw[path] = data
        by_name: dict[str, list[tuple[Path, dict[str, Any]]]] = {}
        for path, data in raw.items():
            by_name.setdefault(str(data.get("pack", path.stem)), []).append((path, data))

        def resolved(path: Path, data: dict[str, Any], seen: tuple[str, ...] = ()) -> dict[str, Any]:
            parent = data.get("extends")
            if not parent:
                return data
            if parent in seen:
                raise PolicyError(f"{path.name}: extends: cycle through {parent}")
            if parent not in by_name:
                raise PolicyError(f"{path.name}: extends: no pack named {parent!r}")
            pp, pd = by_name[parent][-1]
            base = {k: v for k, v in resolved(pp, pd, (*seen, parent)).items()
                    if k not in ("pack", "name", "version", "effective_from", "effective_to", "extends", "sources")}
            return _merge(base, data)

        packs = []
        for path, data in raw.items():
            try:
                packs.append(PolicyPack.model_validate(resolved(path, data)))
            except ValidationError as exc:
                raise PolicyError(_format_errors(path, exc)) from exc
        if not packs:
            raise PolicyError(f"no policy packs in {folder}")
        return cls(packs)

    @property
    def names(self) -> list[str]:
        return sorted(self._packs)

    def pack(self, name: str, on: date | None = None) -> PolicyPack:
        versions = self._packs.get(name)
        if not versions:
            raise PolicyError(f"no policy pack named {name!r}; have {', '.join(self.names)}")
        if on is None:
            return versions[-1]
        for p in reversed(versions):
            if p.covers(on):
                return p
        raise PolicyError(f"policy pack {name!r} has no version in force on {on}")

    def all(self) -> list[PolicyPack]:
        return [p for v in self._packs.values() for p in v]
