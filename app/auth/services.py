"""Users, tokens, roles and scope."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select

from app.auth.models import ROLES, User
from app.db import UnitOfWork
from app.errors import DomainError, Forbidden, RuleViolation
from gis.codes import PROVINCES

#: Roles that see resident ID numbers unmasked (docs/architecture.md, The HTTP contract).
UNMASKED_ROLES = frozenset({"admin", "clerk"})


@dataclass(frozen=True)
class Principal:
    """Who is asking: the user behind a token, or the CLI acting as an admin."""

    id: int | None
    name: str
    role: str
    scope: str

    def sees(self, code: str) -> bool:
        """Whether an object with this division-derived code is inside the scope (the scope covers it)."""
        return code.startswith(self.scope)

    def overlaps(self, code: str) -> bool:
        """Whether the scope and a county-level code nest either way: only for choosing the county a new
        object goes in (a group's clerk names its county), never for reading one."""
        return code.startswith(self.scope) or self.scope.startswith(code)

    @property
    def sees_id_numbers(self) -> bool:
        return self.role in UNMASKED_ROLES

    def as_ledger_actor(self) -> dict:
        return {"id": self.id, "name": self.name, "role": self.role}


#: Division codes are compared on their first 14 digits (county 6, township 3, village 3, group 2): a scope is
#: never longer, so a household's, right's or parcel's code is covered exactly when its group's is.
DIVISION_DIGITS = 14


def common_division(codes) -> str:
    """The longest common prefix of division-derived codes (households, rights, parcels, collectives), cut to
    the group: a scope covers every one of ``codes`` exactly when it covers this prefix.

    Raises:
        ValueError: no codes.
    """
    codes = [c[:DIVISION_DIGITS] for c in codes]
    if not codes:
        raise ValueError("no codes")
    first, last = min(codes), max(codes)  # the common prefix of the extremes is everyone's
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    return first[:n]


#: The CLI and the demo loader act as this principal.
SYSTEM = Principal(id=None, name="system", role="admin", scope="")


def token_digest(token: str) -> str:
    """SHA-256 of a bearer token (tokens are 256-bit random, so no slow KDF is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "sq_" + secrets.token_urlsafe(32)


def check_scope(scope: str) -> str:
    """Validate a scope: "" or a prefix of a division code (2–14 digits, known province).

    Raises:
        DomainError: 422 naming the field.
    """
    if scope == "" or (scope.isdigit() and 2 <= len(scope) <= 14 and scope[:2] in PROVINCES):
        return scope
    raise DomainError("scope 必须为空（全国）或行政区划代码前缀（如 21、2106、210681）",
                      "scope must be empty (everything) or a division-code prefix such as 21, 2106, 210681",
                      status=422, errors={"scope": ["invalid"]})


def create_user(uow: UnitOfWork, *, actor: Principal, name: str, role: str, scope: str,
                token: str | None = None) -> dict:
    """Create a user; the returned ``token`` is shown once and stored only as a hash.

    Raises:
        Forbidden: the actor is not an admin, or the scope is wider than the actor's.
        DomainError: 422 for an unknown role or malformed scope.
    """
    if actor.role != "admin":
        raise Forbidden("只有管理员可以创建用户", "Only an admin can create users")
    if role not in ROLES:
        raise DomainError(f"角色必须是 {', '.join(ROLES)} 之一", f"role must be one of {', '.join(ROLES)}",
                          status=422, errors={"role": ["invalid"]})
    check_scope(scope)
    if not actor.sees(scope):
        raise RuleViolation("OUTSIDE_SCOPE", details={"scope": actor.scope})
    token = token or new_token()
    with uow:
        user = User(name=name, role=role, scope=scope, token_sha256=token_digest(token), created_by=actor.id)
        uow.session.add(user)
        uow.session.flush()
        view = {"id": user.id, "name": user.name, "role": user.role, "scope": user.scope, "token": token}
        uow.commit()
    return view


def authenticate(uow: UnitOfWork, token: str) -> Principal | None:
    """The principal behind a bearer token, or None."""
    with uow:
        row = uow.session.execute(
            select(User.id, User.name, User.role, User.scope).where(User.token_sha256 == token_digest(token))
        ).first()
    return Principal(*row) if row else None


def bootstrap_admin(uow: UnitOfWork, token: str) -> bool:
    """Create the first admin (scope "") with ``token`` unless an admin exists.

    Returns:
        True when an admin was created.
    """
    with uow:
        if uow.session.scalar(select(User.id).where(User.role == "admin").limit(1)) is not None:
            return False
        uow.session.add(User(name="admin", role="admin", scope="", token_sha256=token_digest(token)))
        uow.commit()
    return True
