"""Skills, engineers, shifts, absences and territory memberships."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlmodel import Session, col, delete, func, select

from crm.coltypes import utcnow
from crm.errors import Conflict, InvalidInput, NotFound
from crm.models import (
    Absence,
    Engineer,
    EngineerSkill,
    EngineerTerritory,
    Shift,
    Skill,
    Territory,
    Ticket,
    TicketSkill,
    User,
)
from crm.schemas.engineers import (
    AbsenceCreate,
    EngineerCreate,
    EngineerPublic,
    EngineerUpdate,
    MembershipItem,
    MembershipPublic,
    ShiftCreate,
    ShiftUpdate,
    SkillCreate,
    SkillLevel,
    SkillUpdate,
)
from crm.services.common import (
    apply_changes,
    flush_versioned,
    get_or_404,
    require_version,
    revalidate,
)
from crm.services.customers import _phone_or_422


# --- skills -----------------------------------------------------------------
def create_skill(session: Session, *, data: SkillCreate) -> Skill:
    if session.exec(select(Skill).where(Skill.code == data.code)).first():
        raise Conflict(f"skill code {data.code!r} already exists", field="code")
    skill = Skill(code=data.code, name=data.name)
    session.add(skill)
    session.flush()
    return skill


def update_skill(
    session: Session, *, skill_id: int, data: SkillUpdate, expected_version: int | None
) -> Skill:
    skill = get_or_404(session, Skill, skill_id)
    require_version(skill, expected_version, "skill")
    apply_changes(skill, {k: v for k, v in data.model_dump(exclude_unset=True).items() if v})
    flush_versioned(session, skill, "skill")
    return skill


def delete_skill(session: Session, *, skill_id: int, expected_version: int | None) -> None:
    skill = get_or_404(session, Skill, skill_id)
    require_version(skill, expected_version, "skill")
    used = session.exec(
        select(func.count()).select_from(TicketSkill).where(TicketSkill.skill_id == skill_id)
    ).one()
    held = session.exec(
        select(func.count()).select_from(EngineerSkill).where(EngineerSkill.skill_id == skill_id)
    ).one()
    if used or held:
        raise Conflict(
            f"skill {skill.code!r} is required by {used} ticket(s) and held by {held} "
            "engineer(s); it cannot be deleted"
        )
    session.delete(skill)
    flush_versioned(session, skill, "skill")


def skill_ids_by_code(session: Session, codes: Iterable[str], field: str) -> dict[str, int]:
    """Resolve skill codes, naming every unknown one in a single 422."""
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    found = {s.code: s.id for s in session.exec(select(Skill).where(col(Skill.code).in_(wanted)))}
    missing = [c for c in wanted if c not in found]
    if missing:
        raise InvalidInput(
            f"unknown skill code(s): {', '.join(missing)} (create them under /skills first)",
            [{"loc": ["body", field], "msg": f"unknown skill {c!r}"} for c in missing],
        )
    return {c: i for c, i in found.items() if i is not None}


# --- engineers --------------------------------------------------------------
def engineer_skills(session: Session, engineer_ids: Sequence[int]) -> dict[int, list[SkillLevel]]:
    out: dict[int, list[SkillLevel]] = {i: [] for i in engineer_ids}
    if not engineer_ids:
        return out
    rows = session.exec(
        select(EngineerSkill.engineer_id, Skill.code, EngineerSkill.level)
        .join(Skill, Skill.id == EngineerSkill.skill_id)
        .where(col(EngineerSkill.engineer_id).in_(engineer_ids))
        .order_by(Skill.code)
    )
    for eid, code, level in rows:
        out[eid].append(SkillLevel(code=code, level=level))
    return out


def to_public(session: Session, engineers: Sequence[Engineer]) -> list[EngineerPublic]:
    skills = engineer_skills(session, [e.id for e in engineers if e.id is not None])
    return [EngineerPublic(**e.model_dump(), skills=skills.get(e.id or 0, [])) for e in engineers]


def _set_skills(session: Session, engineer_id: int, skills: list[SkillLevel]) -> None:
    codes = [s.code for s in skills]
    if len(codes) != len(set(codes)):
        raise InvalidInput(
            "a skill is listed twice", [{"loc": ["body", "skills"], "msg": "duplicate skill"}]
        )
    ids = skill_ids_by_code(session, codes, "skills")
    session.exec(delete(EngineerSkill).where(col(EngineerSkill.engineer_id) == engineer_id))
    for s in skills:
        session.add(EngineerSkill(engineer_id=engineer_id, skill_id=ids[s.code], level=s.level))


def create_engineer(session: Session, *, data: EngineerCreate) -> Engineer:
    engineer = Engineer(
        **data.model_dump(exclude={"skills", "phone"}), phone=_phone_or_422(data.phone)
    )
    session.add(engineer)
    session.flush()
    assert engineer.id is not None
    _set_skills(session, engineer.id, data.skills)
    session.flush()
    return engineer


def update_engineer(
    session: Session, *, engineer_id: int, data: EngineerUpdate, expected_version: int | None
) -> Engineer:
    engineer = get_or_404(session, Engineer, engineer_id)
    require_version(engineer, expected_version, "engineer")
    changes = data.model_dump(exclude_unset=True)
    for key in ("name", "home_lat", "home_lon", "active"):
        if key in changes and changes[key] is None:
            raise InvalidInput(f"{key} cannot be null", [{"loc": ["body", key], "msg": "null"}])
    if "phone" in changes:
        changes["phone"] = _phone_or_422(changes["phone"])
    skills = changes.pop("skills", None)
    if skills is not None:
        _set_skills(session, engineer_id, [SkillLevel(**s) for s in skills])
    if not apply_changes(engineer, changes) and skills is not None:
        # Skills are part of the record: changing only them still bumps its version.
        engineer.updated_at = utcnow()
    flush_versioned(session, engineer, "engineer")
    return engineer


def delete_engineer(session: Session, *, engineer_id: int, expected_version: int | None) -> None:
    """Engineers with history are deactivated, never deleted: the audit trail
    and past routes keep pointing at them."""
    engineer = get_or_404(session, Engineer, engineer_id)
    require_version(engineer, expected_version, "engineer")
    tickets = session.exec(
        select(func.count()).select_from(Ticket).where(Ticket.engineer_id == engineer_id)
    ).one()
    if tickets:
        raise Conflict(
            f"engineer {engineer_id} has {tickets} ticket(s) in their history; "
            "set active=false instead of deleting"
        )
    if session.exec(select(User).where(User.engineer_id == engineer_id)).first():
        raise Conflict(f"engineer {engineer_id} has a login; remove the user first")
    for model in (EngineerSkill, EngineerTerritory, Shift, Absence):
        session.exec(delete(model).where(col(model.engineer_id) == engineer_id))  # type: ignore[attr-defined]
    session.delete(engineer)
    flush_versioned(session, engineer, "engineer")


# --- shifts and absences -------------------------------------------------------
def create_shift(session: Session, *, engineer_id: int, data: ShiftCreate) -> Shift:
    get_or_404(session, Engineer, engineer_id)
    clash = session.exec(
        select(Shift).where(Shift.engineer_id == engineer_id, Shift.day == data.day)
    ).first()
    if clash:
        raise Conflict(
            f"engineer {engineer_id} already has shift {clash.id} on {data.day}; update it",
            existing_id=clash.id,
        )
    shift = Shift(engineer_id=engineer_id, **data.model_dump())
    session.add(shift)
    session.flush()
    return shift


def update_shift(
    session: Session,
    *,
    engineer_id: int,
    shift_id: int,
    data: ShiftUpdate,
    expected_version: int | None,
) -> Shift:
    shift = get_or_404(session, Shift, shift_id)
    if shift.engineer_id != engineer_id:
        raise NotFound("shift", shift_id)
    require_version(shift, expected_version, "shift")
    merged = revalidate(
        ShiftCreate,
        {
            **shift.model_dump(include=set(ShiftCreate.model_fields)),
            **data.model_dump(exclude_unset=True),
        },
    )
    apply_changes(shift, merged.model_dump())
    flush_versioned(session, shift, "shift")
    return shift


def delete_shift(
    session: Session, *, engineer_id: int, shift_id: int, expected_version: int | None
) -> None:
    shift = get_or_404(session, Shift, shift_id)
    if shift.engineer_id != engineer_id:
        raise NotFound("shift", shift_id)
    require_version(shift, expected_version, "shift")
    session.delete(shift)
    flush_versioned(session, shift, "shift")


def create_absence(session: Session, *, engineer_id: int, data: AbsenceCreate) -> Absence:
    get_or_404(session, Engineer, engineer_id)
    absence = Absence(engineer_id=engineer_id, **data.model_dump())
    session.add(absence)
    session.flush()
    return absence


def delete_absence(
    session: Session, *, engineer_id: int, absence_id: int, expected_version: int | None
) -> None:
    absence = get_or_404(session, Absence, absence_id)
    if absence.engineer_id != engineer_id:
        raise NotFound("absence", absence_id)
    require_version(absence, expected_version, "absence")
    session.delete(absence)
    flush_versioned(session, absence, "absence")


# --- territory memberships ---------------------------------------------------------
def memberships(session: Session, engineer_id: int) -> list[MembershipPublic]:
    rows = session.exec(
        select(EngineerTerritory, Territory)
        .join(Territory, Territory.id == EngineerTerritory.territory_id)
        .where(EngineerTerritory.engineer_id == engineer_id)
        .order_by(EngineerTerritory.role, Territory.name)
    )
    return [
        MembershipPublic(territory_id=m.territory_id, territory_name=t.name, role=m.role)
        for m, t in rows
    ]


def set_memberships(
    session: Session, *, engineer_id: int, items: list[MembershipItem]
) -> list[MembershipPublic]:
    get_or_404(session, Engineer, engineer_id)
    ids = [i.territory_id for i in items]
    if len(ids) != len(set(ids)):
        raise InvalidInput(
            "a territory is listed twice",
            [{"loc": ["body", "territories"], "msg": "duplicate territory"}],
        )
    known = set(session.exec(select(Territory.id).where(col(Territory.id).in_(ids))))
    missing = [i for i in ids if i not in known]
    if missing:
        raise InvalidInput(
            f"unknown territory id(s): {missing}",
            [{"loc": ["body", "territories"], "msg": f"unknown territory {i}"} for i in missing],
        )
    session.exec(delete(EngineerTerritory).where(col(EngineerTerritory.engineer_id) == engineer_id))
    for item in items:
        session.add(
            EngineerTerritory(
                engineer_id=engineer_id, territory_id=item.territory_id, role=item.role
            )
        )
    session.flush()
    return memberships(session, engineer_id)
