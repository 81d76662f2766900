"""Governance over GraphQL: effective classifications, a classification's reach, policy reports.

Thin resolvers over :mod:`lineage.governance`: the same answers, explanations and errors as the CLI
(an invalid policy document is a ``BAD_INPUT`` error naming the line and the problem).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from lineage.api.schema.enums import Kind, domain_kinds
from lineage.api.schema.fields import field
from lineage.api.schema.types import Info, Node, to_node
from lineage.governance.classifications import (
    Effective,
    NodeClassifications,
    Origin,
    Removal,
    classification_reach,
    effective_classifications,
)
from lineage.governance.labels import check_classification
from lineage.governance.policy import PolicyReport, RuleOutcome, load_policy
from lineage.governance.policy_rules import check_policy
from lineage.model.batch import as_utc

AsOf = Annotated[
    datetime | None,
    strawberry.argument(description="Answer as the graph was recorded at this time (ISO 8601); default: now."),
]


@strawberry.type(description="Where a classification was set: a node, or columns of a dataset, by whom and when.")
class ClassificationOrigin:
    node_id: strawberry.ID
    columns: list[str] = strawberry.field(description="Empty when set on the node itself.")
    set_by: str | None
    set_at: datetime | None


@strawberry.type(description="A classification a node carries, with where it was set and the path it arrived by.")
class EffectiveClassification:
    classification: str
    direct: bool
    origin: ClassificationOrigin
    path: list[strawberry.ID] = strawberry.field(description="Node ids from the origin to the node.")
    path_edges: list[str]
    explanation: str


@strawberry.type(description="A classification stopped at a node that declares it removes it.")
class ClassificationRemoval:
    classification: str
    removed_at: strawberry.ID
    removes: list[str] = strawberry.field(description="The declared values that matched (it, or a broader class).")
    origin: ClassificationOrigin
    path: list[strawberry.ID] = strawberry.field(description="Node ids from the origin to the removing node.")
    path_edges: list[str]
    explanation: str


@strawberry.type(description="What a node carries as of a time, and what was removed on the way to it.")
class NodeClassificationsResult:
    node_id: strawberry.ID
    as_of: datetime | None
    classifications: list[str]
    effective: list[EffectiveClassification]
    removed: list[ClassificationRemoval]


@strawberry.type(description="A node a classification reaches; its owners are on the node.")
class ClassifiedNode:
    node: Node
    classifications: list[str]
    via: list[EffectiveClassification]


@strawberry.type(description="Every node a classification (or a narrower one) reaches.")
class ClassificationReachResult:
    classification: str
    as_of: datetime | None
    total: int
    nodes: list[ClassifiedNode]
    removed: list[ClassificationRemoval]


@strawberry.type(description="One broken rule on one node, with the lines that explain it.")
class PolicyViolation:
    rule: str
    type: str
    severity: str
    node_id: strawberry.ID
    message: str
    explanation: list[str]
    hint: str | None


@strawberry.type(description="A violation waived by a recorded (audited) approval.")
class PolicyWaiver:
    rule: str
    node_id: strawberry.ID
    approval: str
    approved_by: str
    approved_at: str
    reason: str | None
    audit_seq: int | None


@strawberry.type(description="The result of one rule.")
class PolicyRuleOutcome:
    rule: str
    type: str
    severity: str
    description: str | None
    checked: int
    violations: list[PolicyViolation]
    waived: list[PolicyWaiver]


@strawberry.type(description="A policy check: ok is false when any error-severity rule is broken.")
class PolicyReportResult:
    ok: bool
    policy: str
    target: strawberry.ID | None
    as_of: str
    checked_at: str
    audit_head_seq: int
    audit_head_hash: str
    violation_count: int
    warning_count: int
    outcomes: list[PolicyRuleOutcome]


def _origin(o: Origin) -> ClassificationOrigin:
    return ClassificationOrigin(
        node_id=strawberry.ID(o.node), columns=list(o.columns), set_by=o.set_by, set_at=o.set_at
    )


def _effective(e: Effective) -> EffectiveClassification:
    return EffectiveClassification(
        classification=e.classification,
        direct=e.direct,
        origin=_origin(e.origin),
        path=[strawberry.ID(p) for p in e.path],
        path_edges=list(e.path_edges),
        explanation=e.text(),
    )


def _removal(r: Removal) -> ClassificationRemoval:
    return ClassificationRemoval(
        classification=r.classification,
        removed_at=strawberry.ID(r.removed_at),
        removes=list(r.removes),
        origin=_origin(r.origin),
        path=[strawberry.ID(p) for p in r.path],
        path_edges=list(r.path_edges),
        explanation=r.text(),
    )


def _outcome(o: RuleOutcome) -> PolicyRuleOutcome:
    return PolicyRuleOutcome(
        rule=o.rule,
        type=o.type,
        severity=o.severity,
        description=o.description,
        checked=o.checked,
        violations=[
            PolicyViolation(
                rule=v.rule, type=v.type, severity=v.severity, node_id=strawberry.ID(v.node), message=v.message,
                explanation=v.explanation, hint=v.hint,
            )
            for v in o.violations
        ],
        waived=[
            PolicyWaiver(
                rule=w.rule, node_id=strawberry.ID(w.node), approval=w.approval, approved_by=w.approved_by,
                approved_at=w.approved_at, reason=w.reason, audit_seq=w.audit_seq,
            )
            for w in o.waived
        ],
    )


def policy_result(report: PolicyReport) -> PolicyReportResult:
    return PolicyReportResult(
        ok=report.ok,
        policy=report.policy,
        target=strawberry.ID(report.target) if report.target else None,
        as_of=report.as_of,
        checked_at=report.checked_at,
        audit_head_seq=int(report.audit_head["seq"]),
        audit_head_hash=str(report.audit_head["hash"]),
        violation_count=len(report.violations),
        warning_count=len(report.warnings),
        outcomes=[_outcome(o) for o in report.outcomes],
    )


@strawberry.type
class GovernanceQuery:
    @field("Effective classifications of a node: where each was set, the path it arrived by, and removals.")
    async def effective_classifications(
        self, info: Info, id: strawberry.ID, as_of: AsOf = None
    ) -> NodeClassificationsResult:
        ctx = info.context
        ctx.reader()
        when = as_utc(as_of)
        found: NodeClassifications = await ctx.traverse(
            effective_classifications, ctx.store, str(id), as_of=when, budget=ctx.work
        )
        return NodeClassificationsResult(
            node_id=id,
            as_of=when,
            classifications=found.labels(),
            effective=[_effective(e) for e in found.effective],
            removed=[_removal(r) for r in found.removed],
        )

    @field("Every node a classification (or a narrower one, pii -> pii.email) reaches, with kinds and owners.")
    async def classification_reach(
        self, info: Info, classification: str, kinds: list[Kind] | None = None, as_of: AsOf = None
    ) -> ClassificationReachResult:
        ctx = info.context
        ctx.reader()
        check_classification(classification)
        when = as_utc(as_of)
        reach = await ctx.traverse(
            classification_reach, ctx.store, classification, as_of=when, kinds=domain_kinds(kinds), budget=ctx.work
        )
        ctx.spend(len(reach.nodes))
        return ClassificationReachResult(
            classification=classification,
            as_of=when,
            total=len(reach.nodes),
            nodes=[
                ClassifiedNode(
                    node=to_node(r.node, when),
                    classifications=sorted({e.classification for e in r.via}),
                    via=[_effective(e) for e in r.via],
                )
                for r in reach.nodes
            ],
            removed=[_removal(r) for r in reach.removed],
        )

    @field("Run a policy (the YAML document of `lineage check --policy`) against the graph.")
    async def policy_report(
        self,
        info: Info,
        policy: Annotated[str, strawberry.argument(description="The policy file's YAML text.")],
        target: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only this node and everything downstream of it."),
        ] = None,
        as_of: AsOf = None,
    ) -> PolicyReportResult:
        ctx = info.context
        ctx.reader()
        rules = await ctx.call(load_policy, text=policy, name="policy")  # parsing is CPU work: not on the loop
        report = await ctx.traverse(
            check_policy, ctx.store, rules, policy_name="policy", target=str(target) if target else None,
            as_of=as_utc(as_of), budget=ctx.work,
        )
        return policy_result(report)
