"""Approvals: audited, revocable waivers of a ``forbid-flow`` rule on one deployment.

An approval is an ``approval`` annotation on the deployment with the value ``flow:<classification>``;
it allows that classification and every narrower one (``flow:pii`` covers ``pii.email``) to reach
the deployment. The reason (a ticket, a DPIA reference) is kept in the audit entry of the write, so
the record says who approved what, when and why, and cannot be edited afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lineage.errors import ValidationError
from lineage.governance.annotations import current
from lineage.governance.labels import check_classification, covers
from lineage.model import NodeKind, WriteResult
from lineage.storage.base import AuditFilter, GraphStore

FLOW = "flow:"


@dataclass(frozen=True, slots=True)
class Approval:
    value: str
    approved_by: str
    approved_at: datetime
    reason: str | None
    audit_seq: int | None

    @property
    def classification(self) -> str | None:
        return self.value.removeprefix(FLOW) if self.value.startswith(FLOW) else None

    def allows(self, classification: str) -> bool:
        label = self.classification
        return label is not None and covers(label, classification)

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "approved_by": self.approved_by,
            "approved_at": self.approved_at.isoformat(),
            "reason": self.reason,
            "audit_seq": self.audit_seq,
        }


def approve(
    store: GraphStore,
    node_id: str,
    classification: str,
    *,
    reason: str,
    principal: str,
    source: str = "api",
    revoke: bool = False,
) -> WriteResult:
    """Record (or revoke) an approval for a classification to reach a deployment; audited."""
    check_classification(classification)
    if not reason or not reason.strip():
        raise ValidationError("an approval needs a reason (--reason TEXT), e.g. a ticket or DPIA reference")
    node = store.get_node(node_id)
    if node.kind is not NodeKind.DEPLOYMENT:
        raise ValidationError(f"approvals are recorded on deployments; {node_id} is a {node.kind.value}")
    value = FLOW + classification
    payload = {"reason": reason.strip()}
    if revoke:
        return store.annotate(node_id, "approval", remove=[value], principal=principal, source=source, payload=payload)
    return store.annotate(node_id, "approval", add=[value], principal=principal, source=source, payload=payload)


def approvals_of(store: GraphStore, node_id: str, as_of: datetime | None = None) -> list[Approval]:
    """Approvals in force on a node at the time, with the reason from their audit entry."""
    found = current(store, node_id, "approval", as_of)
    if not found:
        return []
    entries = store.audit_entries(
        AuditFilter(subject=node_id, action="annotate.approval", until=as_of, limit=10_000)
    )
    out = []
    for ann in found:
        reason: str | None = None
        seq: int | None = None
        for entry in entries:
            payload = entry.payload if isinstance(entry.payload, dict) else {}
            if ann.value in payload.get("added", []) and entry.at == ann.recorded_at:
                reason = payload.get("reason")
                seq = entry.seq
        out.append(Approval(ann.value, ann.recorded_by, ann.recorded_at, reason, seq))
    return out
