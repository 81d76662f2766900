"""Who may do what: roles, bearer tokens and the checks the API runs before reading or writing.

Tokens are random secrets shown once at creation; the store keeps only their SHA-256 hash, so a
copy of the store does not leak usable credentials. Roles:

- ``reader``: every query.
- ``writer``: queries, plus registration, retraction, owners and tags; optionally limited to
  namespaces, in which case every node it writes must live in one of them and every edge it
  writes must touch at least one node that does.
- ``admin``: everything, including token management and retraction of anything.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from lineage.errors import ForbiddenError, UnauthenticatedError, ValidationError
from lineage.model import Batch
from lineage.model.ids import check_part, parse_node_id
from lineage.storage.base import GraphStore, TokenRecord

#: Every secret starts with this, so leaked tokens are easy to recognise in logs and scanners.
SECRET_PREFIX = "lin_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class Role(StrEnum):
    READER = "reader"
    WRITER = "writer"
    ADMIN = "admin"

    @classmethod
    def parse(cls, text: str) -> Role:
        try:
            return cls(text.strip().lower())
        except ValueError:
            raise ValidationError(
                f"unknown role {text!r}; expected one of {', '.join(r.value for r in cls)}"
            ) from None


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of a request: a token's holder or the anonymous reader."""

    name: str
    role: Role
    namespaces: tuple[str, ...] = ()
    anonymous: bool = False

    @property
    def id(self) -> str:
        """What the audit log records as the author of a write: ``token:<name>``."""
        return "anonymous" if self.anonymous else f"token:{self.name}"

    @property
    def can_write(self) -> bool:
        return not self.anonymous and self.role in (Role.WRITER, Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        return not self.anonymous and self.role is Role.ADMIN

    def may_write_namespace(self, namespace: str) -> bool:
        return self.can_write and (self.role is Role.ADMIN or not self.namespaces or namespace in self.namespaces)


ANONYMOUS = Principal("anonymous", Role.READER, anonymous=True)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret() -> str:
    """A fresh secret: 256 random bits, URL-safe."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def check_token_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValidationError(
            f"token name {name!r} must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return name


def create_token(
    store: GraphStore,
    name: str,
    role: Role | str,
    namespaces: Sequence[str] = (),
    *,
    principal: str,
    source: str = "cli",
    now: datetime | None = None,
) -> tuple[str, TokenRecord]:
    """Create a token; return its secret (to show once) and the stored record (hash only).

    Raises ValidationError (bad name, role or namespaces) and ConflictError (name in use).
    """
    check_token_name(name)
    role = Role.parse(role) if isinstance(role, str) else role
    ns = tuple(dict.fromkeys(namespaces))
    if ns and role is not Role.WRITER:
        raise ValidationError(f"only writer tokens can be limited to namespaces, not {role.value} tokens")
    for value in ns:
        try:
            check_part("namespace", value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
    secret = new_secret()
    record = TokenRecord(
        name=name,
        role=role.value,
        namespaces=ns,
        secret_hash=hash_secret(secret),
        created_at=now or datetime.now(UTC),
        created_by=principal,
    )
    store.record_token(record, principal=principal, source=source)
    return secret, record


def revoke_token(store: GraphStore, name: str, *, principal: str, source: str = "cli") -> None:
    """Revoke the active token of that name. Raises NotFoundError."""
    store.revoke_token(name, principal=principal, source=source)


def active_tokens(store: GraphStore, include_revoked: bool = False) -> list[TokenRecord]:
    return [t for t in store.tokens() if include_revoked or t.revoked_at is None]


def parse_bearer(header: str | None) -> str | None:
    """The secret of an ``Authorization: Bearer <secret>`` header; None when absent.

    Raises UnauthenticatedError for any other scheme or an empty secret.
    """
    if header is None or not header.strip():
        return None
    scheme, _, secret = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise UnauthenticatedError(
            "the Authorization header must be 'Bearer <token>'; create a token with `lineage token create`"
        )
    return secret.strip()


def authenticate(store: GraphStore, secret: str) -> Principal:
    """The principal a secret belongs to. Raises UnauthenticatedError for unknown or revoked tokens."""
    record = store.find_token(hash_secret(secret))
    if record is None:
        raise UnauthenticatedError(
            "unknown token; check it was copied whole, or create one with `lineage token create`"
        )
    if record.revoked_at is not None:
        raise UnauthenticatedError(
            f"token {record.name!r} was revoked at {record.revoked_at.isoformat()}; ask an admin for a new one"
        )
    return Principal(record.name, Role.parse(record.role), tuple(record.namespaces))


def require_read(principal: Principal | None, anonymous_read: bool) -> Principal:
    """The principal allowed to read. Raises UnauthenticatedError when a token is needed."""
    if principal is not None:
        return principal
    if anonymous_read:
        return ANONYMOUS
    raise UnauthenticatedError(
        "this server requires a token for reads: send 'Authorization: Bearer <token>' "
        "(create one with `lineage token create NAME --role reader`)"
    )


def require_writer(principal: Principal | None, action: str) -> Principal:
    """Raises UnauthenticatedError (no token) or ForbiddenError (a reader)."""
    if principal is None or principal.anonymous:
        raise UnauthenticatedError(f"{action} needs a writer or admin token: send 'Authorization: Bearer <token>'")
    if not principal.can_write:
        raise ForbiddenError(
            f"token {principal.name!r} has role {principal.role.value}; {action} needs a writer or admin token"
        )
    return principal


def require_admin(principal: Principal | None, action: str) -> Principal:
    if principal is None or principal.anonymous:
        raise UnauthenticatedError(f"{action} needs an admin token: send 'Authorization: Bearer <token>'")
    if not principal.is_admin:
        raise ForbiddenError(f"token {principal.name!r} has role {principal.role.value}; {action} needs an admin token")
    return principal


def check_namespaces(
    principal: Principal,
    node_namespaces: Iterable[tuple[str, str]],
    edge_namespaces: Iterable[tuple[str, str, str]] = (),
    *,
    action: str,
) -> None:
    """Refuse writes outside a namespace-limited writer's namespaces.

    ``node_namespaces``: (element label, namespace) per node written; ``edge_namespaces``:
    (element label, source namespace, target namespace) per edge. Raises ForbiddenError naming
    the first element out of bounds.
    """
    if principal.is_admin or not principal.namespaces:
        return
    allowed = ", ".join(principal.namespaces)
    for label, namespace in node_namespaces:
        if not principal.may_write_namespace(namespace):
            raise ForbiddenError(
                f"{label}: token {principal.name!r} may {action} only in namespaces {allowed}, "
                f"not in {namespace!r}",
                details={"element": label, "namespace": namespace},
            )
    for label, src_ns, dst_ns in edge_namespaces:
        if not (principal.may_write_namespace(src_ns) or principal.may_write_namespace(dst_ns)):
            raise ForbiddenError(
                f"{label}: token {principal.name!r} may {action} only edges touching namespaces {allowed}; "
                f"this one links {src_ns!r} to {dst_ns!r}",
                details={"element": label},
            )


def check_batch(principal: Principal, batch: Batch, *, action: str = "register") -> None:
    """The namespace rule for a whole batch: every node in scope, every edge touching the scope.

    Raises ForbiddenError naming the first element out of bounds (``nodes[i] (id)``/``edges[i] (id)``).
    """
    if principal.is_admin or not principal.namespaces:
        return
    check_namespaces(
        principal,
        [(f"nodes[{i}] ({n.id})", n.namespace) for i, n in enumerate(batch.nodes)],
        [
            (f"edges[{i}] ({e.id})", _namespace_of(e.source), _namespace_of(e.target))
            for i, e in enumerate(batch.edges)
        ],
        action=action,
    )


def _namespace_of(node_id: str) -> str:
    try:
        return parse_node_id(node_id).namespace
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


def is_loopback(host: str) -> bool:
    """Whether serving on this host keeps the server reachable from this machine only."""
    if host.strip().lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def anonymous_read_allowed(setting: bool | None, host: str) -> bool:
    """The anonymous-read setting, defaulting to on for loopback hosts and off otherwise."""
    return is_loopback(host) if setting is None else setting


__all__ = [
    "ANONYMOUS",
    "SECRET_PREFIX",
    "Principal",
    "Role",
    "active_tokens",
    "anonymous_read_allowed",
    "authenticate",
    "check_batch",
    "check_namespaces",
    "create_token",
    "hash_secret",
    "is_loopback",
    "parse_bearer",
    "require_admin",
    "require_read",
    "require_writer",
    "revoke_token",
]
