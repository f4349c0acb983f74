"""Use cases of the catalogue service: keyword-only functions over a UnitOfWork, called by routes and handlers."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalogue import domain
from services.catalogue.domain import ItemSpec, OverrideGrant, Status, VersionFacts
from services.catalogue.models import Catalogue, CatalogueItem, CatalogueVersion, ItemWithdrawal, NegativeListOverride
from services.chassis.app import ServiceContext
from services.chassis.auth import Principal
from services.chassis.calendar import today, utcnow  # module names: tests may replace `today`
from services.chassis.errors import Conflict, Forbidden, NotFound, Unprocessable
from services.chassis.policy import PolicyPack
from services.chassis.uow import UnitOfWork
from services.events.catalogue import CatalogueItemAdded, CatalogueItemWithdrawn, CataloguePublished

READ_ALL_ROLES = ("auditor", "service")



# ---------------------------------------------------------------- scope
def can_edit(principal: Principal, cat: Catalogue) -> bool:
    """A purchasing department edits its own catalogue."""
    return principal.role == "purchaser" and principal.org == cat.department


def can_review(principal: Principal, cat: Catalogue) -> bool:
    """The finance bureau reviews, issues and publishes the catalogues of its region."""
    return principal.role == "finance" and (principal.region is None or principal.region == cat.region)


def sees_unpublished(principal: Principal, cat: Catalogue) -> bool:
    return principal.role in READ_ALL_ROLES or can_edit(principal, cat) or can_review(principal, cat)


def visible(principal: Principal, cat: Catalogue, v: CatalogueVersion) -> bool:
    """Published versions are public; the rest only to the department, its finance bureau and auditors."""
    return v.published_on is not None or sees_unpublished(principal, cat)


def facts(v: CatalogueVersion, codes: Sequence[str] = ()) -> VersionFacts:
    return VersionFacts(number=v.number, status=Status(v.status), issued_on=v.issued_on,
                        published_on=v.published_on, publication_due=v.publication_due,
                        item_codes=frozenset(codes))


def pack_for(ctx: ServiceContext, cat: Catalogue, on: date | None = None) -> PolicyPack:
    return ctx.policy(on=on, pack=cat.policy_pack)



# ---------------------------------------------------------------- loading
@dataclass
class Loaded:
    cat: Catalogue
    versions: list[CatalogueVersion]

    @property
    def latest(self) -> CatalogueVersion:
        return self.versions[-1]

    def version(self, number: int) -> CatalogueVersion | None:
        return next((v for v in self.versions if v.number == number), None)


async def _load(session: AsyncSession, catalogue_id: str, *, lock: bool = False) -> Loaded | None:
    q = select(Catalogue).where(Catalogue.id == catalogue_id)
    if lock:
        q = q.with_for_update()
    cat = (await session.execute(q)).scalar_one_or_none()
    if cat is None:
        return None
    versions = list((await session.execute(
        select(CatalogueVersion).where(CatalogueVersion.catalogue_id == cat.id).order_by(CatalogueVersion.number)
    )).scalars())
    return Loaded(cat, versions)


def _not_found(catalogue_id: str) -> NotFound:
    return NotFound("catalogue.catalogue.not_found", f"no catalogue {catalogue_id}", field="catalogue_id",
                    rule="records outside your scope are not shown")


async def _for_edit(uow: UnitOfWork, principal: Principal, catalogue_id: str) -> Loaded:
    loaded = await _load(uow.session, catalogue_id, lock=True)
    if loaded is None or not can_edit(principal, loaded.cat):
        raise _not_found(catalogue_id)
    return loaded


async def _for_review(uow: UnitOfWork, principal: Principal, catalogue_id: str) -> Loaded:
    loaded = await _load(uow.session, catalogue_id, lock=True)
    if loaded is None or not can_review(principal, loaded.cat):
        raise _not_found(catalogue_id)
    return loaded


async def _items(session: AsyncSession, version_id: str) -> list[CatalogueItem]:
    return list((await session.execute(
        select(CatalogueItem).where(CatalogueItem.version_id == version_id).order_by(CatalogueItem.code)
    )).scalars())


async def _grants(session: AsyncSession, catalogue_id: str, item_code: str | None = None) -> list[OverrideGrant]:
    q = select(NegativeListOverride).where(NegativeListOverride.catalogue_id == catalogue_id)
    if item_code is not None:
        q = q.where(NegativeListOverride.item_code == item_code)
    return [OverrideGrant(o.id, o.item_code, o.fingerprint, tuple(o.rule_codes))
            for o in (await session.execute(q)).scalars()]


def spec_of(item: CatalogueItem) -> ItemSpec:
    return ItemSpec(code=item.code, name=item.name, service_type=item.service_type,
                    description=item.description, flags=tuple(item.flags))


def known_flags(pack: PolicyPack) -> set[str]:
    return {f for r in pack.catalogue.negative_list for f in r.flags}


def _bump(v: CatalogueVersion, revision: int | None) -> None:
    if revision is not None:
        domain.require_revision(revision, v.revision)
    v.revision += 1


# ---------------------------------------------------------------- catalogues
async def create_catalogue(*, uow: UnitOfWork, ctx: ServiceContext, principal: Principal, department: str | None,
                           fiscal_year: int, region: str | None, title: str | None) -> Loaded:
    if principal.role == "purchaser":
        if department is not None and department != principal.org:
            raise Forbidden("catalogue.scope.department",
                            f"a purchaser compiles only its own department's catalogue ({principal.org})",
                            field="department", rule="purchaser: its own department")
        department = principal.org
    if not department:
        raise Unprocessable("catalogue.catalogue.department_missing", "name the department", field="department",
                            rule="a catalogue belongs to one department")
    if principal.role == "finance" and principal.region and region and region != principal.region:
        raise Forbidden("catalogue.scope.region", f"finance of {principal.region} cannot open a catalogue in {region}",
                        field="region", rule="finance: its own region")
    region = region or principal.region or ctx.settings.jurisdiction
    pack_name = region if region in ctx.policies.names else ctx.settings.jurisdiction
    existing = (await uow.session.execute(select(Catalogue.id).where(
        Catalogue.department == department, Catalogue.fiscal_year == fiscal_year))).scalar_one_or_none()
    if existing is not None:
        raise Conflict("catalogue.catalogue.exists",
                       f"department {department} already has a {fiscal_year} catalogue ({existing}); "
                       "adjust it instead", field="fiscal_year", rule="one catalogue per department and fiscal year",
                       catalogue_id=existing)
    now = utcnow()
    cat = Catalogue(id=str(uuid.uuid4()), department=department, fiscal_year=fiscal_year, region=region,
                    policy_pack=pack_name, title=title or f"{department} {fiscal_year}年度政府购买服务指导性目录",
                    created_at=now, created_by=principal.subject)
    v1 = CatalogueVersion(id=str(uuid.uuid4()), catalogue_id=cat.id, number=1, status=Status.DRAFT.value,
                          reason=None, revision=1, created_at=now, created_by=principal.subject,
                          due_provisional=False, due_years_unknown=[])
    uow.session.add(cat)
    await uow.flush()
    uow.session.add(v1)
    uow.audit("catalogue.created", "catalogue", cat.id,
              {"department": department, "fiscal_year": fiscal_year, "region": region, "policy_pack": pack_name})
    try:
        await uow.flush()
        await uow.commit()
    except IntegrityError as exc:
        raise Conflict("catalogue.catalogue.exists", f"department {department} already has a {fiscal_year} catalogue",
                       field="fiscal_year", rule="one catalogue per department and fiscal year") from exc
    return Loaded(cat, [v1])


async def _check_item(uow: UnitOfWork, ctx: ServiceContext, loaded: Loaded,
                      spec: ItemSpec) -> tuple[ItemSpec, list[str], str]:
    pack = pack_for(ctx, loaded.cat, today())
    spec = domain.validate_item(spec, known_flags(pack))
    violations = domain.check_negative_list(spec, pack.catalogue.negative_list)
    left, used = domain.remaining_violations(spec, violations, await _grants(uow.session, loaded.cat.id, spec.code))
    if left:
        raise domain.refusal(spec, left, pack.ref)
    return spec, used, pack.ref


async def add_item(*, uow: UnitOfWork, ctx: ServiceContext, principal: Principal, catalogue_id: str,
                   spec: ItemSpec, revision: int | None) -> tuple[Loaded, CatalogueItem]:
    loaded = await _for_edit(uow, principal, catalogue_id)
    v = loaded.latest
    domain.require_draft(facts(v))
    spec, used, ref = await _check_item(uow, ctx, loaded, spec)
    if any(i.code == spec.code for i in await _items(uow.session, v.id)):
        raise Conflict("catalogue.item.exists", f"item {spec.code} is already in version {v.number}",
                       field="code", rule="item codes are unique in a catalogue")
    previous = loaded.version(v.number - 1)
    before = {i.code: i for i in await _items(uow.session, previous.id)} if previous else {}
    item = CatalogueItem(id=str(uuid.uuid4()), version_id=v.id, catalogue_id=loaded.cat.id, code=spec.code,
                         name=spec.name, description=spec.description, level1_class=spec.level1,
                         service_type=spec.service_type, flags=list(spec.flags), override_ids=used, policy_ref=ref,
                         added_in_version=before[spec.code].added_in_version if spec.code in before else v.number,
                         changed_in_version=v.number)
    uow.session.add(item)
    _bump(v, revision)
    uow.audit("catalogue.item.added", "catalogue", loaded.cat.id,
              {"version": v.number, "item_code": spec.code, "name": spec.name, "overrides": used, "policy": ref})
    try:
        await uow.flush()
        await uow.commit()
    except IntegrityError as exc:
        raise Conflict("catalogue.item.exists", f"item {spec.code} is already in version {v.number}",
                       field="code", rule="item codes are unique in a catalogue") from exc
    return loaded, item


async def update_item(*, uow: UnitOfWork, ctx: ServiceContext, principal: Principal, catalogue_id: str, code: str,
                      revision: int, changes: dict[str, Any]) -> tuple[Loaded, CatalogueItem]:
    loaded = await _for_edit(uow, principal, catalogue_id)
    v = loaded.latest
    domain.require_draft(facts(v))
    domain.require_revision(revision, v.revision)
    item = next((i for i in await _items(uow.session, v.id) if i.code == code), None)
    if item is None:
        raise NotFound("catalogue.item.not_found", f"item {code} is not in version {v.number}", field="code",
                       rule="only items of the draft can change")
    current = spec_of(item)
    spec = ItemSpec(code=code, name=changes.get("name", current.name),
                    service_type=changes.get("service_type", current.service_type),
                    description=changes.get("description", current.description),
                    flags=tuple(changes.get("flags", current.flags)))
    spec, used, ref = await _check_item(uow, ctx, loaded, spec)
    item.name, item.description, item.flags = spec.name, spec.description, list(spec.flags)
    item.service_type, item.level1_class = spec.service_type, spec.level1
    item.override_ids, item.policy_ref, item.changed_in_version = used, ref, v.number
    _bump(v, None)
    uow.audit("catalogue.item.changed", "catalogue", loaded.cat.id,
              {"version": v.number, "item_code": code, "changes": changes, "overrides": used, "policy": ref})
    await uow.commit()
    return loaded, item


async def withdraw_item(*, uow: UnitOfWork, principal: Principal, catalogue_id: str, code: str, revision: int,
                        reason: str) -> Loaded:
    loaded = await _for_edit(uow, principal, catalogue_id)
    v = loaded.latest
    domain.require_draft(facts(v))
    domain.require_revision(revision, v.revision)
    if len(reason.strip()) < 4:
        raise Unprocessable("catalogue.withdrawal.reason_missing", "a withdrawal needs a reason", field="reason",
                            rule="every change to a catalogue has a recorded reason")
    item = next((i for i in await _items(uow.session, v.id) if i.code == code), None)
    if item is None:
        raise NotFound("catalogue.item.not_found", f"item {code} is not in version {v.number}", field="code",
                       rule="only items of the draft can be withdrawn")
    await uow.session.delete(item)
    uow.session.add(ItemWithdrawal(id=str(uuid.uuid4()), version_id=v.id, catalogue_id=loaded.cat.id, code=code,
                                   name=item.name, reason=reason.strip(), at=utcnow(), by=principal.subject))
    _bump(v, None)
    uow.audit("catalogue.item.withdrawn", "catalogue", loaded.cat.id,
              {"version": v.number, "item_code": code, "reason": reason})
    await uow.commit()
    return loaded


async def issue(*, uow: UnitOfWork, ctx: ServiceContext, principal: Principal, catalogue_id: str, revision: int,
                issued_on: date | None, document_no: str | None) -> Loaded:
    loaded = await _for_review(uow, principal, catalogue_id)
    cat, v = loaded.cat, loaded.latest
    domain.require_revision(revision, v.revision)
    items = await _items(uow.session, v.id)
    issued_on = issued_on or today()
    domain.check_issue(facts(v), issued_on=issued_on, today=today(), fiscal_year=cat.fiscal_year,
                       item_count=len(items))
    pack = pack_for(ctx, cat, issued_on)
    days = pack.catalogue.publication_working_days
    deadline = domain.publication_deadline(ctx.calendar(pack), issued_on, days)
    v.status, v.issued_on, v.issued_by, v.document_no = Status.ISSUED.value, issued_on, principal.subject, document_no
    v.policy_ref, v.working_days, v.publication_due = pack.ref, days, deadline.due
    v.due_provisional, v.due_years_unknown = deadline.provisional, list(deadline.years_unknown)
    _bump(v, None)
    previous = loaded.version(v.number - 1)
    before = {i.code: i for i in await _items(uow.session, previous.id)} if previous else {}
    change = domain.diff(frozenset(before), frozenset(i.code for i in items))
    by_code = {i.code: i for i in items}
    for code in change.added:
        i = by_code[code]
        t = domain.service_type(i.service_type)
        uow.emit(CatalogueItemAdded(catalogue_id=cat.id, department=cat.department, fiscal_year=cat.fiscal_year,
                                    version=v.number, item_code=code, name=i.name, level1_class=i.level1_class,
                                    service_type=i.service_type, region=cat.region,
                                    service_type_code=t.code if t else None, effective_from=issued_on))
    if change.withdrawn:
        reasons = {w.code: w.reason for w in (await uow.session.execute(
            select(ItemWithdrawal).where(ItemWithdrawal.version_id == v.id).order_by(ItemWithdrawal.at)
        )).scalars()}
        for code in change.withdrawn:
            uow.emit(CatalogueItemWithdrawn(catalogue_id=cat.id, department=cat.department,
                                            fiscal_year=cat.fiscal_year, version=v.number, item_code=code,
                                            reason=reasons.get(code) or v.reason or "withdrawn by adjustment",
                                            region=cat.region, name=before[code].name, effective_from=issued_on))
    uow.audit("catalogue.issued", "catalogue", cat.id,
              {"version": v.number, "issued_on": issued_on, "document_no": document_no, "policy": pack.ref,
               "publication_due": deadline.due, "provisional": deadline.provisional,
               "added": change.added, "withdrawn": change.withdrawn})
    await uow.commit()
    return loaded


async def publish(*, uow: UnitOfWork, principal: Principal, catalogue_id: str, revision: int,
                  published_on: date | None, url: str | None) -> Loaded:
    loaded = await _for_review(uow, principal, catalogue_id)
    cat, v = loaded.cat, loaded.latest
    domain.require_revision(revision, v.revision)
    published_on = published_on or today()
    domain.check_publish(facts(v), published_on=published_on, today=today())
    assert v.publication_due is not None and v.issued_on is not None
    late = domain.is_overdue(v.publication_due, published_on, published_on)
    v.status, v.published_on, v.published_by = Status.PUBLISHED.value, published_on, principal.subject
    v.publication_url, v.published_late = url, late
    _bump(v, None)
    count = (await uow.session.execute(
        select(func.count()).select_from(CatalogueItem).where(CatalogueItem.version_id == v.id))).scalar_one()
    uow.emit(CataloguePublished(catalogue_id=cat.id, department=cat.department, fiscal_year=cat.fiscal_year,
                                version=v.number, issued_on=v.issued_on, published_on=published_on,
                                item_count=count, overdue=late, region=cat.region,
                                publication_due=v.publication_due, due_provisional=v.due_provisional,
                                policy=v.policy_ref))
    uow.audit("catalogue.published", "catalogue", cat.id,
              {"version": v.number, "published_on": published_on, "due": v.publication_due, "late": late,
               "url": url})
    await uow.commit()
    return loaded


async def adjust(*, uow: UnitOfWork, principal: Principal, catalogue_id: str, reason: str,
                 revision: int | None) -> Loaded:
    loaded = await _load(uow.session, catalogue_id, lock=True)
    if loaded is None or not (can_edit(principal, loaded.cat) or can_review(principal, loaded.cat)):
        raise _not_found(catalogue_id)
    latest = loaded.latest
    if revision is not None:
        domain.require_revision(revision, latest.revision)
    domain.check_adjustment(facts(latest), reason)
    now = utcnow()
    nv = CatalogueVersion(id=str(uuid.uuid4()), catalogue_id=loaded.cat.id, number=latest.number + 1,
                          status=Status.DRAFT.value, reason=reason.strip(), revision=1, created_at=now,
                          created_by=principal.subject, due_provisional=False, due_years_unknown=[])
    uow.session.add(nv)
    await uow.flush()
    for i in await _items(uow.session, latest.id):
        uow.session.add(CatalogueItem(
            id=str(uuid.uuid4()), version_id=nv.id, catalogue_id=i.catalogue_id, code=i.code, name=i.name,
            description=i.description, level1_class=i.level1_class, service_type=i.service_type, flags=list(i.flags),
            override_ids=list(i.override_ids), policy_ref=i.policy_ref, added_in_version=i.added_in_version,
            changed_in_version=i.changed_in_version))
    uow.audit("catalogue.adjustment.started", "catalogue", loaded.cat.id,
              {"version": nv.number, "reason": reason, "from_version": latest.number})
    try:
        await uow.flush()
        await uow.commit()
    except IntegrityError as exc:
        raise Conflict("catalogue.adjustment.draft_open", "another adjustment was started at the same time",
                       field="version", rule="one draft at a time") from exc
    loaded.versions.append(nv)
    return loaded


# ---------------------------------------------------------------- overrides
async def record_override(*, uow: UnitOfWork, ctx: ServiceContext, principal: Principal, catalogue_id: str,
                          spec: ItemSpec, rule_codes: list[str], justification: str) -> NegativeListOverride:
    loaded = await _for_review(uow, principal, catalogue_id)
    cat = loaded.cat
    pack = pack_for(ctx, cat, today())
    spec = domain.validate_item(spec, known_flags(pack))
    violations = domain.check_negative_list(spec, pack.catalogue.negative_list)
    domain.validate_override(spec, violations, rule_codes, justification)
    o = NegativeListOverride(
        id=str(uuid.uuid4()), catalogue_id=cat.id, department=cat.department, fiscal_year=cat.fiscal_year,
        region=cat.region, item_code=spec.code, item_name=spec.name,
        item={"code": spec.code, "name": spec.name, "description": spec.description,
              "service_type": spec.service_type, "flags": list(spec.flags)},
        fingerprint=domain.fingerprint(spec), rule_codes=sorted(set(rule_codes)),
        violations=[v.as_dict() for v in violations if v.code in rule_codes], justification=justification.strip(),
        policy_ref=pack.ref, created_at=utcnow(), created_by=principal.subject, reviewer_org=principal.org)
    uow.session.add(o)
    uow.audit("catalogue.negative_list.overridden", "catalogue", cat.id,
              {"override_id": o.id, "item_code": spec.code, "rules": o.rule_codes, "justification": o.justification,
               "policy": pack.ref})
    await uow.commit()
    return o


async def list_overrides(*, session: AsyncSession, principal: Principal, department: str | None,
                         fiscal_year: int | None, limit: int, offset: int) -> tuple[list[NegativeListOverride], int]:
    q = select(NegativeListOverride)
    if principal.role == "finance" and principal.region:
        q = q.where(NegativeListOverride.region == principal.region)
    if department:
        q = q.where(NegativeListOverride.department == department)
    if fiscal_year:
        q = q.where(NegativeListOverride.fiscal_year == fiscal_year)
    total = (await session.execute(select(func.count()).select_from(q.subquery()))).scalar_one()
    rows = (await session.execute(q.order_by(NegativeListOverride.created_at.desc(), NegativeListOverride.id)
                                  .limit(limit).offset(offset))).scalars()
    return list(rows), int(total)


# ---------------------------------------------------------------- reading
@dataclass
class VersionView:
    version: CatalogueVersion
    effective_to: date | None
    items: list[CatalogueItem] | None = None


def pick(loaded: Loaded, principal: Principal, *, as_of: date | None, number: int | None) -> CatalogueVersion:
    seen = [v for v in loaded.versions if visible(principal, loaded.cat, v)]
    if number is not None:
        v = next((x for x in seen if x.number == number), None)
        if v is None:
            raise NotFound("catalogue.version.not_found", f"no version {number} of catalogue {loaded.cat.id}",
                           field="version", rule="versions outside your scope are not shown")
        return v
    if as_of is not None:
        f = domain.in_force([facts(x) for x in seen], as_of)
        if f is None:
            raise NotFound("catalogue.version.none_in_force",
                           f"no version of catalogue {loaded.cat.id} was in force on {as_of}",
                           field="as_of", rule="a version is in force from its issue")
        return next(x for x in seen if x.number == f.number)
    return seen[-1]


async def get_catalogue(*, session: AsyncSession, principal: Principal, catalogue_id: str, as_of: date | None,
                        number: int | None) -> tuple[Loaded, VersionView, list[VersionView]]:
    loaded = await _load(session, catalogue_id)
    if loaded is None:
        raise _not_found(catalogue_id)
    seen = [v for v in loaded.versions if visible(principal, loaded.cat, v)]
    if not seen:
        raise _not_found(catalogue_id)
    all_facts = [facts(x) for x in loaded.versions]
    history = [VersionView(x, domain.effective_to(all_facts, facts(x))) for x in seen]
    chosen = pick(loaded, principal, as_of=as_of, number=number)
    view = VersionView(chosen, domain.effective_to(all_facts, facts(chosen)), await _items(session, chosen.id))
    return loaded, view, history


async def list_catalogues(*, session: AsyncSession, principal: Principal, department: str | None,
                          fiscal_year: int | None, region: str | None, limit: int,
                          offset: int) -> tuple[list[tuple[Catalogue, CatalogueVersion]], int]:
    q = select(Catalogue)
    if department:
        q = q.where(Catalogue.department == department)
    if fiscal_year:
        q = q.where(Catalogue.fiscal_year == fiscal_year)
    if region:
        q = q.where(Catalogue.region == region)
    cats = list((await session.execute(q.order_by(Catalogue.fiscal_year.desc(), Catalogue.department))).scalars())
    versions = await _versions_of(session, [c.id for c in cats])
    out: list[tuple[Catalogue, CatalogueVersion]] = []
    for c in cats:
        seen = [v for v in versions.get(c.id, []) if visible(principal, c, v)]
        if seen:
            out.append((c, seen[-1]))
    return out[offset:offset + limit], len(out)


async def _versions_of(session: AsyncSession, ids: Sequence[str]) -> dict[str, list[CatalogueVersion]]:
    out: dict[str, list[CatalogueVersion]] = {}
    if not ids:
        return out
    for v in (await session.execute(select(CatalogueVersion).where(CatalogueVersion.catalogue_id.in_(ids))
                                    .order_by(CatalogueVersion.catalogue_id, CatalogueVersion.number))).scalars():
        out.setdefault(v.catalogue_id, []).append(v)
    return out


@dataclass
class Lateness:
    cat: Catalogue
    version: CatalogueVersion
    due: date
    provisional: bool
    years_unknown: list[int]
    working_days_late: int


def deadline_of(ctx: ServiceContext, cat: Catalogue, v: CatalogueVersion) -> tuple[date, bool, list[int]]:
    """The stored deadline; a provisional one is counted again when the calendar has learnt the year."""
    assert v.publication_due is not None and v.issued_on is not None
    if not v.due_provisional:
        return v.publication_due, False, list(v.due_years_unknown)
    pack = pack_for(ctx, cat, v.issued_on)
    d = domain.publication_deadline(ctx.calendar(pack), v.issued_on, v.working_days or
                                    pack.catalogue.publication_working_days)
    return d.due, d.provisional, list(d.years_unknown)


async def overdue(*, session: AsyncSession, ctx: ServiceContext, principal: Principal, as_of: date | None,
                  include_published_late: bool, limit: int, offset: int) -> tuple[list[Lateness], int, date]:
    as_of = as_of or today()
    statuses = [Status.ISSUED.value] + ([Status.PUBLISHED.value] if include_published_late else [])
    rows = (await session.execute(
        select(Catalogue, CatalogueVersion).join(CatalogueVersion, CatalogueVersion.catalogue_id == Catalogue.id)
        .where(CatalogueVersion.status.in_(statuses))
        .order_by(CatalogueVersion.publication_due, Catalogue.department, CatalogueVersion.number))).all()
    out: list[Lateness] = []
    for cat, v in rows:
        if principal.role == "finance" and not can_review(principal, cat):
            continue
        due, provisional, unknown = deadline_of(ctx, cat, v)
        if not domain.is_overdue(due, v.published_on, as_of):
            continue
        cal = ctx.calendar(pack_for(ctx, cat, v.issued_on))
        out.append(Lateness(cat, v, due, provisional, unknown,
                            domain.working_days_late(cal, due, v.published_on, as_of)))
    return out[offset:offset + limit], len(out), as_of


@dataclass
class ItemHit:
    item: CatalogueItem
    cat: Catalogue
    version: CatalogueVersion


async def search_items(*, session: AsyncSession, principal: Principal, code: str | None, name: str | None,
                       level1: str | None, service_type: str | None, department: str | None,
                       fiscal_year: int | None, as_of: date | None, include_drafts: bool, limit: int,
                       offset: int) -> tuple[list[ItemHit], int]:
    cq = select(Catalogue)
    if department:
        cq = cq.where(Catalogue.department == department)
    if fiscal_year:
        cq = cq.where(Catalogue.fiscal_year == fiscal_year)
    cats = {c.id: c for c in (await session.execute(cq)).scalars()}
    versions = await _versions_of(session, list(cats))
    chosen: dict[str, CatalogueVersion] = {}
    for cid, vs in versions.items():
        seen = [v for v in vs if visible(principal, cats[cid], v)]
        if not seen:
            continue
        if include_drafts and as_of is None:
            chosen[seen[-1].id] = seen[-1]
            continue
        f = domain.in_force([facts(v) for v in seen], as_of)
        if f is not None:
            v = next(x for x in seen if x.number == f.number)
            chosen[v.id] = v
    if not chosen:
        return [], 0
    q = select(CatalogueItem).where(CatalogueItem.version_id.in_(list(chosen)))
    if code:
        q = q.where(CatalogueItem.code.ilike(f"{_like(code)}%", escape="\\"))
    if name:
        q = q.where(CatalogueItem.name.ilike(f"%{_like(name)}%", escape="\\"))
    if level1:
        c = domain.level1_class(level1)
        if c is None:
            raise Unprocessable("catalogue.search.class_unknown", f"{level1!r} is not a level-1 class",
                                field="level1_class", rule="the six classes of GET /classes")
        q = q.where(CatalogueItem.level1_class == c.key)
    if service_type:
        t = domain.service_type(service_type)
        if t is None:
            raise Unprocessable("catalogue.search.service_type_unknown", f"{service_type!r} is not a service type",
                                field="service_type", rule="the types of GET /service-types")
        q = q.where(CatalogueItem.service_type == t.key)
    total = (await session.execute(select(func.count()).select_from(q.subquery()))).scalar_one()
    items = (await session.execute(q.order_by(CatalogueItem.code, CatalogueItem.catalogue_id)
                                   .limit(limit).offset(offset))).scalars()
    return [ItemHit(i, cats[i.catalogue_id], chosen[i.version_id]) for i in items], int(total)


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# ---------------------------------------------------------------- purchasable (for the budget service)
@dataclass
class PurchasableView:
    answer: domain.Answer
    item: CatalogueItem | None
    cat: Catalogue | None
    version: CatalogueVersion | None
    policy: str | None


async def purchasable(*, session: AsyncSession, ctx: ServiceContext, principal: Principal, item_code: str,
                      department: str, fiscal_year: int) -> PurchasableView:
    cat = (await session.execute(select(Catalogue).where(
        Catalogue.department == department, Catalogue.fiscal_year == fiscal_year))).scalar_one_or_none()
    versions = (await _versions_of(session, [cat.id])).get(cat.id, []) if cat else []
    if cat is not None:
        versions = [v for v in versions if visible(principal, cat, v)]
    if cat is None or not versions:
        ans = domain.purchasable(item_code=item_code, department=department, fiscal_year=fiscal_year,
                                 has_catalogue=False, versions=[])
        return PurchasableView(ans, None, None, None, None)
    by_version: dict[str, dict[str, CatalogueItem]] = {}
    for i in (await session.execute(select(CatalogueItem).where(
            CatalogueItem.catalogue_id == cat.id, CatalogueItem.code == item_code))).scalars():
        by_version.setdefault(i.version_id, {})[i.code] = i
    vfacts = [facts(v, list(by_version.get(v.id, {}))) for v in versions]
    current = domain.in_force(vfacts)
    current_v = next((v for v in versions if current and v.number == current.number), None)
    item = by_version.get(current_v.id, {}).get(item_code) if current_v else None
    pack = pack_for(ctx, cat, today())
    violations: list[domain.Violation] = []
    withdrawn: str | None = None
    if item is not None:
        spec = spec_of(item)
        hits = domain.check_negative_list(spec, pack.catalogue.negative_list)
        violations, _ = domain.remaining_violations(spec, hits, await _grants(session, cat.id, item_code))
    elif current_v is not None:
        w = (await session.execute(select(ItemWithdrawal).join(
            CatalogueVersion, CatalogueVersion.id == ItemWithdrawal.version_id).where(
            ItemWithdrawal.catalogue_id == cat.id, ItemWithdrawal.code == item_code,
            CatalogueVersion.number <= current_v.number).order_by(ItemWithdrawal.at.desc()))).scalars().first()
        if w is not None:
            withdrawn = f"{w.reason} (version {next(v.number for v in versions if v.id == w.version_id)})"
    ans = domain.purchasable(item_code=item_code, department=department, fiscal_year=fiscal_year,
                             has_catalogue=True, versions=vfacts, item_violations=violations,
                             withdrawn_reason=withdrawn)
    return PurchasableView(ans, item, cat, current_v, pack.ref)


# ---------------------------------------------------------------- negative list as data
def negative_list(ctx: ServiceContext, region: str | None) -> PolicyPack:
    name = region if region and region in ctx.policies.names else ctx.settings.jurisdiction
    return ctx.policy(on=today(), pack=name)


def check_only(ctx: ServiceContext, region: str | None, spec: ItemSpec) -> tuple[ItemSpec, list[domain.Violation], str]:
    pack = negative_list(ctx, region)
    spec = domain.validate_item(spec, known_flags(pack))
    return spec, domain.check_negative_list(spec, pack.catalogue.negative_list), pack.ref
