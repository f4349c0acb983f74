"""HTTP routes of the catalogue service. Thin: parse, authorise, call service.py, shape the answer."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field

from services.catalogue import domain, service
from services.catalogue.domain import ItemSpec
from services.catalogue.models import Catalogue, CatalogueItem, CatalogueVersion, NegativeListOverride
from services.chassis.app import CtxDep, SessionDep, UowDep
from services.chassis.auth import Allow, Principal
from services.chassis.idempotency import IdempotencyKey
from services.chassis.pagination import Page

router = APIRouter(tags=["catalogue"])

EVERYONE = ("public", "purchaser", "finance", "auditor", "service", "supplier", "assessor", "ops")
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0)]
Code = Annotated[str, Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- request bodies
class CatalogueIn(_In):
    fiscal_year: int = Field(ge=2000, le=2100)
    department: str | None = Field(None, min_length=1, max_length=64)
    region: str | None = Field(None, min_length=1, max_length=64)
    title: str | None = Field(None, max_length=200)


class ItemIn(_In):
    code: Code
    name: str = Field(min_length=1, max_length=300)
    service_type: str = Field(min_length=1, max_length=64, description="level-2 type key or code (GET /service-types)")
    description: str = Field("", max_length=4000)
    flags: list[str] = Field([], max_length=20, description="item attributes named by the negative list")
    revision: int | None = Field(None, description="the draft's revision you read (optional for adds)")

    def spec(self) -> ItemSpec:
        return ItemSpec(code=self.code, name=self.name, service_type=self.service_type,
                        description=self.description, flags=tuple(self.flags))


class ItemPatch(_In):
    revision: int
    name: str | None = Field(None, min_length=1, max_length=300)
    service_type: str | None = Field(None, min_length=1, max_length=64)
    description: str | None = Field(None, max_length=4000)
    flags: list[str] | None = Field(None, max_length=20)


class WithdrawIn(_In):
    revision: int
    reason: str = Field(min_length=1, max_length=2000)


class IssueIn(_In):
    revision: int
    issued_on: date | None = Field(None, description="date of the issuing document (印发); default today")
    document_no: str | None = Field(None, max_length=200)


class PublishIn(_In):
    revision: int
    published_on: date | None = None
    url: str | None = Field(None, max_length=500)


class AdjustmentIn(_In):
    reason: str = Field(min_length=1, max_length=2000)
    revision: int | None = None


class OverrideIn(_In):
    item: ItemIn
    rule_codes: list[str] = Field(min_length=1, max_length=10)
    justification: str = Field(min_length=1, max_length=4000)


class CheckIn(_In):
    item: ItemIn
    region: str | None = None


# ---------------------------------------------------------------- answers
class ItemOut(BaseModel):
    code: str
    name: str
    description: str
    level1_class: str
    level1_class_name: str
    service_type: str
    service_type_code: str
    service_type_name: str
    flags: list[str]
    override_ids: list[str]
    policy: str
    added_in_version: int
    changed_in_version: int

    @classmethod
    def of(cls, i: CatalogueItem) -> ItemOut:
        t = domain.service_type(i.service_type)
        c = domain.level1_class(i.level1_class)
        return cls(code=i.code, name=i.name, description=i.description, level1_class=i.level1_class,
                   level1_class_name=c.name if c else "", service_type=i.service_type,
                   service_type_code=t.code if t else "", service_type_name=t.name if t else "",
                   flags=list(i.flags), override_ids=list(i.override_ids), policy=i.policy_ref,
                   added_in_version=i.added_in_version, changed_in_version=i.changed_in_version)


class VersionOut(BaseModel):
    version: int
    status: str
    revision: int
    reason: str | None
    created_at: datetime
    issued_on: date | None
    document_no: str | None
    publication_due: date | None
    due_provisional: bool
    due_years_unknown: list[int]
    working_days: int | None
    policy: str | None
    published_on: date | None
    published_late: bool | None
    publication_url: str | None
    effective_from: date | None
    effective_to: date | None

    @classmethod
    def of(cls, v: CatalogueVersion, effective_to: date | None = None) -> VersionOut:
        return cls(version=v.number, status=v.status, revision=v.revision, reason=v.reason, created_at=v.created_at,
                   issued_on=v.issued_on, document_no=v.document_no, publication_due=v.publication_due,
                   due_provisional=v.due_provisional, due_years_unknown=list(v.due_years_unknown),
                   working_days=v.working_days, policy=v.policy_ref, published_on=v.published_on,
                   published_late=v.published_late, publication_url=v.publication_url,
                   effective_from=v.issued_on, effective_to=effective_to)


class CatalogueOut(BaseModel):
    id: str
    department: str
    fiscal_year: int
    region: str
    policy_pack: str
    title: str
    version: VersionOut
    items: list[ItemOut] | None = None
    history: list[VersionOut] = []

    @classmethod
    def of(cls, c: Catalogue, v: VersionOut, items: list[CatalogueItem] | None = None,
           history: list[VersionOut] | None = None) -> CatalogueOut:
        return cls(id=c.id, department=c.department, fiscal_year=c.fiscal_year, region=c.region,
                   policy_pack=c.policy_pack, title=c.title, version=v,
                   items=[ItemOut.of(i) for i in items] if items is not None else None, history=history or [])


class CataloguePage(Page[CatalogueOut]):
    pass


class ItemInCatalogueOut(ItemOut):
    catalogue_id: str
    department: str
    fiscal_year: int
    version: int
    version_status: str


class ItemPage(Page[ItemInCatalogueOut]):
    pass


class OverrideOut(BaseModel):
    id: str
    catalogue_id: str
    department: str
    fiscal_year: int
    region: str
    item_code: str
    item_name: str
    item: dict[str, Any]
    rule_codes: list[str]
    violations: list[dict[str, Any]]
    justification: str
    policy: str
    created_at: datetime
    created_by: str
    reviewer_org: str | None

    @classmethod
    def of(cls, o: NegativeListOverride) -> OverrideOut:
        return cls(id=o.id, catalogue_id=o.catalogue_id, department=o.department, fiscal_year=o.fiscal_year,
                   region=o.region, item_code=o.item_code, item_name=o.item_name, item=o.item,
                   rule_codes=list(o.rule_codes), violations=list(o.violations), justification=o.justification,
                   policy=o.policy_ref, created_at=o.created_at, created_by=o.created_by, reviewer_org=o.reviewer_org)


class OverridePage(Page[OverrideOut]):
    pass


class OverdueOut(BaseModel):
    catalogue_id: str
    department: str
    fiscal_year: int
    region: str
    version: int
    status: str
    issued_on: date
    publication_due: date
    due_provisional: bool
    due_years_unknown: list[int]
    published_on: date | None
    working_days_late: int
    policy: str | None


class OverduePage(Page[OverdueOut]):
    as_of: date


class PurchasableOut(BaseModel):
    item_code: str
    purchasable: bool
    reasons: list[str]
    name: str | None
    level1_class: str | None
    service_type: str | None
    catalogue_id: str | None
    catalogue_version: int | None
    service_type_code: str | None = None
    catalogue_status: str | None = None
    policy: str | None = None


class ClassOut(BaseModel):
    code: str
    key: str
    name: str
    name_en: str


class ServiceTypeOut(BaseModel):
    code: str
    key: str
    name: str
    name_en: str
    level1_class: str
    level1_class_code: str


class RuleOut(BaseModel):
    code: str
    label: str
    basis: str
    keywords: list[str]
    all_of: list[list[str]]
    exceptions: list[str]
    flags: list[str]
    overridable: bool


class NegativeListOut(BaseModel):
    policy: str
    publication_working_days: int
    rules: list[RuleOut]


class CheckOut(BaseModel):
    item_code: str
    allowed: bool
    violations: list[dict[str, Any]]
    policy: str


# ---------------------------------------------------------------- reference data (public)
@router.get("/classes", response_model=list[ClassOut], summary="Level 1: the six classes (一级目录)")
async def list_classes(_p: Annotated[Principal, Allow(*EVERYONE)]) -> list[ClassOut]:
    return [ClassOut(code=c.code, key=c.key, name=c.name, name_en=c.name_en) for c in domain.LEVEL1_CLASSES]


@router.get("/service-types", response_model=list[ServiceTypeOut], summary="Level 2: service types (二级目录)")
async def list_service_types(_p: Annotated[Principal, Allow(*EVERYONE)],
                             level1_class: str | None = None) -> list[ServiceTypeOut]:
    out = []
    for t in domain.service_types_of(level1_class):
        c = domain.level1_class(t.level1)
        out.append(ServiceTypeOut(code=t.code, key=t.key, name=t.name, name_en=t.name_en, level1_class=t.level1,
                                  level1_class_code=c.code if c else ""))
    return out


@router.get("/negative-list", response_model=NegativeListOut, summary="The negative list in force (负面清单)")
async def get_negative_list(ctx: CtxDep, _p: Annotated[Principal, Allow(*EVERYONE)],
                            region: str | None = None) -> NegativeListOut:
    pack = service.negative_list(ctx, region)
    rules = [RuleOut(**r.model_dump()) for r in pack.catalogue.negative_list]
    return NegativeListOut(policy=pack.ref, publication_working_days=pack.catalogue.publication_working_days,
                           rules=rules)


@router.post("/negative-list/check", response_model=CheckOut, summary="Check an item against the negative list")
async def check_item(body: CheckIn, ctx: CtxDep,
                     _p: Annotated[Principal, Allow("purchaser", "finance", "auditor")]) -> CheckOut:
    spec, violations, ref = service.check_only(ctx, body.region, body.item.spec())
    return CheckOut(item_code=spec.code, allowed=not violations, violations=[v.as_dict() for v in violations],
                    policy=ref)


# ---------------------------------------------------------------- catalogues
@router.post("/catalogues", status_code=status.HTTP_201_CREATED, response_model=CatalogueOut,
             summary="Open a department's catalogue for a fiscal year (version 1, draft)")
async def create_catalogue(body: CatalogueIn, uow: UowDep, ctx: CtxDep, _key: IdempotencyKey,
                           principal: Annotated[Principal, Allow("purchaser", "finance")]) -> CatalogueOut:
    loaded = await service.create_catalogue(uow=uow, ctx=ctx, principal=principal, department=body.department,
                                            fiscal_year=body.fiscal_year, region=body.region, title=body.title)
    return CatalogueOut.of(loaded.cat, VersionOut.of(loaded.latest), items=[])


@router.get("/catalogues", response_model=CataloguePage, summary="Catalogues you may see (public: published)")
async def list_catalogues(session: SessionDep, principal: Annotated[Principal, Allow(*EVERYONE)],
                          department: str | None = None, year: int | None = None, region: str | None = None,
                          limit: Limit = 50, offset: Offset = 0) -> CataloguePage:
    rows, total = await service.list_catalogues(session=session, principal=principal, department=department,
                                                fiscal_year=year, region=region, limit=limit, offset=offset)
    return CataloguePage(items=[CatalogueOut.of(c, VersionOut.of(v)) for c, v in rows], total=total, limit=limit,
                         offset=offset)


@router.get("/catalogues/overdue", response_model=OverduePage,
            summary="Issued catalogues not published within the deadline (and, on request, those published late)")
async def list_overdue(session: SessionDep, ctx: CtxDep,
                       principal: Annotated[Principal, Allow("finance", "auditor")], as_of: date | None = None,
                       include_published_late: bool = False, limit: Limit = 50,
                       offset: Offset = 0) -> OverduePage:
    rows, total, as_of = await service.overdue(session=session, ctx=ctx, principal=principal, as_of=as_of,
                                               include_published_late=include_published_late, limit=limit,
                                               offset=offset)
    items = [OverdueOut(catalogue_id=r.cat.id, department=r.cat.department, fiscal_year=r.cat.fiscal_year,
                        region=r.cat.region, version=r.version.number, status=r.version.status,
                        issued_on=r.version.issued_on or r.due, publication_due=r.due, due_provisional=r.provisional,
                        due_years_unknown=r.years_unknown, published_on=r.version.published_on,
                        working_days_late=r.working_days_late, policy=r.version.policy_ref) for r in rows]
    return OverduePage(as_of=as_of, items=items, total=total, limit=limit, offset=offset)


@router.get("/catalogues/{catalogue_id}", response_model=CatalogueOut,
            summary="A catalogue: the latest version you may see, or the one in force on `as_of`, with its history")
async def get_catalogue(catalogue_id: str, session: SessionDep,
                        principal: Annotated[Principal, Allow(*EVERYONE)], as_of: date | None = None,
                        version: int | None = None) -> CatalogueOut:
    loaded, view, history = await service.get_catalogue(session=session, principal=principal,
                                                        catalogue_id=catalogue_id, as_of=as_of, number=version)
    return CatalogueOut.of(loaded.cat, VersionOut.of(view.version, view.effective_to), items=view.items,
                           history=[VersionOut.of(h.version, h.effective_to) for h in history])


@router.post("/catalogues/{catalogue_id}/items", status_code=status.HTTP_201_CREATED, response_model=ItemOut,
             summary="Add a level-3 item to the draft (checked against the negative list)")
async def add_item(catalogue_id: str, body: ItemIn, uow: UowDep, ctx: CtxDep, _key: IdempotencyKey,
                   principal: Annotated[Principal, Allow("purchaser")]) -> ItemOut:
    _, item = await service.add_item(uow=uow, ctx=ctx, principal=principal, catalogue_id=catalogue_id,
                                     spec=body.spec(), revision=body.revision)
    return ItemOut.of(item)


@router.patch("/catalogues/{catalogue_id}/items/{code}", response_model=ItemOut,
              summary="Change an item of the draft (checked against the negative list again)")
async def update_item(catalogue_id: str, code: str, body: ItemPatch, uow: UowDep, ctx: CtxDep,
                      principal: Annotated[Principal, Allow("purchaser")]) -> ItemOut:
    changes = body.model_dump(exclude_unset=True, exclude={"revision"})
    _, item = await service.update_item(uow=uow, ctx=ctx, principal=principal, catalogue_id=catalogue_id, code=code,
                                        revision=body.revision, changes=changes)
    return ItemOut.of(item)


@router.post("/catalogues/{catalogue_id}/items/{code}/withdraw", response_model=CatalogueOut,
             summary="Take an item out of the draft, with a reason")
async def withdraw_item(catalogue_id: str, code: str, body: WithdrawIn, uow: UowDep,
                        principal: Annotated[Principal, Allow("purchaser")]) -> CatalogueOut:
    loaded = await service.withdraw_item(uow=uow, principal=principal, catalogue_id=catalogue_id, code=code,
                                         revision=body.revision, reason=body.reason)
    return CatalogueOut.of(loaded.cat, VersionOut.of(loaded.latest))


@router.post("/catalogues/{catalogue_id}/issue", response_model=CatalogueOut,
             summary="Issue the draft (正式印发); the publication deadline is counted in working days")
async def issue(catalogue_id: str, body: IssueIn, uow: UowDep, ctx: CtxDep,
                principal: Annotated[Principal, Allow("finance")]) -> CatalogueOut:
    loaded = await service.issue(uow=uow, ctx=ctx, principal=principal, catalogue_id=catalogue_id,
                                 revision=body.revision, issued_on=body.issued_on, document_no=body.document_no)
    return CatalogueOut.of(loaded.cat, VersionOut.of(loaded.latest))


@router.post("/catalogues/{catalogue_id}/publish", response_model=CatalogueOut,
             summary="Record the publication (向社会公开); late when after the deadline")
async def publish(catalogue_id: str, body: PublishIn, uow: UowDep,
                  principal: Annotated[Principal, Allow("finance")]) -> CatalogueOut:
    loaded = await service.publish(uow=uow, principal=principal, catalogue_id=catalogue_id, revision=body.revision,
                                   published_on=body.published_on, url=body.url)
    return CatalogueOut.of(loaded.cat, VersionOut.of(loaded.latest))


@router.post("/catalogues/{catalogue_id}/adjustments", status_code=status.HTTP_201_CREATED,
             response_model=CatalogueOut, summary="Start an in-year adjustment: a new draft version with a reason")
async def adjust(catalogue_id: str, body: AdjustmentIn, uow: UowDep, _key: IdempotencyKey,
                 principal: Annotated[Principal, Allow("purchaser", "finance")]) -> CatalogueOut:
    loaded = await service.adjust(uow=uow, principal=principal, catalogue_id=catalogue_id, reason=body.reason,
                                  revision=body.revision)
    return CatalogueOut.of(loaded.cat, VersionOut.of(loaded.latest))


@router.post("/catalogues/{catalogue_id}/overrides", status_code=status.HTTP_201_CREATED, response_model=OverrideOut,
             summary="Record a reviewer's justified override of negative-list rules for one item")
async def record_override(catalogue_id: str, body: OverrideIn, uow: UowDep, ctx: CtxDep, _key: IdempotencyKey,
                          principal: Annotated[Principal, Allow("finance")]) -> OverrideOut:
    o = await service.record_override(uow=uow, ctx=ctx, principal=principal, catalogue_id=catalogue_id,
                                      spec=body.item.spec(), rule_codes=body.rule_codes,
                                      justification=body.justification)
    return OverrideOut.of(o)


@router.get("/overrides", response_model=OverridePage, summary="Negative-list overrides, for audit")
async def list_overrides(session: SessionDep, principal: Annotated[Principal, Allow("finance", "auditor")],
                         department: str | None = None, year: int | None = None, limit: Limit = 50,
                         offset: Offset = 0) -> OverridePage:
    rows, total = await service.list_overrides(session=session, principal=principal, department=department,
                                               fiscal_year=year, limit=limit, offset=offset)
    return OverridePage(items=[OverrideOut.of(o) for o in rows], total=total, limit=limit, offset=offset)


# ---------------------------------------------------------------- items
@router.get("/items", response_model=ItemPage,
            summary="Search items of the catalogues in force (by code, name, class, type, department, year)")
async def search_items(session: SessionDep, principal: Annotated[Principal, Allow(*EVERYONE)],
                       code: str | None = None, name: str | None = None, level1_class: str | None = None,
                       service_type: str | None = None, department: str | None = None, year: int | None = None,
                       as_of: date | None = None, include_drafts: bool = False, limit: Limit = 50,
                       offset: Offset = 0) -> ItemPage:
    hits, total = await service.search_items(session=session, principal=principal, code=code, name=name,
                                             level1=level1_class, service_type=service_type, department=department,
                                             fiscal_year=year, as_of=as_of, include_drafts=include_drafts,
                                             limit=limit, offset=offset)
    items = [ItemInCatalogueOut(**ItemOut.of(h.item).model_dump(), catalogue_id=h.cat.id,
                                department=h.cat.department, fiscal_year=h.cat.fiscal_year,
                                version=h.version.number, version_status=h.version.status) for h in hits]
    return ItemPage(items=items, total=total, limit=limit, offset=offset)


@router.get("/items/{code}/purchasable", response_model=PurchasableOut,
            summary="May a budget line of this department and year name this item? (for the budget service)")
async def purchasable(code: str, session: SessionDep, ctx: CtxDep,
                      principal: Annotated[Principal, Allow("service", "purchaser", "finance", "auditor")],
                      department: Annotated[str, Query(min_length=1, max_length=64)],
                      year: Annotated[int, Query(ge=2000, le=2100)]) -> PurchasableOut:
    r = await service.purchasable(session=session, ctx=ctx, principal=principal, item_code=code,
                                  department=department, fiscal_year=year)
    t = domain.service_type(r.item.service_type) if r.item else None
    return PurchasableOut(item_code=code, purchasable=r.answer.purchasable, reasons=r.answer.reasons,
                          name=r.item.name if r.item else None,
                          level1_class=r.item.level1_class if r.item else None,
                          service_type=r.item.service_type if r.item else None,
                          catalogue_id=r.cat.id if r.cat else None,
                          catalogue_version=r.version.number if r.version else None,
                          service_type_code=t.code if t else None,
                          catalogue_status=r.version.status if r.version else None, policy=r.policy)
